"""Positioned syntax trees for the configuration formats shimpolicy reads.

Every reader (JSON, YAML, TOML) produces the same small tree of immutable nodes so the
checks above them never care which syntax a value came from.  Positions are 1-based
lines and columns counted in Unicode code points of the decoded text (a leading BOM is
not counted); ``end_column`` is exclusive.

The nodes are NamedTuples that hold the four numbers of their position themselves;
``span`` makes a Span when asked.  Readers make a node for every key and value of every
file and a linter keeps all the trees until its checks have run, so each node is one
object to make, free and have the garbage collector walk, where a frozen dataclass and
its Span were two.  Being tuples, nodes equal any tuple of the same fields.
"""

from __future__ import annotations

from .._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator


class Span(NamedTuple):
    # Ordered by start, then end.
    line: int
    column: int
    end_line: int
    end_column: int


ScalarValue = str | int | float | bool | None


class Scalar(NamedTuple):
    value: ScalarValue
    line: int
    column: int
    end_line: int
    end_column: int
    # The source form when it matters to a check: for YAML the tag (``tag:yaml.org,2002:str``)
    # and for TOML/JSON the literal kind ("string", "integer", ...).
    kind: str = ""

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.end_line, self.end_column)


class Mapping(NamedTuple):
    # Every key as written, in file order, duplicates included (``get`` applies last-wins,
    # as Go's encoding/json and containerd's TOML loader do).
    items: tuple[tuple[Scalar, Node], ...]
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.end_line, self.end_column)

    def get(self, key: str) -> Node | None:
        for k, v in reversed(self.items):  # the last occurrence wins
            if k.value == key:
                return v
        return None

    def key(self, key: str) -> Scalar | None:
        for k, _ in reversed(self.items):
            if k.value == key:
                return k
        return None

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


class Sequence(NamedTuple):
    items: tuple[Node, ...]
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.end_line, self.end_column)


Node = Scalar | Mapping | Sequence


def text_of(node: Node | None) -> str | None:
    """The value of a string scalar; None for anything else."""
    return node.value if isinstance(node, Scalar) and isinstance(node.value, str) else None


def node_at(node: Node | None, *path: str) -> Node | None:
    """The node under the mapping keys ``path``, or None where one is missing or the
    value on the way is not a mapping."""
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


class SyntaxProblem(Exception):
    """A file that cannot be read as its format: a message and where it went wrong."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
