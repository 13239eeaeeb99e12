"""A runc-compatible binary: what the runc shim executes in place of ``runc`` (containerd's
``options.BinaryName``, daemon.json's ``path`` and ``options.BinaryName``, nerdctl's
``--runtime`` path).  Every one of them is judged here, the same way (C5, D3, D4)."""

from __future__ import annotations

from ..grammar.catalog import shim_for_binary
from ..syntax import Span
from .context import LintContext
from .facts import placeholder
from .source import SourceFile


def check_runc_binary(
    ctx: LintContext,
    source: SourceFile,
    span: Span,
    value: str,
    what: str,
    *,
    executed: bool = True,
) -> None:
    """A runc-compatible binary (runc's ``options.BinaryName``, nerdctl's ``--runtime crun``,
    daemon.json's ``path`` and ``options.BinaryName``).

    It is not a runtime name: the runc shim executes it as root, looking a bare name up
    on ``PATH``, so C1/C2 do not apply.  A path is judged by the policy in ``config``
    context (a path others can write to is refused); a relative path is resolved against
    the shim's working directory, the container's bundle.  ``executed``: the shim executes
    the value itself (not through dockerd's wrapper script), so Go's exec error is known.
    """
    marker = placeholder(value)
    if marker is not None:
        ctx.unresolved(source, span, what, value, marker)
        return
    base = value.rsplit("/", 1)[-1]
    if base.startswith("containerd-shim") or value.startswith("io.containerd."):
        shim = shim_for_binary(base)
        named = f" ({shim.title})" if shim else ""
        ctx.report(
            source,
            span,
            "SP411",
            f"{what} {value!r} names a containerd shim{named}, not a runc-compatible runtime: "
            "the runc shim would run it in place of runc and every container fails to start; "
            "make the shim the handler's runtime_type and drop BinaryName",
        )
    elif value.startswith("/"):
        ctx.check_name(source, span, value, "config", what)
    elif "/" in value:
        # Go's exec, given a name with a '/', runs it relative to the working directory
        # (seen on dockerd 20.10 with a daemon.json "path": "bin/crun").
        failure = f" (fork/exec {value}: no such file or directory)" if executed else ""
        ctx.report(
            source,
            span,
            "SP412",
            f"{what} {value!r} is a relative path: the runc shim resolves it against its own "
            "working directory (the container's bundle directory), where it does not exist, "
            f"so every container using it fails to start{failure}; use an absolute path, or "
            "a bare name looked up on PATH",
        )
