"""Human-readable report: ``path:line:col: severity RULE message``, the source line and a caret."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from functools import lru_cache

from ..display import display
from ..lint.engine import LintResult
from ..lint.source import ReadProblem, read_text

_COLOR = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_BOLD, _RESET = "\033[1m", "\033[0m"


@lru_cache(maxsize=64)
def _lines(path: str) -> tuple[str, ...]:
    try:
        # Never through a symbolic link: the linter reads a link only when it leads inside
        # the linted paths, and what it did not read must not reach the report.
        text = read_text(path, follow_links=False)
    except ReadProblem:
        return ()
    return tuple(text.removeprefix("\ufeff").splitlines())


def _fixable(result: LintResult) -> list[str]:
    """How many findings a fix resolves, and with which option (as ruff says it)."""
    kinds = Counter(f.fix.kind for f in result.findings if f.fix is not None)
    safe, unsafe = kinds["safe"], kinds["unsafe"]
    lines = []
    if safe:
        lines.append(f"[*] {safe} fixable with `shimpolicy lint --fix`")
    if unsafe:
        more = "more " if safe else ""
        lines.append(
            f"{unsafe} {more}fixable with `--fix --unsafe-fixes` (these change what the "
            "daemon does; review them with `--diff --unsafe-fixes`)"
        )
    return lines


def write(
    result: LintResult, *, color: bool = False, sources: Mapping[str, str] | None = None
) -> str:
    out: list[str] = []
    for f in result.findings:
        sev = f"{_COLOR[f.severity]}{f.severity}{_RESET}" if color else f.severity
        path = display(f.path)  # a line break in a path can never start a line
        where = (
            f"{_BOLD}{path}:{f.line}:{f.column}{_RESET}" if color else f"{path}:{f.line}:{f.column}"
        )
        mark = " [*]" if f.fix is not None and f.fix.kind == "safe" else ""
        out.append(f"{where}: {sev} {display(f.rule)}{mark} {display(f.message)}")
        lines = sources[f.path].splitlines() if sources and f.path in sources else _lines(f.path)
        if 0 < f.line <= len(lines):
            src = lines[f.line - 1].expandtabs(1)
            width = max(
                1, (f.end_column - f.column) if f.end_line == f.line else len(src) - f.column + 1
            )
            # The caret stays under the value once what does not print is escaped.
            before = display(src[: f.column - 1])
            marked = display(src[f.column - 1 : f.column - 1 + width]) or " "
            out.append(f"  {f.line} | {display(src)}")
            out.append(
                f"  {' ' * len(str(f.line))} | {' ' * len(before)}^{'~' * (len(marked) - 1)}"
            )
        for r in f.related:
            note = f"  note: {display(r.path)}:{r.line}:{r.column}"
            out.append(f"{note}: {display(r.message)}" if r.message else note)
    if result.findings:
        counts = Counter(f.severity for f in result.findings)
        parts = [
            f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
            for s in ("error", "warning", "info")
            if counts[s]
        ]
        files = f"{result.files_checked} file{'s' if result.files_checked != 1 else ''}"
        out.append(f"{', '.join(parts)} in {files}")
        out.extend(_fixable(result))
    elif not result.files_checked:  # nothing to check is said, never a silent pass
        out.append("0 files checked")
    return "".join(line + "\n" for line in out)
