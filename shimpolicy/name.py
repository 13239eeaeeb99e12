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

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from . import _gofilepath
from ._tokenizer import Tokenizer
from .catalog import Shim, shim_for_binary
from .versions import ContainerdSeries, Platform, containerd_series, platform_name

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
_VERSION_PIECE = re.compile(r"v[0-9]+")

_ERROR_15 = "invalid runtime name {}, correct runtime name should format like io.containerd.runc.v1"
_ERROR_16 = (
    "invalid runtime name {}, correct runtime name should be either format like "
    "`io.containerd.{}` or a full path to the binary"
)


@dataclass(frozen=True, slots=True)
class RuntimeName:
    """What one runtime name means to one containerd version on one platform."""

    name: str
    kind: str
    binary: str | None
    error: str | None
    containerd: str
    platform: Platform
    pieces: tuple[str, ...]
    directory: str | None = None  # Go's filepath.Dir, when the name has a directory part
    notes: frozenset[str] = field(default_factory=frozenset)
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


def _rules(windows: bool, go120: bool) -> dict[str, re.Pattern[str]]:
    if not windows:  # volume names are Windows only
        return {"DIRECTORY": re.compile(r".*/", re.DOTALL)}
    volume = _gofilepath._VOLUME_GO120 if go120 else _gofilepath._VOLUME_GO119
    return {"VOLUME": volume, "DIRECTORY": re.compile(r".*[\\/]", re.DOTALL)}


_RULES = {(w, g): _rules(w, g) for w in (False, True) for g in (False, True)}


def binary_name(name: str, containerd: str = "2.0", platform: str = "linux") -> str | None:
    """C1 exactly: containerd's ``BinaryName`` (``None`` where it returns "")."""
    return _binary(name.split("."), containerd_series(containerd), platform_name(platform))


def _binary(pieces: Sequence[str], series: ContainerdSeries, platform: Platform) -> str | None:
    if len(pieces) < 2:
        return None
    if pieces[0] == "" and series in ("1.7", "2"):  # C1: leading '.' invalid from 1.7
        return None
    suffix = ".exe" if platform == "windows" else ""
    return f"containerd-shim-{pieces[-2]}-{pieces[-1]}{suffix}"


def is_absolute(name: str, containerd: str = "2.0", platform: str = "linux") -> bool:
    """Go's ``filepath.IsAbs`` as the Go that built this containerd had it."""
    series = containerd_series(containerd)
    return _gofilepath.is_abs(name, platform_name(platform) == "windows", series in ("1.7", "2"))


def parse(name: str, containerd: str = "2.0", platform: str = "linux") -> RuntimeName:
    """Read ``name`` as ``containerd`` would on ``platform``.

    Never raises for a ``str`` name and does no I/O; an unknown version or platform is a
    ``ValueError``.
    """
    return _parse(name, containerd_series(containerd), platform_name(platform))


@lru_cache(maxsize=8192)
def _parse(name: str, series: ContainerdSeries, platform: Platform) -> RuntimeName:
    windows = platform == "windows"
    go120 = series in ("1.7", "2")
    tokens = Tokenizer(name, _RULES[(windows, go120)])
    volume = _parse_volume(tokens) if windows else ""
    directory = _parse_directory(tokens)
    pieces = _parse_base(name)
    has_dir = bool(volume or directory)

    binary = _binary(pieces, series, platform)
    kind, error = _kind(name, series, windows, go120, binary is not None, has_dir)
    if kind == "path":
        binary = name
    elif kind not in ("shim", "relative"):
        binary = None
    dir_part = _gofilepath.dir_name(name, windows, go120) if has_dir else None
    info = shim_for_binary(binary) if binary else None
    label = "2.x" if series == "2" else series
    notes = _notes(name, pieces, binary, kind, info)
    # Positional, in field order: keywords would make this call a third slower, and it is
    # made once for every new name.
    return RuntimeName(name, kind, binary, error, label, platform, pieces, dir_part, notes, info)


def _parse_volume(tokens: Tokenizer) -> str:
    """volume = drive | unc | device   (Windows; Go's VolumeName)"""
    token = tokens.read("VOLUME")
    return token.text if token else ""


def _parse_directory(tokens: Tokenizer) -> str:
    """directory = { any } separator"""
    token = tokens.read("DIRECTORY")
    return token.text if token else ""


def _parse_base(name: str) -> tuple[str, ...]:
    """base = piece { "." piece }   — over the whole name, as C1 splits it.

    Python's ``str.split('.')`` is exactly Go's ``strings.Split`` here: empty pieces count.
    """
    return tuple(name.split("."))


def _kind(
    name: str, series: ContainerdSeries, windows: bool, go120: bool, has_binary: bool, has_dir: bool
) -> tuple[str, str | None]:
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
    notes: set[str] = set()
    if not (name.isascii() and name.isprintable() and " " not in name):
        notes.update(_character_notes(name))
    if name.startswith("."):
        notes.add(Note.LEADING_DOT)
    if len(pieces) >= 2:
        if "" in pieces:
            notes.add(Note.EMPTY_PIECE)
        if not _VERSION_PIECE.fullmatch(pieces[-1]):
            notes.add(Note.NO_VERSION)
    if name == LEGACY_V1:
        notes.add(Note.LEGACY_V1)
    if binary is not None and kind in ("shim", "relative"):
        bare = binary[:-4] if binary.endswith(".exe") else binary
        if "/" in bare or "\\" in bare:
            notes.add(Note.BINARY_SEPARATOR)
        if bare in REMOVED_IN_2:
            notes.add(Note.REMOVED_IN_2)
        if info is not None and kind == "shim" and not info.documents(name):
            notes.add(Note.ALIAS)
    if name == LEGACY_V1:
        notes.add(Note.REMOVED_IN_2)
    return frozenset(notes)


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
