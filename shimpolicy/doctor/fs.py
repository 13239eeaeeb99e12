"""A node's file system as its daemons see it: ``/``, or a directory taken as ``/``.

Paths are the node's own (``/usr/bin/runc``).  With a root other than ``/`` (an image, a
mounted disk, a tree built by a test) every path is looked up inside it, symbolic links
included: an absolute link target starts again at the root and ``..`` never climbs above
it, as if the node's daemons ran chrooted there.  Nothing is ever executed, and only
``lstat``, ``readlink`` and ``stat`` are asked of the files looked at.
"""

from __future__ import annotations

import errno
import os
import stat

from .._typing import NamedTuple

MAX_LINKS = 40  # Linux's limit on symbolic links followed in one lookup (ELOOP)


class Lookup(NamedTuple):
    """What looking a path up found.  ``path`` is the node's path with every symbolic link
    resolved (as far as the lookup got); ``dirs`` are the directories whose entries were
    read on the way, in order, each once; ``stat`` is None when nothing is there."""

    asked: str
    path: str
    stat: os.stat_result | None
    dirs: tuple[str, ...]
    error: str | None = None  # why nothing was found: "no such file or directory", …
    links: int = 0  # symbolic links followed

    @property
    def exists(self) -> bool:
        return self.stat is not None

    @property
    def executable(self) -> bool:
        """A regular file with an execute bit: what ``execve`` runs for root, and what Go's
        ``exec.LookPath`` accepts."""
        st = self.stat
        return st is not None and stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)

    @property
    def is_dir(self) -> bool:
        return self.stat is not None and stat.S_ISDIR(self.stat.st_mode)


class Unsafe(NamedTuple):
    """A file or directory that someone other than root could change."""

    path: str
    why: str  # "writable by group and others", "owned by uid 1000" …


class RootFS:
    """The node's files under ``top`` (``/`` for the live host)."""

    def __init__(self, top: str = "/") -> None:
        self.top = os.path.abspath(top)
        self.given = top.rstrip("/") or "/"
        self.live = self.top == "/"
        # Under another root, its owner counts as root: an image unpacked without
        # privileges belongs to whoever unpacked it, every file alike.
        self.trusted = frozenset({0} if self.live else {0, os.stat(self.top).st_uid})

    def shown(self, path: str) -> str:
        """A node path as reports show it: under the root as it was given."""
        return path if self.live else self.given + ("" if path == "/" else path)

    def host_path(self, path: str) -> str:
        """Where a node path is in this process's file system (no link resolved)."""
        return path if self.live else self.top + ("" if path == "/" else path)

    def lookup(self, path: str, cwd: str = "/") -> Lookup:
        """Look ``path`` up as the kernel would for a process whose root is this root and
        whose working directory is ``cwd``, following every symbolic link."""
        start = path if path.startswith("/") else _join(cwd, path)
        pending = [p for p in start.split("/") if p]
        pending.reverse()
        done: list[str] = []
        dirs: list[str] = []
        links = 0
        while pending:
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            parent = "/" + "/".join(done)
            if parent not in dirs:
                dirs.append(parent)
            here = _join(parent, part)
            try:
                st = os.lstat(self.host_path(here))
            except OSError as e:
                return Lookup(path, here, None, tuple(dirs), _reason(e), links)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_LINKS:
                    return Lookup(
                        path, here, None, tuple(dirs), _reason(OSError(errno.ELOOP, "")), links
                    )
                try:
                    target = os.readlink(self.host_path(here))
                except OSError as e:
                    return Lookup(path, here, None, tuple(dirs), _reason(e), links)
                if target.startswith("/"):
                    done = []
                pending.extend(reversed([p for p in target.split("/") if p]))
                continue
            if pending and not stat.S_ISDIR(st.st_mode):
                return Lookup(
                    path, here, None, tuple(dirs), _reason(OSError(errno.ENOTDIR, "")), links
                )
            done.append(part)
        resolved = "/" + "/".join(done)
        try:
            final = os.stat(self.host_path(resolved))
        except OSError as e:  # changed while we looked
            return Lookup(path, resolved, None, tuple(dirs), _reason(e), links)
        return Lookup(path, resolved, final, tuple(dirs), links=links)

    def unsafe(self, found: Lookup) -> list[Unsafe]:
        """The file found, and every directory read to find it, that anyone but root could
        change: group or other write permission, or an owner other than root."""
        problems = []
        for path in (*found.dirs, found.path):
            try:
                st = os.stat(self.host_path(path))
            except OSError:
                continue
            why = []
            writers = [w for w, bit in (("group", 0o020), ("others", 0o002)) if st.st_mode & bit]
            if writers:
                why.append(f"writable by {' and '.join(writers)}")
            if st.st_uid not in self.trusted:
                why.append(f"owned by uid {st.st_uid}")
            if why:
                problems.append(Unsafe(path, ", ".join(why)))
        return problems


def _join(directory: str, name: str) -> str:
    return directory.rstrip("/") + "/" + name


def _reason(error: OSError) -> str:
    """An error as Go words it (``no such file or directory``): the daemons' own text."""
    text = os.strerror(error.errno) if error.errno else str(error)
    return text[:1].lower() + text[1:]
