"""One decision per request: what the policy and the daemons' own rules say about a
runtime name, a RuntimeClass or a pod's ``runtimeClassName``.  The inputs are loaded
together and replaced together on reload."""

from __future__ import annotations

from .._typing import TYPE_CHECKING
from ..lint.known import ConfigError, ContainerdConfig, containerd_config, daemon_runtimes
from ..lint.kubernetes import label_errors, subdomain_errors
from ..policy import Policy, PolicyError
from .records import QUOTED_LENGTH, Problem, ServeError, Sources, quote

if TYPE_CHECKING:
    from typing import Any


class Gate:
    """Everything a decision needs, loaded together and replaced together on reload."""

    __slots__ = ("admin_runtimes", "containerd", "handlers", "policy")

    def __init__(
        self,
        policy: Policy,
        admin_runtimes: frozenset[str] = frozenset(),
        containerd: ContainerdConfig | None = None,
    ) -> None:
        self.policy = policy
        self.admin_runtimes = admin_runtimes  # daemon.json's ``runtimes`` names
        self.containerd = containerd
        # C5: the handlers the targeted containerd ends up with, as lint works them out.
        self.handlers = (
            None if containerd is None else containerd.effective_handlers(policy.containerd)
        )

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
        return Problem(d.rule, message, name[:QUOTED_LENGTH], d.action == "deny")

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
        elif self.containerd is not None:
            problems.extend(self._handler(self.containerd, handler))
        return tuple(problems)

    def _handler(self, config: ContainerdConfig, handler: str) -> tuple[Problem, ...]:
        found = self.handlers.get(handler) if self.handlers is not None else None
        where = config.path
        if found is None:
            if config.imports:  # the handler may come from an imported file
                return ()
            message = (
                f"RuntimeClass handler {quote(handler)} is not configured in {where}: pods "
                f'using it would fail with: no runtime for "{handler}" is configured (K4)'
            )
            return (Problem("SP702", message, handler, deny=False),)
        runtime_type = found.runtime_type
        if not runtime_type:
            message = (
                f"RuntimeClass handler {quote(handler)} has no runtime_type in {where}: pods "
                "using it would fail with: container.Runtime.Name must be set: invalid argument"
            )
            return (Problem("SP703", message, handler, deny=False),)
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
    try:
        runtimes = frozenset[str]()
        if sources.daemon_config is not None:
            runtimes = daemon_runtimes(sources.daemon_config)
        config = None
        if sources.containerd_config is not None:
            config = containerd_config(sources.containerd_config)
    except ConfigError as e:
        raise ServeError(str(e)) from None
    return Gate(policy, runtimes, config)
