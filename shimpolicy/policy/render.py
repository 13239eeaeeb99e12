"""Text for people: ``policy show``, ``explain NAME`` and the README's default-policy table."""

from __future__ import annotations

import re

from .._typing import TYPE_CHECKING
from ..display import display
from ..grammar.docker import docker_takes, unknown_runtime_message
from ..grammar.name import RuntimeName
from .engine import Policy
from .model import Conditions, Decision, Rule

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .model import Context

_PLAIN = r"[A-Za-z][A-Za-z0-9_.\-]*"  # compiled (and cached) by re on first use
# Plain words YAML 1.1 reads as booleans or null.
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})


def render_policy(policy: Policy) -> str:
    """The effective policy (after ``extends``) as YAML, each rule with its origin."""
    lines = [
        f"# effective policy from {policy.source}",
        "version: 1",
        f"containerd: {_scalar(policy.containerd)}",
        f"docker: {_scalar(policy.docker)}",
        f"platform: {_scalar(policy.platform)}",
        f"default: {policy.default_action}  # {policy.default_origin}",
        "rules:" if policy.rules else "rules: []",
    ]
    for rule in policy.rules:
        lines.append(f"  # {rule.origin}")
        lines.append(f"  - id: {_scalar(rule.id)}")
        if rule.name:
            lines.append(f"    name: {_scalar(rule.name)}")
        lines.append(f"    match: {_match(rule.match.alternatives)}")
        lines.append(f"    action: {rule.action}")
        if rule.generated:  # left out, so that the policy reads back the same
            lines.append(f"    # reason (generated): {_scalar(rule.reason)}")
        else:
            lines.append(f"    reason: {_scalar(rule.reason)}")
    if policy.severity:
        items = ", ".join(f"{_scalar(k)}: {_scalar(v)}" for k, v in policy.severity.items())
        lines.append(f"severity: {{{items}}}")
    if policy.exclude:
        lines.append(f"exclude: {_flow(policy.exclude)}")
    if policy.ignore:
        lines.append("ignore:")
        for ignore in policy.ignore:
            lines.append(f"  # {ignore.origin}")
            lines.append(f"  - path: {_flow(ignore.paths)}")
            lines.append(f"    rules: {_flow(ignore.rules)}")
            lines.append(f"    reason: {_scalar(ignore.reason)}")
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if re.fullmatch(_PLAIN, text) and text.lower() not in _YAML_WORDS:
        return text
    import json  # only `policy show` needs it

    # A JSON string is a YAML double-quoted scalar; ASCII-only, so nothing can hide in it.
    return json.dumps(text)


def _flow(values: object) -> str:
    if isinstance(values, tuple):
        return "[" + ", ".join(_scalar(v) for v in values) + "]"
    return _scalar(values)


def _match(alternatives: tuple[Conditions, ...]) -> str:
    def mapping(c: Conditions) -> str:
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in c.as_dict().items()) + "}"

    if len(alternatives) == 1:
        return mapping(alternatives[0])
    return "[" + ", ".join(mapping(c) for c in alternatives) + "]"


# ---------------------------------------------------------------------------- explain

_CONTEXTS = {
    "request": "chosen per container: docker|nerdctl|ctr run --runtime, Compose `runtime`, "
    "the Engine API, Docker's default-runtime",
    "config": "written by the host administrator: daemon.json runtimeType, containerd "
    "runtime_type, runtime_path, options.BinaryName",
}


def explain(
    policy: Policy,
    name: str,
    context: Context = "request",
    runtimes: Mapping[str, str] | None = None,
    handlers: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """What containerd and Docker would do with ``name``, and which rule decided, and why;
    ``runtimes`` are the names the daemon's daemon.json configures, each with where, and
    ``handlers`` a containerd config's CRI handlers by the runtime_type they run."""
    configured: Mapping[str, str] = runtimes or {}
    if context == "request":
        d = policy.decide_for_docker(name, configured)
    else:
        d = policy.decide(name, context)
    rows = [
        ("name", repr(name)),
        ("context", f"{context} ({_CONTEXTS[context]})"),
        (f"containerd {policy.containerd}", _containerd(d.name)),
        (f"Docker {policy.docker}", _docker(policy, name, configured)),
        *_handler_row(name, handlers),
        ("notes", ", ".join(sorted(d.name.notes)) or "none"),
        ("decision", _decided(policy, d)),
        ("reason", d.reason),
    ]
    width = max(len(label) for label, _ in rows)
    return "".join(f"{label.ljust(width)}  {text}\n" for label, text in rows)


def _containerd(rn: RuntimeName) -> str:
    binary = display(rn.binary or "")
    where = f"on {rn.platform}: {rn.kind}"
    if rn.kind == "shim":
        shim = f" ({rn.shim_info.title})" if rn.shim_info else ""
        return (
            f"{where}; runs {binary}{shim}, found in containerd's working directory, else on "
            "$PATH, else beside containerd's own executable (C1, C2 steps 6-7)"
        )
    if rn.kind == "path":
        return f"{where}; executes {binary} directly as the shim, as root (C2 step 2)"
    if rn.kind == "relative":
        return (
            f"{where}; looks for {binary} in {display(rn.directory or '')} relative to its "
            "working directory first (C2 step 6)"
        )
    if rn.kind == "legacy-v1":
        return f"{where}; runs the deprecated v1 runtime: containerd-shim and runc (C4)"
    return f"{where}; refuses it: {display(rn.error or '')}"


def _docker(policy: Policy, name: str, runtimes: Mapping[str, str]) -> str:
    where = f"on {policy.platform}: "
    takes = docker_takes(name, policy.docker, policy.platform, runtimes)
    if takes == "default":
        return where + "an empty runtime selects the daemon's default runtime (default-runtime)"
    if takes == "stock":
        return where + "a stock runtime, which Docker runs with its own settings (D2)"
    if takes == "configured":
        return where + f"configured in {runtimes[name]}, as the administrator set it up (D2)"
    if takes == "shim":
        return where + "passes it to containerd verbatim unless daemon.json configures it (D1)"
    if takes == "ignored":
        return where + "ignores it: every container runs with the daemon's own runtime (runhcs)"
    message = display(unknown_runtime_message(name, policy.docker))
    return where + f"refuses it unless daemon.json configures it: {message} (D1)"


def _handler_row(name: str, handlers: Mapping[str, Sequence[str]] | None) -> list[tuple[str, str]]:
    if handlers is None:
        return []
    runs = handlers.get(name, ())
    if not runs:
        return [("CRI handlers", "none of the containerd config's handlers runs it (C5)")]
    return [("CRI handlers", f"{', '.join(runs)} (runtime_type, C5)")]


def _decided(policy: Policy, d: Decision) -> str:
    if d.rule == "docker-stock":
        return f"{d.action}: a stock runtime of Docker {policy.docker} (D2)"
    if d.rule == "docker-configured":
        return f"{d.action}: configured in {d.origin} (D2)"
    if d.rule == "docker-default":
        return f"{d.action}: the daemon's default runtime, judged where default-runtime is set"
    if d.rule == "default":
        return f"{d.action}: no rule matched; the default action is from {d.origin}"
    rule = policy.rule(d.rule)
    label = f"{d.rule} ({rule.name})" if rule is not None and rule.name else d.rule
    return f"{d.action} by rule {label}, from {d.origin}"


# ---------------------------------------------------------------------------- README


def default_policy_table() -> str:
    """The default policy as a Markdown table, in evaluation order, for the README."""
    policy = Policy.default()
    lines = [
        "| # | Rule | Action | When | Reason |",
        "|---|---|---|---|---|",
    ]
    for n, rule in enumerate(policy.rules, 1):
        lines.append(
            f"| {n} | `{rule.id}` {rule.name} | {rule.action} | {_when(rule)} | "
            f"{_cell(rule.reason)} |"
        )
    lines.append(f"| | default | {policy.default_action} | no rule matched | |")
    return "\n".join(lines) + "\n"


def _when(rule: Rule) -> str:
    return _cell(rule.match.describe(lambda v: f"`{v}`"))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
