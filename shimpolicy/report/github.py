"""GitHub Actions workflow commands: one ``::error file=…`` annotation per finding."""

from __future__ import annotations

from collections.abc import Mapping

from ..display import display
from ..lint.engine import LintResult

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(s: str) -> str:
    # What the runner unescapes; after ``display`` no line break is left, but a message
    # may still hold one of its own.
    return display(s).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def write(
    result: LintResult, *, color: bool = False, sources: Mapping[str, str] | None = None
) -> str:
    lines = []
    for f in result.findings:
        props = (
            f"file={_escape_property(f.path)},line={f.line},col={f.column},"
            f"endLine={f.end_line},endColumn={f.end_column},title={_escape_property(f.rule)}"
        )
        lines.append(f"::{_LEVEL[f.severity]} {props}::{_escape_data(f.message)}")
    if not result.files_checked:  # said where the run's annotations are read, not passed
        lines.append("::notice title=shimpolicy::0 files checked")
    return "".join(line + "\n" for line in lines)
