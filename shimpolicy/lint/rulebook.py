"""The rule catalog: one YAML file per rule under ``rules/``, the single source of truth.

Installed, the files live in the package (``shimpolicy/rules``); in a source checkout they
are read from the top-level ``rules/`` directory beside the package.
"""

from __future__ import annotations

import os
import re
from functools import cache, lru_cache

from .._typing import TYPE_CHECKING, NamedTuple

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


@lru_cache(maxsize=1)
def rule_ids() -> frozenset[str]:
    """The id of every rule, from the catalog's file names (no file is read)."""
    return frozenset(n[:-5] for n in os.listdir(rules_dir()) if re.fullmatch(r"SP\d{3}\.yaml", n))


@cache
def rule_doc(rule_id: str) -> RuleDoc | None:
    """One rule by id, reading only its own file (a lint run needs a handful, not all)."""
    if not re.fullmatch(r"SP[0-9]{3}", rule_id):
        return None
    path = os.path.join(rules_dir(), f"{rule_id}.yaml")
    return _read(path) if os.path.isfile(path) else None


def lookup(rule: str) -> RuleDoc | None:
    """A rule by id in any case (``SP201``, ``sp201``) or by name (``reserved-runc``)."""
    doc = rule_doc(rule.upper())
    if doc is not None:
        return doc
    for doc in catalog().values():
        if doc.name == rule:
            return doc
    return None


def default_severity(rule: str) -> str:
    doc = rule_doc(rule)
    return doc.severity if doc else "error"
