"""A TOML 1.0 reader that keeps the position of every key and value.

containerd's ``config.toml`` (SPEC C5) and the ``[tool.shimpolicy]`` table of
``pyproject.toml`` are read with it, so a finding can point at the exact key or value.
Python 3.10 has no ``tomllib`` and the project adds no dependency, hence a reader of its
own.  It accepts and rejects the documents ``tomllib`` does, with three deliberate
differences: a leading BOM is skipped (editors write one), containers nested more than
``max_depth`` deep are an error (``tomllib`` hits ``RecursionError``), and date/time
values are kept as their source text.

Positions follow :mod:`shimpolicy.syntax`.  A key's span is that key part as written; for
a table, in the header or dotted key that first created it, explicitly or implicitly.  A
table's span is the header that defined it (or else the one or the dotted key that first
created it), an array of tables' span is its first ``[[header]]``, an inline table's or
array's span runs from its opening to its closing bracket, and a value's span covers its
literal, quotes included.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date

from shimpolicy.syntax import Mapping, Node, Scalar, Sequence, Span, SyntaxProblem

from .._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = ["parse_toml"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# The common key parts in one match: bare, or quoted without escapes.
_KEY_PART = re.compile(
    r"""([A-Za-z0-9_-]+)|"([^"\\\x00-\x08\n-\x1f\x7f]*)"|'([^'\x00-\x08\n-\x1f\x7f]*)'"""
)
_DOT = re.compile(r"[ \t]*\.[ \t]*")
_EQUALS = re.compile(r"[ \t]*=[ \t]*")
_WS = re.compile(r"[ \t]*")
# Whitespace, newlines and comments, as allowed inside arrays and between statements.
_BLANK = re.compile(r"[ \t\n]*(?:#[^\n]*[ \t\n]*)*")
# What may follow a statement: a comment, then a newline (and blank lines) or the end.
_STATEMENT_END = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\n[ \t\n]*(?:#[^\n]*[ \t\n]*)*|\Z)")
# Control characters other than tab and newline.  Outside strings they can only hide in
# the comments that _BLANK and _STATEMENT_END skip, and TOML forbids them there too.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BASIC = re.compile(r'"([^"\\\x00-\x08\n-\x1f\x7f]*)"')
_LITERAL = re.compile(r"'([^'\x00-\x08\n-\x1f\x7f]*)'")
_BASIC_CHUNK = re.compile(r'[^"\\\x00-\x08\n-\x1f\x7f]*')
_ML_BASIC_CHUNK = re.compile(r'[^"\\\x00-\x08\x0b-\x1f\x7f]*')
_LITERAL_CHUNK = re.compile(r"[^'\x00-\x08\n-\x1f\x7f]*")
_ML_LITERAL_CHUNK = re.compile(r"[^'\x00-\x08\x0b-\x1f\x7f]*")
_ESCAPE = re.compile(r'\\(?:([btnfr"\\])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|([ \t]*\n[ \t\n]*))')
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
_DATETIME = re.compile(
    rf"([0-9]{{4}})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    rf"(?:([Tt ]){_TIME}(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
_LOCAL_TIME = re.compile(_TIME)
_NUMBER = re.compile(
    r"0(?:x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*|b[01](?:_?[01])*|o[0-7](?:_?[0-7])*)"
    r"|[+-]?(?:0|[1-9](?:_?[0-9])*)((?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?)"
)
_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|nan)")
_KIND_PHRASE = {
    "string": "a string",
    "integer": "an integer",
    "float": "a float",
    "boolean": "a boolean",
    "datetime": "a date-time",
    "date": "a date",
    "time": "a time",
}

# A key part: its text and where it is written (offsets into the source).
_Part: TypeAlias = tuple[str, int, int]


class _Table:
    """A table while the document is read; frozen into a Mapping at the end."""

    __slots__ = (
        "depth",
        "dotted_line",
        "entries",
        "header_line",
        "name",
        "parent",
        "sealed",
        "span",
    )

    def __init__(
        self, span: Span, depth: int, parent: _Table | None = None, name: str = ""
    ) -> None:
        self.entries: dict[str, tuple[Scalar, _Child]] = {}
        self.span = span
        self.depth = depth
        # Where the table hangs, for naming it in errors (no path kept per table: a header
        # of n parts would cost n squared).
        self.parent = parent
        self.name = name
        # Line of the [header] that defined it, and of the first dotted key through it.
        self.header_line = 0
        self.dotted_line = 0
        # Defined for good: by a header, or by dotted keys once their section has ended.
        # No header may define a sealed table again and no dotted key may extend it.
        self.sealed = False

    def dotted(self, *names: str) -> str:
        """The key path of this table, plus ``names``, spelled as TOML would write it."""
        path = list(reversed(names))
        table: _Table | None = self
        while table is not None and table.parent is not None:
            path.append(table.name)
            table = table.parent
        return ".".join(n if _BARE_KEY.fullmatch(n) else _quote(n) for n in reversed(path))


class _TableArray:
    """An array of tables (``[[name]]``) while the document is read."""

    __slots__ = ("depth", "span", "tables")

    def __init__(self, span: Span, depth: int) -> None:
        self.tables: list[_Table] = []
        self.span = span
        self.depth = depth


# Inline tables and static arrays are frozen as soon as they close: TOML forbids
# extending them, so meeting a Mapping or Sequence on a path is that error.
_Child: TypeAlias = _Table | _TableArray | Scalar | Mapping | Sequence
_Builder: TypeAlias = _Table | _TableArray


class _ArrayFrame:
    """An array being read: where it starts, the depth of its items, the items so far."""

    __slots__ = ("depth", "items", "start")

    def __init__(self, start: int, depth: int) -> None:
        self.start = start
        self.depth = depth
        self.items: list[Node] = []


class _InlineFrame:
    """An inline table being read, and the key of the entry whose value comes next."""

    __slots__ = ("builders", "depth", "parts", "start", "table")

    def __init__(self, start: int, table: _Table) -> None:
        self.start = start
        self.table = table
        # The tables its dotted keys create, frozen with it when it closes.
        self.builders: list[_Builder] = []
        self.parts: list[_Part] = []
        self.depth = table.depth  # of the next value: below the tables of its dotted key


def parse_toml(text: str, *, max_depth: int = 256) -> Mapping:
    """Read a TOML 1.0 document into a positioned tree.

    Raises SyntaxProblem, with the line and column of the fault, for anything that is not
    valid TOML (duplicate keys and redefined tables included) and for arrays, inline
    tables or tables nested more than ``max_depth`` deep.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    # TOML lets a reader take CRLF as LF (tomllib does).  Dropping the CR of a CRLF moves
    # no column on any line, so every position still holds for the original text.
    return _Parser(text.replace("\r\n", "\n"), max_depth).document()


def _end(pattern: re.Pattern[str], src: str, pos: int) -> int:
    """End of a match of a pattern that can match the empty string."""
    match = pattern.match(src, pos)
    return pos if match is None else match.end()


def _quote(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _ANY_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04X}", escaped) + '"'


def _what(child: _Child) -> str:
    if isinstance(child, Scalar):
        return _KIND_PHRASE[child.kind]
    if isinstance(child, Sequence):
        return "an array"
    if isinstance(child, Mapping):
        return "an inline table"
    if isinstance(child, _TableArray):
        return "an array of tables"
    return "a table"


def _freeze(root: _Table, builders: list[_Builder]) -> Mapping:
    """Freeze ``root`` and the tables and arrays of tables under it, listed in ``builders``.

    Each builder is created after its parent, so going backwards freezes every child
    before its parent, without recursion however deep the tables nest.
    """
    frozen: dict[int, Node] = {}
    for builder in reversed(builders):
        if isinstance(builder, _Table):
            frozen[id(builder)] = _mapping(builder, frozen)
        else:
            frozen[id(builder)] = Sequence(
                tuple(frozen[id(t)] for t in builder.tables), *builder.span
            )
    return _mapping(root, frozen)


def _mapping(table: _Table, frozen: dict[int, Node]) -> Mapping:
    return Mapping(
        tuple(
            (key, frozen[id(child)] if isinstance(child, (_Table, _TableArray)) else child)
            for key, child in table.entries.values()
        ),
        *table.span,
    )


class _Parser:
    def __init__(self, src: str, max_depth: int) -> None:
        self.src = src
        self.max_depth = max_depth
        # Offset where each line starts, for turning offsets into line and column.
        self.starts = [0]
        self.starts.extend(m.end() for m in re.finditer("\n", src))
        self.root = _Table(self.span(0, len(src)), 0)
        # Every table and array of tables under the root (not in inline tables), in
        # creation order.
        self.builders: list[_Builder] = []
        # Tables dotted keys went through in the current section: as in tomllib, the next
        # header seals them, so later sections can neither redefine nor extend them.
        self.pending: list[_Table] = []

    # -- positions and errors ------------------------------------------------------------

    def span(self, start: int, end: int) -> Span:
        starts = self.starts
        line = bisect_right(starts, start)
        column = start - starts[line - 1] + 1
        if line == len(starts) or end < starts[line]:
            return Span(line, column, line, end - starts[line - 1] + 1)
        end_line = bisect_right(starts, end)
        return Span(line, column, end_line, end - starts[end_line - 1] + 1)

    def line(self, pos: int) -> int:
        return bisect_right(self.starts, pos)

    def problem(self, message: str, pos: int) -> SyntaxProblem:
        line = self.line(pos)
        return SyntaxProblem(message, line, pos - self.starts[line - 1] + 1)

    def unexpected(self, pos: int, expected: str) -> SyntaxProblem:
        char = self.src[pos : pos + 1]
        if not char:
            found = "end of document"
        elif char == "\n":
            found = "end of line"
        elif _ANY_CONTROL.match(char):
            found = f"control character U+{ord(char):04X}"
        else:
            found = repr(char)
        return self.problem(f"expected {expected}, found {found}", pos)

    def too_deep(self, pos: int) -> SyntaxProblem:
        return self.problem(f"nesting exceeds the depth limit of {self.max_depth}", pos)

    def blank(self, pos: int) -> int:
        """Skip whitespace, newlines and comments."""
        end = _end(_BLANK, self.src, pos)
        self.check_comments(pos, end)
        return end

    def check_comments(self, start: int, end: int) -> None:
        bad = _CONTROL.search(self.src, start, end)
        if bad is not None:
            raise self.problem(
                f"control character U+{ord(bad.group()):04X} is not allowed in a comment",
                bad.start(),
            )

    # -- statements ----------------------------------------------------------------------

    def document(self) -> Mapping:
        """toml = expression *( newline expression )"""
        src = self.src
        table = self.root
        pos = self.blank(0)
        while pos < len(src):
            if src[pos] == "[":
                pos, table = self.header(pos)
            else:
                pos = self.keyval(pos, table)
            end = _STATEMENT_END.match(src, pos)
            if end is None:
                raise self.unexpected(_end(_WS, src, pos), "a newline after the statement")
            self.check_comments(pos, end.end())
            pos = end.end()
        return _freeze(self.root, self.builders)

    def header(self, start: int) -> tuple[int, _Table]:
        """std-table = "[" ws key ws "]";  array-table = "[[" ws key ws "]]" """
        src = self.src
        array = src.startswith("[[", start)
        close = "]]" if array else "]"
        parts, pos = self.key(_end(_WS, src, start + len(close)), "a table name")
        pos = _end(_WS, src, pos)
        if not src.startswith(close, pos):
            raise self.unexpected(pos, f"'{close}' to close the table header")
        end = pos + len(close)
        span = self.span(start, end)
        for table in self.pending:
            table.sealed = True
        self.pending.clear()
        parent = self.root
        for name, a, b in parts[:-1]:
            entry = parent.entries.get(name)
            if entry is None:
                parent = self.new_table(parent, name, a, b, span, self.builders)
            elif isinstance(entry[1], _Table):
                parent = entry[1]
            elif isinstance(entry[1], _TableArray):
                parent = entry[1].tables[-1]
            else:
                raise self.not_a_table(parent.dotted(name), entry, a)
        name, a, b = parts[-1]
        if array:
            return end, self.append_table(parent, name, a, b, span)
        return end, self.define_table(parent, name, a, b, span)

    def define_table(self, parent: _Table, name: str, a: int, b: int, span: Span) -> _Table:
        entry = parent.entries.get(name)
        if entry is None:
            table = self.new_table(parent, name, a, b, span, self.builders)
        else:
            key, child = entry
            path = parent.dotted(name)
            if not isinstance(child, _Table):
                raise self.problem(
                    f"'{path}' is already defined as {_what(child)} at line {key.span.line}", a
                )
            if child.header_line:
                raise self.problem(
                    f"table '{path}' is already defined at line {child.header_line}", a
                )
            if child.sealed:
                raise self.problem(
                    f"table '{path}' is already defined with dotted keys"
                    f" at line {child.dotted_line}",
                    a,
                )
            table = child
            table.span = span
        table.header_line = span.line
        table.sealed = True
        return table

    def append_table(self, parent: _Table, name: str, a: int, b: int, span: Span) -> _Table:
        entry = parent.entries.get(name)
        if entry is None:
            if parent.depth + 1 > self.max_depth:
                raise self.too_deep(a)
            array = _TableArray(span, parent.depth + 1)
            parent.entries[name] = (Scalar(name, *self.span(a, b), "key"), array)
            self.builders.append(array)
        elif isinstance(entry[1], _TableArray):
            array = entry[1]
        elif isinstance(entry[1], Sequence):
            raise self.problem(
                f"cannot append to static array '{parent.dotted(name)}'"
                f" (defined at line {entry[0].span.line})",
                a,
            )
        else:
            raise self.problem(
                f"'{parent.dotted(name)}' is already defined as {_what(entry[1])}"
                f" at line {entry[0].span.line}",
                a,
            )
        if array.depth + 1 > self.max_depth:
            raise self.too_deep(a)
        table = _Table(span, array.depth + 1, parent, name)
        array.tables.append(table)
        self.builders.append(table)
        return table

    def new_table(
        self, parent: _Table, name: str, a: int, b: int, span: Span, builders: list[_Builder]
    ) -> _Table:
        if parent.depth + 1 > self.max_depth:
            raise self.too_deep(a)
        table = _Table(span, parent.depth + 1, parent, name)
        parent.entries[name] = (Scalar(name, *self.span(a, b), "key"), table)
        builders.append(table)
        return table

    def not_a_table(self, where: str, entry: tuple[Scalar, _Child], pos: int) -> SyntaxProblem:
        """The error for a key path that goes through something other than a table."""
        key, child = entry
        where = f"'{where}'"
        line = key.span.line
        if isinstance(child, Mapping):
            return self.problem(f"cannot extend inline table {where} (defined at line {line})", pos)
        if isinstance(child, Sequence):
            return self.problem(f"cannot extend static array {where} (defined at line {line})", pos)
        if isinstance(child, _TableArray):
            return self.problem(
                f"cannot extend array of tables {where} with dotted keys (defined at line {line})",
                pos,
            )
        return self.problem(f"{where} is already defined as {_what(child)} at line {line}", pos)

    def keyval(self, pos: int, table: _Table) -> int:
        """keyval = key keyval-sep val"""
        parts, pos = self.key(pos, "a key or a table header")
        node, end = self.value(self.equals(pos), table.depth + len(parts))
        self.assign(table, parts, node, self.builders, self.pending)
        return end

    def equals(self, pos: int) -> int:
        """keyval-sep = ws "=" ws"""
        match = _EQUALS.match(self.src, pos)
        if match is None:
            raise self.unexpected(_end(_WS, self.src, pos), "'=' after the key")
        return match.end()

    def assign(
        self,
        table: _Table,
        parts: list[_Part],
        node: Node,
        builders: list[_Builder],
        pending: list[_Table] | None,
    ) -> None:
        """Store a value under a (dotted) key of ``table``, creating the tables between."""
        for name, a, b in parts[:-1]:
            entry = table.entries.get(name)
            if entry is None:
                span = self.span(parts[0][1], parts[-1][2])
                child = self.new_table(table, name, a, b, span, builders)
            elif isinstance(entry[1], _Table):
                child = entry[1]
                if child.sealed:
                    raise self.problem(
                        f"cannot extend table '{child.dotted()}' with dotted keys:"
                        f" it is defined at line {child.header_line or child.dotted_line}",
                        a,
                    )
            else:
                raise self.not_a_table(table.dotted(name), entry, a)
            if pending is not None:
                if not child.dotted_line:
                    child.dotted_line = self.line(a)
                pending.append(child)
            table = child
        name, a, b = parts[-1]
        entry = table.entries.get(name)
        if entry is not None:
            raise self.problem(
                f"duplicate key '{table.dotted(name)}'"
                f" (first defined at line {entry[0].span.line})",
                a,
            )
        table.entries[name] = (Scalar(name, *self.span(a, b), "key"), node)

    def key(self, pos: int, expected: str) -> tuple[list[_Part], int]:
        """key = simple-key *( ws "." ws simple-key )"""
        src = self.src
        parts: list[_Part] = []
        while True:
            match = _KEY_PART.match(src, pos)
            if match is not None:
                end = match.end()
                parts.append((match.group(match.lastindex or 0), pos, end))
            elif src.startswith('"', pos):
                name, end = self.basic_string(pos, multiline=False)
                parts.append((name, pos, end))
            elif src.startswith("'", pos):
                raise self.bad_literal(pos)
            else:
                raise self.unexpected(pos, expected)
            dot = _DOT.match(src, end)
            if dot is None:
                return parts, end
            pos = dot.end()
            expected = "a key after '.'"

    # -- values --------------------------------------------------------------------------

    def value(self, pos: int, depth: int) -> tuple[Node, int]:
        """val = string / boolean / array / inline-table / date-time / float / integer

        Arrays and inline tables are read with an explicit stack rather than recursion, so
        no nesting can exhaust Python's stack; ``depth`` is the depth of the value.
        """
        stack: list[_ArrayFrame | _InlineFrame] = []
        while True:
            node, pos = self.open_value(pos, depth, stack)
            while node is not None and stack:
                node, pos = self.add_to_container(stack, node, pos)
            if node is not None:
                return node, pos
            depth = stack[-1].depth

    def open_value(
        self, pos: int, depth: int, stack: list[_ArrayFrame | _InlineFrame]
    ) -> tuple[Node | None, int]:
        """A scalar or an empty container; or None, having pushed the container that
        starts at ``pos`` on ``stack``, and the position of its first value."""
        src = self.src
        char = src[pos : pos + 1]
        if char not in ("[", "{"):
            return self.scalar(pos)
        if depth > self.max_depth:
            raise self.too_deep(pos)
        if char == "[":
            start, pos = pos, self.blank(pos + 1)
            if src.startswith("]", pos):
                return Sequence((), *self.span(start, pos + 1)), pos + 1
            stack.append(_ArrayFrame(start, depth + 1))
            return None, pos
        start, pos = pos, _end(_WS, src, pos + 1)
        if src.startswith("}", pos):
            return Mapping((), *self.span(start, pos + 1)), pos + 1
        frame = _InlineFrame(start, _Table(self.span(start, start), depth))
        stack.append(frame)
        return None, self.inline_key(frame, pos, "a key or '}'")

    def inline_key(self, frame: _InlineFrame, pos: int, expected: str) -> int:
        """The key and '=' of the next entry of an inline table; returns where its value is."""
        frame.parts, pos = self.key(pos, expected)
        frame.depth = frame.table.depth + len(frame.parts)
        return self.equals(pos)

    def add_to_container(
        self, stack: list[_ArrayFrame | _InlineFrame], node: Node, pos: int
    ) -> tuple[Node | None, int]:
        """Give a finished value to the innermost container on ``stack``: None and the
        position of the container's next value, or the container itself once it closes.

        array = "[" [ array-values ] ws-comment-newline "]"
        inline-table = "{" ws [ inline-table-keyvals ] ws "}"
        """
        src = self.src
        frame = stack[-1]
        if isinstance(frame, _ArrayFrame):
            frame.items.append(node)
            pos = self.blank(pos)
            if src.startswith(",", pos):
                pos = self.blank(pos + 1)
                if not src.startswith("]", pos):
                    return None, pos
            elif not src.startswith("]", pos):
                raise self.unexpected(pos, "',' or ']' in the array")
            stack.pop()
            return Sequence(tuple(frame.items), *self.span(frame.start, pos + 1)), pos + 1
        self.assign(frame.table, frame.parts, node, frame.builders, None)
        pos = _end(_WS, src, pos)
        if src.startswith(",", pos):
            return None, self.inline_key(frame, _end(_WS, src, pos + 1), "a key")
        if not src.startswith("}", pos):
            raise self.unexpected(pos, "',' or '}' in the inline table")
        stack.pop()
        frame.table.span = self.span(frame.start, pos + 1)
        return _freeze(frame.table, frame.builders), pos + 1

    def scalar(self, pos: int) -> tuple[Scalar, int]:
        src = self.src
        if src.startswith('"', pos):
            if src.startswith('"""', pos):
                text, end = self.basic_string(pos, multiline=True)
            else:
                match = _BASIC.match(src, pos)
                if match is None:
                    text, end = self.basic_string(pos, multiline=False)
                else:
                    text, end = match.group(1), match.end()
            return Scalar(text, *self.span(pos, end), "string"), end
        if src.startswith("'", pos):
            if src.startswith("'''", pos):
                text, end = self.multiline_literal(pos)
            else:
                match = _LITERAL.match(src, pos)
                if match is None:
                    raise self.bad_literal(pos)
                text, end = match.group(1), match.end()
            return Scalar(text, *self.span(pos, end), "string"), end
        if src.startswith("true", pos):
            return Scalar(True, *self.span(pos, pos + 4), "boolean"), pos + 4
        if src.startswith("false", pos):
            return Scalar(False, *self.span(pos, pos + 5), "boolean"), pos + 5
        return self.date_or_number(pos)

    def date_or_number(self, pos: int) -> tuple[Scalar, int]:
        """date-time / float / integer, tried in tomllib's order: a date or a time also
        starts like a number."""
        src = self.src
        match = _DATETIME.match(src, pos)
        if match is not None:
            try:
                date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                raise self.problem(f"invalid date '{match.group()}'", pos) from None
            kind = "date" if match.group(4) is None else "datetime"
            return Scalar(match.group(), *self.span(pos, match.end()), kind), match.end()
        match = _LOCAL_TIME.match(src, pos)
        if match is not None:
            return Scalar(match.group(), *self.span(pos, match.end()), "time"), match.end()
        match = _NUMBER.match(src, pos) or _SPECIAL_FLOAT.match(src, pos)
        if match is None:
            raise self.unexpected(pos, "a value")
        text, end = match.group(), match.end()
        if match.re is _SPECIAL_FLOAT or match.group(1):
            return Scalar(float(text.replace("_", "")), *self.span(pos, end), "float"), end
        try:
            number = int(text, 0)
        except ValueError:  # more digits than Python converts (sys.set_int_max_str_digits)
            raise self.problem(f"integer of {len(text)} characters is too large", pos) from None
        return Scalar(number, *self.span(pos, end), "integer"), end

    def basic_string(self, pos: int, *, multiline: bool) -> tuple[str, int]:
        """The value and end of a basic string that has escapes, or of a multi-line one."""
        src = self.src
        chunk = _ML_BASIC_CHUNK if multiline else _BASIC_CHUNK
        p = pos + 3 if multiline else pos + 1
        if multiline and src.startswith("\n", p):
            p += 1  # a newline right after the opening quotes is not part of the value
        out: list[str] = []
        while True:
            end = _end(chunk, src, p)
            out.append(src[p:end])
            p = end
            char = src[p : p + 1]
            if char == '"':
                if not multiline:
                    return "".join(out), p + 1
                if src.startswith('"""', p):
                    return self.close_multiline(out, p, '"')
                out.append(char)
                p += 1
            elif char == "\\":
                p = self.escape(p, out, multiline=multiline)
            elif not char or char == "\n":
                raise self.problem(f"unterminated {'multi-line ' if multiline else ''}string", pos)
            else:
                raise self.problem(
                    f"control character U+{ord(char):04X} must be escaped in a string", p
                )

    def escape(self, pos: int, out: list[str], *, multiline: bool) -> int:
        """escaped = escape ( %x22 / %x5C / %x62 / %x66 / %x6E / %x72 / %x74 / u4HEXDIG /
        U8HEXDIG ), and in multi-line strings mlb-escaped-nl = escape ws newline"""
        match = _ESCAPE.match(self.src, pos)
        if match is None or (match.lastindex == 4 and not multiline):
            raise self.bad_escape(pos, multiline=multiline)
        if match.lastindex == 1:
            out.append(_ESCAPES[match.group(1)])
        elif match.lastindex != 4:  # a line-ending backslash drops the line break
            code = int(match.group(match.lastindex or 0), 16)
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise self.problem(f"escape '{match.group()}' is not a Unicode scalar value", pos)
            out.append(chr(code))
        return match.end()

    def bad_escape(self, pos: int, *, multiline: bool) -> SyntaxProblem:
        code = self.src[pos + 1 : pos + 2]
        if code == "u":
            return self.problem("'\\u' must be followed by 4 hex digits", pos)
        if code == "U":
            return self.problem("'\\U' must be followed by 8 hex digits", pos)
        if multiline and code in (" ", "\t"):
            return self.problem("only whitespace may follow a line-ending backslash", pos)
        if code.isprintable() and code not in ("", " "):
            return self.problem(f"invalid escape sequence '\\{code}'", pos)
        return self.problem("invalid escape sequence", pos)

    def multiline_literal(self, pos: int) -> tuple[str, int]:
        """ml-literal-string = ''' [ newline ] ml-literal-body '''"""
        src = self.src
        p = pos + 3
        if src.startswith("\n", p):
            p += 1  # a newline right after the opening quotes is not part of the value
        out: list[str] = []
        while True:
            end = _end(_ML_LITERAL_CHUNK, src, p)
            out.append(src[p:end])
            p = end
            char = src[p : p + 1]
            if char == "'":
                if src.startswith("'''", p):
                    return self.close_multiline(out, p, "'")
                out.append(char)
                p += 1
            elif not char:
                raise self.problem("unterminated multi-line string", pos)
            else:
                raise self.problem(
                    f"control character U+{ord(char):04X} is not allowed in a literal string", p
                )

    def close_multiline(self, out: list[str], pos: int, quote: str) -> tuple[str, int]:
        """The closing quotes at ``pos``: up to two more quotes still belong to the value."""
        end = pos + 3
        extra = 0
        while extra < 2 and self.src.startswith(quote, end + extra):
            extra += 1
        out.append(quote * extra)
        return "".join(out), end + extra

    def bad_literal(self, pos: int) -> SyntaxProblem:
        """The error in a one-line literal string that did not match _LITERAL."""
        end = _end(_LITERAL_CHUNK, self.src, pos + 1)
        char = self.src[end : end + 1]
        if not char or char == "\n":
            return self.problem("unterminated string", pos)
        return self.problem(
            f"control character U+{ord(char):04X} is not allowed in a literal string", end
        )
