"""Text as every output shows it: the one place that decides how a value from a file, a
path or a runtime name is written where a person or a CI log reads it.

Characters that do not print are escaped the way Python writes them in a string literal
(``\\n``, ``\\x1b``, ``\\u202e``): control characters (a newline in a path can then never
start an output line, an ESC or a BEL never reaches a terminal), bidirectional controls
(which make text read differently from what it is) and line separators.  Everything that
prints, non-ASCII letters included, is kept as it is.
"""

from __future__ import annotations


def display(text: str) -> str:
    """``text`` with every character that does not print escaped."""
    if text.isprintable():  # nearly always: no copy
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
