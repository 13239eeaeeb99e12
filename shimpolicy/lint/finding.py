"""What the linter reports: one frozen, sortable ``Finding`` per problem."""

from __future__ import annotations

from .._typing import NamedTuple
from ..syntax import Span

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1}


class Location(NamedTuple):
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str = ""

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.end_line, self.end_column)


class Edit(NamedTuple):
    """Replace the text between two positions (as a span's: 1-based, end exclusive) with
    ``text``; an empty ``text`` deletes, an empty range inserts."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str


FIX_KINDS = ("safe", "unsafe")  # as the rule catalog's (rulebook.FIX_KINDS)


class Fix(NamedTuple):
    """Edits that resolve one finding.  ``kind`` "safe": the daemon does exactly the same
    afterwards (``lint --fix``); "unsafe": what runs or what is read changes
    (``--unsafe-fixes`` only)."""

    kind: str
    message: str  # what the edits do, e.g. "rename to io.containerd.kata.v2"
    edits: tuple[Edit, ...]


class Finding(NamedTuple):
    """Sorted as a tuple: path, position, then rule."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    rule: str
    severity: str
    message: str
    related: tuple[Location, ...] = ()
    fix: Fix | None = None
