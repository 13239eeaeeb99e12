"""What a node's configuration says about runtimes, read from its own files through the
linter's readers: containerd's ``config.toml`` with its ``imports``, Docker's
``daemon.json``, and the daemons' systemd units."""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import subprocess
from collections.abc import Callable

from .._typing import TYPE_CHECKING, NamedTuple
from ..lint.containerd import config_facts, import_target, imports
from ..lint.daemon_json import DockerSettings, docker_settings
from ..lint.engine import load_source
from ..lint.finding import Location
from ..lint.source import ReadProblem, SourceFile, read_text
from ..lint.systemd import Service, service
from ..syntax.shell import Word
from .resolve import SYSTEMD_PATH, Process, Resolution, resolve_runc

if TYPE_CHECKING:
    from typing import Any

    from ..lint.facts import ContainerdConfig
    from ..lint.finding import Finding
    from .fs import RootFS

CONTAINERD_CONFIG = "/etc/containerd/config.toml"  # containerd's default --config
DAEMON_JSON = "/etc/docker/daemon.json"  # dockerd's default --config-file (Linux)
MAX_IMPORTS = 256  # config files read for one containerd, imports included
# Where systemd finds system units, first wins (systemd.unit(5)).
UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)


class Loaded(NamedTuple):
    """One configuration file read from the node."""

    source: SourceFile
    doc: Any = None


class Reader:
    """Reads the node's configuration files, keeping the problems it meets as findings."""

    def __init__(self, fs: RootFS) -> None:
        self.fs = fs
        self.problems: list[Finding] = []

    def shown(self, path: str) -> str:
        """A node path as reports show it: where this process finds it."""
        return self.fs.shown(path)

    def read(self, path: str, file_type: str) -> Loaded | None:
        """The file at node path ``path`` parsed as ``file_type``; None when there is no
        such file.  A file that cannot be read or parsed is reported (SP001)."""
        found = self.fs.lookup(path)
        if not found.exists:
            return None
        shown = self.shown(path)
        try:
            text = read_text(self.fs.host_path(found.path))
        except ReadProblem as e:
            self.problem(shown, e.line, e.column, "SP001", e.message)
            return Loaded(SourceFile(shown, "", file_type))
        source = SourceFile.of(shown, text, file_type)
        doc, problem = load_source(source)
        if problem is not None:
            self.problems.append(problem)
            return Loaded(source)
        return Loaded(source, doc)

    def problem(self, path: str, line: int, column: int, rule: str, message: str) -> None:
        from ..lint.finding import Finding
        from ..lint.rulebook import default_severity

        self.problems.append(
            Finding(path, line, column, line, column, rule, default_severity(rule), message)
        )

    def unit_files(self, unit: str) -> list[str]:
        """A systemd unit's file and its drop-ins, in the order systemd applies them: the
        unit from the first directory that has it, then every ``<unit>.d/*.conf`` by file
        name (a name in an earlier directory hides the same name in later ones).  Empty for
        a unit that is absent or masked (a link to /dev/null)."""
        found = [
            f"{d}/{unit}"
            for d in UNIT_DIRS
            if self._masks(d, unit) or self.fs.lookup(f"{d}/{unit}").exists
        ]
        if not found or self._masks(*found[0].rsplit("/", 1)):
            return []
        drop_ins: dict[str, str] = {}
        for d in UNIT_DIRS:
            looked = self.fs.lookup(f"{d}/{unit}.d")
            if not looked.is_dir:
                continue
            try:
                names = os.listdir(self.fs.host_path(looked.path))
            except OSError:
                continue
            for name in names:
                if name.endswith(".conf"):
                    drop_ins.setdefault(name, f"{d}/{unit}.d/{name}")
        return [found[0], *(drop_ins[n] for n in sorted(drop_ins))]

    def _masks(self, directory: str, unit: str) -> bool:
        """Whether ``directory`` masks the unit: a link to /dev/null in its place."""
        looked = self.fs.lookup(directory)
        if not looked.is_dir:
            return False
        host = self.fs.host_path(f"{looked.path}/{unit}")
        return os.path.islink(host) and os.readlink(host) == "/dev/null"

    def containerd_configs(self, path: str, cwd: str = "/") -> list[ContainerdConfig]:
        """The config file and every file it imports, in containerd's loading order
        (breadth first, each file once), as the linter's facts; ``cwd`` is containerd's
        working directory, where a relative pattern is matched."""
        configs: list[ContainerdConfig] = []
        pending: list[tuple[str, Location | None]] = [(path, None)]
        seen: set[str] = set()
        while pending and len(seen) < MAX_IMPORTS:
            current, named_at = pending.pop(0)
            if current in seen:
                continue
            seen.add(current)
            loaded = self.read(current, "containerd")
            if loaded is None:
                if named_at is not None:  # containerd cannot open it and does not start
                    self.problem(
                        named_at.path,
                        named_at.line,
                        named_at.column,
                        "SP001",
                        f"imported file {current} does not exist: containerd does not start "
                        f"(open {current}: no such file or directory)",
                    )
                continue
            if loaded.doc is None:
                continue
            configs.append(config_facts(loaded.doc, loaded.source))
            for entry, at in imports(loaded.doc, loaded.source):
                target, pattern = import_target(current, entry)
                targets = self.glob(target, cwd) if pattern else [target]
                pending.extend((t, at) for t in targets)
        return configs

    def glob(self, pattern: str, cwd: str = "/") -> list[str]:
        """Go's ``filepath.Glob`` inside the root: matches in name order, '*' matching
        leading dots too; a relative pattern is taken from the working directory ``cwd``."""
        matches = ["/" if pattern.startswith("/") else cwd]
        for part in [p for p in pattern.split("/") if p]:
            found: list[str] = []
            for directory in matches:
                if not _pattern(part):
                    found.append(posixpath.join(directory, part))
                    continue
                looked = self.fs.lookup(directory)
                if not looked.is_dir:
                    continue
                try:
                    names = sorted(os.listdir(self.fs.host_path(looked.path)))
                except OSError:
                    continue
                found += [
                    posixpath.join(directory, n) for n in names if fnmatch.fnmatchcase(n, part)
                ]
            matches = found
        return [m for m in matches if self.fs.lookup(m).exists]


def _pattern(part: str) -> bool:
    return any(c in part for c in "*?[")


def docker_config(reader: Reader, path: str, docker: str) -> tuple[DockerSettings, Loaded | None]:
    """What the daemon.json at ``path`` gives dockerd (nothing when it is absent or cannot
    be parsed), and the file as read (None when absent)."""
    loaded = reader.read(path, "daemon.json")
    if loaded is None or loaded.doc is None:
        return DockerSettings(), loaded
    return docker_settings(loaded.doc, loaded.source, docker), loaded


class Daemon(NamedTuple):
    """A daemon as the node starts it: its systemd service, if it has one, and its
    executable (links resolved, as the daemon itself sees it)."""

    executable: str | None
    service: Service | None
    files: int  # unit files read

    @property
    def at(self) -> Location | None:
        """The ``ExecStart=`` that starts it."""
        if self.service is None:
            return None
        span = self.service.command.key_span
        return Location(self.service.source.path, *span)

    @property
    def arguments(self) -> list[Word]:
        return self.service.words[1:] if self.service else []

    def process(self, executable: str | None) -> Process:
        """Where a process this service starts looks for files (systemd's defaults: /
        and systemd's PATH, unless the unit sets them)."""
        service = self.service
        return Process(
            executable,
            (service.working_directory if service else None) or "/",
            (service.path if service else None) or SYSTEMD_PATH,
        )


def find_daemon(reader: Reader, unit: str, program: str) -> Daemon:
    """The daemon ``program`` as the node runs it: from its unit's ``ExecStart=`` when the
    unit runs that program by absolute path, else found on systemd's PATH."""
    paths = reader.unit_files(unit)
    sources = [loaded.source for p in paths if (loaded := reader.read(p, "systemd")) is not None]
    found = service(sources)
    executable = None
    if found is not None and found.words:
        command = found.words[0].value
        if posixpath.basename(command) != program:
            found = None  # the unit runs something else (a wrapper): not read as the daemon
        elif command.startswith("/"):
            looked = reader.fs.lookup(command)
            executable = looked.path if looked.exists else None
    if executable is None:
        executable = _found(resolve_runc(reader.fs, Process(), program))
    return Daemon(executable, found, len(sources))


def option_value(words: list[Word], *names: str) -> Word | None:
    """The value of the last ``--name value`` / ``--name=value`` among ``words``."""
    found = None
    for i, word in enumerate(words):
        name, equals, value = word.value.partition("=")
        if name in names and equals:
            found = Word(value, word.literal, word.span)
        elif word.value in names and i + 1 < len(words):
            found = words[i + 1]
    return found


def _found(resolution: Resolution | None) -> str | None:
    return resolution.found.path if resolution and resolution.found else None


def daemon_version(
    fs: RootFS, executable: str | None, given: str | None, known: Callable[[str], object]
) -> str | None:
    """The version to apply: the one given, else (on the live host only: nothing under
    another root is ever run) what the installed daemon says of itself.  A release newer
    than any known here is taken as its series (``1.7.99`` as 1.7); ``known`` raises
    ``ValueError`` for a version it does not know."""
    if given or not fs.live or executable is None:
        return given
    try:
        out = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = version_in(out)
    if found is None:
        return None
    for candidate in (found, found.rsplit(".", 1)[0], found.split(".", 1)[0]):
        try:
            known(candidate)
        except ValueError:
            continue
        return candidate
    name = posixpath.basename(executable)
    raise ValueError(
        f"`{executable} --version` says {found}, which is not a {name} version shimpolicy "
        f"knows: give --{'docker' if name == 'dockerd' else name} V"
    )


def version_in(output: str) -> str | None:
    """The release a daemon's ``--version`` names: ``containerd github.com/containerd/
    containerd v1.7.24 …`` → 1.7.24, ``Docker version 20.10.24+dfsg1, build …`` → 20.10.24."""
    m = re.search(r"(?<![\w.])v?(\d+\.\d+\.\d+)", output)
    return m.group(1) if m else None
