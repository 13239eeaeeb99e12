"""Inline suppressions: ``# shimpolicy: ignore[SP201] -- reason``.

``ignore[...]`` at the end of a line covers that line; alone on a line it covers the next
line that is not blank or a comment.  ``ignore-file[...]`` covers the whole file.  A reason
after ``--`` is required: a suppression without one is reported and not applied; one that
suppresses nothing is reported as unused.
"""

from __future__ import annotations

import re

from ..syntax import Span
from .finding import Finding
from .rulebook import lookup
from .source import SourceFile

_PRAGMA = (
    r"(?:^|[ \t])(?P<marker>#|//)[ \t]*shimpolicy:[ \t]*(?P<scope>ignore-file|ignore)"
    r"\[(?P<rules>[^\]]*)\](?:[ \t]*--[ \t]*(?P<reason>.*?))?[ \t]*$"
)  # compiled on first use (re's cache): most files have no suppression to look for


class Suppression:
    """One ``shimpolicy: ignore`` comment; ``used`` once it has silenced a finding."""

    __slots__ = ("column", "end_column", "line", "reason", "rules", "target", "used")

    def __init__(
        self,
        line: int,  # where the comment is
        column: int,
        end_column: int,
        target: int | None,  # line covered; None for the whole file
        rules: frozenset[str],
        reason: str,
    ) -> None:
        self.line = line
        self.column = column
        self.end_column = end_column
        self.target = target
        self.rules = rules
        self.reason = reason
        self.used = False


def _canonical(rule: str) -> str:
    doc = lookup(rule)
    return doc.id if doc else rule


def parse_suppressions(source: SourceFile, comment: str) -> list[Suppression]:
    found: list[Suppression] = []
    pending: list[Suppression] = []
    if "shimpolicy:" not in source.text:
        return found
    for number, text in enumerate(source.lines, start=1):
        stripped = text.strip()
        m = re.search(_PRAGMA, text) if "shimpolicy:" in text else None
        if m and m.group("marker") == comment:
            names = (r.strip() for r in m.group("rules").split(","))
            rules = frozenset(_canonical(r) for r in names if r)
            own_line = stripped.startswith(comment)
            whole_file = m.group("scope") == "ignore-file"
            s = Suppression(
                number,
                m.start("marker") + 1,
                len(text) + 1,
                None if whole_file else (None if own_line else number),
                rules,
                (m.group("reason") or "").strip(),
            )
            found.append(s)
            if own_line and not whole_file:
                pending.append(s)
            continue
        if stripped and not stripped.startswith(comment) and pending:
            for s in pending:
                s.target = number
            pending.clear()
    return [s for s in found if not (s.target is None and s in pending)]


def apply_suppressions(
    source: SourceFile, comment: str | None, findings: list[Finding]
) -> tuple[list[Finding], list[tuple[Span, str, str]]]:
    """Findings left after suppression, and problems with the suppressions themselves as
    (span, rule, message)."""
    if comment is None:
        return findings, []
    suppressions = parse_suppressions(source, comment)
    if not suppressions:
        return findings, []
    problems: list[tuple[Span, str, str]] = []
    active = []
    for s in suppressions:
        span = Span(s.line, s.column, s.line, s.end_column)
        if not s.reason:
            message = "suppression without a reason: add `-- why` after the rule list"
            problems.append((span, "SP005", message))
        elif not s.rules:
            problems.append((span, "SP005", "suppression names no rule"))
        else:
            active.append(s)
    kept: list[Finding] = []
    for f in findings:
        hit = None
        for s in active:
            if f.rule in s.rules and (s.target is None or s.target == f.line):
                hit = s
                break
        if hit is None:
            kept.append(f)
        else:
            hit.used = True
    for s in active:
        if not s.used:
            scope = "this file" if s.target is None else f"line {s.target}"
            problems.append(
                (
                    Span(s.line, s.column, s.line, s.end_column),
                    "SP004",
                    f"unused suppression: no {', '.join(sorted(s.rules))} finding on {scope}",
                )
            )
    return kept, problems
