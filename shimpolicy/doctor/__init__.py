"""``shimpolicy doctor``: will every runtime configured on this node actually start?

The node's configuration says which runtimes exist; its file system says whether their
binaries do.  ``doctor`` reads containerd's ``config.toml`` (with its ``imports``) and
Docker's ``daemon.json`` through the linter's readers, resolves every binary each runtime
needs as the daemon will (containerd's C2 order for shims; ``PATH`` for runc-compatible
binaries), and reports what is missing, not executable, or replaceable by someone other
than root, in the linter's findings.
"""

from __future__ import annotations

import posixpath

from .._typing import TYPE_CHECKING, NamedTuple
from ..grammar.docker import docker_permits, stock_runtimes
from ..grammar.name import parse
from ..grammar.versions import containerd_series, docker_major
from ..lint.containerd import RUNC_SHIMS, runtime_path_honoured
from ..lint.engine import finish
from ..lint.facts import placeholder
from ..lint.finding import Finding, Location
from .checks import Need, findings
from .fs import RootFS
from .host import CONTAINERD_CONFIG, DAEMON_JSON, Reader, daemon_version
from .resolve import Process, Resolution, resolve_runc, resolve_shim

if TYPE_CHECKING:
    from ..lint.engine import LintResult
    from ..lint.facts import ContainerdConfig, HandlerDef
    from ..policy import Policy

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
    def __init__(self, fs: RootFS, reader: Reader, policy: Policy, options: DoctorOptions):
        self.fs, self.reader, self.policy = fs, reader, policy
        self.files = 0
        # containerd and dockerd run as systemd services: working directory /, systemd's
        # PATH, and containerd finds shims beside its own executable (C2 step 7).
        bare = Process()
        self.containerd_exe = _found(resolve_runc(fs, bare, "containerd"))
        self.dockerd_exe = _found(resolve_runc(fs, bare, "dockerd"))
        self.process = Process(executable=self.containerd_exe)
        self.containerd = (
            daemon_version(fs, bare, "containerd", options.containerd) or policy.containerd
        )
        self.docker = daemon_version(fs, bare, "dockerd", options.docker) or policy.docker
        containerd_series(self.containerd)  # an unknown version: ValueError, before any work
        docker_major(self.docker)
        self.config: ContainerdConfig | None = None

    # ------------------------------------------------------------------ containerd

    def containerd_findings(self) -> list[Finding]:
        configs = self.reader.containerd_configs(CONTAINERD_CONFIG, self.containerd)
        self.files += len(configs)
        if not configs and self.containerd_exe is None:
            return []  # no containerd here
        from ..lint.containerd import merge_imports
        from ..lint.facts import ContainerdConfig

        anchor = self.anchor(CONTAINERD_CONFIG, self.containerd_exe)
        config = (
            merge_imports(configs, self.containerd)
            if configs
            else ContainerdConfig(anchor.path, anchor, 1, (), False, None, None, False)
        )
        self.config = config
        default = config.default_handler(self.containerd)
        out: list[Finding] = []
        for handler in config.effective_handlers(self.containerd).values():
            at = handler.at if not handler.builtin or configs else anchor
            suffix = " (the default)" if handler.name == default else ""
            who = f"pods using handler '{handler.name}'{suffix}"
            out += self.handler_findings(handler, at, who, f"handler '{handler.name}'")
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
        from .host import docker_config

        settings, loaded = docker_config(self.reader, DAEMON_JSON, self.docker)
        if loaded is None and self.dockerd_exe is None:
            return []  # no Docker here
        self.files += loaded is not None
        anchor = self.anchor(DAEMON_JSON, self.dockerd_exe)
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
            and default not in configured
            and default not in stock_runtimes(self.docker, "linux")
            and placeholder(default) is None
            and docker_permits(default, self.docker, "linux")
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
                    f"none of the {len(classes)} RuntimeClasses given does: nothing on this node "
                    "uses it; add a RuntimeClass with `handler: "
                    f"{handler.name}`, or remove the handler",
                )
            )
        return out

    # ------------------------------------------------------------------ helpers

    def anchor(self, config: str, executable: str | None) -> Location:
        """Where to report what a daemon needs whatever its configuration says: its
        configuration file, else its executable."""
        path = config if self.fs.lookup(config).exists or executable is None else executable
        return Location(self.reader.shown(path), 1, 1, 1, 1)


def _docker_handler(runtime: object) -> HandlerDef:
    from ..lint.daemon_json import DockerRuntime
    from ..lint.facts import HandlerDef

    assert isinstance(runtime, DockerRuntime)
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


def _found(resolution: Resolution | None) -> str | None:
    return resolution.found.path if resolution and resolution.found else None
