"""Docker's (moby's) view of runtime names: D1–D3 of SPEC §2."""

from __future__ import annotations

from . import _gofilepath
from .versions import docker_major, platform_name

# D2: runtimes every Docker 23+ daemon on Linux has without configuration.
STOCK_LINUX = frozenset({"runc", "io.containerd.runc.v2"})
# Docker ≤22.06 also shipped the legacy v1 runtime under its own name.
STOCK_LINUX_LEGACY = frozenset({"io.containerd.runtime.v1.linux"})
# D1 (Windows, Docker ≤28): the only runtime names a Windows daemon accepts.
WINDOWS_RUNTIMES = frozenset({"com.docker.hcsshim.v1", "io.containerd.runhcs.v1"})
RESERVED = "runc"  # D3.1: the one name `runtimes` may not define

UNKNOWN_RUNTIME = "unknown or invalid runtime name: {}"  # D1, Docker 23+
UNKNOWN_RUNTIME_LEGACY = "Unknown runtime specified {}"  # before Docker 23


def docker_permits(name: str, docker: str = "28", platform: str = "linux") -> bool:
    """D1: would dockerd pass ``name`` verbatim to containerd as an *unconfigured* runtime?

    Stock and configured names (D2) are accepted whatever this says.  An unknown version
    or platform is a ``ValueError``.
    """
    major = docker_major(docker)
    if platform_name(platform) == "windows":
        # Up to 28 only the two Windows runtimes; 29 passes any name on unchecked.
        return name != "" if major >= 29 else name in WINDOWS_RUNTIMES
    if major < 23:  # every unconfigured name was "Unknown runtime specified"
        return False
    if _gofilepath.is_abs(name, windows=False, go120=True) or "/" in name:
        return False
    pieces = name.split(".")
    if len(pieces) < 2:
        return False
    # 23–24 vendored containerd 1.6's C1 (a leading '.' passes); 25+ follow 1.7's.
    return major < 25 or pieces[0] != ""


def stock_runtimes(docker: str = "28", platform: str = "linux") -> frozenset[str]:
    """D2: the names a daemon of this version knows without any configuration."""
    major = docker_major(docker)
    if platform_name(platform) == "windows":
        return WINDOWS_RUNTIMES
    return STOCK_LINUX if major >= 23 else STOCK_LINUX | STOCK_LINUX_LEGACY


def unknown_runtime_message(name: str, docker: str = "28") -> str:
    """Docker's own words for a name it refuses (D1)."""
    template = UNKNOWN_RUNTIME if docker_major(docker) >= 23 else UNKNOWN_RUNTIME_LEGACY
    return template.format(name)
