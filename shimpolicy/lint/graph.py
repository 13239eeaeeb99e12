"""``shimpolicy graph``: which binary each workload will run, as chains of links
workload → RuntimeClass → handler → runtime_type → binary → policy, in text or DOT."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .._typing import TYPE_CHECKING, NamedTuple
from ..display import display
from .engine import collect_facts
from .facts import (
    ClassDef,
    Facts,
    HandlerDef,
    classes_in_scope,
    configs_in_scope,
    placeholder,
)
from .finding import Location

if TYPE_CHECKING:
    from ..policy import Decision, Policy


class Step(NamedTuple):
    """One link of a chain.  ``kind``: workload, runtimeclass, handler, runtime_type,
    binary, decision, or missing (a link that leads nowhere)."""

    kind: str
    label: str
    location: Location | None = None
    detail: str = ""


class Chain(NamedTuple):
    steps: tuple[Step, ...]

    @property
    def broken(self) -> bool:
        return any(s.kind == "missing" for s in self.steps)

    @property
    def denied(self) -> bool:
        return any(s.kind == "decision" and s.label == "deny" for s in self.steps)


def build_graph(paths: Sequence[str], policy: Policy) -> list[Chain]:
    """Every chain workload → RuntimeClass → handler → runtime_type → binary → decision
    that the files under ``paths`` describe (files read as ``shimpolicy lint`` reads them);
    RuntimeClasses no workload uses, and handlers no RuntimeClass names, start chains of
    their own."""
    return chains(collect_facts(paths, policy), policy)


def chains(facts: Facts, policy: Policy) -> list[Chain]:
    out: list[Chain] = []
    used_classes: set[Location] = set()
    used_handlers: set[Location] = set()
    for workload in facts.workloads:
        head = Step("workload", workload.label, workload.at)
        if workload.runtime_class is None:
            out.extend(_default_chains(facts, policy, workload.at.path, (head,), used_handlers))
            continue
        wanted = f"RuntimeClass {workload.runtime_class}"
        if workload.placeholder:
            out.append(Chain((head, _missing(wanted, "filled in later"))))
            continue
        in_scope = classes_in_scope(facts, workload.at.path)
        matches = [c for c in in_scope if c.name == workload.runtime_class]
        if not matches:
            out.append(Chain((head, _missing(wanted, "not defined in the linted files"))))
        for cls in matches:
            used_classes.add(cls.at)
            out.extend(_class_chains(facts, policy, cls, (head,), used_handlers))
    for cls in facts.classes:
        if cls.at not in used_classes:
            out.extend(_class_chains(facts, policy, cls, (), used_handlers))
    for config in facts.containerd:
        for handler in config.effective_handlers(policy.containerd).values():
            if handler.at not in used_handlers and not handler.builtin:
                out.append(Chain(_handler_steps(policy, handler)))
    return out


def _class_chains(
    facts: Facts, policy: Policy, cls: ClassDef, head: tuple[Step, ...], used: set[Location]
) -> list[Chain]:
    steps = (*head, Step("runtimeclass", cls.name or "(filled in later)", cls.at))
    if cls.handler is None:
        return [Chain((*steps, _missing("handler", "not set or filled in later")))]
    configs = configs_in_scope(facts, cls.at.path)
    found = [(c, c.effective_handlers(policy.containerd).get(cls.handler)) for c in configs]
    defined = [(c, h) for c, h in found if h is not None]
    if not defined:
        why = (
            "no containerd config linted"
            if not configs
            else "not defined in the linted containerd config"
        )
        return [Chain((*steps, _missing(f"handler {cls.handler}", why)))]
    result = []
    for _, handler in defined:
        used.add(handler.at)
        result.append(Chain((*steps, *_handler_steps(policy, handler))))
    return result


def _default_chains(
    facts: Facts, policy: Policy, path: str, head: tuple[Step, ...], used: set[Location]
) -> list[Chain]:
    configs = configs_in_scope(facts, path)
    if not configs:
        return [Chain((*head, _missing("handler", "the default; no containerd config linted")))]
    result = []
    for config in configs:
        name = config.default_handler(policy.containerd)
        handler = config.effective_handlers(policy.containerd).get(name) if name else None
        if handler is None:
            why = f"the default of {config.path}, not defined"
            result.append(Chain((*head, _missing(f"handler {name or '(default)'}", why))))
            continue
        used.add(handler.at)
        result.append(Chain((*head, *_handler_steps(policy, handler, default=True))))
    return result


def _handler_steps(policy: Policy, handler: HandlerDef, default: bool = False) -> tuple[Step, ...]:
    notes = [n for n, on in (("built in", handler.builtin), ("default", default)) if on]
    label = handler.name + (f" ({', '.join(notes)})" if notes else "")
    steps = [Step("handler", label, handler.at)]
    runtime_type = handler.runtime_type
    if not runtime_type:
        return (*steps, _missing("runtime_type", "not set"))
    steps.append(Step("runtime_type", runtime_type, handler.type_at))
    if placeholder(runtime_type) is not None:
        return (*steps, _missing("binary", "filled in later"))
    decision = policy.decide(runtime_type, context="config")
    rn = decision.name
    steps.append(Step("binary", rn.binary or "-", detail=rn.error or ""))
    steps.append(_decision(decision))
    return tuple(steps)


def _decision(decision: Decision) -> Step:
    return Step("decision", decision.action, detail=f"{decision.rule}: {decision.reason}")


def _missing(label: str, why: str) -> Step:
    return Step("missing", label, detail=why)


def render_text(chains: Iterable[Chain]) -> str:
    """One block per chain: each link on its own line with where it is written."""
    blocks = []
    for chain in chains:
        lines = []
        for i, step in enumerate(chain.steps):
            arrow = "" if i == 0 else "  -> "
            text = arrow + f"{_STEP_TITLES[step.kind]} {display(step.label)}".lstrip()
            if step.location is not None:
                loc = step.location
                text += f"  ({loc.path}:{loc.line}:{loc.column})"
            if step.detail:
                text += f"  [{step.detail}]" if step.kind != "missing" else f": {step.detail}"
            lines.append(text)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


_STEP_TITLES = {
    "workload": "",
    "runtimeclass": "RuntimeClass",
    "handler": "handler",
    "runtime_type": "runtime_type",
    "binary": "binary",
    "decision": "policy:",
    "missing": "MISSING",
}


def render_dot(chains: Iterable[Chain]) -> str:
    """A Graphviz digraph: one node per distinct step, one edge per link."""
    ids: dict[tuple[str, str, Location | None], str] = {}
    nodes: list[str] = []
    edges: list[str] = []
    for chain in chains:
        previous = None
        for step in chain.steps:
            key = (step.kind, step.label, step.location)
            if step.kind in ("binary", "decision", "missing"):
                # Only as shared as the step before them: keep each chain's end its own.
                key = (step.kind, f"{step.label}\0{previous}", step.location)
            node = ids.get(key)
            if node is None:
                node = f"n{len(ids)}"
                ids[key] = node
                nodes.append(f"  {node} [{_dot_attributes(step)}];")
            if previous is not None:
                edge = f"  {previous} -> {node};"
                if edge not in edges:
                    edges.append(edge)
            previous = node
    return "digraph runtimes {\n  rankdir=LR;\n" + "\n".join(nodes + edges) + "\n}\n"


_DOT_COLOURS = {"allow": "palegreen", "warn": "gold", "deny": "salmon"}


def _dot_attributes(step: Step) -> str:
    title = _STEP_TITLES[step.kind]
    label = f"{title} {display(step.label)}".strip()
    if step.location is not None:
        label += f"\n{step.location.path}:{step.location.line}"
    if step.detail and step.kind in ("missing", "decision"):
        label += f"\n{step.detail}"
    attributes = [f'label="{_dot_escape(label)}"', "shape=box"]
    if step.kind == "decision":
        attributes.append(f'style=filled, fillcolor="{_DOT_COLOURS.get(step.label, "white")}"')
    elif step.kind == "missing":
        attributes.append('style="filled,dashed", fillcolor="salmon"')
    return ", ".join(attributes)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
