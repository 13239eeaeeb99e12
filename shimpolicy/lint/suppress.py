"""Inline suppressions: ``# shimpolicy: ignore[SP201] -- reason``.

``ignore[...]`` at the end of a line covers that line; alone on a line it covers the next
line that is not blank or a comment.  ``ignore-file[...]`` covers the whole file.  A reason
after ``--`` is required: a suppression without one, or a malformed one (no rule list,
other text than ``-- reason`` after it, a rule id in lower case), is reported (SP005) and
not applied; one that suppresses nothing is reported as unused.
"""

from __future__ import annotations

import re

from ..syntax import Span
from .finding import Finding
from .rulebook import canonical_id
from .source import SourceFile

_PRAGMA = (
    r"(?:^|[ \t])(?P<marker>#|//)[ \t]*shimpolicy:[ \t]*(?P<scope>ignore-file|ignore)\b"
    r"(?:\[(?P<rules>[^\]]*)\])?(?P<rest>.*?)[ \t]*$"
)  # compiled on first use (re's cache): most files have no suppression to look for
_RULE_ID = r"[Ss][Pp][0-9]{3}"


class Suppression:
    """One ``shimpolicy: ignore`` comment; ``used`` once it has silenced a finding."""

    __slots__ = ("column", "end_column", "line", "problem", "reason", "rules", "target", "used")

    def __init__(
        self,
        line: int,  # where the comment is
        column: int,
        end_column: int,
        target: int | None,  # line covered; None for the whole file
        rules: frozenset[str],
        reason: str,
        problem: str = "",  # why it is not applied (SP005), when it cannot be
    ) -> None:
        self.line = line
        self.column = column
        self.end_column = end_column
        self.target = target
        self.rules = rules
        self.reason = reason
        self.problem = problem
        self.used = False


def _canonical(rule: str) -> str:
    """A rule's id, for an id or a name (a lower-case id is reported, never applied)."""
    return canonical_id(rule) or rule


def _problem(scope: str, comment: str, listed: str | None, names: list[str], rest: str) -> str:
    """What makes a suppression unusable beyond a missing reason or rule, else ""."""
    if listed is None or (rest and not rest.startswith("--")):
        return f"malformed suppression: write `{comment} shimpolicy: {scope}[RULE,...] -- reason`"
    for name in names:
        if re.fullmatch(_RULE_ID, name) and name != name.upper():
            return f"suppression names {name!r}: rule ids are upper-case, write {name.upper()}"
    return ""


def parse_suppressions(source: SourceFile, comment: str) -> list[Suppression]:
    found: list[Suppression] = []
    pending: list[Suppression] = []
    if "shimpolicy:" not in source.text:
        return found
    for number, text in enumerate(source.lines, start=1):
        stripped = text.strip()
        m = re.search(_PRAGMA, text) if "shimpolicy:" in text else None
        if m and m.group("marker") == comment:
            names = [r.strip() for r in (m.group("rules") or "").split(",")]
            rules = frozenset(_canonical(r) for r in names if r)
            own_line = stripped.startswith(comment)
            whole_file = m.group("scope") == "ignore-file"
            rest = m.group("rest").strip()
            s = Suppression(
                number,
                m.start("marker") + 1,
                len(text) + 1,
                None if whole_file else (None if own_line else number),
                rules,
                rest[2:].strip() if rest.startswith("--") else "",
                _problem(m.group("scope"), comment, m.group("rules"), names, rest),
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
        if s.problem:
            problems.append((span, "SP005", s.problem))
        elif not s.reason:
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
