"""Shell scripts (``*.sh``, ``*.bash`` and shebang scripts): every ``--runtime`` given to
``docker``, ``nerdctl`` or ``ctr`` (SPEC D4), a name chosen per container.

How each tool reads the value decides what is checked:

- ``docker run|create --runtime``: a configured or stock runtime, else a name dockerd may
  pass to containerd (D1, D2; lint/docker_names.py);
- ``nerdctl run|create --runtime``: a name starting ``io.containerd.`` (or runj's
  ``wtf.sbk.runj.v1``) is a shim; anything else is first looked up on ``PATH`` as a
  runc-compatible binary (``--runtime crun``) and only passed to containerd when no such
  binary exists, so a bare word is not judged as a shim name, and a path is judged as a
  runc binary;
- ``ctr run --runtime``: containerd's own resolution (C2), paths included.

``dockerd`` commands have their runtime flags judged as dockerd does (lint/dockerd.py).

Every shim name goes through the policy in ``request`` context.  A value the shell
computes (``$RT``, ``$(…)``) is reported as unresolvable (SP003).
"""

from __future__ import annotations

import re

from .._typing import TYPE_CHECKING
from ..syntax import Span
from ..syntax.shell import RuntimeFlag, scan_shell
from .context import LintContext
from .docker_names import check_docker_runtime
from .dockerd import check_flags, collect_flags, read_flags
from .facts import Facts, placeholder
from .filetype import FileType
from .runc_binary import check_runc_binary
from .source import SourceFile

if TYPE_CHECKING:
    from .embedded import Embedded

# nerdctl (pkg/cmd/container/run_runtime.go): names it hands to containerd as shims.
NERDCTL_SHIM_PREFIX = "io.containerd."
NERDCTL_SHIMS = frozenset({"wtf.sbk.runj.v1"})
# ``${VAR:-default}`` / ``${VAR-default}`` with a literal default.
_DEFAULTED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^$`\\{}'\"]*)\}")


def load(source: SourceFile) -> str:
    return source.text


def collect(doc: str, source: SourceFile, facts: Facts) -> None:
    if "dockerd" in doc:  # --add-runtime names are configured runtimes (D2)
        for words in scan_shell(doc)[1]:
            collect_flags(read_flags(words), source, facts)


def check(doc: str, source: SourceFile, ctx: LintContext) -> None:
    flags, daemons = scan_shell(doc)
    for flag in flags:
        check_flag(ctx, source, flag, flag.span)
    for words in daemons:
        check_flags(ctx, source, read_flags(words))


def check_flag(ctx: LintContext, source: SourceFile, flag: RuntimeFlag, span: Span) -> None:
    """Judge one ``--runtime`` value; ``span`` is where it is written (for text cut from a
    larger file, such as a workflow's ``run:``, not the flag's own span)."""
    what = f"`{flag.command} --runtime`"
    value = flag.value
    if not flag.literal:
        default = _DEFAULTED.fullmatch(value)
        if default is None:
            marker = placeholder(value) or value
            ctx.unresolved(source, span, what, value, marker)
            return
        value = default.group(1)  # ${VAR:-default}: the default is checked, as for Compose
    if flag.tool == "docker":
        check_docker_runtime(ctx, source, span, value, what, "SP601")
    elif flag.tool == "nerdctl":
        _check_nerdctl(ctx, source, span, value, what)
    else:
        ctx.check_name(source, span, value, "request", what)


def _check_nerdctl(ctx: LintContext, source: SourceFile, span: Span, value: str, what: str) -> None:
    if value == "":
        return  # nerdctl's default, io.containerd.runc.v2
    if value.startswith(NERDCTL_SHIM_PREFIX) or value in NERDCTL_SHIMS:
        ctx.check_name(source, span, value, "request", what)
    elif "/" in value:
        # nerdctl may resolve the path itself first: how it then fails is not known here.
        check_runc_binary(ctx, source, span, value, what, executed=False)
    elif "." in value:
        # No binary of that name on PATH, in all likelihood: containerd gets it verbatim.
        ctx.check_name(source, span, value, "request", what)


def embedded(doc: str, source: SourceFile) -> list[Embedded]:
    """Configuration files the script writes (``cat > … <<EOF``, ``tee``, ``printf``)."""
    from .embedded import may_write_config, shell_files  # (lint/workflow.py uses this module)

    if not may_write_config(doc):
        return []

    return shell_files(doc)


TYPE = FileType("shell", "shell script", load, collect, check, embedded=embedded)
