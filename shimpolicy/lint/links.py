"""Checks that follow links across files (SPEC K2-K4, C5): a pod template's RuntimeClass
(SP701), a RuntimeClass's handler in the containerd configs beside it (SP702), and that
handler's runtime (SP703).  The ends of the links are the run's facts (``facts.py``); the
Kubernetes file type runs these checks; ``graph.py`` draws the same links.
"""

from __future__ import annotations

import difflib

from .._typing import TYPE_CHECKING
from .context import LintContext
from .facts import ClassDef, Workload, classes_in_scope, configs_in_scope, placeholder
from .finding import Location
from .source import SourceFile

if TYPE_CHECKING:
    from ..policy import Policy


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
        c.at._replace(message=f"RuntimeClass '{c.name}'")
        for c in sorted(
            classes, key=lambda c: (c.name != (close[0] if close else None), _order(c.at))
        )
    )
    ctx.report(
        source,
        workload.at.span,
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
            cls.handler_at.span,
            "SP702",
            f"{label} names handler '{handler}', {which}: pods of this class fail to start "
            "with "
            f'`no runtime for "{handler}" is configured`; add a '
            f"`runtimes.{toml_key(handler)}` table with its runtime_type",
            related=tuple(
                c.at._replace(message=f"containerd runtimes in {c.path}") for c in configs
            ),
        )
        return
    typed = [(c, h) for c, h in defined if h.runtime_type]
    if not typed:
        config, found = defined[0]
        ctx.report(
            source,
            cls.handler_at.span,
            "SP703",
            f"{label} names handler '{handler}', whose runtime_type is not set "
            f"({config.path}): every pod of this class fails with "
            "`container.Runtime.Name must be set: invalid argument`",
            related=(found.at._replace(message=f"handler '{handler}' in {config.path}"),),
        )
    for config, found in typed:
        denial = _denial(ctx.policy, found.runtime_type or "")
        if denial is not None:
            where = (found.type_at or found.at)._replace(
                message=f"handler '{handler}' in {config.path}"
            )
            ctx.report(
                source,
                cls.handler_at.span,
                "SP703",
                f"{label} names handler '{handler}', whose runtime_type "
                f"'{found.runtime_type}' ({config.path}) the policy denies: {denial}",
                related=(where,),
            )


def _denial(policy: Policy, runtime_type: str) -> str | None:
    """The policy's reason for refusing a runtime_type (config context), or None."""
    if placeholder(runtime_type) is not None:
        return None
    decision = policy.decide(runtime_type, context="config")
    return f"{decision.rule}: {decision.reason}" if decision.action == "deny" else None


# -- helpers ------------------------------------------------------------------------------


def _order(loc: Location) -> tuple[str, int, int]:
    return loc.path, loc.line, loc.column


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def toml_key(name: str) -> str:
    """``name`` as a TOML key: bare when it can be, quoted otherwise."""
    return (
        name if name.replace("-", "").replace("_", "").isalnum() and name.isascii() else f'"{name}"'
    )
