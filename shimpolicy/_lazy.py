"""A registry whose entries live in modules imported on first use, so a run pays only for
the file types and report formats it meets."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")


class LazyRegistry(dict[str, "T"]):
    """``registry[key]`` is attribute ``attribute`` of module ``package.modules[key]``."""

    def __init__(self, package: str, modules: Mapping[str, str], attribute: str) -> None:
        super().__init__()
        self._package, self._modules, self._attribute = package, dict(modules), attribute

    def __missing__(self, key: str) -> T:
        if key not in self._modules:
            raise KeyError(key)
        module = importlib.import_module(f".{self._modules[key]}", self._package)
        found: T = getattr(module, self._attribute)
        self[key] = found
        return found

    def get(self, key: str, default: T | None = None) -> T | None:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default
