"""``shimpolicy._typing.NamedTuple`` makes the classes ``typing.NamedTuple`` makes."""

from __future__ import annotations

import pickle
import subprocess
import sys
import typing

import pytest

from shimpolicy._typing import NamedTuple


class Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str = ""

    @property
    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)

    def moved(self, dx: int) -> Point:
        return self._replace(x=self.x + dx)

    @staticmethod
    def origin() -> Point:
        return Point(0)


class TypingPoint(typing.NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str = ""


def test_fields_defaults_and_methods_are_typings() -> None:
    p = Point(3, -4)
    assert p == (3, -4, "")
    assert Point._fields == TypingPoint._fields == ("x", "y", "label")
    assert Point._field_defaults == TypingPoint._field_defaults == {"y": 0, "label": ""}
    assert typing.get_type_hints(Point) == typing.get_type_hints(TypingPoint)
    assert (p.norm1, p.moved(2), Point.origin()) == (7, Point(5, -4), Point(0, 0, ""))
    assert Point.__doc__ == "A point."
    assert repr(p) == "Point(x=3, y=-4, label='')"
    assert Point.__module__ == __name__
    assert Point.__qualname__ == "Point"
    assert sorted([Point(2), Point(1, 5), Point(1, 2)]) == [Point(1, 2), Point(1, 5), Point(2)]


def test_records_pickle_by_reference() -> None:
    p = Point(1, 2, "a")
    assert pickle.loads(pickle.dumps(p)) == p
    assert type(pickle.loads(pickle.dumps(p))) is Point


def test_records_are_immutable() -> None:
    with pytest.raises(AttributeError):
        Point(1).x = 2  # type: ignore[misc]


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match=r"^Bad: a field without a default follows one with$"):

        class Bad(NamedTuple):
            a: int = 0
            b: int  # type: ignore[misc]


def test_what_typing_refuses_is_refused() -> None:
    with pytest.raises(AttributeError, match=r"^Cannot overwrite NamedTuple attribute _replace$"):

        class Bad(NamedTuple):
            a: int

            def _replace(self) -> None:  # type: ignore[misc]
                pass


def test_importing_the_package_does_not_import_typing() -> None:
    code = "import sys, shimpolicy.cli, shimpolicy.lint.engine; print('typing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "False\n"


def test_a_record_without_fields_is_refused() -> None:
    with pytest.raises(TypeError) as raised:

        class Empty(NamedTuple):
            pass

    assert str(raised.value) == (
        "Empty: no fields declared (or, from Python 3.14, declared without "
        "`from __future__ import annotations`)"
    )
