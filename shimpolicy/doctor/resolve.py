"""Which file a daemon runs for a runtime: containerd's resolution of a runtime name (C2),
and the lookup of a runc-compatible binary on ``PATH`` (``options.BinaryName``, Docker's
``path`` runtimes, the stock ``runc``).

What a name *is* comes from the grammar (``shimpolicy.name``): its kind, its binary name
(C1) and its directory part.  This module only adds the file system: where containerd
looks, in its order, and what it finds there.
"""

from __future__ import annotations

import posixpath

from .._typing import NamedTuple
from ..grammar.name import parse
from .fs import Lookup, RootFS

# systemd's PATH for system services when a unit sets none (systemd.exec(5)): what
# containerd and dockerd, and the shims they start, search for a bare name.
SYSTEMD_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# C4: the legacy v1 runtime's shim binary, looked up on PATH by containerd 1.x.
LEGACY_SHIM = "containerd-shim"


class Process(NamedTuple):
    """What a daemon's lookups depend on: its own executable (containerd looks beside it,
    C2 step 7), its working directory (C2 step 6) and its ``PATH``."""

    executable: str | None = None
    cwd: str = "/"
    path: tuple[str, ...] = SYSTEMD_PATH


class Resolution(NamedTuple):
    """The outcome of one lookup.  ``found`` is the file the daemon would execute (None when
    it finds none); ``searched`` the places it looked, in order; ``passed`` files it looked
    at and passed over (on PATH only executable files count); ``error`` the daemon's own
    words when it finds none."""

    value: str  # the name or path as configured
    binary: str | None  # the binary looked for: C1's name, the path, or the bare name
    found: Lookup | None
    searched: tuple[str, ...] = ()
    passed: tuple[Lookup, ...] = ()
    error: str | None = None
    how: str = "name"  # "name" (C2 steps 6-7), "path" (C2 step 2), "PATH", "invalid"
    failed: Lookup | None = None  # for a path: how far looking it up got


def resolve_shim(fs: RootFS, proc: Process, name: str, containerd: str) -> Resolution:
    """C2: the shim binary containerd starts for runtime ``name`` (``runtime_type``,
    ``runtime_path``, Docker's ``runtimeType``)."""
    rn = parse(name, containerd, "linux")
    if rn.kind == "legacy-v1":  # C4: the v1 runtime's own shim, found on PATH
        return _look_path(fs, proc, name, LEGACY_SHIM)
    if rn.kind == "path":  # C2 step 2: executed directly; it only has to exist
        found = fs.lookup(name, proc.cwd)
        error = None if found.exists else f"invalid custom binary path: stat {name}: {found.error}"
        return _path(name, found, error)
    if rn.binary is None:  # C2 steps 1, 3, 4: containerd refuses the name
        return Resolution(name, None, None, error=rn.error, how="invalid")
    binary = rn.binary
    # C2 step 6: the binary next to the name (for a plain name: containerd's working
    # directory), any file that exists.
    beside = posixpath.normpath(posixpath.join(proc.cwd, rn.directory or ".", binary))
    searched = [beside]
    found = fs.lookup(beside, proc.cwd)
    if found.exists:
        return Resolution(name, binary, found, tuple(searched))
    if "/" in binary:
        # Go's exec.LookPath tries a name with a '/' as it is and fails without the
        # not-found error containerd falls back on: nothing is found.
        return Resolution(name, binary, None, tuple(searched), error=_not_installed(name, binary))
    # C2 step 7: PATH (executable files only), then containerd's own directory (any file).
    on_path = _look_path(fs, proc, name, binary)
    searched += on_path.searched
    if on_path.found is not None:
        return on_path._replace(searched=tuple(searched))
    if proc.executable is not None:
        side = posixpath.join(posixpath.dirname(proc.executable), binary)
        searched.append(side)
        found = fs.lookup(side, proc.cwd)
        if found.exists:
            return Resolution(name, binary, found, tuple(searched), on_path.passed)
    return Resolution(
        name, binary, None, tuple(searched), on_path.passed, _not_installed(name, binary)
    )


def resolve_runc(fs: RootFS, proc: Process, value: str) -> Resolution | None:
    """A runc-compatible binary as the runc shim runs it (``options.BinaryName``, Docker's
    ``path``): a bare name on ``PATH``, an absolute path as it is.  None for a relative path
    with a '/', which the shim resolves in each container's bundle directory (SP412)."""
    if "/" not in value:
        return _look_path(fs, proc, value, value)
    if not value.startswith("/"):
        return None
    found = fs.lookup(value, proc.cwd)
    error = None if found.exists else f"fork/exec {value}: {found.error}"
    return _path(value, found, error)


def _path(value: str, found: Lookup, error: str | None) -> Resolution:
    if found.exists:
        return Resolution(value, value, found, (value,), how="path")
    return Resolution(value, value, None, (value,), error=error, how="path", failed=found)


def _look_path(fs: RootFS, proc: Process, value: str, binary: str) -> Resolution:
    """Go's ``exec.LookPath`` for a bare name: the first executable regular file named
    ``binary`` in a ``PATH`` directory (an empty entry is the working directory)."""
    searched: list[str] = []
    passed: list[Lookup] = []
    for directory in proc.path:
        candidate = posixpath.join(directory or ".", binary)
        searched.append(candidate)
        found = fs.lookup(candidate, proc.cwd)
        if found.executable:
            return Resolution(value, binary, found, tuple(searched), tuple(passed), how="PATH")
        if found.exists:
            passed.append(found)
    error = f'exec: "{binary}": executable file not found in $PATH'
    return Resolution(value, binary, None, tuple(searched), tuple(passed), error, how="PATH")


def _not_installed(name: str, binary: str) -> str:
    return f'runtime "{name}" binary not installed "{binary}": file does not exist'
