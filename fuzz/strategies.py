"""Runtime names generated from the grammar, for property tests and differential runs.

Each family below is written once, as a function of a :class:`Source` of choices, and runs
on two back ends: hypothesis (``valid_shim_names()``, ``names()`` … return strategies that
shrink) and a seeded :class:`random.Random` (:func:`generate`, for reproducible runs of
thousands of names against the oracles). So the names a differential run feeds to containerd
are drawn from exactly the distributions the property tests explore.

The families follow the grammar of ``shimpolicy.grammar.name`` (SPEC C1-C3): a name is split on
``.`` into pieces, its last two pieces make the shim binary, and what comes before the last
path separator (or a Windows volume) makes it a path. Names never contain lone surrogates:
they cannot be encoded as UTF-8, so no configuration file or command line carries them to
containerd (``arbitrary text`` in the property tests covers them separately).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from hypothesis import strategies as st

_T = TypeVar("_T")


class Source(Protocol):
    """The two primitive choices every family is built from."""

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        ...

    def choice(self, options: Sequence[_T]) -> _T:
        """One element of a non-empty sequence."""
        ...


Family = Callable[[Source], str]


class RandomSource:
    """Choices from a seeded ``random.Random``: the same seed gives the same names."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self._random.randint(low, high)

    def choice(self, options: Sequence[_T]) -> _T:
        return options[self._random.randrange(len(options))]


class _DrawSource:
    """Choices drawn by hypothesis, so that failing names shrink."""

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def integer(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))

    def choice(self, options: Sequence[_T]) -> _T:
        return self._draw(st.sampled_from(options))


# ---- vocabulary -----------------------------------------------------------------------------

# Prefix pieces and shim pieces seen in real runtime names (reverse-DNS owners, shim names).
PREFIX_WORDS = ("io", "containerd", "com", "example", "dev", "org", "github", "docker", "k8s")
SHIM_WORDS = (
    "runc", "kata", "kata-qemu", "kata-fc", "gvisor", "runsc", "crun", "youki", "spin",
    "wasmtime", "wasmedge", "slight", "firecracker", "nvidia", "runhcs", "hcsshim", "my-shim",
    "shim_v2", "x",
)  # fmt: skip
VERSION_WORDS = ("v1", "v2", "v2", "v2", "v3", "v10", "v2alpha1", "2", "latest")
_TOKEN_HEAD = "abcdefghijklmnopqrstuvwxyz"
_TOKEN_TAIL = _TOKEN_HEAD + "0123456789-_"

LEGACY_V1 = "io.containerd.runtime.v1.linux"

# Names the specification spells out (SPEC C1 and the table of §4), kept in the mix so that
# every seeded run covers them.
SPEC_NAMES = (
    "io.containerd.runc.v2", "io.containerd.kata.v2", "com.example.runc.v2", "runc", "",
    ".", ".a", "a.", "a..", "/usr/bin/foo", "a/b.c", "sub/io.x.y.v1", "/opt/x/io.y.v1",
    "a\\b.c", "C:\\foo", "C:\\x\\io.y.z", LEGACY_V1, "io.containerd.runc.v1",
    "x.runc.v2", "com.evil.runc.v2", "io.containerd.runc.v2.", "io.containerd.my-shim",
)  # fmt: skip

# Characters that change how a name reads or how a tool treats it: bidirectional controls,
# invisible and look-alike characters, controls, separators, non-BMP.
SPECIAL_CHARACTERS = (
    "\u202e", "\u202d", "\u202a", "\u2066", "\u2067", "\u2069", "\u200e", "\u200f", "\u061c",
    "\u200b", "\u200d", "\ufeff", "\u00a0", "\u3000", "\u2028", "\u0085",
    "\uff0e", "\u2024", "\u3002", "\u2215", "\uff0f", "\u29f5",
    "\u0430", "\u043e", "\u0440", "\u0301", "\u00e9", "\u0130", "\u017f", "\u212a",
    "\x00", "\x01", "\x1b", "\t", "\n", "\r", "\x7f", "\U0001f600", "\U000e0041",
)  # fmt: skip

_ABSOLUTE_DIRS = (
    "/usr/local/bin", "/usr/bin", "/opt/kata/bin", "/opt/x", "/tmp", "/var/tmp", "/dev/shm",
    "/home/user/.local/bin", "/run/user/1000", "", "/", "/.", "/..",
)  # fmt: skip
_RELATIVE_DIRS = ("bin", "./bin", ".", "..", "../..", "sub", "a/b", "~", "$HOME", "a/..", ".x")
_PATH_BASES = ("containerd-shim-kata-v2", "runc", "x", "", ".", "..", "shim.v2")

_DRIVES = ("C", "c", "Z", "1", "+", "\\", "/", ":", " ", "\u00e9", "\x00")
_WINDOWS_WORDS = ("Program Files", "containerd", "bin", "x", "share", "host", "pipe", "UNC", "unc")
_RESERVED_NAMES = (
    "NUL", "nul", "con", "CON", "Con", "PRN", "aux", "AUX", "COM1", "com9", "LPT1", "lpt9",
    "COM0", "LPT0", "COM\u00b9", "COM\u00b2", "CONIN$", "conout$", "NUL.txt", "nul ", "NUL:",
    "CON.io.containerd.x.v2", "NUL.a.b", "\u212aON",
)  # fmt: skip


# ---- helpers ----------------------------------------------------------------------------------


def _token(src: Source) -> str:
    length = src.integer(0, 10)
    return src.choice(_TOKEN_HEAD) + "".join(src.choice(_TOKEN_TAIL) for _ in range(length))


def _insert(src: Source, text: str, extra: str) -> str:
    at = src.integer(0, len(text))
    return text[:at] + extra + text[at:]


def _path(src: Source, separators: str, low: int, high: int) -> str:
    parts = [src.choice((*_WINDOWS_WORDS, *SHIM_WORDS)) for _ in range(src.integer(low, high))]
    return "".join(src.choice(separators) + part for part in parts)


# ---- families -------------------------------------------------------------------------------


def valid_shim_name(src: Source) -> str:
    """prefix pieces, a shim and a version, from a realistic charset (``io.containerd.kata.v2``)."""
    prefix = [
        src.choice(PREFIX_WORDS) if src.integer(0, 2) else _token(src)
        for _ in range(src.integer(0, 4))
    ]
    shim = src.choice(SHIM_WORDS) if src.integer(0, 2) else _token(src)
    version = src.choice(VERSION_WORDS) if src.integer(0, 3) else f"v{src.integer(0, 99)}"
    return ".".join([*prefix, shim, version])


def _leading_dot(src: Source, name: str) -> str:
    return "." * src.integer(1, 2) + name


def _trailing_dot(src: Source, name: str) -> str:
    return name + "." * src.integer(1, 2)


def _doubled_dot(src: Source, name: str) -> str:
    dots = [i for i, c in enumerate(name) if c == "."]
    at = src.choice(dots) if dots else len(name)
    return name[:at] + "." + name[at:]


def _no_dot(src: Source, name: str) -> str:
    return name.replace(".", src.choice(("", "-", "_", " ")))


def _space(src: Source, name: str) -> str:
    return _insert(src, name, src.choice((" ", "  ", "\t", "\u00a0")))


def _upper_case(src: Source, name: str) -> str:
    pieces = name.split(".")
    at = src.integer(0, len(pieces) - 1)
    pieces[at] = pieces[at].upper() if src.integer(0, 1) else pieces[at].capitalize()
    return ".".join(pieces)


def _only_dots(src: Source, name: str) -> str:
    return "." * src.integer(1, 4)


def _truncated(src: Source, name: str) -> str:
    return name[: src.integer(0, len(name))]


_MUTATIONS = (
    _leading_dot, _trailing_dot, _doubled_dot, _no_dot, _space, _upper_case, _only_dots,
    _truncated,
)  # fmt: skip


def near_valid_name(src: Source) -> str:
    """A valid shim name with one or two slips: empty pieces, stray dots, spaces, upper case."""
    name = valid_shim_name(src)
    for _ in range(src.integer(1, 2)):
        name = src.choice(_MUTATIONS)(src, name)
    return name


def path_like_name(src: Source) -> str:
    """Absolute and relative paths, ``./`` and ``..`` included, to shims and to other files."""
    base = valid_shim_name(src) if src.integer(0, 1) else src.choice(_PATH_BASES)
    directory = src.choice(_ABSOLUTE_DIRS if src.integer(0, 1) else _RELATIVE_DIRS)
    name = f"{directory}/{base}"
    if not src.integer(0, 5):
        name += "/"
    if not src.integer(0, 5):
        name = name.replace("/", "//", 1)
    return name


def _drive_path(src: Source) -> str:
    tail = _path(src, "\\/", 0, 3)
    if not src.integer(0, 2):
        tail = tail[1:]  # C:x, relative to the drive's current directory
    return src.choice(_DRIVES) + ":" + tail


def _unc_path(src: Source) -> str:
    sep = src.choice(("\\", "/"))
    host = src.choice(("host", "server", ".host", "?", ".", ""))
    share = src.choice(("share", ".share", "", "c$", sep + "share"))
    form = src.integer(0, 3)
    if form == 0:
        return sep * 2 + host  # no share
    if form == 1:
        return sep * 2 + host + sep  # empty share
    return sep * 2 + host + sep + share + _path(src, "\\/", 0, 2)


def _device_path(src: Source) -> str:
    prefix = src.choice(("\\\\?\\", "\\\\.\\", "\\??\\", "//?/", "//./", "/??/", "\\\\.", "\\??"))
    target = src.choice(("C:", "C:\\x", "pipe\\x", "UNC\\host\\share\\x", "unc\\h", "x", "", "?"))
    return prefix + target


def windows_like_name(src: Source) -> str:
    """Windows paths: drives (letters and not), UNC, device paths, rooted, reserved names."""
    form = src.integer(0, 5)
    if form == 0:
        return _drive_path(src)
    if form == 1:
        return _unc_path(src)
    if form == 2:
        return _device_path(src)
    if form == 3:
        return _path(src, "\\/", 1, 3)  # rooted on the current drive: \x
    if form == 4:
        return src.choice(_RESERVED_NAMES)
    return _path(src, "\\", 1, 2)[1:] + "\\" + valid_shim_name(src)  # foo\io.x.y


def unicode_name(src: Source) -> str:
    """A shim name carrying control, invisible, bidirectional or look-alike characters."""
    name = valid_shim_name(src)
    for _ in range(src.integer(1, 3)):
        name = _insert(src, name, src.choice(SPECIAL_CHARACTERS))
    return name


# Code point ranges for arbitrary text, each drawn as often as the others so that short
# strings still mix delimiters, controls and non-ASCII; surrogates (U+D800-U+DFFF) are left out.
_CODE_POINT_RANGES = (
    (0x20, 0x7E), (0x00, 0x1F), (0x7F, 0xFF), (0x100, 0xD7FF), (0xE000, 0xFFFF),
    (0x10000, 0x10FFFF),
)  # fmt: skip
_DELIMITERS = "./\\:?$ "


def arbitrary_name(src: Source) -> str:
    """Any text (without lone surrogates), weighted towards the grammar's delimiters."""
    out = []
    for _ in range(src.integer(0, 24)):
        if src.integer(0, 2):
            low, high = src.choice(_CODE_POINT_RANGES)
            out.append(chr(src.integer(low, high)))
        else:
            out.append(src.choice(_DELIMITERS))
    return "".join(out)


def spec_name(src: Source) -> str:
    """One of the names the specification spells out."""
    return src.choice(SPEC_NAMES)


FAMILIES: dict[str, Family] = {
    "valid": valid_shim_name,
    "near-valid": near_valid_name,
    "path": path_like_name,
    "windows": windows_like_name,
    "unicode": unicode_name,
    "arbitrary": arbitrary_name,
    "spec": spec_name,
}


# ---- back ends ------------------------------------------------------------------------------


def strategy(family: Family) -> st.SearchStrategy[str]:
    """The hypothesis strategy for one family."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        return family(_DrawSource(draw))

    return build()


def valid_shim_names() -> st.SearchStrategy[str]:
    return strategy(valid_shim_name)


def near_valid_names() -> st.SearchStrategy[str]:
    return strategy(near_valid_name)


def path_like_names() -> st.SearchStrategy[str]:
    return strategy(path_like_name)


def windows_like_names() -> st.SearchStrategy[str]:
    return strategy(windows_like_name)


def unicode_names() -> st.SearchStrategy[str]:
    return strategy(unicode_name)


def arbitrary_names() -> st.SearchStrategy[str]:
    return strategy(arbitrary_name)


def spec_names() -> st.SearchStrategy[str]:
    return strategy(spec_name)


def names() -> st.SearchStrategy[str]:
    """Every family, mixed."""
    return st.one_of([strategy(family) for family in FAMILIES.values()])


def generate(count: int, seed: int) -> list[str]:
    """``count`` names from all families, the same for the same seed (no hypothesis involved)."""
    src = RandomSource(seed)
    families = tuple(FAMILIES.values())
    return [src.choice(families)(src) for _ in range(count)]
