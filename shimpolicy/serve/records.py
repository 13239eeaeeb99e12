"""The records every room of ``serve`` shares: the files it reads, the problems it finds,
the error it refuses to start (or reload) with."""

from __future__ import annotations

import json

from .._typing import NamedTuple

# The rule id (metrics label, log field) when a request that can set a runtime cannot be
# read.
FAIL_CLOSED = "fail-closed"


class ServeError(Exception):
    """An input the server cannot start (or reload) with: the message says which and why."""


class Problem(NamedTuple):
    """One reason to deny a request or, when not ``deny``, to warn about it."""

    rule: str  # a policy or lint rule id (SP…), or FAIL_CLOSED
    message: str
    value: str  # the runtime, handler or class name concerned ("" when none was readable)
    deny: bool = True


class Sources(NamedTuple):
    """The files a server reads at start and re-reads on SIGHUP."""

    policy: str | None = None  # None: Policy.discover() from the working directory
    daemon_config: str | None = None
    containerd_config: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None


class Answer(NamedTuple):
    """The plugin's answer to one AuthZ request, and what to count and log about it."""

    status: int
    doc: dict[str, object]
    problems: tuple[Problem, ...]
    context: dict[str, object]


# The most of a name a message quotes: a name may be a megabyte long.
QUOTED_LENGTH = 256


def quote(value: str) -> str:
    """JSON quoting escapes control, bidi and other non-ASCII characters: the text a
    client or log reader sees is the text that was decided.  A long value is cut, saying
    how much is left out."""
    if len(value) <= QUOTED_LENGTH:
        return json.dumps(value)
    rest = len(value) - QUOTED_LENGTH
    return f"{json.dumps(value[:QUOTED_LENGTH])}… ({rest} more characters)"
