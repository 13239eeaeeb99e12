"""The containerd and Docker versions whose rules shimpolicy reproduces.

The runtime-name logic in containerd only changed at 1.5.0, 1.6.0, 1.7.0 and 2.0.0
(SPEC §1), and Docker's acceptance check at 23.0 and 25.0 (SPEC D1), so a version is
reduced to the *series* whose rules apply.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Literal

    ContainerdSeries = Literal["1.5", "1.6", "1.7", "2"]
    Platform = Literal["linux", "windows"]

CONTAINERD_VERSIONS = ("1.5", "1.6", "1.7", "2.x")
DOCKER_VERSIONS = ("20.10", "22.06", *(str(v) for v in range(23, 30)))

# Patterns, not compiled here: each version is read once (the functions below are cached),
# so ``re``'s own cache compiles them on first use instead of at import.
_CONTAINERD = r"(1\.[567]|2(?:\.\d+)?|2\.x)(?:\.\d+)*"
_DOCKER = r"(20\.10|22\.06|2[3-9])(?:\.\d+)*"


@lru_cache(maxsize=64)
def containerd_series(version: str) -> ContainerdSeries:
    """Reduce '1.6.20', '1.7', '2.1' or '2.x' to the series whose rules apply."""
    m = re.fullmatch(_CONTAINERD, version) if isinstance(version, str) else None
    if m is None:
        raise ValueError(f"unknown containerd version {version!r}: expected 1.5, 1.6, 1.7 or 2.x")
    head = m.group(1)
    return "2" if head.startswith("2") else head  # type: ignore[return-value]


@lru_cache(maxsize=64)
def docker_major(version: str) -> int:
    """Reduce '28', '28.2.2', '20.10' or '22.06' to a comparable major number (20, 22, 23 …)."""
    m = re.fullmatch(_DOCKER, version) if isinstance(version, str) else None
    if m is None:
        raise ValueError(f"unknown Docker version {version!r}: expected 20.10, 22.06 or 23 to 29")
    return int(m.group(1).split(".")[0])


def platform_name(platform: str) -> Platform:
    if platform in ("linux", "windows"):
        return platform  # type: ignore[return-value]
    raise ValueError(f"unknown platform {platform!r}: expected linux or windows")
