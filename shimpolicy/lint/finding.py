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
