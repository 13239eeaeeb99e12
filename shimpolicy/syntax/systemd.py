"""systemd unit files (``docker.service`` and its drop-ins), with exact positions.

A unit is read as systemd reads it (``systemd.syntax(7)``): ``[Section]`` headers,
``Key=Value`` lines with the whitespace around key and value removed, comment lines
starting ``#`` or ``;``, and a line ending in a backslash continued on the next one (the
backslash becomes a space; comment lines inside a continuation are skipped).

:func:`split_command` splits an ``Exec*=`` value into words as systemd does
(``systemd.service(5)`` "Command lines"): whitespace separates words, ``"…"`` and ``'…'``
quote, a backslash escapes C-style (``\\n``, ``\\\\``, ``\\"``, ``\\x41``…); ``$VAR`` and
``${VAR}`` are replaced from the environment and ``%x`` specifiers by unit data when the
service starts, so a word holding one is not *literal*.  The executable may carry the
prefixes ``-@:+!``.

Never raises on any text.
"""

from __future__ import annotations

import bisect
import re

from .._typing import NamedTuple
from . import Span

__all__ = ["CommandWord", "UnitEntry", "read_unit", "split_command"]


class UnitEntry(NamedTuple):
    """One ``Key=Value`` assignment of a unit file."""

    section: str
    key: str
    value: str  # continuation lines joined, as systemd reads it
    key_span: Span
    value_offsets: tuple[int, ...]  # the file offset of each character of ``value``
    value_end: int  # the file offset just after the value


class CommandWord(NamedTuple):
    value: str  # after quote removal and escapes; expansions kept as written
    literal: bool  # False when systemd replaces part of it ($VAR, ${VAR}, %x)
    start: int  # file offsets of the word as written
    end: int


class Positions:
    """File offsets to 1-based line and column."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def point(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1

    def span(self, start: int, end: int) -> Span:
        return Span(*self.point(start), *self.point(end))


_ASSIGNMENT = re.compile(r"[ \t]*([A-Za-z0-9_.-]+)[ \t]*=[ \t]*")


def read_unit(text: str) -> list[UnitEntry]:
    """Every assignment in file order (one unit file, no drop-ins applied)."""
    positions = Positions(text)
    entries: list[UnitEntry] = []
    section = ""
    lines = text.split("\n")
    offset = 0
    i = 0
    while i < len(lines):
        line, start = lines[i], offset
        offset += len(line) + 1
        i += 1
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            section = stripped[1 : stripped.find("]")] if "]" in stripped else stripped[1:]
            continue
        match = _ASSIGNMENT.match(line)
        if match is None:
            continue
        key = match.group(1)
        key_span = positions.span(start + match.start(1), start + match.end(1))
        chars: list[str] = []
        where: list[int] = []
        piece, piece_at = line[match.end() :], start + match.end()
        while True:
            body = piece.rstrip("\r")
            continued = body.endswith("\\")
            if continued:
                body = body[:-1]
            chars.extend(body)
            where.extend(range(piece_at, piece_at + len(body)))
            end = piece_at + len(body)
            if not continued:
                break
            chars.append(" ")
            where.append(end)
            while i < len(lines) and lines[i].lstrip()[:1] in ("#", ";"):
                offset += len(lines[i]) + 1
                i += 1
            if i >= len(lines):
                break
            piece, piece_at = lines[i], offset
            offset += len(lines[i]) + 1
            i += 1
        value = "".join(chars)
        trimmed = len(value.rstrip(" \t"))
        entries.append(
            UnitEntry(
                section,
                key,
                value[:trimmed],
                key_span,
                tuple(where[:trimmed]),
                where[trimmed - 1] + 1 if trimmed else end,
            )
        )
    return entries


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPE = re.compile(r"x([0-9A-Fa-f]{2})|([0-7]{3})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})")
_VARIABLE = re.compile(r"\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)")


def split_command(entry: UnitEntry) -> list[CommandWord]:
    """The words of an ``Exec*=`` value (the executable's ``-@:+!`` prefixes removed)."""
    text, at = entry.value, entry.value_offsets
    words: list[CommandWord] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        start = i
        out: list[str] = []
        literal = True
        quote = ""
        while i < n and (quote or text[i] not in " \t"):
            c = text[i]
            if c == quote:
                quote = ""
            elif not quote and c in "\"'":
                quote = c
            elif c == "\\" and i + 1 < n:
                nxt = text[i + 1]
                m = _ESCAPE.match(text, i + 1)
                if m is not None:
                    code = next(g for g in m.groups() if g is not None)
                    out.append(chr(int(code, 8 if m.group(2) else 16)))
                    i = m.end()
                    continue
                out.append(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            elif c == "%" and i + 1 < n:
                if text[i + 1] != "%":
                    literal = False
                    out.append(text[i : i + 2])
                else:
                    out.append("%")
                i += 2
                continue
            elif c == "$" and _VARIABLE.match(text, i):
                literal = False
                out.append(c)
            else:
                out.append(c)
            i += 1
        value = "".join(out)
        if not words:
            value = value.lstrip("-@:+!")
        words.append(CommandWord(value, literal, at[start], at[i - 1] + 1))
    return words
