"""What the project takes from ``typing`` at run time, without importing ``typing``.

``TYPE_CHECKING`` is false, as typing's is, and type checkers read it as true: modules
import what they only annotate with under ``if TYPE_CHECKING:``.

``NamedTuple`` has typing's class syntax.  Every record of the project (``RuntimeName``,
``Decision``, ``Finding``, the syntax nodes …) is a named tuple, and ``typing.NamedTuple``
would cost each run the import of ``typing`` and a check of every annotation of every
record: more than a tenth of the cold start of a one-file lint, the time a pre-commit hook
adds (compare ``bench/run.py``'s cold-start row with this module and with
``typing.NamedTuple``).  Here a class body is read as typing
reads it (the annotated names are the fields, in order, their values the defaults, and
anything else is copied onto the class) and handed to ``collections.namedtuple``.  Type
checkers see ``typing.NamedTuple`` itself.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    from collections import namedtuple

    # What a class body may not define (as typing refuses it), and what is not copied.
    _PROHIBITED = frozenset(
        {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults"}
        | {"_make", "_replace", "_asdict", "_source"}
    )
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__", "__qualname__"})

    class _NamedTupleMeta(type):
        def __new__(mcls, typename, bases, namespace):
            if namespace.get("__module__") == __name__ and typename == "NamedTuple":
                return super().__new__(mcls, typename, bases, namespace)
            annotations = namespace.get("__annotations__")
            if annotations is None:  # no fields, or Python 3.14+ without the __future__ import
                raise TypeError(
                    f"{typename}: no fields declared (or, from Python 3.14, declared without "
                    "`from __future__ import annotations`)"
                )
            fields = tuple(annotations)
            defaults = [namespace[f] for f in fields if f in namespace]
            if any(f not in namespace for f in fields[len(fields) - len(defaults) :]):
                raise TypeError(f"{typename}: a field without a default follows one with")
            record = namedtuple(typename, fields, defaults=defaults, module=namespace["__module__"])
            record.__annotations__ = dict(annotations)
            record.__qualname__ = namespace.get("__qualname__", typename)
            for key, value in namespace.items():
                if key in _PROHIBITED:
                    raise AttributeError(f"Cannot overwrite NamedTuple attribute {key}")
                if key not in _SPECIAL and key not in record._fields:
                    setattr(record, key, value)
            return record

    class NamedTuple(metaclass=_NamedTupleMeta):
        """Subclass to declare a record: ``class Point(NamedTuple): x: int; y: int = 0``."""
