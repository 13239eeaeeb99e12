"""Go's ``path/filepath`` as containerd and dockerd were compiled with it.

Only what the runtime-name rules need: ``IsAbs``, ``VolumeName`` and ``Dir`` for Linux
and Windows.  Windows semantics changed in Go 1.20 (which rewrote volume-name parsing);
containerd 1.5 and 1.6 were built with older Go, 1.7 and 2.x with the newer one:

- Go <= 1.19: reserved device names (``NUL``, ``con``, ``COM1`` …) count as absolute; a
  drive is an ASCII letter plus ``:``; a UNC volume needs a host and a share that does
  not start with ``.``.
- Go >= 1.20: any ASCII byte plus ``:`` is a drive; ``\\\\.\\``, ``\\\\?\\`` and ``\\??\\``
  device paths and ``\\\\.\\UNC\\host\\share`` are volumes; ``\\\\host`` alone is a volume
  (and absolute); reserved names are no longer absolute.

Go indexes bytes where Python indexes code points; every delimiter here is ASCII and a
non-ASCII character never equals one, so the regular expressions below give the same
lengths as Go's byte loops.
"""

from __future__ import annotations

import re
from functools import cache

# Volume prefixes, tried in Go's order; ``[\\/]`` is Windows' IsPathSeparator.  Compiled on
# first use: only Windows names need them.
_VOLUME_GO119 = r"[A-Za-z]:|[\\/]{2}[^\\/.][^\\/]*[\\/][^\\/.][^\\/]*"
_VOLUME_GO120 = (
    r"[\x00-\x7f]:"  # drive: any ASCII byte before ':'
    r"|[\\/]{2}\.[\\/][Uu][Nn][Cc](?=[\\/]|\Z)(?:[\\/][^\\/]*(?:[\\/][^\\/]*)?)?"  # \\.\UNC\h\s
    r"|(?:[\\/]{2}[.?]|[\\/]\?\?)(?=[\\/]|\Z)(?:[\\/][^\\/]*)?"  # \\.\x  \\?\x  \??\x
    r"|[\\/]{2}[^\\/]*(?:[\\/][^\\/]*)?"  # \\host\share
)


@cache
def volume_pattern(go120: bool) -> re.Pattern[str]:
    """The Windows volume prefix as the Go that built the containerd version reads it."""
    return re.compile(_VOLUME_GO120 if go120 else _VOLUME_GO119, re.DOTALL)


_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)


def volume_len(path: str, windows: bool, go120: bool) -> int:
    if not windows:
        return 0
    m = volume_pattern(go120).match(path)
    return m.end() if m else 0


def is_abs(path: str, windows: bool, go120: bool) -> bool:
    if not windows:
        return path.startswith("/")
    if not go120 and path.upper() in _RESERVED:
        return True
    n = volume_len(path, windows, go120)
    if n == 0:
        return False
    if path[0] in "\\/" and path[1] in "\\/":  # UNC and device paths are always absolute
        return True
    return path[n : n + 1] in ("\\", "/")


def _clean(path: str, sep: str) -> str:
    """Go's lexical Clean for a path without volume name (separators already ``sep``)."""
    rooted = path.startswith(sep)
    out: list[str] = []
    for part in path.split(sep):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    body = sep.join(out)
    if rooted:
        return sep + body
    return body or "."


def dir_name(path: str, windows: bool, go120: bool) -> str:
    """Go's ``filepath.Dir``: everything up to the last separator, cleaned."""
    if not windows:
        i = path.rfind("/")
        return _clean(path[: i + 1], "/")
    raw = path.encode("utf-8", "surrogatepass")  # Go works on bytes
    vol = raw[: _volume_bytes(path, go120)]
    i = len(raw) - 1
    while i >= len(vol) and raw[i] not in b"\\/":
        i -= 1
    d = _clean_windows(raw[len(vol) : i + 1], go120)
    if go120:
        vol = vol.replace(b"/", b"\\")  # VolumeName returns FromSlash(...) from Go 1.20
    if d == b"." and len(vol) > 2:  # must be UNC
        return vol.decode("utf-8", "surrogatepass")
    return (vol + d).decode("utf-8", "surrogatepass")


def _volume_bytes(path: str, go120: bool) -> int:
    """The volume name's length in UTF-8 bytes, as Go counts it."""
    n = volume_len(path, True, go120)
    return len(path[:n].encode("utf-8", "surrogatepass")) if n else 0


def _clean_windows(path: bytes, go120: bool) -> bytes:
    """A line-by-line port of Go's Windows ``Clean`` (1.19.8, or 1.24 with ``postClean``),
    lazy buffer included: whether Go rewrote the buffer decides some of its output."""
    original = path
    vol_len = _volume_bytes(path.decode("utf-8", "surrogatepass"), go120)
    path = path[vol_len:]
    if not path:
        unc = (
            (original[:1] in (b"\\", b"/") and original[1:2] in (b"\\", b"/"))
            if go120
            else (vol_len > 1 and original[1:2] != b":")
        )
        return original.replace(b"/", b"\\") if vol_len > 1 and unc else original + b"."
    out = _LazyBuf(path, original, vol_len)
    n = len(path)
    rooted = path[0] in b"\\/"
    r = dotdot = 0
    if rooted:
        out.append(0x5C)
        r = dotdot = 1
    while r < n:
        c = path[r]
        if c in b"\\/" or (c == 0x2E and (r + 1 == n or path[r + 1] in b"\\/")):
            r += 1
        elif c == 0x2E and path[r + 1] == 0x2E and (r + 2 == n or path[r + 2] in b"\\/"):
            r += 2
            if out.w > dotdot:
                out.w -= 1
                while out.w > dotdot and out.index(out.w) not in b"\\/":
                    out.w -= 1
            elif not rooted:
                if out.w > 0:
                    out.append(0x5C)
                out.append(0x2E)
                out.append(0x2E)
                dotdot = out.w
        else:
            if (rooted and out.w != 1) or (not rooted and out.w != 0):
                out.append(0x5C)
            if not go120 and out.w == 0 and vol_len == 0 and r != 0:
                # Go 1.19.6+: keep "a/../c:" from becoming the volume "c:"
                j = r
                while j < n and path[j] not in b"\\/":
                    if path[j] == 0x3A:
                        out.append(0x2E)
                        out.append(0x5C)
                        break
                    j += 1
            while r < n and path[r] not in b"\\/":
                out.append(path[r])
                r += 1
    if out.w == 0:
        out.append(0x2E)
    if go120 and vol_len == 0 and out.buf is not None:  # Go 1.20.11+ postClean
        for c in out.buf:
            if c in b"\\/":
                break
            if c == 0x3A:
                out.prepend(b".\\")
                break
        buf = out.buf
        if not out.prepended and len(buf) >= 3 and buf[0] in b"\\/" and buf[1:3] == b"??":
            out.prepend(b"\\.")
    return out.string().replace(b"/", b"\\")


class _LazyBuf:
    """Go's lazybuf: only copies the input once the output differs from it."""

    __slots__ = ("buf", "path", "prepended", "vol_and_path", "vol_len", "w")

    def __init__(self, path: bytes, vol_and_path: bytes, vol_len: int) -> None:
        self.path, self.vol_and_path, self.vol_len = path, vol_and_path, vol_len
        self.buf: bytearray | None = None
        self.w = 0
        self.prepended = False

    def index(self, i: int) -> int:
        return self.buf[i] if self.buf is not None else self.path[i]

    def append(self, c: int) -> None:
        if self.buf is None:
            if self.w < len(self.path) and self.path[self.w] == c:
                self.w += 1
                return
            self.buf = bytearray(self.path)
            self.buf[self.w :] = bytes(len(self.path) - self.w)
        if self.w < len(self.buf):
            self.buf[self.w] = c
        else:
            self.buf.append(c)
        self.w += 1

    def prepend(self, prefix: bytes) -> None:
        assert self.buf is not None
        self.buf[0:0] = prefix
        self.w += len(prefix)
        self.prepended = True

    def string(self) -> bytes:
        if self.buf is None:
            return self.vol_and_path[: self.vol_len + self.w]
        return self.vol_and_path[: self.vol_len] + bytes(self.buf[: self.w])
