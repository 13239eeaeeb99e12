"""GitHub Actions workflows (``.github/workflows/*.yml``): the ``run:`` steps are shell.

Each step's script is checked like a shell script (lint/shell.py), and every finding is
placed where its text is written in the workflow: the script is the YAML value, so the
value is rebuilt here character by character from the file (block scalars ``|`` and
``>``, plain and quoted scalars, folding and escapes) to map a position in the script
back to a line and column of the file.  A GitHub expression such as
``${{ inputs.runtime }}`` is filled in before the shell runs: reported as unresolvable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .._typing import TYPE_CHECKING, NamedTuple
from ..syntax import Mapping, Node, Scalar, Sequence, Span
from ..syntax.shell import find_runtime_flags
from ..syntax.yaml import parse_yaml
from .context import LintContext
from .facts import Facts
from .filetype import FileType
from .shell import check_flag
from .source import SourceFile

if TYPE_CHECKING:
    from .embedded import Embedded

# `shell:` values that are POSIX shells; steps in any other (pwsh, cmd, python) are skipped.
POSIX_SHELLS = frozenset({"bash", "sh", "dash", "ksh", "zsh"})
_DEFAULT = ("defaults", "run", "shell")
_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")  # line breaks as YAML counts them


def load(source: SourceFile) -> list[Node]:
    return parse_yaml(source.text)


def collect(doc: list[Node], source: SourceFile, facts: Facts) -> None:
    return None


def check(doc: list[Node], source: SourceFile, ctx: LintContext) -> None:
    lines: list[str] | None = None
    for key, script in run_steps(doc):
        if not isinstance(script.value, str) or "--runtime" not in script.value:
            continue
        flags = find_runtime_flags(script.value)
        if not flags:
            continue
        if lines is None:
            lines = yaml_lines(source.text)
        where = ScriptText.of(lines, script, key.span.column - 1)
        for flag in flags:
            check_flag(ctx, source, flag, where.span(flag.span))


def run_steps(docs: list[Node]) -> Iterator[tuple[Scalar, Scalar]]:
    """(the ``run`` key, the script) of every step a POSIX shell runs."""
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        jobs = doc.get("jobs")
        if not isinstance(jobs, Mapping):
            continue
        for _, job in jobs.pairs():
            if not isinstance(job, Mapping):
                continue
            default = _shell(job, *_DEFAULT) or _shell(doc, *_DEFAULT)
            steps = job.get("steps")
            for step in steps.items if isinstance(steps, Sequence) else ():
                if not isinstance(step, Mapping):
                    continue
                key, script = step.key("run"), step.get("run")
                shell = _shell(step, "shell") or default
                if key is None or not isinstance(script, Scalar) or not _posix(shell):
                    continue
                yield key, script


def _shell(node: Node, *path: str) -> str | None:
    for part in path:
        if not isinstance(node, Mapping):
            return None
        found = node.get(part)
        if found is None:
            return None
        node = found
    return node.value if isinstance(node, Scalar) and isinstance(node.value, str) else None


def _posix(shell: str | None) -> bool:
    if shell is None:
        return True  # the runner's default: bash (pwsh on Windows runners reads these alike)
    words = shell.split()
    return bool(words) and words[0].rsplit("/", 1)[-1] in POSIX_SHELLS


# -- positions of a YAML scalar's characters ----------------------------------------------


def yaml_lines(text: str) -> list[str]:
    """``text`` split into lines as YAML counts them (CR, LF, CRLF, NEL, LS, PS)."""
    return _BREAK.split(text)


Point = tuple[int, int]  # (line, column) in the file
# One character of a rebuilt value: the character, where its source text starts and ends.
_Built = list[tuple[str, Point, Point]]


class ScriptText(NamedTuple):
    """Where each character of a scalar's value is written: the value's character ``i``
    comes from the file text from ``starts[i]`` up to (not including) ``ends[i]``."""

    value: str
    starts: tuple[Point, ...]
    ends: tuple[Point, ...]
    origin: Point  # the scalar's start, for an empty value

    @staticmethod
    def of(lines: list[str], scalar: Scalar, indent: int) -> ScriptText:
        """``lines``: the file split as YAML splits lines; ``indent``: the indentation of
        the mapping holding the scalar (for a block scalar's indentation indicator)."""
        value = scalar.value if isinstance(scalar.value, str) else ""
        origin = (scalar.span.line, scalar.span.column)
        opener = lines[origin[0] - 1][origin[1] - 1 : origin[1]] if origin[0] <= len(lines) else ""
        if opener in ("|", ">"):
            built = _block(lines, scalar.span, indent)
        else:
            built = _flow(lines, scalar.span, opener)
        if "".join(c for c, _, _ in built).rstrip("\n") != value.rstrip("\n"):
            # Not rebuilt exactly (an unusual form): every position is the scalar's start.
            return ScriptText(value, (origin,) * len(value), (origin,) * len(value), origin)
        built = built[: len(value)]
        last = built[-1][2] if built else origin
        built += [("\n", last, last)] * (len(value) - len(built))  # chomped line breaks
        return ScriptText(
            value, tuple(b for _, b, _ in built), tuple(e for _, _, e in built), origin
        )

    def span(self, inner: Span) -> Span:
        """A span within the value (lines split on ``\\n``) as a span of the file."""
        first = self._offset(inner.line, inner.column)
        last = self._offset(inner.end_line, inner.end_column)
        if first < len(self.value):
            start = self.starts[first]
        else:
            start = self.ends[-1] if self.value else self.origin
        end = self.ends[last - 1] if last > first else start
        return Span(*start, *end)

    def point(self, line: int, column: int) -> Point:
        """Where the value's character at ``line``, ``column`` (lines split on ``\\n``) is
        written in the file."""
        at = self._offset(line, column)
        if at < len(self.value):
            return self.starts[at]
        return self.ends[-1] if self.value else self.origin

    def _offset(self, line: int, column: int) -> int:
        at = 0
        for _ in range(line - 1):
            found = self.value.find("\n", at)
            if found < 0:
                break
            at = found + 1
        return min(at + column - 1, len(self.value))


_HEADER = re.compile(r"[|>](?:([1-9])([+-]?)|([+-]?)([1-9]?))")


def _block(lines: list[str], span: Span, indent: int) -> _Built:
    """A literal (``|``) or folded (``>``) block scalar."""
    header = lines[span.line - 1][span.column - 1 :]
    match = _HEADER.match(header)
    assert match is not None  # the header starts with | or >
    digit = match.group(1) or match.group(4)
    chomp = match.group(2) or match.group(3)
    last = span.end_line - (1 if span.end_column == 1 else 0)
    content = [(n, lines[n - 1]) for n in range(span.line + 1, min(last, len(lines)) + 1)]
    if digit:
        width = indent + int(digit)
    else:
        width = next((len(t) - len(t.lstrip(" ")) for _, t in content if t.strip()), 0)
    folded = header.startswith(">")
    out: _Built = []
    pending: list[Point] = []  # empty lines since the last text line
    previous: tuple[str, Point] | None = None  # kind of the last text line, and its end
    for number, text in content:
        if not text.strip(" ") and len(text) <= width:  # more spaces than that are content
            pending.append((number, 1))
            continue
        body = text[width:]
        kind = "more" if body[:1] in (" ", "\t") else "text"
        if previous is None:
            out.extend(("\n", p, p) for p in pending)
        elif folded and previous[0] == "text" and kind == "text":
            end = previous[1]
            out.extend([(" ", end, end)] if not pending else [("\n", p, p) for p in pending])
        else:
            end = previous[1]
            out.append(("\n", end, end))
            out.extend(("\n", p, p) for p in pending)
        pending = []
        out.extend(
            (c, (number, width + i + 1), (number, width + i + 2)) for i, c in enumerate(body)
        )
        previous = (kind, (number, len(text) + 1))
    if previous is not None and chomp != "-":
        out.append(("\n", previous[1], previous[1]))
        if chomp == "+":
            out.extend(("\n", p, p) for p in pending)
    return out


_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX = {"x": 2, "u": 4, "U": 8}


def _flow(lines: list[str], span: Span, quote: str) -> _Built:
    """A plain, single-quoted or double-quoted scalar, folded over its lines."""
    quoted = quote in ("'", '"')
    rows: list[list[tuple[str, Point, Point, bool]]] = []  # (char, start, end, escaped)
    joined: list[bool] = []  # the row ends with an escaped line break
    for number in range(span.line, span.end_line + 1):
        text = lines[number - 1] if number <= len(lines) else ""
        first = span.column - 1 + (1 if quoted else 0) if number == span.line else 0
        stop = span.end_column - 1 - (1 if quoted else 0) if number == span.end_line else len(text)
        row, joined_here = _flow_row(text, number, first, stop, quote)
        rows.append(row)
        joined.append(joined_here)
    out: _Built = []
    empties = 0
    for index, row in enumerate(rows):
        if index > 0:
            while row and row[0][0] in " \t" and not row[0][3]:
                row = row[1:]
        if index < len(rows) - 1 and not joined[index]:
            while row and row[-1][0] in " \t" and not row[-1][3]:
                row = row[:-1]
        if index > 0 and not row and index < len(rows) - 1:
            empties += 1
            continue
        if index > 0 and not joined[index - 1 - empties]:
            at = out[-1][2] if out else row[0][1] if row else (span.line, span.column)
            out.extend([(" ", at, at)] if empties == 0 else [("\n", at, at)] * empties)
        empties = 0
        out.extend((c, b, e) for c, b, e, _ in row)
    return out


def _flow_row(
    text: str, number: int, first: int, stop: int, quote: str
) -> tuple[list[tuple[str, Point, Point, bool]], bool]:
    """One line of a flow scalar with quotes and escapes undone, and whether it ends with
    an escaped line break."""
    row: list[tuple[str, Point, Point, bool]] = []
    i = first
    while i < stop:
        c = text[i]
        if quote == "'" and c == "'" and text[i + 1 : i + 2] == "'":
            char, width, escaped = "'", 2, True
        elif quote == '"' and c == "\\":
            if i + 1 >= stop:
                return row, True
            e = text[i + 1]
            width = 2 + _HEX.get(e, 0)
            char = _hex(text[i + 2 : i + width]) if e in _HEX else _ESCAPES.get(e, e)
            escaped = True
        else:
            char, width, escaped = c, 1, False
        row.append((char, (number, i + 1), (number, i + 1 + width), escaped))
        i += width
    return row, False


def _hex(digits: str) -> str:
    """The character a ``\\x``, ``\\u`` or ``\\U`` escape stands for; U+FFFD for what the reader
    would not have accepted (the rebuilt value then differs, and positions fall back)."""
    try:
        return chr(int(digits, 16))
    except ValueError:
        return "\ufffd"


def embedded(doc: list[Node], source: SourceFile) -> list[Embedded]:
    """Configuration files the ``run:`` steps write (lint/embedded.py), placed in the
    workflow."""
    from .embedded import shell_files

    out: list[Embedded] = []
    lines: list[str] | None = None
    for key, script in run_steps(doc):
        if not isinstance(script.value, str) or (
            ">" not in script.value and "tee" not in script.value
        ):
            continue
        if lines is None:
            lines = yaml_lines(source.text)
        out += shell_files(script.value, ScriptText.of(lines, script, key.span.column - 1))
    return out


TYPE = FileType("workflow", "GitHub Actions workflow", load, collect, check, embedded=embedded)
