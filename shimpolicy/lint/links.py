"""Links across files: pod template → RuntimeClass → handler → containerd runtime → shim.

A pod names a RuntimeClass (K3), the RuntimeClass names a CRI handler (K2), the handler
is a ``runtimes.<handler>`` table of containerd's config (K4, C5) whose ``runtime_type``
containerd resolves to a shim binary (C1, C2), which the policy allows, warns on or
denies.  ``collect`` of the Kubernetes and containerd file types records each end here
(:class:`ClassDef`, :class:`Workload`, :class:`ContainerdConfig`); the Kubernetes checks
follow the links (:func:`check_workload_link`, :func:`check_class_link`) and
``shimpolicy graph`` draws them (:func:`build_graph`).

Which files describe one cluster is not written anywhere.  Links are followed within a
*group*: Kubernetes manifests and containerd configs whose directories contain one
another, directly or through other such files (:func:`group_of`).  A cluster's tree
(``cluster/runtimeclasses.yaml``, ``cluster/apps/web.yaml``, ``cluster/node/config.toml``)
is one group; unrelated projects side by side (``a/pod.yaml`` and ``b/runtimeclass.yaml``,
with nothing linted in their common directory) are not taken to describe one cluster.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Sequence

from .._typing import TYPE_CHECKING, NamedTuple
from ..display import display
from ..grammar.versions import containerd_series
from ..syntax import Span
from .context import Facts, LintContext, placeholder
from .cri_view import CriSection, CriView, cri_view
from .cri_view import HandlerDef as HandlerDef
from .finding import Location
from .scope import directory_of as _directory
from .source import SourceFile

if TYPE_CHECKING:
    from ..policy import Decision, Policy


class ContainerdConfig(NamedTuple):
    """What one containerd config defines for the CRI, before the version decides."""

    path: str
    at: Location  # the CRI ``runtimes`` table, or the CRI section, or the file's start
    version: int  # config version; 1 when no ``version`` key
    handlers: tuple[HandlerDef, ...]  # every handler of every CRI section
    defines_runtimes: bool  # a CRI section has a ``runtimes`` table
    default_name: str | None  # ``default_runtime_name`` as first written; None when not set
    legacy_default: HandlerDef | None  # 1.x ``default_runtime`` with a runtime_type
    imports: bool  # ``imports`` lists other files, which may define more handlers
    sections: tuple[CriSection, ...] = ()
    disabled_plugins: tuple[str, ...] = ()
    version_less: bool = False  # no ``version`` key
    cri: bool = False  # the file has a CRI plugin section (1.x: an import replaces it whole)

    def cri_off(self, containerd: str) -> bool:
        """Whether ``disabled_plugins`` switches off the plugin that reads the CRI runtimes:
        ``cri`` in a version 1 file and ``io.containerd.grpc.v1.cri`` otherwise on 1.x,
        ``io.containerd.cri.v1.runtime`` on 2.x."""
        if containerd_series(containerd) == "2":
            return "io.containerd.cri.v1.runtime" in self.disabled_plugins
        wanted = "cri" if self.version <= 1 else "io.containerd.grpc.v1.cri"
        return wanted in self.disabled_plugins

    def view(self, containerd: str) -> CriView:
        """The CRI configuration the release ends up with (lint/cri_view.py)."""
        return cri_view(self.version, {s.plugin: s for s in self.sections}, containerd, self.at)

    def effective_handlers(self, containerd: str) -> dict[str, HandlerDef]:
        """The handlers containerd ends up with (C5; none when the CRI plugin is off)."""
        return {} if self.cri_off(containerd) else self.view(containerd).handlers

    def default_handler(self, containerd: str) -> str | None:
        """The handler pods without a RuntimeClass get (K4); None when a placeholder."""
        return self.view(containerd).default

    def merges(self, containerd: str) -> bool:
        """Whether 2.x rules apply: the file decoded over the built-in defaults."""
        return containerd_series(containerd) == "2"


class ClassDef(NamedTuple):
    """A RuntimeClass: its name and its handler (None when missing or a placeholder)."""

    name: str | None  # None when a placeholder
    at: Location
    handler: str | None
    handler_at: Location | None


class Workload(NamedTuple):
    """An object with a pod template, and the RuntimeClass it asks for (None: the default)."""

    kind: str
    name: str
    at: Location  # the runtimeClassName value, else the object's name
    runtime_class: str | None
    placeholder: bool = False  # runtimeClassName is filled in later

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


def group_of(facts: Facts, path: str) -> str:
    """The group a linted file belongs to, named by its top directory: manifests and
    containerd configs are grouped when one's directory contains another's, and the
    relation is followed through every such file of the run (computed once, after
    collection)."""
    if not facts.link_groups:
        present = {_directory(p) for p in (*facts.manifests, *(c.path for c in facts.containerd))}
        for directory in sorted(present, key=len):  # ancestors before their descendants
            above = _nearest(directory, present)
            facts.link_groups[directory] = directory if above is None else facts.link_groups[above]
    directory = _directory(path)
    if directory in facts.link_groups:
        return facts.link_groups[directory]
    above = _nearest(directory, facts.link_groups.keys())
    return directory if above is None else facts.link_groups[above]


def _nearest(directory: str, present: Collection[str]) -> str | None:
    """The closest directory above ``directory`` that holds a linted file, if any."""
    while directory:
        directory = _directory(directory)
        if directory in present:
            return directory
    return None


def classes_in_scope(facts: Facts, path: str) -> list[ClassDef]:
    return in_group(facts, group_of(facts, path))[0]


def configs_in_scope(facts: Facts, path: str) -> list[ContainerdConfig]:
    return in_group(facts, group_of(facts, path))[1]


def in_group(facts: Facts, group: str) -> tuple[list[ClassDef], list[ContainerdConfig]]:
    """The RuntimeClasses and containerd configs of one group, in file order (indexed once,
    after collection: every manifest asks, and a cluster tree may hold thousands)."""
    if facts.grouped is None:
        facts.grouped = {}
        for c in facts.classes:
            facts.grouped.setdefault(group_of(facts, c.at.path), ([], []))[0].append(c)
        for config in facts.containerd:
            facts.grouped.setdefault(group_of(facts, config.path), ([], []))[1].append(config)
    return facts.grouped.get(group, ([], []))


# -- checks run from the Kubernetes file type ---------------------------------------------


def check_workload_link(ctx: LintContext, source: SourceFile, workload: Workload) -> None:
    """SP701: the RuntimeClass a pod template names is not among those linted beside it."""
    if workload.runtime_class is None or workload.placeholder:
        return
    classes = classes_in_scope(ctx.facts, source.path)
    if not classes or any(c.name is None for c in classes):
        return  # nothing to compare with, or one class is filled in later
    names = {c.name for c in classes if c.name is not None}
    if workload.runtime_class in names:
        return
    wanted = workload.runtime_class
    close = difflib.get_close_matches(wanted, sorted(names), n=1, cutoff=0.75)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    related = tuple(
        _at(c.at, f"RuntimeClass '{c.name}'")
        for c in sorted(
            classes, key=lambda c: (c.name != (close[0] if close else None), _order(c.at))
        )
    )
    ctx.report(
        source,
        _span(workload.at),
        "SP701",
        f"{workload.label} asks for RuntimeClass '{wanted}', which none of the "
        f"{_count(len(names), 'RuntimeClass', 'RuntimeClasses')} linted beside it defines: "
        f'the API server rejects the pod with `pod rejected: RuntimeClass "{wanted}" not found` '
        f"unless the cluster has it from elsewhere{hint}",
        related=related,
    )


def check_class_link(ctx: LintContext, source: SourceFile, cls: ClassDef) -> None:
    """SP702/SP703: the handler a RuntimeClass names, in the containerd configs beside it."""
    if cls.handler is None or cls.handler_at is None:
        return
    configs = configs_in_scope(ctx.facts, source.path)
    if not configs:
        return
    handler = cls.handler
    targets = [(c, c.effective_handlers(ctx.containerd).get(handler)) for c in configs]
    defined = [(c, h) for c, h in targets if h is not None]
    label = f"RuntimeClass '{cls.name}'" if cls.name else "This RuntimeClass"
    if not defined:
        if any(c.imports for c in configs):
            return  # an imported file, not linted, may define it
        paths = sorted({c.path for c in configs})
        which = (
            f"which the containerd config linted beside it ({paths[0]}) does not define"
            if len(paths) == 1
            else f"which none of the containerd configs linted beside it ({', '.join(paths)}) "
            "defines"
        )
        ctx.report(
            source,
            _span(cls.handler_at),
            "SP702",
            f"{label} names handler '{handler}', {which}: pods of this class fail to start "
            "with "
            f'`no runtime for "{handler}" is configured`; add a '
            f"`runtimes.{toml_key(handler)}` table with its runtime_type",
            related=tuple(_at(c.at, f"containerd runtimes in {c.path}") for c in configs),
        )
        return
    typed = [(c, h) for c, h in defined if h.runtime_type]
    if not typed:
        config, found = defined[0]
        ctx.report(
            source,
            _span(cls.handler_at),
            "SP703",
            f"{label} names handler '{handler}', whose runtime_type is not set "
            f"({config.path}): every pod of this class fails with "
            "`container.Runtime.Name must be set: invalid argument`",
            related=(_at(found.at, f"handler '{handler}' in {config.path}"),),
        )
    for config, found in typed:
        denial = _denial(ctx.policy, found.runtime_type or "")
        if denial is not None:
            ctx.report(
                source,
                _span(cls.handler_at),
                "SP703",
                f"{label} names handler '{handler}', whose runtime_type "
                f"'{found.runtime_type}' ({config.path}) the policy denies: {denial}",
                related=(_at(found.type_at or found.at, f"handler '{handler}' in {config.path}"),),
            )


def _denial(policy: Policy, runtime_type: str) -> str | None:
    """The policy's reason for refusing a runtime_type (config context), or None."""
    if placeholder(runtime_type) is not None:
        return None
    decision = policy.decide(runtime_type, context="config")
    return f"{decision.rule}: {decision.reason}" if decision.action == "deny" else None


# -- the graph ----------------------------------------------------------------------------


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


def collect_facts(paths: Sequence[str], policy: Policy) -> Facts:
    from .engine import LintOptions, _load_path, file_types, walk

    options = LintOptions()
    types = file_types()
    facts = Facts()
    # Links that lead outside the paths are never read (lint reports them).
    for path, named in walk(paths or ["."], tuple(policy.exclude), outside=[]):
        item = _load_path(path, named, types, options)
        if item is not None and item.problem is None:
            item.kind.collect(item.doc, item.source, facts)
    return facts


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


# -- helpers ------------------------------------------------------------------------------


def _order(loc: Location) -> tuple[str, int, int]:
    return loc.path, loc.line, loc.column


def _span(loc: Location) -> Span:
    return Span(loc.line, loc.column, loc.end_line, loc.end_column)


def _at(loc: Location, message: str) -> Location:
    return Location(loc.path, loc.line, loc.column, loc.end_line, loc.end_column, message)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def toml_key(name: str) -> str:
    """``name`` as a TOML key: bare when it can be, quoted otherwise."""
    return (
        name if name.replace("-", "").replace("_", "").isalnum() and name.isascii() else f'"{name}"'
    )
