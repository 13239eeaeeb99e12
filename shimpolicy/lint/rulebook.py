"""The rule catalog: one YAML file per rule under ``rules/``, the single source of truth.

Installed, the files live in the package (``shimpolicy/rules``); in a source checkout they
are read from the top-level ``rules/`` directory beside the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class RuleDoc:
    id: str
    name: str
    title: str
    severity: str  # default severity: error | warning | info
    source: str  # policy | file | daemon.json | compose | containerd | kubernetes | shell | links
    rationale: str
    spec: tuple[str, ...]
    references: tuple[str, ...]
    examples: tuple[dict[str, Any], ...]


def rules_dir() -> Traversable:
    bundled = resources.files("shimpolicy") / "rules"
    if bundled.is_dir():
        return bundled
    return Path(__file__).resolve().parent.parent.parent / "rules"


@lru_cache(maxsize=1)
def catalog() -> dict[str, RuleDoc]:
    docs: dict[str, RuleDoc] = {}
    for entry in sorted(rules_dir().iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = yaml.load(entry.read_text(encoding="utf-8"), Loader=_LOADER)
        doc = RuleDoc(
            id=data["id"],
            name=data["name"],
            title=data["title"],
            severity=data.get("severity", "error"),
            source=data.get("source", ""),
            rationale=data.get("rationale", "").strip(),
            spec=tuple(data.get("spec", ())),
            references=tuple(data.get("references", ())),
            examples=tuple(data.get("examples", ())),
        )
        docs[doc.id] = doc
    return docs


def lookup(rule: str) -> RuleDoc | None:
    """A rule by id (``SP201``) or by name (``reserved-runc``)."""
    docs = catalog()
    if rule in docs:
        return docs[rule]
    for doc in docs.values():
        if doc.name == rule:
            return doc
    return None


def default_severity(rule: str) -> str:
    doc = catalog().get(rule)
    return doc.severity if doc else "error"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
