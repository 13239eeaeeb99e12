"""The containerd and Docker releases whose behaviour shimpolicy reproduces.

A version is a release (``1.6.20``, ``2.0.2``, ``28.5.2``) or a series (``1.6``, ``2.0``,
``28``), which stands for the series' newest release known here.  Behaviour changes inside
a series (SPEC §6), so the configuration checks compare full releases; the runtime-name
logic only changed at containerd 1.5.0, 1.6.0, 1.7.0 and 2.0.0 (SPEC §1) and Docker's
acceptance check at 23.0 and 25.0 (D1), so names are decided per *series*.

Where a containerd configuration behaves differently from one release to the next:

======================  ===============================================================
containerd              what changes
======================  ===============================================================
1.6.21, 1.7.1           ``runtime_path`` is honoured (earlier releases ignore it)
1.6.32, 1.7.17          a config version newer than 2 stops containerd (earlier releases
                        start and ignore the plugin sections they cannot place)
2.0.0                   config version 3; version 1 and 2 files migrated at every start
                        (version-less files lose their CRI settings up to 2.2)
2.0.2                   a version 2 file's old and new CRI sections are merged
2.1.0                   ``cgroup_writable`` (refused on cgroup v1)
2.3.0                   config version 4; version-less and version 3 files migrated too;
                        a drop-in newer than its root file stops containerd
======================  ===============================================================
"""

from __future__ import annotations

import re
from functools import lru_cache

from .._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Literal

    ContainerdSeries = Literal["1.5", "1.6", "1.7", "2"]
    Platform = Literal["linux", "windows"]

# The newest release of each series (upstream tags): a series names that release.
CONTAINERD_NEWEST = {
    (1, 5): 18,
    (1, 6): 39,
    (1, 7): 34,
    (2, 0): 11,
    (2, 1): 9,
    (2, 2): 7,
    (2, 3): 4,
}
DOCKER_NEWEST = {
    (20, 10): 27,
    (22, 6): 0,
    (23, 0): 18,
    (24, 0): 9,
    (25, 0): 17,
    (26, 1): 5,
    (27, 5): 1,
    (28, 5): 2,
    (29, 7): 2,
}
# The defaults: the newest stable release of each.
DEFAULT_CONTAINERD = "2.3"
DEFAULT_DOCKER = "29"

CONTAINERD_VERSIONS = tuple(f"{a}.{b}" for a, b in CONTAINERD_NEWEST)
DOCKER_VERSIONS = ("20.10", "22.06", *(str(v) for v in range(23, 30)))
CONTAINERD_KNOWN = ", ".join(f"{a}.{b}.0–{a}.{b}.{p}" for (a, b), p in CONTAINERD_NEWEST.items())
DOCKER_KNOWN = "20.10, 22.06 or 23 to 29"
_NEWEST = " or ".join(
    ", ".join(f"{a}.{b}.{p}" for (a, b), p in CONTAINERD_NEWEST.items()).rsplit(", ", 1)
)

_CONTAINERD = r"(\d+)(?:\.(\d+|x)(?:\.(\d+))?)?"
_DOCKER = r"(20\.10|22\.06|2[3-9])(?:\.(\d+)(?:\.(\d+))?)?"


@lru_cache(maxsize=64)
def containerd_release(version: str) -> tuple[int, int, int]:
    """The containerd release a version names: '1.6.20' itself, '1.6' its newest patch,
    '2' and '2.x' the newest 2.x.  Anything else is a ValueError naming what is known."""
    m = re.fullmatch(_CONTAINERD, version) if isinstance(version, str) else None
    if m is not None:
        major, minor, patch = m.groups()
        if minor in (None, "x"):
            found = [s for s in CONTAINERD_NEWEST if s[0] == int(major) and s[0] == 2]
            series = max(found) if found and patch is None else None
        else:
            series = (int(major), int(minor))
        newest = CONTAINERD_NEWEST.get(series) if series else None
        if series is not None and newest is not None:
            if patch is None:
                return (*series, newest)
            if int(patch) <= newest:
                return (*series, int(patch))
    raise ValueError(
        f"unknown containerd version {version!r}: expected a release up to {_NEWEST}, or a series"
    )


@lru_cache(maxsize=64)
def containerd_series(version: str) -> ContainerdSeries:
    """The series whose runtime-name rules apply to a version (C3): 1.5, 1.6, 1.7 or 2."""
    major, minor, _ = containerd_release(version)
    return "2" if major == 2 else f"{major}.{minor}"  # type: ignore[return-value]


def containerd_at_least(version: str, *release: int) -> bool:
    """Whether a containerd version is ``release`` (1, 6, 32) or later."""
    return containerd_release(version) >= release


@lru_cache(maxsize=64)
def docker_major(version: str) -> int:
    """Reduce '28', '28.2.2', '20.10' or '22.06' to a comparable major number (20, 22, 23 …)."""
    m = re.fullmatch(_DOCKER, version) if isinstance(version, str) else None
    if m is not None:
        head, minor, patch = m.groups()
        major = int(head.split(".")[0])
        if "." in head:  # 20.10 and 22.06 name their minor in the series
            ok = minor is None or (patch is None and int(minor) <= _docker_newest(major)[2])
        else:
            newest = _docker_newest(major)
            ok = (int(minor or 0), int(patch or 0)) <= newest[1:]
        if ok:
            return major
    raise ValueError(f"unknown Docker version {version!r}: expected {DOCKER_KNOWN}")


def _docker_newest(major: int) -> tuple[int, int, int]:
    (a, b), p = next((s, p) for s, p in DOCKER_NEWEST.items() if s[0] == major)
    return (a, b, p)


def platform_name(platform: str) -> Platform:
    if platform in ("linux", "windows"):
        return platform  # type: ignore[return-value]
    raise ValueError(f"unknown platform {platform!r}: expected linux or windows")
