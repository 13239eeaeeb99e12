"""Report writers, registered by format name; each returns the whole report as text.

A writer's module is imported when its format is first asked for: a text report never
pays for the SARIF writer."""

from __future__ import annotations

from .._lazy import LazyRegistry
from .._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Protocol

    from ..lint.engine import LintResult

    class Writer(Protocol):
        def __call__(
            self,
            result: LintResult,
            *,
            color: bool = False,
            sources: Mapping[str, str] | None = None,
        ) -> str: ...


FORMATS = ("text", "json", "sarif", "github")


WRITERS: dict[str, Writer] = LazyRegistry(__package__, {f: f for f in FORMATS}, "write")
