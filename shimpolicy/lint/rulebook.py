"""The rule catalog: one YAML file per rule under ``rules/``, the single source of truth.

Installed, the files live in the package (``shimpolicy/rules``); in a source checkout they
are read from the top-level ``rules/`` directory beside the package.  A lint run needs only
each rule's name and default severity: it reads them from ``rule_index.py``, which is
written from the YAML files (see its docstring), so that it never imports PyYAML for them.
"""

from __future__ import annotations

import os
import re
from functools import cache, lru_cache

from .._typing import TYPE_CHECKING, NamedTuple
from .rule_index import RULES

if TYPE_CHECKING:
    from typing import Any


FIX_KINDS = ("safe", "unsafe")  # as lint.finding's


class RuleFix(NamedTuple):
    """What a rule's fix does, and its kinds: "safe" (the daemon does exactly the same
    afterwards; ``lint --fix``), "unsafe" (what runs or is read changes;
    ``--unsafe-fixes``), or both when it depends on the finding."""

    kinds: tuple[str, ...]
    description: str


class RuleDoc(NamedTuple):
    id: str
    name: str
    title: str
    severity: str  # default severity: error | warning | info
    source: str  # policy | file | daemon.json | dockerd | compose | containerd | kubernetes |
    # shell | links
    rationale: str
    spec: tuple[str, ...]
    references: tuple[str, ...]
    examples: tuple[dict[str, Any], ...]
    # For code scanning (0.1-10): set on the rules that stop a file being executed as root
    # from where it should not be (a path chosen per container, a writable directory).
    security_severity: str | None = None
    fix: RuleFix | None = None  # the YAML's ``fix:``; None when ``lint --fix`` has none


@lru_cache(maxsize=1)
def rules_dir() -> str:
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bundled = os.path.join(package, "rules")  # an installed wheel carries them here
    if os.path.isdir(bundled):
        return bundled
    return os.path.join(os.path.dirname(package), "rules")  # a source checkout


def _read(path: str) -> RuleDoc:
    import yaml  # only where a rule's documentation is read: ids and severities do not need it

    with open(path, encoding="utf-8") as f:
        data = yaml.load(f.read(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return RuleDoc(
        id=data["id"],
        name=data["name"],
        title=data["title"],
        severity=data.get("severity", "error"),
        source=data.get("source", ""),
        rationale=data.get("rationale", "").strip(),
        spec=tuple(data.get("spec", ())),
        references=tuple(data.get("references", ())),
        examples=tuple(data.get("examples", ())),
        security_severity=data.get("security-severity"),
        fix=_fix(data.get("fix"), path),
    )


def _fix(data: Any, path: str) -> RuleFix | None:
    """``fix: {kinds: [safe], description: ...}``, checked: a catalog that says more than
    the linter does is an error, never a silent pass."""
    if data is None:
        return None
    kinds = data.get("kinds") if isinstance(data, dict) else None
    description = data.get("description") if isinstance(data, dict) else None
    if (
        not isinstance(kinds, list)
        or not kinds
        or any(k not in FIX_KINDS for k in kinds)
        or not isinstance(description, str)
        or set(data) != {"kinds", "description"}
    ):
        raise ValueError(f"{path}: fix: must be {{kinds: [safe and/or unsafe], description: TEXT}}")
    return RuleFix(tuple(k for k in FIX_KINDS if k in kinds), " ".join(description.split()))


@lru_cache(maxsize=1)
def catalog() -> dict[str, RuleDoc]:
    """Every rule, by id, in id order."""
    names = sorted(n[:-5] for n in os.listdir(rules_dir()) if n.endswith(".yaml"))
    docs = (rule_doc(name) for name in names)
    return {doc.id: doc for doc in docs if doc is not None}


def rule_ids() -> frozenset[str]:
    """The id of every rule."""
    return frozenset(RULES)


@cache
def rule_doc(rule_id: str) -> RuleDoc | None:
    """One rule by id, reading only its own file (a lint run needs a handful, not all)."""
    if not re.fullmatch(r"SP[0-9]{3}", rule_id):
        return None
    path = os.path.join(rules_dir(), f"{rule_id}.yaml")
    return _read(path) if os.path.isfile(path) else None


def canonical_id(rule: str) -> str | None:
    """A rule's id, for its id in any case (``SP201``, ``sp201``) or its name
    (``reserved-runc``); None for no rule."""
    if rule.upper() in RULES:
        return rule.upper()
    return next((id_ for id_, (name, _) in RULES.items() if name == rule), None)


def lookup(rule: str) -> RuleDoc | None:
    """A rule's documentation, by id in any case (``SP201``, ``sp201``) or by name
    (``reserved-runc``), read from its file."""
    doc = rule_doc(rule.upper())
    if doc is not None:
        return doc
    return next((doc for doc in catalog().values() if doc.name == rule), None)


def default_severity(rule: str) -> str:
    entry = RULES.get(rule)
    return entry[1] if entry else "error"


def index_source() -> str:
    """``rule_index.py`` as it should read for the rules under ``rules/``."""
    entries = "".join(
        f'    "{doc.id}": ("{doc.name}", "{doc.severity}"),\n' for doc in catalog().values()
    )
    return _INDEX_HEAD + "RULES = {\n" + entries + "}\n"


_INDEX_HEAD = '''"""Every rule's name and default severity, by id: ``rules/*.yaml`` as data,
so that a lint run never reads YAML for them.  The YAML files are the source;
tests/lint/test_rules_catalog.py fails until this file agrees with them.  To write it again:

    python -c "from shimpolicy.lint.rulebook import index_source; print(index_source(), end='')" \\
        > shimpolicy/lint/rule_index.py
"""

from __future__ import annotations

'''
