"""SPEC §5.2 JSON: ``{"version": 1, "files_checked": N, "findings": [...]}``, described by
the JSON Schema ``shimpolicy/report/lint-output.schema.json`` (``version`` is its version:
a field is only ever added within one)."""

from __future__ import annotations

import json as _json
from collections.abc import Mapping

from ..lint.engine import LintResult

VERSION = 1


def write(
    result: LintResult, *, color: bool = False, sources: Mapping[str, str] | None = None
) -> str:
    findings = [
        {
            "path": f.path,
            "line": f.line,
            "column": f.column,
            "end_line": f.end_line,
            "end_column": f.end_column,
            "rule": f.rule,
            "severity": f.severity,
            "message": f.message,
            "related": [
                {"path": r.path, "line": r.line, "column": r.column, "message": r.message}
                for r in f.related
            ],
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
