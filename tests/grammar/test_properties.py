"""Properties of the runtime-name grammar (SPEC C1-C4), on generated and arbitrary names.

The reference below restates C1 and C2 plainly and ports Go's ``filepath.IsAbs`` for Windows
byte for byte from the two Go versions that matter (1.19, which built containerd 1.5/1.6,
and 1.22+, ``internal/filepathlite`` in Go 1.24, for 1.7/2.x), independently of shimpolicy's
own regular expressions.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

import shimpolicy
from fuzz import strategies
from shimpolicy.grammar.catalog import SHIMS, Shim, shim_for_binary
from shimpolicy.grammar.name import _is_plain, _parse_full, _parse_name, binary_name, is_absolute

if TYPE_CHECKING:
    from shimpolicy.grammar.versions import ContainerdSeries, Platform

VERSIONS = ("1.5", "1.6", "1.7", "2.0")
SERIES: tuple[ContainerdSeries, ...] = ("1.5", "1.6", "1.7", "2")
PLATFORM_NAMES: tuple[Platform, ...] = ("linux", "windows")
PLATFORMS = ("linux", "windows")
LEGACY_V1 = "io.containerd.runtime.v1.linux"

SETTINGS = settings(max_examples=300, deadline=None)

_ERROR_15 = "invalid runtime name {}, correct runtime name should format like io.containerd.runc.v1"
_ERROR_16 = (
    "invalid runtime name {}, correct runtime name should be either format like "
    "`io.containerd.runc.{}` or a full path to the binary"
)

# ---- Go's path/filepath on Windows, over UTF-8 bytes as Go sees a string -------------------

_SLASHES = b"\\/"
_RESERVED_GO119 = {
    b"CON", b"PRN", b"AUX", b"NUL",
    *(b"COM%d" % i for i in range(1, 10)),
    *(b"LPT%d" % i for i in range(1, 10)),
}  # fmt: skip


def _go_bytes(path: str) -> bytes:
    # Lone surrogates only reach Go as whatever bytes encoded them; none is a delimiter.
    return path.encode("utf-8", "surrogatepass")


def _volume_len_go119(p: bytes) -> int:
    """Go 1.19 path_windows.go volumeNameLen: drive letters, and UNC \\\\host\\share."""
    n = len(p)
    if n < 2:
        return 0
    if p[1:2] == b":" and p[:1].isalpha():
        return 2
    if n >= 5 and p[0] in _SLASHES and p[1] in _SLASHES and p[2] not in _SLASHES and p[2] != 46:
        i = 3
        while i < n - 1:  # the first separator after the host, not the last byte
            if p[i] in _SLASHES:
                i += 1
                if p[i] in _SLASHES or p[i] == 46:  # doubled separator, or share ".x"
                    return 0
                while i < n and p[i] not in _SLASHES:
                    i += 1
                return i
            i += 1
    return 0


def _is_abs_go119(p: bytes) -> bool:
    # strings.EqualFold: no non-ASCII rune folds to a letter of CON/PRN/AUX/NUL/COMn/LPTn
    # (only K and S have non-ASCII fold partners), so an ASCII upper-case match is exact.
    if p.upper() in _RESERVED_GO119:
        return True
    n = _volume_len_go119(p)
    if n == 0:
        return False
    if p[0] in _SLASHES and p[1] in _SLASHES:
        return True
    return p[n : n + 1] != b"" and p[n] in _SLASHES


def _has_prefix_fold(s: bytes, prefix: bytes) -> bool:
    """filepathlite.pathHasPrefixFold"""
    if len(s) < len(prefix):
        return False
    for a, b in zip(s[: len(prefix)], prefix, strict=True):
        if b in _SLASHES:
            if a not in _SLASHES:
                return False
        elif bytes([a]).upper() != bytes([b]).upper():
            return False
    return len(s) == len(prefix) or s[len(prefix)] in _SLASHES


def _unc_len(p: bytes, start: int) -> int:
    count = 0
    for i in range(start, len(p)):
        if p[i] in _SLASHES:
            count += 1
            if count == 2:
                return i
    return len(p)


def _volume_len_go122(p: bytes) -> int:
    """Go 1.22+ (filepathlite in 1.24) volumeNameLen."""
    if len(p) >= 2 and p[1:2] == b":":
        return 2  # any byte before ':' is a drive
    if not p or p[0] not in _SLASHES:
        return 0
    if _has_prefix_fold(p, b"\\\\.\\UNC"):
        return _unc_len(p, len(b"\\\\.\\UNC\\"))
    if any(_has_prefix_fold(p, prefix) for prefix in (b"\\\\.", b"\\\\?", b"\\??")):
        if len(p) == 3:
            return 3
        rest = p[4:]
        cut = next((i for i, c in enumerate(rest) if c in _SLASHES), None)
        return len(p) if cut is None else 4 + cut
    if len(p) >= 2 and p[1] in _SLASHES:
        return _unc_len(p, 2)
    return 0


def _is_abs_go122(p: bytes) -> bool:
    n = _volume_len_go122(p)
    if n == 0:
        return False
    if p[0] in _SLASHES and p[1] in _SLASHES:
        return True
    return p[n : n + 1] != b"" and p[n] in _SLASHES


def go_is_abs(name: str, windows: bool, go122: bool) -> bool:
    if not windows:
        return name.startswith("/")
    p = _go_bytes(name)
    return _is_abs_go122(p) if go122 else _is_abs_go119(p)


def go_has_dir(name: str, windows: bool, go122: bool) -> bool:
    """filepath.Split finds a directory part: a volume, or a separator."""
    if not windows:
        return "/" in name
    p = _go_bytes(name)
    volume = _volume_len_go122(p) if go122 else _volume_len_go119(p)
    return volume > 0 or any(c in _SLASHES for c in p)


# ---- C1 and C2, restated -----------------------------------------------------------------


def c1_binary(name: str, containerd: str, platform: str) -> str | None:
    pieces = name.split(".")
    if len(pieces) < 2 or (pieces[0] == "" and containerd in ("1.7", "2.0")):
        return None
    return f"containerd-shim-{pieces[-2]}-{pieces[-1]}" + (".exe" if platform == "windows" else "")


def c2_reading(name: str, containerd: str, platform: str) -> tuple[str, str | None, str | None]:
    """(kind, binary, error) by C4 and then C2's steps, in order."""
    windows = platform == "windows"
    go122 = containerd in ("1.7", "2.0")
    if name == LEGACY_V1 and containerd != "2.0" and not windows:
        return "legacy-v1", None, None
    if containerd == "1.5":
        invalid = _ERROR_15.format(name)
    else:
        invalid = _ERROR_16.format(name, "v2" if containerd == "2.0" else "v1")
    if name == "":
        return "empty", None, invalid if containerd == "1.5" else "no runtime name"
    if containerd != "1.5" and go_is_abs(name, windows, go122):
        return "path", name, None
    if go122 and "/" in name:
        return "invalid", None, invalid
    binary = c1_binary(name, containerd, platform)
    if binary is None:
        return "invalid", None, invalid
    return ("relative" if go_has_dir(name, windows, go122) else "shim"), binary, None


# ---- properties ---------------------------------------------------------------------------

_ANY_TEXT = st.one_of(
    st.text(),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])),
    strategies.names(),
)


@SETTINGS
@given(name=strategies.valid_shim_names())
def test_shim_names_from_the_grammar_round_trip_through_their_parts(name: str) -> None:
    for containerd in VERSIONS:
        for platform in PLATFORMS:
            rn = shimpolicy.parse(name, containerd=containerd, platform=platform)
            assert ".".join(rn.pieces) == rn.name == name
            assert rn.shim is not None and rn.version is not None
            assert (*rn.prefix, rn.shim, rn.version) == rn.pieces
            assert rn.kind == "shim"
            exe = ".exe" if platform == "windows" else ""
            assert rn.binary == f"containerd-shim-{rn.shim}-{rn.version}{exe}"


@SETTINGS
@given(name=_ANY_TEXT)
def test_any_text_round_trips_through_its_pieces(name: str) -> None:
    for containerd in VERSIONS:
        for platform in PLATFORMS:
            rn = shimpolicy.parse(name, containerd=containerd, platform=platform)
            assert ".".join(rn.pieces) == name
            if rn.shim is None:
                assert rn.pieces == (name,)
            else:
                assert (*rn.prefix, rn.shim, rn.version) == rn.pieces


@SETTINGS
@given(name=_ANY_TEXT)
def test_parse_agrees_with_a_plain_restatement_of_c1_and_c2(name: str) -> None:
    for containerd in VERSIONS:
        for platform in PLATFORMS:
            windows = platform == "windows"
            rn = shimpolicy.parse(name, containerd=containerd, platform=platform)
            assert (rn.kind, rn.binary, rn.error) == c2_reading(name, containerd, platform)
            assert binary_name(name, containerd, platform) == c1_binary(name, containerd, platform)
            assert is_absolute(name, containerd, platform) == go_is_abs(
                name, windows, containerd in ("1.7", "2.0")
            )


@SETTINGS
@given(name=st.one_of(strategies.windows_like_names(), strategies.path_like_names()))
def test_windows_paths_are_absolute_exactly_as_go_says(name: str) -> None:
    for containerd in VERSIONS:
        go122 = containerd in ("1.7", "2.0")
        assert is_absolute(name, containerd, "windows") == go_is_abs(name, True, go122)


def test_go_windows_is_abs_reference_matches_the_go_sources() -> None:
    # Read from Go 1.19 path/filepath/path_windows.go and Go 1.24 internal/filepathlite.
    cases = {
        "C:\\x": (True, True), "C:/x": (True, True), "C:x": (False, False), "C:": (False, False),
        "\\x": (False, False), "/x": (False, False), "1:\\x": (False, True),
        "\\\\host\\share\\x": (True, True), "\\\\host\\share": (True, True),
        "\\\\host": (False, True), "\\\\host\\": (False, True), "\\\\": (False, True),
        "\\\\host\\.share": (False, True), "\\\\.host\\share": (False, True),
        "\\\\?\\C:\\x": (True, True), "\\\\.\\pipe\\x": (False, True),
        "\\??\\C:\\x": (False, True), "\\??\\C:": (False, False),
        "NUL": (True, False), "con": (True, False), "COM1": (True, False),
        "nul.txt": (False, False), "COM0": (False, False),
    }  # fmt: skip
    assert {
        name: (go_is_abs(name, True, go122=False), go_is_abs(name, True, go122=True))
        for name in cases
    } == cases


# ---- the short ways through the grammar ------------------------------------------------------

# Printable ASCII but for the space and the characters paths are made of: what _is_plain admits.
_PLAIN_CHARACTERS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "/\\:")
# Pieces that reach the branches of C1-C4 and the notes: known shims and their versions, the
# legacy runtime's pieces, empty pieces, and the names Go <= 1.19 reserves on Windows.
_PLAIN_PIECES = (
    "io", "containerd", "com", "example", "runc", "kata", "kata-qemu", "runsc", "spin",
    "wasmtime", "runhcs", "aws", "firecracker", "runtime", "linux", "v1", "v2", "v10", "v",
    "v2a", "", "NUL", "nul", "COM1", "lpt9", "CON", "x",
)  # fmt: skip
_PLAIN_NAMES = st.one_of(
    st.lists(
        st.one_of(st.sampled_from(_PLAIN_PIECES), st.text(_PLAIN_CHARACTERS, max_size=6)),
        max_size=6,
    ).map(".".join),
    st.text(_PLAIN_CHARACTERS, max_size=24),
    st.sampled_from((LEGACY_V1, "io.containerd.runc.v1", "runc", "NUL", ".", "..", ".a", "")),
)


@SETTINGS
@given(name=_PLAIN_NAMES)
def test_plain_names_read_as_the_full_grammar_reads_them(name: str) -> None:
    assert _is_plain(name)
    for series in SERIES:
        for platform in PLATFORM_NAMES:
            assert _parse_name(name, series, platform) == _parse_full(name, series, platform)


@SETTINGS
@given(name=_ANY_TEXT)
def test_any_name_reads_as_the_full_grammar_reads_it(name: str) -> None:
    for series in SERIES:
        for platform in PLATFORM_NAMES:
            assert _parse_name(name, series, platform) == _parse_full(name, series, platform)


@SETTINGS
@given(name=st.one_of(_ANY_TEXT, _PLAIN_NAMES))
def test_plain_names_are_printable_ascii_without_spaces_or_path_characters(name: str) -> None:
    assert _is_plain(name) == all(c in _PLAIN_CHARACTERS for c in name)


def _catalog_shim(binary: str) -> Shim | None:
    """The first shim in catalog order with a binary glob matching the binary's file name."""
    base = binary.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".exe")
    return next((s for s in SHIMS if any(fnmatchcase(base, g) for g in s.binaries)), None)


@SETTINGS
@given(
    binary=st.one_of(
        st.builds(
            "{}containerd-shim-{}-{}{}".format,
            st.sampled_from(("", "/opt/kata/bin/", "C:\\shims\\", "a/b\\")),
            st.one_of(st.sampled_from(_PLAIN_PIECES), st.text(max_size=8)),
            st.one_of(st.sampled_from(_PLAIN_PIECES), st.text(max_size=8)),
            st.sampled_from(("", ".exe")),
        ),
        st.text(),
    )
)
def test_a_binary_belongs_to_the_first_shim_whose_glob_matches_it(binary: str) -> None:
    assert shim_for_binary(binary) == _catalog_shim(binary)
