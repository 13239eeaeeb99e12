"""What the tests share: where things are, and the helpers most lint tests use.

The tests are grouped as the package is, one folder per layer: ``grammar/`` (runtime
names, C1-C4 and D1), ``syntax/`` (the positioned readers), ``policy/``, ``lint/`` (one
file per file type, plus links, suppressions, parallel runs), ``report/``, ``serve/``,
``cli/``, ``doctor/`` and ``docs/`` (the README and the GitHub Action, run in a fresh
copy of the checkout).  What concerns the whole project (ruff and mypy, the fuzzing
regressions) is at the top.  Every test's files are under ``fixtures/``; ``doctor/``
builds its fake nodes in each test's own directory.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shimpolicy.lint.engine import lint_paths, lint_text
from shimpolicy.policy import Policy
from shimpolicy.syntax import Mapping, Node, Sequence

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
RULES = ROOT / "rules"


def _shared() -> Path:
    """The shared reading: beside the checkout in CI, at /work/shared in a developer's tree."""
    beside = ROOT.parent / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


SHARED = _shared()
# Real configurations, read in place (never copied into the project).
CORPUS = SHARED / "corpus" / "realworld"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="real-world corpus not present")
CORPUS2 = SHARED / "corpus" / "realworld2"  # a second collection, read the same way

# A finding as most lint tests compare it.
Row = tuple[int, int, int, int, str, str, str]  # line, column, end_line, end_column, rule, …
# With its path, its span as "line:column-end_line:end_column".
PathRow = tuple[str, str, str, str, str]  # path, span, rule, severity, message


@cache
def policy(**settings: str) -> Policy:
    """The default policy with other settings (``containerd="1.7"``, ``docker="23"`` …)."""
    return Policy.from_dict({"version": 1, "extends": "default", **settings})


def rows(path: Path | str, pol: Policy | None = None) -> list[Row]:
    """Every finding of linting ``path``, in order."""
    result = lint_paths([str(path)], pol or Policy.default())
    return [
        (f.line, f.column, f.end_line, f.end_column, f.rule, f.severity, f.message)
        for f in result.findings
    ]


def findings(paths: list[str], pol: Policy | None = None) -> list[PathRow]:
    """Every finding of linting ``paths`` together, with the path it is in."""
    result = lint_paths(paths, pol or Policy.default())
    return [
        (f.path, f"{f.line}:{f.column}-{f.end_line}:{f.end_column}", f.rule, f.severity, f.message)
        for f in result.findings
    ]


def text_findings(
    text: str, filename: str, pol: Policy | None = None
) -> list[tuple[int, int, str, str]]:
    """(line, column, rule, severity) of every finding for ``text`` read as ``filename``."""
    result = lint_text(text, filename, pol or Policy.default())
    return [(f.line, f.column, f.rule, f.severity) for f in result.findings]


def to_python(node: Node) -> Any:
    """The plain value a syntax tree stands for, duplicate keys resolved last-wins (as Go's
    encoding/json and YAML loaders do)."""
    if isinstance(node, Mapping):
        return {key.value: to_python(value) for key, value in node.items}
    if isinstance(node, Sequence):
        return [to_python(item) for item in node.items]
    return node.value


def _toml_reference() -> ModuleType | None:
    """tomllib, or on Python 3.10 tomli, the package it was taken from (the test extra
    installs it there): the reference the TOML tests hold shimpolicy against."""
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return None


TOMLLIB = _toml_reference()
needs_tomllib = pytest.mark.skipif(
    TOMLLIB is None,
    reason="no reference TOML parser: Python 3.11+ has tomllib; on 3.10 pip install -e '.[test]'",
)
