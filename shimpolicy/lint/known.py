"""The host's own configuration files, read exactly as ``shimpolicy lint`` reads them: the
runtimes a Docker ``daemon.json`` configures (D2) and what a containerd ``config.toml``
defines for the CRI (C5).

Every command that takes ``--daemon-config`` or ``--containerd-config`` asks here, so it
knows what the linter knows and nothing else::

    runtimes = daemon_runtimes("/etc/docker/daemon.json")           # frozenset of names
    config = containerd_config("/etc/containerd/config.toml")
    handlers = config.effective_handlers(policy.containerd)          # name -> HandlerDef

A file that cannot be read or parsed raises ``ConfigError``; one that parses but that the
daemon would refuse yields what the linter collects from it (``shimpolicy lint`` says why
the daemon refuses it).
"""

from __future__ import annotations

from ..syntax import SyntaxProblem
from . import containerd, daemon_json
from .facts import ContainerdConfig, Facts
from .filetype import FileType
from .source import ReadProblem, SourceFile, read_text

__all__ = [
    "ConfigError",
    "ContainerdConfig",
    "containerd_config",
    "daemon_runtimes",
    "daemon_runtimes_where",
]


class ConfigError(Exception):
    """A configuration file that cannot be read or parsed; the message names the file,
    and the line and column where there is one."""


def daemon_runtimes(path: str) -> frozenset[str]:
    """D2: the runtime names a daemon.json configures, as dockerd ends up with them
    (every ``runtimes`` object merged in order, ``null`` emptying what came before)."""
    return frozenset(_collect(path, daemon_json.TYPE).docker_runtimes)


def daemon_runtimes_where(path: str) -> dict[str, str]:
    """``daemon_runtimes``, each name with where it is configured: ``path:line``."""
    found = _collect(path, daemon_json.TYPE).docker_runtimes
    return {name: f"{where.path}:{where.line}" for name, where in found.items()}


def containerd_config(path: str) -> ContainerdConfig:
    """C5: what a containerd config.toml defines for the CRI, before the containerd
    version decides (``effective_handlers``, ``default_handler``).  Files named in its
    ``imports`` are not read: ``imports`` says that they may define more handlers."""
    return _collect(path, containerd.TYPE).containerd[0]


def _collect(path: str, kind: FileType) -> Facts:
    try:
        text = read_text(path)
    except ReadProblem as e:
        raise ConfigError(f"{path}: {e.message}") from None
    source = SourceFile.of(path, text, kind.name)
    try:
        doc = kind.load(source)
    except SyntaxProblem as e:
        raise ConfigError(f"{path}:{e.line}:{e.column}: {e.message}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nesting too deep") from None
    facts = Facts()
    kind.collect(doc, source, facts)
    return facts
