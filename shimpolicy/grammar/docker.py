"""Docker's (moby's) view of runtime names: D1–D3 of SPEC §2."""

from __future__ import annotations

from collections.abc import Collection

from .._typing import TYPE_CHECKING
from .name import not_a_name
from .versions import DEFAULT_DOCKER, docker_major, platform_name

if TYPE_CHECKING:
    from typing import Literal

    # How dockerd takes a runtime name chosen per container (``docker_takes``).
    Takes = Literal["default", "stock", "configured", "shim", "refused", "ignored"]

# D2: runtimes every Docker 23+ daemon on Linux has without configuration.
STOCK_LINUX = frozenset({"runc", "io.containerd.runc.v2"})
# Docker ≤22.06 also shipped the legacy v1 runtime under its own name.
STOCK_LINUX_LEGACY = frozenset({"io.containerd.runtime.v1.linux"})
# D1 (Windows, Docker ≤28): the only runtime names a Windows daemon accepts.
WINDOWS_RUNTIMES = frozenset({"com.docker.hcsshim.v1", "io.containerd.runhcs.v1"})
RESERVED = "runc"  # D3.1: the one name `runtimes` may not define

UNKNOWN_RUNTIME = "unknown or invalid runtime name: {}"  # D1, Docker 23+
# SPEC §6 (src v28.5.2 daemon/daemon_windows.go): a Windows daemon up to 28 runs every
# container with its own runtime, never reading a per-container name, and refuses a
# default-runtime other than its two runtimes with this text.
UNKNOWN_WINDOWS_RUNTIME = "unknown windows runtime {}"


def windows_ignores_names(docker: str = DEFAULT_DOCKER, platform: str = "linux") -> bool:
    """Whether a per-container runtime name is ignored: Windows daemons up to Docker 28."""
    return _ignores(docker_major(docker), platform_name(platform) == "windows")


def _ignores(major: int, windows: bool) -> bool:
    return windows and major <= 28


UNKNOWN_RUNTIME_LEGACY = "Unknown runtime specified {}"  # before Docker 23


def docker_permits(name: str, docker: str = DEFAULT_DOCKER, platform: str = "linux") -> bool:
    """D1: would dockerd pass ``name`` verbatim to containerd as an *unconfigured* runtime?

    Stock and configured names (D2) are accepted whatever this says.  An unknown version
    or platform is a ``ValueError``; a name that is not a ``str`` a ``TypeError``.
    """
    if not isinstance(name, str):
        raise not_a_name(name)
    return _permits(name, docker_major(docker), platform_name(platform) == "windows")


def _permits(name: str, major: int, windows: bool) -> bool:
    """``docker_permits`` for a Docker major version and platform already read: a policy
    reads its own once, not for every name it decides."""
    if windows:
        # Up to 28 only the two Windows runtimes; 29 passes any name on unchecked.
        return name != "" if major >= 29 else name in WINDOWS_RUNTIMES
    if major < 23:  # every unconfigured name was "Unknown runtime specified"
        return False
    # Not absolute and no '/' at all: on Linux, Go's IsAbs is a leading '/', so the one
    # test covers both.
    if "/" in name:
        return False
    if "." not in name:  # C1 gives no binary name: fewer than two pieces
        return False
    # 23–24 vendored containerd 1.6's C1 (a leading '.' passes); 25+ follow 1.7's.
    return major < 25 or not name.startswith(".")


def docker_takes(
    name: str,
    docker: str = DEFAULT_DOCKER,
    platform: str = "linux",
    configured: Collection[str] = frozenset(),
    *,
    per_container: bool = True,
) -> Takes:
    """How dockerd takes ``name`` chosen per container (``docker run --runtime``, Compose,
    ``HostConfig.Runtime``), or with ``per_container=False`` as its ``default-runtime``;
    ``configured`` being its daemon.json's ``runtimes`` names:

    - "default": the empty name selects the daemon's default runtime;
    - "stock": a runtime the daemon has without configuration (D2);
    - "configured": a ``runtimes`` entry, which always wins over the shim reading (D2);
    - "shim": passed to containerd verbatim (D1);
    - "refused": ``unknown or invalid runtime name`` (D1);
    - "ignored": a Windows daemon up to Docker 28 never reads a per-container name and
      runs every container with its own runtime (SPEC §6).

    Every door that decides for Docker (check, explain, lint, serve) asks this.
    """
    if not isinstance(name, str):
        raise not_a_name(name)
    windows = platform_name(platform) == "windows"
    return _takes(name, docker_major(docker), windows, configured, per_container)


def _takes(
    name: str, major: int, windows: bool, configured: Collection[str], per_container: bool = True
) -> Takes:
    """``docker_takes`` for a Docker major version and platform already read."""
    if name == "":
        return "default"
    if per_container and _ignores(major, windows):  # SPEC §6: never consulted
        return "ignored"
    if name in _stock(major, windows):
        return "stock"
    if name in configured:
        return "configured"
    return "shim" if _permits(name, major, windows) else "refused"


def _stock(major: int, windows: bool) -> frozenset[str]:
    if windows:
        return WINDOWS_RUNTIMES
    return STOCK_LINUX if major >= 23 else STOCK_LINUX | STOCK_LINUX_LEGACY


def stock_runtimes(docker: str = DEFAULT_DOCKER, platform: str = "linux") -> frozenset[str]:
    """D2: the names a daemon of this version knows without any configuration."""
    return _stock(docker_major(docker), platform_name(platform) == "windows")


def unknown_runtime_message(name: str, docker: str = DEFAULT_DOCKER) -> str:
    """Docker's own words for a name it refuses (D1)."""
    template = UNKNOWN_RUNTIME if docker_major(docker) >= 23 else UNKNOWN_RUNTIME_LEGACY
    return template.format(name)


# Go's encoding/json matches a JSON member to a struct field exactly, or else by folding
# both: ASCII letters to upper case, and the two non-ASCII runes whose case orbit holds an
# ASCII letter, the long s (U+017F) onto S and the Kelvin sign (U+212A) onto K.  The same in
# Go 1.19 (Docker 20.10 to 24) and Go 1.24 (Debian's Docker 26), measured: the dotless and
# the dotted capital i (U+0131, U+0130) fold onto nothing else (unicode.SimpleFold keeps
# them, as Unicode's simple case folding does).
_GO_FOLD = {"\u017f": "S", "\u212a": "K"}


def go_fold(key: str) -> str:
    """A JSON member name as Go's decoder compares it with a field's (ASCII) name."""
    return "".join(c.upper() if c.isascii() else _GO_FOLD.get(c, c) for c in key)
