"""A runtime name chosen per container for Docker (``docker run --runtime``, Compose's
``runtime``; SPEC D4), judged the way dockerd judges it.

Stock and configured names are taken as they are (D2: any ``runtimes`` key of a linted
daemon.json).  A name Docker could only take as a configured runtime (no ``.``, or any
name before Docker 23, and no ``/``) works exactly when the daemon's daemon.json defines
it; every other name is one dockerd may pass to containerd, judged by the policy in
``request`` context (which knows why D1 refuses a path or a leading dot).
"""

from __future__ import annotations

from ..grammar.catalog import SHIMS
from ..grammar.docker import docker_takes, unknown_runtime_message, windows_ignores_names
from ..grammar.versions import docker_major
from ..syntax import Span
from .context import LintContext
from .facts import placeholder
from .finding import Location
from .scope import same_tree
from .source import SourceFile


def check_docker_runtime(
    ctx: LintContext, source: SourceFile, span: Span, name: str, what: str, rule: str
) -> None:
    """Report ``name`` as Docker sees it; ``rule`` is the id for a name only a daemon.json
    ``runtimes`` entry could define: an error when a daemon.json linted beside the file
    lacks it, a warning when none is linted (the host may well define it)."""
    if name == "":
        return  # the daemon's default runtime
    marker = placeholder(name)
    # A '$' left after Compose's interpolation is literal ($$): Docker gets it as it is.
    if marker is not None and not marker.startswith("$"):
        ctx.check_name(source, span, name, "request", what)
        return
    if windows_ignores_names(ctx.docker, ctx.platform):
        ctx.report(
            source,
            span,
            "SP218",
            f"{what} {name!r} is ignored: a Windows daemon of Docker {ctx.docker} never reads "
            "a per-container runtime name and runs every container with its own runtime "
            "(runhcs); remove it, or set the daemon's default-runtime",
        )
        return
    # D2: stock and configured names are taken as they are.
    takes = docker_takes(name, ctx.docker, ctx.platform, ctx.facts.docker_runtimes)
    if takes in ("stock", "configured"):
        return
    # A name Docker could only take as a configured runtime: no '.' (or, before Docker 23,
    # any name) and no '/'.  Everything else is for the policy, which knows why D1 refuses.
    shims = docker_major(ctx.docker) >= 23  # D1: before 23 no unconfigured name passes
    if "/" in name or ("." in name and shims):
        ctx.check_name(source, span, name, "request", what)
        return
    refused = unknown_runtime_message(name, ctx.docker)
    shim = shim_named(name) if shims else None
    hint = (
        f'; "{shim[1]}" needs no configuration where the {shim[0]} shim is installed'
        if shim
        else ""
    )
    # Only a daemon.json in the same tree is taken to configure the daemon this file runs on.
    beside = [path for path in ctx.facts.daemon_json if same_tree(path, source.path)]
    if beside:
        shown = ", ".join(beside[:3]) + (f" and {len(beside) - 3} more" if len(beside) > 3 else "")
        ctx.report(
            source,
            span,
            rule,
            f'{what} {name!r} is not configured in {shown}: Docker refuses it ("{refused}"); '
            f'define it under "runtimes" there{hint}',
            severity="error",
            related=tuple(Location(path, 1, 1, 1, 1, "daemon.json") for path in beside),
        )
        return
    kind = "neither a stock runtime nor a shim name" if shims else "not a stock runtime"
    ctx.report(
        source,
        span,
        rule,
        f"{what} {name!r} is {kind}: Docker {ctx.docker} accepts it only if the host's "
        'daemon.json defines it under "runtimes", and no daemon.json is linted beside this file '
        f'(otherwise Docker refuses it: "{refused}"){hint}',
        severity="warning",
    )


def shim_named(name: str) -> tuple[str, str] | None:
    """(title, documented runtime name) of a well-known shim called ``name`` (runsc, kata)."""
    for shim in SHIMS:
        for documented in shim.names:
            pieces = documented.split(".")
            if len(pieces) >= 2 and pieces[-2] == name and not any(c in documented for c in "*?["):
                return shim.title, documented
    return None
