"""A tiny tokenizer for runtime names, in the manner of ``packaging._tokenizer``.

A runtime name is a regular language; the tokens that matter are the ones containerd's
code looks at: a Windows volume, a directory part (everything up to the last path
separator), and the remaining text, whose ``.``-separated pieces C1 reads.
"""

from __future__ import annotations

import re

from .._typing import NamedTuple


class Token(NamedTuple):
    # A tuple rather than a dataclass: one is made for every new name with a directory,
    # in a third of the time, and it never leaves the parser.
    name: str
    text: str
    position: int


# tuple.__new__ with the fields in order: the Python-level __new__ of a NamedTuple would
# double the cost of a token.
_token = tuple.__new__


class Tokenizer:
    """Matches named rules at the current position; ``read`` consumes one token."""

    __slots__ = ("position", "rules", "source")

    def __init__(self, source: str, rules: dict[str, re.Pattern[str]]) -> None:
        self.source = source
        self.rules = rules
        self.position = 0

    def read(self, name: str) -> Token | None:
        """Consume and return the token ``name`` if it matches here (and is non-empty)."""
        start = self.position
        m = self.rules[name].match(self.source, start)
        if m is None:
            return None
        end = m.end()
        if end == start:
            return None
        self.position = end
        return _token(Token, (name, m.group(), start))
