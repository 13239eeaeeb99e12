"""Fixes: text edits at the linter's own spans, applied only when re-linting proves them.

A fix never re-serialises a file: it replaces the characters of a span, so comments,
quoting, order and indentation stay as written.  ``fix_text`` applies the fixes of one
file together, then reads and lints the result again; the fixed text is returned only when
it parses, has no finding the original did not have, no longer has the fixed ones, and
parses to the same tree except at the edited spans.  Anything else is a ``FixRefused``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from .._typing import TYPE_CHECKING, NamedTuple
from ..grammar.docker import STOCK_LINUX, STOCK_LINUX_LEGACY, WINDOWS_RUNTIMES
from ..syntax import Mapping, Node, Scalar, Span
from ..syntax import Sequence as SeqNode
from .finding import Edit, Finding, Fix
from .source import SourceFile

if TYPE_CHECKING:
    from typing import Any

    from ..policy import Policy
    from .engine import LintOptions


# Names a daemon reads by their exact spelling, not only for the binary they run.
# containerd's CRI plugin decodes a handler's ``options`` as runc's only under the
# runtime_type io.containerd.runc.v1/v2 (runhcs's under io.containerd.runhcs.v1; any other
# name gets generic options), and Docker's stock runtimes come with its own runc options
# (D2).  An alias rewritten to one of them runs the same binary but may be given other
# options, so that fix is unsafe.
READ_BY_NAME = (
    STOCK_LINUX
    | STOCK_LINUX_LEGACY
    | WINDOWS_RUNTIMES
    | {"io.containerd.runc.v1", "io.containerd.runc.v2", "io.containerd.runhcs.v1"}
)


class FixRefused(Exception):
    """A fix that could not be applied as it must be: never written."""


class Fixed(NamedTuple):
    text: str  # the fixed text (the original when nothing was fixed)
    fixed: tuple[Finding, ...]  # the findings whose fixes were applied
    refused: tuple[tuple[Finding, str], ...] = ()  # fixes that did not hold, and why


def line_starts(text: str) -> list[int]:
    """Offsets where each line starts (lines end at ``\\n``, as the readers count them)."""
    starts = [0]
    at = text.find("\n")
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def _offset(starts: Sequence[int], text: str, line: int, column: int) -> int:
    if not 0 < line <= len(starts) or column < 1:
        raise FixRefused(f"position {line}:{column} is outside the file")
    end = starts[line] - 1 if line < len(starts) else len(text)
    at = starts[line - 1] + column - 1
    if at > end:
        raise FixRefused(f"position {line}:{column} is outside the file")
    return at


def _position(starts: Sequence[int], offset: int) -> tuple[int, int]:
    import bisect

    line = bisect.bisect_right(starts, offset)
    return line, offset - starts[line - 1] + 1


def rename(source: SourceFile, span: Span, old: str, new: str) -> Edit | None:
    """The edit that writes ``new`` for ``old`` where ``old`` is written literally, once,
    inside ``span`` (between its quotes, say); None when it is not (an escape, a value
    spread over lines)."""
    text = source.text
    starts = line_starts(text)
    try:
        start = _offset(starts, text, span.line, span.column)
        end = _offset(starts, text, span.end_line, span.end_column)
    except FixRefused:
        return None
    written = text[start:end]
    at = written.find(old)
    if not old or at == -1 or written.find(old, at + 1) != -1:
        return None
    line, column = _position(starts, start + at)
    end_line, end_column = _position(starts, start + at + len(old))
    return Edit(line, column, end_line, end_column, new)


def delete_lines(source: SourceFile, span: Span) -> Edit | None:
    """The edit that removes the whole lines ``span`` covers, when nothing but blanks
    shares them (no comment, no other key); None otherwise."""
    lines = source.text.split("\n")
    if not 0 < span.line <= span.end_line <= len(lines):
        return None
    first, last = lines[span.line - 1], lines[span.end_line - 1]
    if first[: span.column - 1].strip() or last[span.end_column - 1 :].strip():
        return None
    if span.end_line == len(lines):  # the last line, without a line break after it
        return Edit(span.line, 1, span.end_line, len(last) + 1, "")
    return Edit(span.line, 1, span.end_line + 1, 1, "")


def alias_fix(source: SourceFile, span: Span, name: str, documented: str) -> Fix | None:
    """SP110's fix: the documented name for an alias of a well-known shim, which runs the
    same binary (C1); unsafe where the documented name is read by its spelling."""
    if not documented or any(c in documented for c in " *?["):
        return None  # several documented names: which one is the reader's choice
    edit = rename(source, span, name, documented)
    if edit is None:
        return None
    kind = "unsafe" if documented in READ_BY_NAME else "safe"
    return Fix(kind, f"rename to {documented}", (edit,))


def remove_ignored(source: SourceFile, key: Scalar, value: Node, what: str) -> Fix | None:
    """A safe fix for a ``key = value`` the daemon ignores: its lines removed, when the
    entry has them to itself."""
    return remove_entry(source, key, value, "safe", f"remove {what}, which is ignored")


def remove_entry(
    source: SourceFile, key: Scalar | None, value: Node, kind: str, message: str
) -> Fix | None:
    """A fix that removes the lines of ``key = value``, when the entry has them to itself."""
    if key is None:
        return None
    edit = delete_lines(source, Span(key.line, key.column, value.end_line, value.end_column))
    return None if edit is None else Fix(kind, message, (edit,))


def remove_member(source: SourceFile, key: Scalar, value: Node, what: str) -> Fix | None:
    """A safe fix for a JSON member the daemon ignores: the member and one comma beside
    it removed; its line too when it had one to itself."""
    text = source.text
    starts = line_starts(text)
    try:
        start = _offset(starts, text, key.line, key.column)
        end = _offset(starts, text, value.end_line, value.end_column)
    except FixRefused:
        return None
    after = end
    while after < len(text) and text[after] in " \t\r\n":
        after += 1
    before = start
    while before > 0 and text[before - 1] in " \t\r\n":
        before -= 1
    if after < len(text) and text[after] == ",":  # a member follows: take its comma
        end = after + 1
        while end < len(text) and text[end] in " \t":
            end += 1
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        if not text[line_start:start].strip() and line_end != -1 and not text[end:line_end].strip():
            start, end = line_start, line_end + 1  # the member's line, whole
    elif before > 0 and text[before - 1] == ",":  # the last member: the comma before it
        start = before - 1
    line, column = _position(starts, start)
    end_line, end_column = _position(starts, end)
    edit = Edit(line, column, end_line, end_column, "")
    return Fix("safe", f"remove {what}, which is ignored", (edit,))


def applicable(f: Finding, unsafe: bool) -> bool:
    return f.fix is not None and (f.fix.kind == "safe" or unsafe)


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with every edit made; overlapping edits are refused."""
    starts = line_starts(text)
    ranges = sorted(
        (
            _offset(starts, text, e.line, e.column),
            _offset(starts, text, e.end_line, e.end_column),
            e.text,
        )
        for e in edits
    )
    out, at = [], 0
    for start, end, new in ranges:
        if start < at or end < start:
            raise FixRefused("two fixes edit the same text")
        out.append(text[at:start])
        out.append(new)
        at = end
    out.append(text[at:])
    return "".join(out)


def fix_text(
    text: str,
    filename: str,
    policy: Policy,
    options: LintOptions,
    unsafe: bool = False,
    findings: Sequence[Finding] | None = None,
) -> Fixed:
    """``text`` with the fixes of its findings applied (the safe ones; the unsafe ones too
    with ``unsafe``), proven by linting the result again.  ``findings``: the findings a run
    reported for this file (default: those of linting ``text`` alone)."""
    from .engine import lint_text

    before = lint_text(text, filename, policy, options).findings
    chosen = [f for f in (before if findings is None else findings) if applicable(f, unsafe)]
    # A fix is made only as the text as it is now gives it: a file changed since the run
    # read it (or met twice, through a link) is not edited at stale positions.
    current = {(f.rule, f.message, f.fix) for f in before}
    stale = tuple(
        (f, "the file changed since it was linted")
        for f in chosen
        if (f.rule, f.message, f.fix) not in current
    )
    chosen = [f for f in chosen if (f.rule, f.message, f.fix) in current]
    if not chosen:
        return Fixed(text, (), stale)
    try:
        fixed = _apply(text, filename, policy, options, before, chosen)
        return Fixed(fixed, tuple(chosen), stale)
    except FixRefused:
        pass
    # Together they do not hold: each alone, then those that hold, together.
    holding, refused = [], []
    for f in chosen:
        try:
            _apply(text, filename, policy, options, before, [f])
            holding.append(f)
        except FixRefused as e:
            refused.append((f, str(e)))
    if not holding:
        return Fixed(text, (), (*stale, *refused))
    try:
        fixed = _apply(text, filename, policy, options, before, holding)
    except FixRefused as e:  # each holds alone, not with the others: none is written
        return Fixed(text, (), (*stale, *refused, *((f, str(e)) for f in holding)))
    return Fixed(fixed, tuple(holding), (*stale, *refused))


def _apply(
    text: str,
    filename: str,
    policy: Policy,
    options: LintOptions,
    before: Sequence[Finding],
    chosen: Sequence[Finding],
) -> str:
    """The text with the fixes of ``chosen`` made, or ``FixRefused``."""
    from .engine import lint_text

    edits = [e for f in chosen for e in f.fix.edits]  # type: ignore[union-attr]
    body = text.removeprefix("\ufeff")
    fixed = text[: len(text) - len(body)] + apply_edits(body, edits)
    after = lint_text(fixed, filename, policy, options).findings
    _verify(before, after, chosen)
    _same_tree(body, fixed.removeprefix("\ufeff"), filename, options, edits)
    return fixed


def _key(f: Finding) -> tuple[str, str]:
    return (f.rule, f.message)


def _verify(before: Sequence[Finding], after: Sequence[Finding], chosen: Sequence[Finding]) -> None:
    for f in after:
        if f.rule == "SP001":
            raise FixRefused(f"the fixed file cannot be parsed ({f.message})")
    expected = Counter(map(_key, before)) - Counter(map(_key, chosen))
    new = Counter(map(_key, after)) - expected
    if new:
        rule, message = sorted(new)[0]
        raise FixRefused(f"the fixed file has a finding the original did not: {rule} {message}")


def _same_tree(
    before: str, after: str, filename: str, options: LintOptions, edits: Sequence[Edit]
) -> None:
    """The fixed text parses to the original's tree but where the edits are."""
    from .engine import file_types
    from .filetype import type_by_content, type_by_name

    kind = options.file_type or type_by_name(filename) or type_by_content(filename, before)
    if kind is None:
        return
    load = file_types()[kind].load
    old = load(SourceFile.of(filename, before, kind))
    new = load(SourceFile.of(filename, after, kind))
    spans = [Span(e.line, e.column, e.end_line, e.end_column) for e in edits]
    if not same_except(old, new, spans):
        raise FixRefused("the fix would change a value it was not made for")


def _touches(node_span: Span, spans: Sequence[Span]) -> bool:
    a = (node_span.line, node_span.column)
    b = (node_span.end_line, node_span.end_column)
    return any((s.line, s.column) <= b and a <= (s.end_line, s.end_column) for s in spans)


def same_except(old: Any, new: Any, spans: Sequence[Span]) -> bool:
    """Whether two parsed trees are the same, positions aside, except for scalars (keys
    and values) an edit in ``spans`` touches and mapping entries an edit removed."""
    if isinstance(old, Scalar):
        if isinstance(new, Scalar) and (old.value, old.kind) == (new.value, new.kind):
            return True
        return _touches(old.span, spans)
    if isinstance(old, Mapping):
        if not isinstance(new, Mapping):
            return False
        kept = [(k, v) for k, v in old.items if not _removed(k, v, spans)]
        if len(kept) != len(new.items):
            return False
        return all(
            same_except(k, nk, spans) and same_except(v, nv, spans)
            for (k, v), (nk, nv) in zip(kept, new.items, strict=True)
        )
    if isinstance(old, SeqNode):
        if not isinstance(new, SeqNode) or len(old.items) != len(new.items):
            return False
        return all(same_except(a, b, spans) for a, b in zip(old.items, new.items, strict=True))
    if isinstance(old, list):
        if not isinstance(new, list) or len(old) != len(new):
            return False
        return all(same_except(a, b, spans) for a, b in zip(old, new, strict=True))
    return True  # a file type read without a tree (shell, systemd): re-linting decides


def _removed(key: Scalar, value: Any, spans: Sequence[Span]) -> bool:
    """Whether an edit deletes this entry whole (its key and its value)."""
    end = getattr(value, "end_line", key.end_line), getattr(value, "end_column", key.end_column)
    return any(
        (s.line, s.column) <= (key.line, key.column) and end <= (s.end_line, s.end_column)
        for s in spans
    )
