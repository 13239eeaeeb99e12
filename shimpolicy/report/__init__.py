"""Report writers, registered by format name; each returns the whole report as text.

A writer's module is imported when its format is first asked for: a text report never
pays for the SARIF writer."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..lint.engine import LintResult

FORMATS = ("text", "json", "sarif", "github")


class Writer(Protocol):
    def __call__(
        self, result: LintResult, *, color: bool = False, sources: Mapping[str, str] | None = None
    ) -> str: ...


class _Writers(dict[str, Writer]):
    def __missing__(self, name: str) -> Writer:
        if name not in FORMATS:
            raise KeyError(name)
        found: Writer = importlib.import_module(f".{name}", __package__).write
        self[name] = found
        return found


WRITERS: dict[str, Writer] = _Writers()
