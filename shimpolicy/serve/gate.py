"""One decision per request: what the policy and the daemons' own rules say about a
runtime name, a RuntimeClass or a pod's ``runtimeClassName``.  The inputs are loaded
together and replaced together on reload."""

from __future__ import annotations

from pathlib import Path

from .. import syntax
from .._typing import TYPE_CHECKING, NamedTuple
from ..lint.kubernetes import label_errors, subdomain_errors
from ..policy import Policy, PolicyError
from ..syntax.json import parse_json
from ..syntax.toml import parse_toml
from .records import Problem, ServeError, Sources, quote

if TYPE_CHECKING:
    from typing import Any


class Gate:
    """Everything a decision needs, loaded together and replaced together on reload."""

    __slots__ = ("admin_runtimes", "containerd_config", "handlers", "policy")

    def __init__(
        self,
        policy: Policy,
        admin_runtimes: frozenset[str] = frozenset(),
        handlers: Handlers | None = None,
        containerd_config: str | None = None,
    ) -> None:
        self.policy = policy
        self.admin_runtimes = admin_runtimes  # daemon.json's ``runtimes`` names
        self.handlers = handlers
        self.containerd_config = containerd_config

    # --------------------------------------------------------------- Docker

    def runtime(self, name: str) -> Problem | None:
        """The problem, if any, with a runtime an Engine API request sets."""
        # D2: Docker's stock runtimes and daemon.json's configured ones are the
        # administrator's choice, never checked beyond what dockerd itself checks.
        d = self.policy.decide_for_docker(name, self.admin_runtimes)
        if d.action == "allow":
            return None
        verdict = "is denied" if d.action == "deny" else "is allowed with a warning"
        message = f"runtime {quote(name)} {verdict} by rule {d.rule}: {d.reason}"
        return Problem(d.rule, message, name, d.action == "deny")

    # --------------------------------------------------------------- Kubernetes

    def runtime_class(self, obj: dict[str, Any]) -> tuple[Problem, ...]:
        """K1, K2, and with a containerd config K4 and the policy on the handler's
        ``runtime_type``: the problems with a RuntimeClass object."""
        problems: list[Problem] = []
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(name, str) and (errors := subdomain_errors(name)):
            message = f"RuntimeClass name {quote(name)} is not a DNS-1123 subdomain (K1): "
            problems.append(Problem("SP501", message + "; ".join(errors), name))
        handler = obj.get("handler")
        if not isinstance(handler, str):
            message = "RuntimeClass handler is missing or not a string (K2)"
            problems.append(Problem("SP502", message, ""))
        elif errors := label_errors(handler):
            message = f"RuntimeClass handler {quote(handler)} is not a DNS-1123 label (K2): "
            problems.append(Problem("SP502", message + "; ".join(errors) + _hint(handler), handler))
        elif self.handlers is not None:
            problems.extend(self._handler(self.handlers, handler))
        return tuple(problems)

    def _handler(self, handlers: Handlers, handler: str) -> tuple[Problem, ...]:
        runtime_type = handlers.runtime_types.get(handler)
        where = self.containerd_config
        if runtime_type is None:
            if handlers.imports:  # the handler may come from an imported file
                return ()
            message = (
                f"RuntimeClass handler {quote(handler)} is not configured in {where}: pods "
                f'using it would fail with: no runtime for "{handler}" is configured (K4)'
            )
            return (Problem("SP702", message, handler, deny=False),)
        d = self.policy.decide(runtime_type, "config")
        if d.action == "allow":
            return ()
        verdict = "is denied" if d.action == "deny" else "is allowed with a warning"
        message = (
            f"RuntimeClass handler {quote(handler)} runs runtime_type {quote(runtime_type)} "
            f"({where}), which {verdict} by rule {d.rule}: {d.reason}"
        )
        return (Problem(d.rule, message, runtime_type, d.action == "deny"),)

    def runtime_class_name(self, where: str, value: object) -> tuple[Problem, ...]:
        """K3: a pod spec's ``runtimeClassName`` (``where`` names the field)."""
        if not isinstance(value, str):
            return (Problem("SP503", f"{where} is not a string (K3)", ""),)
        errors = subdomain_errors(value)
        if not errors:
            return ()
        message = f"{where} {quote(value)} is not a DNS-1123 subdomain (K3): {'; '.join(errors)}"
        return (Problem("SP503", message, value),)


def _hint(handler: str) -> str:
    if "." not in handler:
        return ""
    return (
        "; a handler names a containerd runtimes table (runtimes.<handler> in config.toml), "
        "not a runtime name: set that table's runtime_type to the runtime name and use the "
        "table's name here"
    )


# ------------------------------------------------------------------------ inputs


def load_gate(sources: Sources) -> Gate:
    """Read every decision input; ``ServeError`` naming the file for any problem."""
    try:
        policy = Policy.discover() if sources.policy is None else Policy.load(sources.policy)
    except PolicyError as e:
        raise ServeError(f"invalid policy: {e}") from None
    runtimes: frozenset[str] = frozenset()
    if sources.daemon_config is not None:
        runtimes = daemon_runtimes(sources.daemon_config)
    handlers = None
    if sources.containerd_config is not None:
        handlers = containerd_handlers(sources.containerd_config)
    return Gate(policy, runtimes, handlers, sources.containerd_config)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ServeError(f"cannot read {path}: {e}") from None


def daemon_runtimes(path: str) -> frozenset[str]:
    """D2, D3: the runtime names a daemon.json configures (its ``runtimes`` keys).  Docker's
    Go decoder matches ``runtimes`` case-insensitively and merges duplicates, so do we."""
    try:
        root = parse_json(_read(path))
    except syntax.SyntaxProblem as e:
        raise ServeError(f"{path}:{e.line}:{e.column}: {e.message}") from None
    if not isinstance(root, syntax.Mapping):
        raise ServeError(f"{path}: not a JSON object")
    names: set[str] = set()
    for key, value in root.items:
        if isinstance(key.value, str) and key.value.casefold() == "runtimes":
            if not isinstance(value, syntax.Mapping):
                span = value.span
                raise ServeError(f"{path}:{span.line}:{span.column}: runtimes is not an object")
            names.update(str(k.value) for k, _ in value.items)
    return frozenset(names)


# C5: where each containerd config version keeps the CRI runtimes.
_RUNTIMES_TABLE = {
    1: ("plugins", "cri", "containerd", "runtimes"),
    2: ("plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes"),
    3: ("plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes"),
    4: ("plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes"),
}


class Handlers(NamedTuple):
    """C5: the CRI handlers a containerd ``config.toml`` defines."""

    runtime_types: dict[str, str]  # handler -> runtime_type ("" when unset)
    imports: bool  # ``imports`` names other files, which may define more handlers


def containerd_handlers(path: str) -> Handlers:
    """The CRI handlers of a containerd ``config.toml``, any config version (C5)."""
    try:
        root = parse_toml(_read(path))
    except syntax.SyntaxProblem as e:
        raise ServeError(f"{path}:{e.line}:{e.column}: {e.message}") from None
    version_node = root.get("version")  # none: version 1
    version = version_node.value if isinstance(version_node, syntax.Scalar) else version_node
    if version_node is None:
        version = 1
    if type(version) is not int or version not in _RUNTIMES_TABLE:
        raise ServeError(f"{path}: unsupported config version {version!r} (expected 1 to 4)")
    node: syntax.Node | None = root
    for step in _RUNTIMES_TABLE[version]:
        node = node.get(step) if isinstance(node, syntax.Mapping) else None
    # containerd's built-in default handler survives a config that does not mention it.
    handlers = {"runc": "io.containerd.runc.v2"}
    for key, table in node.pairs() if isinstance(node, syntax.Mapping) else ():
        runtime_type = table.get("runtime_type") if isinstance(table, syntax.Mapping) else None
        if runtime_type is None:
            handlers[str(key.value)] = ""
        elif isinstance(runtime_type, syntax.Scalar) and isinstance(runtime_type.value, str):
            handlers[str(key.value)] = runtime_type.value
        else:
            span = runtime_type.span
            raise ServeError(f"{path}:{span.line}:{span.column}: runtime_type is not a string")
    imports = root.get("imports")
    return Handlers(handlers, isinstance(imports, syntax.Sequence) and bool(imports.items))
