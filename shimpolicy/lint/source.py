"""Reading files safely: regular files only, bounded size, strict UTF-8."""

from __future__ import annotations

import os
import stat
from functools import lru_cache

from .._typing import NamedTuple
from ..syntax import Span

DEFAULT_MAX_BYTES = 8 * 1024 * 1024


class SourceFile(NamedTuple):
    path: str  # as shown in reports (relative to where the run started, POSIX separators)
    text: str  # decoded, without a leading BOM
    type: str
    bom: bool = False  # whether the file started with one (some readers refuse it)
    # Where a file another one writes stands on the node (lint/embedded.py): what its
    # checks take for its own path.  Empty for a file read as itself.
    node_path: str = ""

    @property
    def own_path(self) -> str:
        """The file's path as its daemon sees it: where it is written, else where it is."""
        return self.node_path or self.path

    @staticmethod
    def of(path: str, text: str, type_: str) -> SourceFile:
        if text.startswith("\ufeff"):
            return SourceFile(path, text[1:], type_, bom=True)
        return SourceFile(path, text, type_)

    @property
    def lines(self) -> tuple[str, ...]:
        """The text's lines, split when first asked for: few files need them (inline
        suppressions, a value read back from its source)."""
        return _lines(self.text)

    def line_text(self, line: int) -> str:
        lines = self.lines
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def whole(self) -> Span:
        return Span(1, 1, 1, 1)


@lru_cache(maxsize=2)  # the file being checked; a run never comes back to an earlier one
def _lines(text: str) -> tuple[str, ...]:
    return tuple(text.splitlines())


class ReadProblem(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def read_text(path: str, max_bytes: int = DEFAULT_MAX_BYTES, *, follow_links: bool = True) -> str:
    """The file's text, or ``ReadProblem``.  Never opens anything but a regular file, so a
    FIFO or a device can never block or be read; without ``follow_links``, never a
    symbolic link either."""
    try:
        st = os.stat(path) if follow_links else os.lstat(path)
    except OSError as e:
        raise ReadProblem(f"cannot read file: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadProblem("not a regular file; not read")
    if st.st_size > max_bytes:
        raise ReadProblem(
            f"file is {st.st_size} bytes, larger than the {max_bytes}-byte limit; not read"
        )
    try:
        # O_NONBLOCK: should the file have been swapped for a FIFO since stat, never wait.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
        if not follow_links:
            flags |= getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags)
        try:
            chunks: list[bytes] = []
            size = 0
            while size <= max_bytes:
                data = os.read(fd, 1 << 20)
                if not data:
                    break
                chunks.append(data)
                size += len(data)
        finally:
            os.close(fd)
    except OSError as e:
        raise ReadProblem(f"cannot read file: {e.strerror or e}") from None
    raw = b"".join(chunks)
    if len(raw) > max_bytes:
        raise ReadProblem(f"file is larger than the {max_bytes}-byte limit; not read")
    return decode(raw)


def decode(raw: bytes) -> str:
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise ReadProblem("file contains NUL bytes (binary data); not read", line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        message = f"file is not valid UTF-8 (byte 0x{raw[e.start]:02x})"
        raise ReadProblem(message, line, column) from None
