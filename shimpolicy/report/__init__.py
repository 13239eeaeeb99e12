"""Report writers, registered by format name; each returns the whole report as text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ..lint.engine import LintResult
from . import github, json, sarif, text


class Writer(Protocol):
    def __call__(
        self, result: LintResult, *, color: bool = False, sources: Mapping[str, str] | None = None
    ) -> str: ...


WRITERS: dict[str, Writer] = {
    "text": text.write,
    "json": json.write,
    "sarif": sarif.write,
    "github": github.write,
}
