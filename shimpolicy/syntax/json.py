"""A JSON reader that keeps the position of every key and value.

Docker's ``daemon.json`` (SPEC D3) is read with it, so a finding can point at the exact
runtime entry.  It accepts what Go's ``encoding/json`` accepts (RFC 8259): duplicate keys
are kept in order (``Mapping.get`` applies Go's last-wins), a ``\\u`` escape that is half
of a surrogate pair and not followed by its other half decodes to U+FFFD as in Go, and a
number too large for a float64 is an error, as it is for dockerd, which decodes the file
into ``map[string]interface{}`` first.  Two deliberate differences: a leading BOM is
skipped (editors write one), and containers nested more than ``max_depth`` deep are an
error.

Positions follow :mod:`shimpolicy.syntax`; ``\\n``, ``\\r\\n`` and a lone ``\\r`` each end
a line.  A string's span covers its quotes; a container's runs from its opening bracket
to just after its closing one.

The reader is iterative (no recursion however deep the input) and leans on compiled
regular expressions, because it runs on every commit.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right

from shimpolicy.syntax import Mapping, Node, Scalar, Sequence, Span, SyntaxProblem

__all__ = ["parse_json"]

_WS_CHARS = " \t\n\r"
_WS = re.compile(r"[ \t\n\r]*")
_LINE_BREAK = re.compile(r"\r\n?|\n")
# A string without escapes, the common case, in one match.
_PLAIN_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')
_STRING_CHUNK = re.compile(r'[^"\\\x00-\x1f]*')
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NUMBER_START = "-0123456789"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_EXPECTED_AFTER = {
    "}": "expected ',' or '}' after object member",
    "]": "expected ',' or ']' after array element",
}
# Characters that cannot follow a number; a number running into one of them (``01``,
# ``1.``, ``1e``, ``1.2.3``) is reported as a whole.
_NUMBER_CONTINUES = "0123456789.eE+-"
_NUMBER_TEXT = re.compile(r"[-+.0-9A-Za-z]*")
_WORD = re.compile(r"[A-Za-z0-9_]*")
_LITERALS: dict[str, tuple[bool | None, str]] = {
    "true": (True, "true"),
    "false": (False, "false"),
    "null": (None, "null"),
}
# dockerd decodes daemon.json into interface{} values, where every number is a float64, so
# a number beyond the float64 range is an error.  No integer this short is.
_SHORT_INT = 300


class _Object:
    __slots__ = ("items", "key", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.items: list[tuple[Scalar, Node]] = []
        # The key of the member whose value is being read.
        self.key = _NO_KEY


class _Array:
    __slots__ = ("items", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.items: list[Node] = []


_NO_KEY = Scalar("", 1, 1, 1, 1, "string")


def parse_json(text: str, *, max_depth: int = 256) -> Node:
    """Read one JSON value (and nothing after it but whitespace) into a positioned tree.

    Raises SyntaxProblem, with the line and column of the fault, for anything Go's
    encoding/json rejects and for containers nested more than ``max_depth`` deep.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    size = len(text)
    # A NUL after the text lets every lookahead index without a bounds check: no token
    # starts with it and no pattern here matches it.
    src = text + "\x00"
    # Offsets where lines start.  Only whitespace between tokens can break a line, so a
    # token's end is on its start's line.
    starts = [0]
    starts.extend(match.end() for match in _LINE_BREAK.finditer(text))
    pos = _skip(src, 0)
    stack: list[_Object | _Array] = []
    # The object whose next member begins at pos, if one does.
    member_of: _Object | None = None
    while True:
        if member_of is not None:
            if src[pos] != '"':
                expected = (
                    "expected string key" if member_of.items else "expected string key or '}'"
                )
                raise _problem(src, pos, expected)
            match = _PLAIN_STRING.match(src, pos)
            if match:
                value, end = match.group(1), match.end()
            else:
                value, end = _string(src, pos, size)
            line = bisect_right(starts, pos)
            column = pos - starts[line - 1] + 1
            member_of.key = Scalar(value, line, column, line, column + end - pos, "string")
            pos = end
            if src[pos] in _WS_CHARS:
                pos += 1
                if src[pos] in _WS_CHARS:
                    pos = _skip(src, pos)
            if src[pos] != ":":
                raise _problem(src, pos, "expected ':' after object key")
            pos += 1
            if src[pos] in _WS_CHARS:
                pos += 1
                if src[pos] in _WS_CHARS:
                    pos = _skip(src, pos)
        # A value begins at pos.
        char = src[pos]
        node: Node
        if char == '"':
            match = _PLAIN_STRING.match(src, pos)
            if match:
                value, end = match.group(1), match.end()
            else:
                value, end = _string(src, pos, size)
            line = bisect_right(starts, pos)
            column = pos - starts[line - 1] + 1
            node = Scalar(value, line, column, line, column + end - pos, "string")
            pos = end
        elif char == "{" or char == "[":
            if len(stack) >= max_depth:
                raise _problem(src, pos, f"nesting deeper than {max_depth} levels")
            opened = pos
            pos += 1
            if src[pos] in _WS_CHARS:
                pos += 1
                if src[pos] in _WS_CHARS:
                    pos = _skip(src, pos)
            if char == "{":
                if src[pos] != "}":
                    member_of = _Object(opened)
                    stack.append(member_of)
                    continue
                pos += 1
                node = Mapping((), *_span(starts, opened, pos))
            else:
                if src[pos] != "]":
                    member_of = None
                    stack.append(_Array(opened))
                    continue
                pos += 1
                node = Sequence((), *_span(starts, opened, pos))
        elif char in _NUMBER_START:
            node, pos = _number(src, pos, starts)
        else:
            match = _WORD.match(src, pos)
            literal = _LITERALS.get(match.group()) if match else None
            if literal is None:
                raise _not_a_value(src, pos, size)
            end = pos + len(literal[1])
            line = bisect_right(starts, pos)
            column = pos - starts[line - 1] + 1
            node = Scalar(literal[0], line, column, line, column + end - pos, literal[1])
            pos = end
        # A value ended at pos: attach it, and close every container that it completes.
        while True:
            if src[pos] in _WS_CHARS:
                pos += 1
                if src[pos] in _WS_CHARS:
                    pos = _skip(src, pos)
            if not stack:
                if pos < size:
                    raise _problem(
                        src, pos, f"unexpected {_describe(src[pos])} after the top-level value"
                    )
                return node
            frame = stack[-1]
            if isinstance(frame, _Object):
                frame.items.append((frame.key, node))
                close = "}"
            else:
                frame.items.append(node)
                close = "]"
            char = src[pos]
            if char == ",":
                comma = pos
                pos += 1
                if src[pos] in _WS_CHARS:
                    pos += 1
                    if src[pos] in _WS_CHARS:
                        pos = _skip(src, pos)
                if src[pos] == close:
                    raise _problem(src, comma, f"trailing comma before '{close}'")
                member_of = frame if isinstance(frame, _Object) else None
                break
            if char != close:
                raise _problem(src, pos, _EXPECTED_AFTER[close])
            pos += 1
            span = _span(starts, frame.start, pos)
            if isinstance(frame, _Object):
                node = Mapping(tuple(frame.items), *span)
            else:
                node = Sequence(tuple(frame.items), *span)
            stack.pop()


def _skip(src: str, pos: int) -> int:
    """Offset of the first character at or after pos that is not whitespace."""
    return _end(_WS, src, pos)


def _end(pattern: re.Pattern[str], src: str, pos: int) -> int:
    """End of a match of a pattern that can match the empty string."""
    match = pattern.match(src, pos)
    return pos if match is None else match.end()


def _span(starts: list[int], start: int, end: int) -> Span:
    line = bisect_right(starts, start)
    end_line = bisect_right(starts, end - 1)
    return Span(line, start - starts[line - 1] + 1, end_line, end - starts[end_line - 1] + 1)


def _string(src: str, pos: int, size: int) -> tuple[str, int]:
    """Decode the string whose opening quote is at pos; return it and the offset after it."""
    parts: list[str] = []
    at = pos + 1
    while True:
        match = _STRING_CHUNK.match(src, at)
        if match and match.end() > at:
            parts.append(match.group())
            at = match.end()
        if at >= size:
            raise _problem(src, pos, "unterminated string")
        char = src[at]
        if char == '"':
            return "".join(parts), at + 1
        if char != "\\":
            raise _problem(src, at, f"control character U+{ord(char):04X} in string")
        if at + 1 >= size:
            raise _problem(src, pos, "unterminated string")
        code, at = _escape(src, at)
        parts.append(code)


def _escape(src: str, pos: int) -> tuple[str, int]:
    """Decode the escape whose backslash is at pos; return it and the offset after it."""
    char = src[pos + 1]
    simple = _ESCAPES.get(char)
    if simple is not None:
        return simple, pos + 2
    if char != "u":
        if char < " ":
            raise _problem(src, pos + 1, f"control character U+{ord(char):04X} in string")
        raise _problem(src, pos, f"invalid escape '\\{char}'")
    code = _hex4(src, pos + 2)
    if code is None:
        digits = src[pos + 2 : min(_end(_NUMBER_TEXT, src, pos + 2), pos + 6)]
        raise _problem(src, pos, f"invalid escape '\\u{digits}'")
    end = pos + 6
    if 0xD800 <= code < 0xDC00 and src.startswith("\\u", end):
        low = _hex4(src, end + 2)
        if low is not None and 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), end + 6
    if 0xD800 <= code < 0xE000:
        # Half a surrogate pair: Go's unquote substitutes the replacement character.
        return "\ufffd", end
    return chr(code), end


def _hex4(src: str, pos: int) -> int | None:
    return int(src[pos : pos + 4], 16) if _HEX4.match(src, pos) else None


def _number(src: str, pos: int, starts: list[int]) -> tuple[Scalar, int]:
    """Read the number at pos; return it and the offset after it."""
    match = _NUMBER.match(src, pos)
    if match is None or src[match.end()] in _NUMBER_CONTINUES:
        text = src[pos : _end(_NUMBER_TEXT, src, pos)]
        raise _problem(src, pos, f"invalid number '{_shorten(text)}'")
    end = match.end()
    text = match.group()
    value: int | float
    if match.lastindex is None and len(text) <= _SHORT_INT:
        value = int(text)
    else:
        as_float = float(text)
        if math.isinf(as_float):
            raise _problem(src, pos, f"number {_shorten(text)} is out of range")
        value = int(text) if match.lastindex is None else as_float
    line = bisect_right(starts, pos)
    column = pos - starts[line - 1] + 1
    return Scalar(value, line, column, line, column + end - pos, "number"), end


def _shorten(text: str) -> str:
    return text if len(text) <= 32 else text[:29] + "..."


def _not_a_value(src: str, pos: int, size: int) -> SyntaxProblem:
    if pos >= size:
        return _problem(src, pos, "expected a value")
    word = src[pos : _end(_WORD, src, pos)]
    if word:
        return _problem(src, pos, f"invalid literal '{_shorten(word)}'")
    return _problem(src, pos, f"expected a value, found {_describe(src[pos])}")


def _describe(char: str) -> str:
    if char == "'":
        return '"\'"'
    if char.isprintable() and not char.isspace():
        return f"'{char}'"
    return f"U+{ord(char):04X}"


def _problem(src: str, pos: int, message: str) -> SyntaxProblem:
    line, start = 1, 0
    for line_break in _LINE_BREAK.finditer(src, 0, pos):
        line += 1
        start = line_break.end()
    return SyntaxProblem(message, line, pos - start + 1)
