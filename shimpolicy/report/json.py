"""SPEC §5.2 JSON: ``{"version": 1, "files_checked": N, "findings": [...]}``, described by
the JSON Schema ``shimpolicy/report/lint-output.schema.json`` (``version`` is its version:
a field is only ever added within one)."""

from __future__ import annotations

import json as _json
from collections.abc import Mapping

from .._typing import TYPE_CHECKING
from ..display import display
from ..lint.engine import LintResult
from ..lint.finding import Finding

if TYPE_CHECKING:
    from typing import Any

VERSION = 1  # of the lint and check JSON formats; a field removed or changed: a new one


def schema(command: str) -> dict[str, Any]:
    """The JSON Schema of ``lint`` (``doctor`` too) or ``check`` JSON output."""
    import os

    path = os.path.join(os.path.dirname(__file__), f"{command}-output.schema.json")
    with open(path, encoding="utf-8") as f:
        loaded: dict[str, Any] = _json.load(f)
    return loaded


def _fix(f: Finding) -> dict[str, Any] | None:
    if f.fix is None:
        return None
    return {
        "applicability": f.fix.kind,
        "message": display(f.fix.message),
        "edits": [
            {
                "line": e.line,
                "column": e.column,
                "end_line": e.end_line,
                "end_column": e.end_column,
                "content": e.text,
            }
            for e in f.fix.edits
        ],
    }


def write(
    result: LintResult, *, color: bool = False, sources: Mapping[str, str] | None = None
) -> str:
    findings = [
        {
            "path": display(f.path),
            "line": f.line,
            "column": f.column,
            "end_line": f.end_line,
            "end_column": f.end_column,
            "rule": f.rule,
            "severity": f.severity,
            "message": display(f.message),
            "related": [
                {
                    "path": display(r.path),
                    "line": r.line,
                    "column": r.column,
                    "message": display(r.message),
                }
                for r in f.related
            ],
            "fix": _fix(f),
        }
        for f in result.findings
    ]
    return (
        _json.dumps(
            {"version": VERSION, "files_checked": result.files_checked, "findings": findings},
            indent=2,
        )
        + "\n"
    )
