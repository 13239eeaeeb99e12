"""``shimpolicy doctor``: will every runtime configured on this node actually start?

The node's configuration says which runtimes exist; its file system says whether their
binaries do.  ``doctor`` reads containerd's ``config.toml`` (with its ``imports``),
Docker's ``daemon.json`` and both daemons' systemd units through the linter's readers
(host.py), resolves every binary each runtime needs as the daemon will (resolve.py:
containerd's C2 order for shims, ``PATH`` for runc-compatible binaries) on the node's file
system (fs.py), and reports what is missing, not executable, or replaceable by someone
other than root (checks.py) in the linter's findings and formats.
"""

from __future__ import annotations

import posixpath

from .._typing import TYPE_CHECKING, NamedTuple
from ..grammar.docker import docker_takes, stock_runtimes
from ..grammar.name import parse
from ..grammar.versions import containerd_series, docker_major
from ..lint.containerd import RUNC_SHIMS, runtime_path_honoured
from ..lint.engine import finish
from ..lint.facts import placeholder
from ..lint.finding import Finding, Location
from ..lint.rulebook import default_severity
from .checks import Need, findings
from .fs import RootFS
from .host import (
    CONTAINERD_CONFIG,
    DAEMON_JSON,
    Daemon,
    Reader,
    daemon_version,
    find_daemon,
    option_value,
)
from .resolve import Resolution, resolve_runc, resolve_shim

if TYPE_CHECKING:
    from ..lint.daemon_json import DockerRuntime, DockerSettings
    from ..lint.dockerd import DockerdFlag
    from ..lint.engine import LintResult
    from ..lint.facts import ContainerdConfig, HandlerDef
    from ..policy import Policy
    from ..syntax.shell import Word

RUNC = "runc"  # the runc shim's binary when no BinaryName is given, looked up on PATH
RUNC_V2 = "io.containerd.runc.v2"  # the shim of Docker's stock runtimes (D2)


class DoctorOptions(NamedTuple):
    root: str = "/"
    containerd: str | None = None  # None: what the installed containerd says, else the policy's
    docker: str | None = None
    manifests: tuple[str, ...] = ()  # Kubernetes manifests: RuntimeClasses naming handlers


def doctor(policy: Policy, options: DoctorOptions | None = None) -> LintResult:
    """Check every binary the runtimes configured on the node under ``options.root`` need."""
    options = options or DoctorOptions()
    fs = RootFS(options.root)
    reader = Reader(fs)
    node = _Node(fs, reader, policy, options)
    found = [*node.containerd_findings(), *node.docker_findings()]
    if options.manifests:
        found += node.unnamed_handlers(options.manifests)
    return finish(node.files, [*reader.problems, *found], policy)


class _Node:
    """One node's daemons, the versions whose rules apply, and what each runtime needs."""

    def __init__(self, fs: RootFS, reader: Reader, policy: Policy, options: DoctorOptions):
        self.fs, self.reader, self.policy = fs, reader, policy
        self.containerd_daemon = find_daemon(reader, "containerd.service", "containerd")
        self.dockerd = find_daemon(reader, "docker.service", "dockerd")
        self.files = self.containerd_daemon.files + self.dockerd.files
        # Shims and the runc-compatible binaries they run are looked up by containerd and
        # its shims, in containerd's environment: its service's, or when only Docker has a
        # unit, dockerd's (which then starts containerd itself).
        owner = self.containerd_daemon if self.containerd_daemon.service else self.dockerd
        self.process = owner.process(self.containerd_daemon.executable)
        self.containerd = (
            daemon_version(
                fs, self.containerd_daemon.executable, options.containerd, containerd_series
            )
            or policy.containerd
        )
        self.docker = (
            daemon_version(fs, self.dockerd.executable, options.docker, docker_major)
            or policy.docker
        )
        containerd_series(self.containerd)  # an unknown version: ValueError, before any work
        docker_major(self.docker)
        self.config: ContainerdConfig | None = None

    # ------------------------------------------------------------------ containerd

    def containerd_findings(self) -> list[Finding]:
        daemon = self.containerd_daemon
        given = option_value(daemon.arguments, "--config", "-c")
        path = self.config_path(given, CONTAINERD_CONFIG)
        configs = self.reader.containerd_configs(path, self.process.cwd)
        self.files += len(configs)
        if not configs and daemon.executable is None and daemon.service is None:
            return []  # no containerd here
        from ..lint.containerd import merge_imports
        from ..lint.facts import ContainerdConfig

        anchor = self.anchor(path, daemon)
        config = (
            merge_imports(configs, self.containerd)
            if configs
            else ContainerdConfig(
                path=anchor.path,
                at=anchor,
                version=1,
                handlers=(),
                defines_runtimes=False,
                default_name=None,
                legacy_default=None,
                imports=False,
            )
        )
        self.config = config
        default = config.default_handler(self.containerd)
        out = self.replaced_sections(configs, config)
        for handler in config.effective_handlers(self.containerd).values():
            at = handler.at if not handler.builtin or configs else anchor
            suffix = " (the default)" if handler.name == default else ""
            who = f"pods using handler '{handler.name}'{suffix}"
            out += self.handler_findings(handler, at, who, f"handler '{handler.name}'")
        return out

    def replaced_sections(
        self, configs: list[ContainerdConfig], final: ContainerdConfig
    ) -> list[Finding]:
        """SP805: containerd 1.x takes a plugin's whole section from the last file loaded
        that has one, so the CRI handlers of the files before it vanish."""
        if not configs or configs[0].merges(self.containerd):
            return []
        handlers = final.effective_handlers(self.containerd)
        default = final.default_handler(self.containerd)
        out = []
        for config in configs:
            if not config.cri or config is final:
                continue
            lost = [h.name for h in config.handlers if h.name not in handlers]
            gone = f", and with it handlers {_names(lost)}" if lost else ""
            broken = (
                f"; the default handler '{default}' is not defined in that section either, so "
                "the CRI plugin fails to load and no pod can start"
                if default is not None and default not in handlers
                else ""
            )
            at = config.at
            out.append(
                Finding(
                    at.path,
                    at.line,
                    at.column,
                    at.end_line,
                    at.end_column,
                    "SP805",
                    default_severity("SP805"),
                    f"containerd {self.containerd} takes the CRI plugin's whole section from the "
                    f"last file loaded that has one, {final.path}: this section is ignored{gone}"
                    f"{broken}; containerd 2.0 merges the files, 1.x needs the CRI section in "
                    "one file",
                    (Location(final.at.path, *final.at[1:5], "the section in force"),),
                )
            )
        return out

    def handler_findings(
        self, handler: HandlerDef, at: Location, who: str, what: str, type_key: str = "runtime_type"
    ) -> list[Finding]:
        """A runtime containerd starts: its shim (C2), and the runc binary a runc shim runs."""
        runtime_type = handler.runtime_type
        if not runtime_type or placeholder(runtime_type) is not None:
            return []  # the linter's SP401 and SP003
        shims = [(f"{what} {type_key}", runtime_type, handler.type_at or at)]
        path = handler.runtime_path
        if path and placeholder(path) is None and runtime_path_honoured(self.containerd):
            # C5, SPEC §6: runtime_path replaces the runtime_type's shim, except for the
            # sandboxes of 2.x's `sandboxer = "shim"`, which keep the runtime_type's.
            sandbox = handler.sandboxer == "shim" and containerd_series(self.containerd) == "2"
            shims = [
                *(shims if sandbox else []),
                (f"{what} runtime_path", path, handler.path_at or at),
            ]
        out: list[Finding] = []
        runc = False
        for setting, name, where in shims:
            resolution = resolve_shim(self.fs, self.process, name, self.containerd)
            out += findings(self.fs, Need(setting, name, where, who, self.looker), resolution)
            runc |= _is_runc_shim(resolution, name, self.containerd)
        if runc:
            binary = handler.binary_name or RUNC
            setting = f"{what} options.BinaryName" if handler.binary_name else f"{what} runc binary"
            out += self.runc_findings(
                setting, binary, handler.binary_at or handler.type_at or at, who
            )
        return out

    @property
    def looker(self) -> str:
        return f"containerd {self.containerd}"

    def runc_findings(self, what: str, value: str, at: Location, who: str) -> list[Finding]:
        if placeholder(value) is not None:
            return []
        resolution = resolve_runc(self.fs, self.process, value)
        if resolution is None:
            return []  # a relative path: the linter's SP412
        return findings(self.fs, Need(what, value, at, who, "the runc shim"), resolution)

    # ------------------------------------------------------------------ Docker

    def docker_findings(self) -> list[Finding]:
        from ..lint.dockerd import read_flags
        from .host import docker_config

        daemon = self.dockerd
        flags = [f for f in read_flags(daemon.arguments) if f.literal]
        given = [f for f in flags if f.option == "--config-file"]
        path = self.config_path(given[-1] if given else None, DAEMON_JSON)
        settings, loaded = docker_config(self.reader, path, self.docker)
        if loaded is None and daemon.executable is None and daemon.service is None:
            return []  # no Docker here
        self.files += loaded is not None
        settings = _with_flags(settings, flags, daemon)
        anchor = self.anchor(path, daemon)
        stock = sorted(stock_runtimes(self.docker, "linux") & {RUNC, RUNC_V2})
        who = "containers using Docker's stock runtimes (" + ", ".join(stock) + ")"
        what = "Docker's stock runtime shim"
        resolution = resolve_shim(self.fs, self.process, RUNC_V2, self.containerd)
        out = findings(self.fs, Need(what, RUNC_V2, anchor, who, self.looker), resolution)
        out += self.runc_findings("Docker's stock runc binary", RUNC, anchor, who)
        configured = {r.name for r in settings.runtimes}
        for runtime in settings.runtimes:
            what = f"Docker runtime '{runtime.name}'"
            who = f"containers using Docker runtime '{runtime.name}'"
            if runtime.path and placeholder(runtime.path) is None:
                # D3: a runc-compatible binary, run by the runc shim (or, with runtimeArgs,
                # by the /bin/sh script dockerd writes), looked up on PATH.
                out += self.runc_findings(
                    f"{what} path", runtime.path, runtime.path_at or runtime.at, who
                )
            elif runtime.runtime_type and placeholder(runtime.runtime_type) is None:
                handler = _docker_handler(runtime)
                out += self.handler_findings(handler, runtime.at, who, what, "runtimeType")
        default = settings.default_runtime
        if (
            default
            and settings.default_at is not None
            and placeholder(default) is None
            and docker_takes(default, self.docker, "linux", configured, per_container=False)
            == "shim"
        ):
            # D3.2: an unconfigured default goes to containerd as a shim name.
            resolution = resolve_shim(self.fs, self.process, default, self.containerd)
            need = Need(
                "Docker default-runtime",
                default,
                settings.default_at,
                "containers started without --runtime",
                self.looker,
            )
            out += findings(self.fs, need, resolution)
        return out

    # ------------------------------------------------------------------ Kubernetes

    def unnamed_handlers(self, manifests: tuple[str, ...]) -> list[Finding]:
        """SP804: a CRI handler only a RuntimeClass could select, which none names."""
        from ..lint.engine import collect_facts

        if self.config is None:
            return []
        classes = collect_facts(list(manifests), self.policy).classes
        if any(c.handler is None for c in classes):
            return []  # a class whose handler is filled in later could name any of them
        named = {c.handler for c in classes}
        default = self.config.default_handler(self.containerd)
        out = []
        for handler in self.config.effective_handlers(self.containerd).values():
            if handler.builtin or handler.name == default or handler.name in named:
                continue
            at = handler.at
            out.append(
                Finding(
                    at.path,
                    at.line,
                    at.column,
                    at.end_line,
                    at.end_column,
                    "SP804",
                    "info",
                    f"handler '{handler.name}' serves only pods whose RuntimeClass names it, and "
                    f"{_none_of(len(classes))}: nothing on this node uses it; add a RuntimeClass "
                    f"with `handler: {handler.name}`, or remove the handler",
                )
            )
        return out

    # ------------------------------------------------------------------ helpers

    def anchor(self, config: str, daemon: Daemon) -> Location:
        """Where to report what a daemon needs whatever its configuration says: its
        configuration file, else the ``ExecStart=`` that starts it, else its executable."""
        if not self.fs.lookup(config).exists:
            if daemon.at is not None:
                return daemon.at
            config = daemon.executable or config
        return Location(self.reader.shown(config), 1, 1, 1, 1)

    def config_path(self, given: Word | DockerdFlag | None, default: str) -> str:
        """A configuration file named on the daemon's command line (relative to its
        working directory), else the default one."""
        if given is None or not given.literal or not given.value:
            return default
        return posixpath.join(self.process.cwd, given.value)


def _none_of(classes: int) -> str:
    if classes == 0:
        return "the manifests given define no RuntimeClass"
    if classes == 1:
        return "the one RuntimeClass given names another"
    return f"none of the {classes} RuntimeClasses given does"


def _names(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _with_flags(
    settings: DockerSettings, flags: list[DockerdFlag], daemon: Daemon
) -> DockerSettings:
    """daemon.json's runtimes with those of ``--add-runtime`` (each a path runtime, D3), and
    ``--default-runtime`` in place of the file's."""
    if daemon.service is None:
        return settings
    from ..lint.context import location
    from ..lint.daemon_json import DockerRuntime
    from ..lint.dockerd import added_runtimes

    source = daemon.service.source
    added = tuple(
        DockerRuntime(
            r.name,
            location(source, r.flag.span),
            r.path,
            location(source, r.flag.span),
        )
        for r in added_runtimes(flags)
    )
    defaults = [f for f in flags if f.option == "--default-runtime"]
    if defaults:
        at = location(source, defaults[-1].span)
        settings = settings._replace(default_runtime=defaults[-1].value, default_at=at)
    return settings._replace(runtimes=settings.runtimes + added)


def _docker_handler(runtime: DockerRuntime) -> HandlerDef:
    """A Docker runtimeType runtime as the containerd runtime it is (D3.7)."""
    from ..lint.facts import HandlerDef

    return HandlerDef(
        runtime.name,
        runtime.at,
        runtime.runtime_type,
        runtime.type_at,
        binary_name=runtime.binary_name,
        binary_at=runtime.binary_at,
    )


def _is_runc_shim(resolution: Resolution, name: str, containerd: str) -> bool:
    """Whether the shim runs a runc-compatible binary: the runc shims, and C4's v1 runtime."""
    rn = parse(name, containerd, "linux")
    if rn.kind == "legacy-v1":
        return True
    binary = resolution.binary or ""
    return posixpath.basename(binary) in RUNC_SHIMS
