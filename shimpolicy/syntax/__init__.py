"""Positioned syntax trees for the configuration formats shimpolicy reads.

Every reader (JSON, YAML, TOML) produces the same small tree of frozen nodes so the
checks above them never care which syntax a value came from.  Positions are 1-based
lines and columns counted in Unicode code points of the decoded text (a leading BOM is
not counted); ``end_column`` is exclusive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple


class Span(NamedTuple):
    # A tuple, not a dataclass: readers make one per key and value, and a tuple is made
    # in half the time.  Immutable and ordered (by start, then end) all the same.
    line: int
    column: int
    end_line: int
    end_column: int


ScalarValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Scalar:
    value: ScalarValue
    span: Span
    # The source form when it matters to a check: for YAML the tag (``tag:yaml.org,2002:str``)
    # and for TOML/JSON the literal kind ("string", "integer", ...).
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Mapping:
    # Every key as written, in file order, duplicates included (``get`` applies last-wins,
    # as Go's encoding/json and containerd's TOML loader do).
    items: tuple[tuple[Scalar, Node], ...]
    span: Span

    def get(self, key: str) -> Node | None:
        found: Node | None = None
        for k, v in self.items:
            if k.value == key:
                found = v
        return found

    def key(self, key: str) -> Scalar | None:
        found: Scalar | None = None
        for k, _ in self.items:
            if k.value == key:
                found = k
        return found

    def pairs(self) -> Iterator[tuple[Scalar, Node]]:
        """Effective pairs: one per distinct key, the last occurrence, in first-seen order."""
        last: dict[object, tuple[Scalar, Node]] = {}
        for k, v in self.items:
            last[k.value] = (k, v)
        return iter(last.values())

    def duplicates(self) -> Iterator[Scalar]:
        """Keys that occur more than once: every occurrence but the last."""
        seen: dict[object, Scalar] = {}
        for k, _ in self.items:
            if k.value in seen:
                yield seen[k.value]
            seen[k.value] = k


@dataclass(frozen=True, slots=True)
class Sequence:
    items: tuple[Node, ...]
    span: Span


Node = Scalar | Mapping | Sequence


class SyntaxProblem(Exception):
    """A file that cannot be read as its format: a message and where it went wrong."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
