"""dockerd's command line: ``--add-runtime``, ``--default-runtime`` and ``--config-file``
(SPEC §6 "dockerd command-line flags", D3), wherever it is written — a systemd unit's
``ExecStart=`` (lint/systemd.py) or a shell script (lint/shell.py).

:func:`read_flags` picks the options out of dockerd's words; :func:`check_flags` judges
them as dockerd does when it starts.  dockerd reads its flags with pflag: ``--name value``
or ``--name=value``.  ``--add-runtime NAME=PATH`` (moby ``opts/runtime.go``) splits at the
first ``=``, trims spaces, lower-cases the name, refuses an empty side, the name ``runc``
and a name given twice; each is a runc-compatible binary (a ``path`` runtime), merged with
daemon.json's ``runtimes``.  ``--default-runtime`` is judged like daemon.json's
``default-runtime`` (D3.2).  Linux only: Windows daemons have no ``--add-runtime``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._typing import NamedTuple
from ..grammar.docker import (
    UNKNOWN_WINDOWS_RUNTIME,
    WINDOWS_RUNTIMES,
    docker_takes,
    unknown_runtime_message,
)
from ..syntax import Span
from ..syntax.shell import Word
from .context import LintContext, location
from .facts import Facts, placeholder
from .source import SourceFile

OPTIONS = ("--add-runtime", "--default-runtime", "--config-file")
RESERVED = "runc"  # D2


class DockerdFlag(NamedTuple):
    option: str  # one of OPTIONS
    value: str
    literal: bool  # False when the shell or systemd fills part of it in
    span: Span  # the value as written (for ``--x=v``: the v part only)
    flag_span: Span  # the option and its value


def read_flags(words: Sequence[Word]) -> list[DockerdFlag]:
    """The options of OPTIONS among dockerd's arguments (``words`` after the program), in
    order.  An ``--x=v`` word's value span starts after the ``=`` when the word is written
    as one plain piece of text; otherwise it is the word's."""
    found: list[DockerdFlag] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.value == "--":
            break
        name, equals, value = word.value.partition("=")
        if name in OPTIONS:
            if equals:
                span = word.span
                width = len(name) + 1
                if span.line == span.end_line and span.end_column - span.column == len(word.value):
                    span = Span(span.line, span.column + width, span.end_line, span.end_column)
                found.append(DockerdFlag(name, value, word.literal, span, word.span))
            elif i + 1 < len(words):
                nxt = words[i + 1]
                whole = Span(
                    word.span.line, word.span.column, nxt.span.end_line, nxt.span.end_column
                )
                found.append(DockerdFlag(name, nxt.value, nxt.literal, nxt.span, whole))
                i += 1
        i += 1
    return found


class AddedRuntime(NamedTuple):
    name: str  # lower-cased, as dockerd keeps it
    path: str
    flag: DockerdFlag


def added_runtimes(flags: Sequence[DockerdFlag]) -> list[AddedRuntime]:
    """The runtimes ``--add-runtime`` defines (each well-formed one, first definition)."""
    found: dict[str, AddedRuntime] = {}
    for flag in flags:
        if flag.option != "--add-runtime" or not flag.literal:
            continue
        name, equals, path = flag.value.partition("=")
        name, path = name.strip().lower(), path.strip()
        if equals and name and path and name != RESERVED and name not in found:
            found[name] = AddedRuntime(name, path, flag)
    return list(found.values())


def collect_flags(flags: Sequence[DockerdFlag], source: SourceFile, facts: Facts) -> None:
    """Names ``--add-runtime`` configures count as configured runtimes (D2) for the
    ``docker run --runtime`` and Compose ``runtime`` checks."""
    for runtime in added_runtimes(flags):
        facts.docker_runtimes.setdefault(runtime.name, location(source, runtime.flag.span))


def check_flags(
    ctx: LintContext, source: SourceFile, flags: Sequence[DockerdFlag], where: str = "dockerd"
) -> None:
    """Judge dockerd's runtime flags as dockerd does when it starts."""
    seen: dict[str, DockerdFlag] = {}
    for flag in flags:
        what = f"{where} {flag.option}"
        if not flag.literal:
            ctx.unresolved(
                source, flag.span, f"`{what}`", flag.value, placeholder(flag.value) or flag.value
            )
        elif flag.option == "--add-runtime":
            _check_add_runtime(ctx, source, flag, what, seen)
    defaults = [f for f in flags if f.option == "--default-runtime" and f.literal]
    if defaults:
        _check_default(ctx, source, defaults[-1], f"{where} --default-runtime", flags)


def _check_add_runtime(
    ctx: LintContext, source: SourceFile, flag: DockerdFlag, what: str, seen: dict[str, DockerdFlag]
) -> None:
    if ctx.platform == "windows":
        ctx.report(
            source,
            flag.flag_span,
            "SP215",
            f"`{what}`: a Windows dockerd has no --add-runtime flag and does not start "
            "(`unknown flag: --add-runtime`)",
        )
        return
    raw_name, equals, raw_path = flag.value.partition("=")
    name, path = raw_name.strip().lower(), raw_path.strip()
    if not equals or not name or not path:
        ctx.report(
            source,
            flag.span,
            "SP215",
            f"`{what} {flag.value}`: dockerd does not start (`invalid runtime argument: "
            f"{flag.value}`); write NAME=PATH, PATH a runc-compatible binary",
        )
        return
    if name == RESERVED:
        ctx.report(
            source,
            flag.span,
            "SP215",
            f"`{what} {flag.value}`: dockerd does not start (`runtime name 'runc' is "
            "reserved`): Docker always provides `runc` itself; give this runtime another name",
        )
        return
    if name in seen:
        ctx.report(
            source,
            flag.span,
            "SP215",
            f"`{what} {flag.value}`: dockerd does not start (`runtime '{name}' was already "
            "defined`): dockerd lower-cases the name, and an earlier --add-runtime defines it",
            related=(location(source, seen[name].span, "the first definition"),),
        )
        return
    seen[name] = flag
    if name != raw_name.strip():
        ctx.report(
            source,
            flag.span,
            "SP216",
            f"`{what} {flag.value}`: dockerd lower-cases runtime names, so this runtime is "
            f"'{name}', not '{raw_name.strip()}'; write it in lower case",
        )
    base = path.rsplit("/", 1)[-1]
    if base.startswith("containerd-shim") or path.startswith("io.containerd."):
        ctx.report(
            source,
            flag.span,
            "SP207",
            f"`{what} {flag.value}`: --add-runtime takes a runc-compatible binary, and "
            f"{path!r} is a containerd shim: containers of runtime '{name}' fail to start; "
            f'configure the shim in daemon.json as "runtimeType" instead',
        )
    elif path.startswith("/"):
        ctx.check_name(source, flag.span, path, "config", f"`{what}` {name} path")


def _check_default(
    ctx: LintContext,
    source: SourceFile,
    flag: DockerdFlag,
    what: str,
    flags: Sequence[DockerdFlag],
) -> None:
    """D3.2, as for daemon.json's ``default-runtime``."""
    name = flag.value
    configured = {r.name for r in added_runtimes(flags)} | set(ctx.facts.docker_runtimes)
    takes = docker_takes(name, ctx.docker, ctx.platform, configured, per_container=False)
    if takes in ("default", "stock", "configured"):
        return
    if ctx.platform == "windows" and takes == "refused":
        ctx.report(
            source,
            flag.span,
            "SP202",
            f"`{what} {name}`: a Windows dockerd does not start "
            f"(`{UNKNOWN_WINDOWS_RUNTIME.format(name)}`); its runtimes are "
            f"{' and '.join(sorted(WINDOWS_RUNTIMES, reverse=True))}",
        )
        return
    if takes == "refused":
        why = unknown_runtime_message(name, ctx.docker)
        ctx.report(
            source,
            flag.span,
            "SP202",
            f"`{what} {name}`: specified default runtime '{name}' does not exist: no "
            f"--add-runtime or linted daemon.json defines it and Docker {ctx.docker} would not "
            f'pass it to containerd ("{why}"), so dockerd does not start unless the '
            "daemon.json it reads defines it",
            severity="warning" if not ctx.facts.daemon_json else None,
        )
        return
    ctx.check_name(source, flag.span, name, "request", f"`{what}`")
