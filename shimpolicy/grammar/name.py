"""Runtime names as containerd reads them: C1–C4 of SPEC §1, per version and platform.

The grammar (each production is one function below)::

    runtime-name = [volume] [directory] base
    volume       = drive | unc | device          ; Windows only (Go's VolumeName)
    directory    = { any } separator             ; up to the last '/' ('/' or '\\' on Windows)
    base         = piece { "." piece }           ; C1 splits the *whole* name on '.'

What the name *is* (``kind``) then follows C2's resolution order for the chosen
containerd version; ``notes`` record facts a policy can match on.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from .._typing import TYPE_CHECKING, NamedTuple
from . import _gofilepath
from .catalog import Shim, shim_for_base, shim_for_binary
from .versions import DEFAULT_CONTAINERD, containerd_series, platform_name

if TYPE_CHECKING:
    from typing import Literal

    from .versions import ContainerdSeries, Platform

    # What a name is to containerd (SPEC §5.1): a closed set, so a type checker catches
    # a misspelt kind.
    Kind = Literal["shim", "path", "relative", "invalid", "empty", "legacy-v1"]

KINDS = ("shim", "path", "relative", "invalid", "empty", "legacy-v1")

# C4: routed to the deprecated v1 runtime by containerd 1.5–1.7 on Linux.
LEGACY_V1 = "io.containerd.runtime.v1.linux"
# Binaries containerd 2.0 no longer ships (C4).
REMOVED_IN_2 = frozenset({"containerd-shim-runc-v1", "containerd-shim-v1-linux"})


class Note:
    """Facts about a name that a policy can match on (``match: {note: …}``)."""

    ALIAS = "alias"  # reaches a well-known shim under a prefix that shim does not document
    NO_VERSION = "no-version"  # last piece is not a shim API version like "v2"
    EMPTY_PIECE = "empty-piece"  # "a..", "a.", ".a"
    LEADING_DOT = "leading-dot"
    WHITESPACE = "whitespace"
    CONTROL = "control"  # C0/C1 control characters (NUL, newline, ESC …)
    NON_ASCII = "non-ascii"
    BIDI = "bidi"  # bidirectional overrides and marks (U+202E …): text that reads differently
    BINARY_SEPARATOR = "binary-separator"  # the derived binary name contains '/' or '\'
    LEGACY_V1 = "legacy-v1"
    REMOVED_IN_2 = "removed-in-2.0"


NOTES = tuple(v for k, v in vars(Note).items() if k.isupper())

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NO_NOTES: frozenset[str] = frozenset()  # most names have none: one set shared by all
_LABELS = {"1.5": "1.5", "1.6": "1.6", "1.7": "1.7", "2": "2.x"}

_ERROR_15 = "invalid runtime name {}, correct runtime name should format like io.containerd.runc.v1"
_ERROR_16 = (
    "invalid runtime name {}, correct runtime name should be either format like "
    "`io.containerd.{}` or a full path to the binary"
)


class RuntimeName(NamedTuple):
    """What one runtime name means to one containerd version on one platform."""

    name: str
    kind: Kind
    binary: str | None
    error: str | None
    containerd: str
    platform: Platform
    pieces: tuple[str, ...]
    directory: str | None = None  # Go's filepath.Dir, when the name has a directory part
    notes: frozenset[str] = _NO_NOTES
    shim_info: Shim | None = None  # the well-known shim the binary belongs to

    @property
    def prefix(self) -> tuple[str, ...]:
        return self.pieces[:-2]

    @property
    def shim(self) -> str | None:
        return self.pieces[-2] if len(self.pieces) >= 2 else None

    @property
    def version(self) -> str | None:
        return self.pieces[-1] if len(self.pieces) >= 2 else None

    @property
    def known(self) -> bool:
        return self.shim_info is not None

    @property
    def valid(self) -> bool:
        return self.kind not in ("invalid", "empty")


def not_a_name(value: object) -> TypeError:
    """The error for a runtime name of the wrong type (``None``, bytes …): said plainly,
    rather than whatever a string method would raise deep inside."""
    return TypeError(f"runtime name must be a str, not {type(value).__name__}")


def binary_name(
    name: str, containerd: str = DEFAULT_CONTAINERD, platform: str = "linux"
) -> str | None:
    """C1 exactly: containerd's ``BinaryName`` (``None`` where it returns "")."""
    return _binary(name.split("."), containerd_series(containerd), platform_name(platform))


def _binary(pieces: Sequence[str], series: ContainerdSeries, platform: Platform) -> str | None:
    if len(pieces) < 2:
        return None
    if pieces[0] == "" and series in ("1.7", "2"):  # C1: leading '.' invalid from 1.7
        return None
    suffix = ".exe" if platform == "windows" else ""
    return f"containerd-shim-{pieces[-2]}-{pieces[-1]}{suffix}"


def is_absolute(name: str, containerd: str = DEFAULT_CONTAINERD, platform: str = "linux") -> bool:
    """Go's ``filepath.IsAbs`` as the Go that built this containerd had it."""
    series = containerd_series(containerd)
    return _gofilepath.is_abs(name, platform_name(platform) == "windows", series in ("1.7", "2"))


def parse(name: str, containerd: str = DEFAULT_CONTAINERD, platform: str = "linux") -> RuntimeName:
    """Read ``name`` as ``containerd`` would on ``platform``.

    Never raises for a ``str`` name and does no I/O; an unknown version or platform is a
    ``ValueError``, and a name that is not a ``str`` a ``TypeError``.
    """
    if not isinstance(name, str):
        raise not_a_name(name)
    return _parse(name, containerd_series(containerd), platform_name(platform))


# The longest name the parse cache remembers (in characters).
CACHED_NAME_LENGTH = 256


def _parse(name: str, series: ContainerdSeries, platform: Platform) -> RuntimeName:
    # A long name is rare, and a cache entry holds it several times over: only names of
    # ordinary length are remembered, so the cache stays within a few MB whatever it sees.
    if len(name) > CACHED_NAME_LENGTH:
        return _parse_name(name, series, platform)
    return _parse_cached(name, series, platform)


def _parse_name(name: str, series: ContainerdSeries, platform: Platform) -> RuntimeName:
    if not _is_plain(name):
        return _parse_full(name, series, platform)
    # Most names are plain, and most of those are shaped like shim names: both have
    # shorter ways to the same result (tests/grammar/test_properties.py checks them
    # against the full grammar).
    pieces = tuple(name.split("."))
    if len(pieces) < 2 or pieces[0] == "" or name == LEGACY_V1:
        return _resolve(name, pieces, series, platform, has_dir=False)
    return _plain_shim(name, pieces, series, platform)


_parse_cached = lru_cache(maxsize=8192)(_parse_name)


def _is_plain(name: str) -> bool:
    """Printable ASCII without a space, '/', '\\' or ':', as most runtime names are.

    Such a name has no volume (every Windows volume has a ':' or starts with a separator)
    and no directory, so the tokens of the grammar cannot match; and no character notes.
    """
    return (
        name.isascii()
        and name.isprintable()
        and " " not in name
        and "/" not in name
        and "\\" not in name
        and ":" not in name
    )


def _parse_full(name: str, series: ContainerdSeries, platform: Platform) -> RuntimeName:
    """runtime-name = [volume] [directory] base"""
    windows = platform == "windows"
    volume = _parse_volume(name, series in ("1.7", "2")) if windows else ""
    directory = _parse_directory(name[len(volume) :], windows)
    pieces = _parse_base(name)
    return _resolve(name, pieces, series, platform, has_dir=bool(volume or directory))


def _resolve(
    name: str, pieces: tuple[str, ...], series: ContainerdSeries, platform: Platform, has_dir: bool
) -> RuntimeName:
    """What the name is to containerd, once the grammar has read it: C1, then C2's order."""
    windows = platform == "windows"
    go120 = series in ("1.7", "2")
    binary = _binary(pieces, series, platform)
    kind, error = _kind(name, series, windows, go120, binary is not None, has_dir)
    if kind == "path":
        binary = name
    elif kind not in ("shim", "relative"):
        binary = None
    dir_part = _gofilepath.dir_name(name, windows, go120) if has_dir else None
    info = shim_for_binary(binary) if binary else None
    notes = _notes(name, pieces, binary, kind, info)
    return RuntimeName(
        name=name,
        kind=kind,
        binary=binary,
        error=error,
        containerd=_LABELS[series],
        platform=platform,
        pieces=pieces,
        directory=dir_part,
        notes=notes,
        shim_info=info,
    )


def _plain_shim(
    name: str, pieces: tuple[str, ...], series: ContainerdSeries, platform: Platform
) -> RuntimeName:
    """``_resolve`` for a plain name of two or more pieces, the first not empty, other than
    C4's name: a shim, in every series and on both platforms.

    C1 gives it a binary name in every series, and C2 finds nothing else to act on: no
    path (no '/' and no Windows volume; the names Go <= 1.19 reserves on Windows have no
    '.'), and no directory.  So only its pieces and its binary can give it notes.
    """
    bare = f"containerd-shim-{pieces[-2]}-{pieces[-1]}"
    info = shim_for_base(bare)
    notes: list[str] = []
    if "" in pieces:
        notes.append(Note.EMPTY_PIECE)
    if not _is_version(pieces[-1]):
        notes.append(Note.NO_VERSION)
    if bare in REMOVED_IN_2:
        notes.append(Note.REMOVED_IN_2)
    if info is not None and not info.documents(name):
        notes.append(Note.ALIAS)
    return RuntimeName(
        name=name,
        kind="shim",
        binary=bare + ".exe" if platform == "windows" else bare,  # C1
        error=None,
        containerd=_LABELS[series],
        platform=platform,
        pieces=pieces,
        notes=frozenset(notes) if notes else _NO_NOTES,
        shim_info=info,
    )


def _parse_volume(name: str, go120: bool) -> str:
    """volume = drive | unc | device   (Windows; Go's VolumeName)"""
    m = _gofilepath.volume_pattern(go120).match(name)
    return m.group() if m else ""


def _parse_directory(rest: str, windows: bool) -> str:
    """directory = { any } separator   (after the volume; '\\' too on Windows)"""
    end = max(rest.rfind("/"), rest.rfind("\\")) if windows else rest.rfind("/")
    return rest[: end + 1]


def _parse_base(name: str) -> tuple[str, ...]:
    """base = piece { "." piece }   — over the whole name, as C1 splits it.

    Python's ``str.split('.')`` is exactly Go's ``strings.Split`` here: empty pieces count.
    """
    return tuple(name.split("."))


def _kind(
    name: str, series: ContainerdSeries, windows: bool, go120: bool, has_binary: bool, has_dir: bool
) -> tuple[Kind, str | None]:
    """C2's resolution order (and C4's routing before it)."""
    if name == LEGACY_V1 and series != "2" and not windows:
        return "legacy-v1", None
    if name == "":  # C2 step 1 (1.5 has no such check: C1 fails on "")
        return "empty", _invalid(name, series) if series == "1.5" else "no runtime name"
    if series != "1.5" and _gofilepath.is_abs(name, windows, go120):  # C2 step 2
        return "path", None
    if go120 and "/" in name:  # C2 step 3: from 1.7, any '/' (never '\')
        return "invalid", _invalid(name, series)
    if not has_binary:  # C2 step 4
        return "invalid", _invalid(name, series)
    return ("relative" if has_dir else "shim"), None  # C2 step 6: dir searched first


def _invalid(name: str, series: ContainerdSeries) -> str:
    """containerd's error for an invalid name; made only for one, since most are valid."""
    if series == "1.5":
        return _ERROR_15.format(name)
    return _ERROR_16.format(name, "runc.v2" if series == "2" else "runc.v1")


def _notes(
    name: str, pieces: tuple[str, ...], binary: str | None, kind: str, info: Shim | None
) -> frozenset[str]:
    notes: list[str] = []
    if not (name.isascii() and name.isprintable() and " " not in name):
        notes.extend(_character_notes(name))
    if name.startswith("."):
        notes.append(Note.LEADING_DOT)
    if len(pieces) >= 2:
        if "" in pieces:
            notes.append(Note.EMPTY_PIECE)
        if not _is_version(pieces[-1]):
            notes.append(Note.NO_VERSION)
    if name == LEGACY_V1:
        notes += (Note.LEGACY_V1, Note.REMOVED_IN_2)
    if binary is not None and kind in ("shim", "relative"):
        bare = binary[:-4] if binary.endswith(".exe") else binary
        if "/" in bare or "\\" in bare:
            notes.append(Note.BINARY_SEPARATOR)
        if bare in REMOVED_IN_2:
            notes.append(Note.REMOVED_IN_2)
        if info is not None and kind == "shim" and not info.documents(name):
            notes.append(Note.ALIAS)
    return frozenset(notes) if notes else _NO_NOTES


def _is_version(piece: str) -> bool:
    """A shim API version: "v" and ASCII digits, like v2."""
    return piece[:1] == "v" and piece[1:].isdigit() and piece.isascii()


def _character_notes(name: str) -> set[str]:
    notes: set[str] = set()
    for ch in name:
        if ch.isascii() and ch.isprintable() and ch != " ":
            continue
        if ch in _BIDI:
            notes.add(Note.BIDI)
        elif ch.isspace():
            notes.add(Note.WHITESPACE)
            if unicodedata.category(ch) == "Cc":  # tab, newline …
                notes.add(Note.CONTROL)
        elif unicodedata.category(ch) == "Cc":
            notes.add(Note.CONTROL)
        if not ch.isascii():
            notes.add(Note.NON_ASCII)
    return notes
