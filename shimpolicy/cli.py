"""The ``shimpolicy`` command (SPEC §5.2).  ``main`` returns an exit status:
0 nothing at or above the failure threshold, 1 findings or denied names, 2 usage error,
unreadable or invalid policy, or internal error."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from . import __version__
from .lint.finding import SEVERITIES, SEVERITY_RANK
from .lint.source import DEFAULT_MAX_BYTES
from .versions import CONTAINERD_VERSIONS, DOCKER_VERSIONS

if TYPE_CHECKING:
    from .policy import Policy

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


COMMANDS = ("check", "explain", "lint", "policy", "rule", "graph", "serve")


class UsageError(Exception):
    pass


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing shutil (and the compression modules
    it pulls in) on every start."""

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
        except (ValueError, OSError):
            columns = 80
        super().__init__(prog, width=max(columns - 2, 11))


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(**kwargs)


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that command's (building all of them is
    a noticeable part of a one-file run's start-up)."""
    p = _Parser(
        prog="shimpolicy",
        description="Validate container runtime names and the configuration files that carry them.",
    )
    p.add_argument("--version", action="version", version=f"shimpolicy {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def versions(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--policy",
            metavar="FILE",
            help="policy file (default: discovered, else the embedded default)",
        )
        sp.add_argument(
            "--containerd",
            metavar="V",
            help=f"containerd rules to apply ({', '.join(CONTAINERD_VERSIONS)})",
        )
        sp.add_argument(
            "--docker",
            metavar="V",
            help=f"Docker version for D1 ({DOCKER_VERSIONS[0]} … {DOCKER_VERSIONS[-1]})",
        )
        sp.add_argument("--platform", choices=("linux", "windows"))

    def context(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--context",
            choices=("request", "config"),
            default="request",
            help="who chose the name: an API user per container (request) "
            "or the host administrator (config)",
        )

    if only in (None, "check"):
        c = sub.add_parser(
            "check",
            help="decide runtime names",
            description="Decide runtime names given as arguments, "
            "or one per line on stdin with '-'.",
        )
        versions(c)
        context(c)
        c.add_argument("--format", choices=("text", "json"), default="text")
        c.add_argument("--fail-on", choices=("deny", "warn"), default="deny")
        c.add_argument("names", nargs="*", metavar="NAME")

    if only in (None, "explain"):
        e = sub.add_parser("explain", help="explain what containerd and Docker do with a name")
        versions(e)
        context(e)
        e.add_argument("name", metavar="NAME")

    if only in (None, "lint"):
        lp = sub.add_parser(
            "lint",
            help="lint configuration files",
            description="Lint Docker, Compose, containerd, Kubernetes and shell files. "
            "Directories are walked; '-' reads stdin.",
        )
        versions(lp)
        lp.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text")
        lp.add_argument("--fail-on", choices=SEVERITIES, default="error")
        lp.add_argument("--exclude", action="append", default=[], metavar="GLOB")
        lp.add_argument(
            "--type",
            dest="file_type",
            choices=("daemon.json", "compose", "containerd", "kubernetes", "shell", "workflow"),
        )
        lp.add_argument("--stdin-filename", metavar="NAME", default=None)
        lp.add_argument(
            "--no-inline-ignores",
            action="store_true",
            help="ignore `# shimpolicy: ignore[...]` comments",
        )
        lp.add_argument("--color", choices=("auto", "always", "never"), default="auto")
        lp.add_argument(
            "-j",
            "--jobs",
            type=int,
            default=os.cpu_count() or 1,
            metavar="N",
            help="worker processes for large trees (default: the number of cores)",
        )
        lp.add_argument(
            "--max-file-size",
            type=int,
            default=DEFAULT_MAX_BYTES,
            metavar="BYTES",
            help=f"larger files are reported, not read (default {DEFAULT_MAX_BYTES})",
        )
        lp.add_argument("paths", nargs="*", metavar="PATH")

    if only in (None, "policy"):
        pol = sub.add_parser("policy", help="show or validate policies")
        psub = pol.add_subparsers(dest="policy_command", metavar="ACTION")
        show = psub.add_parser("show", help="print the effective policy, each rule with its origin")
        show.add_argument("--policy", metavar="FILE")
        val = psub.add_parser("validate", help="validate a policy file")
        val.add_argument("file", metavar="FILE")

    if only in (None, "rule"):
        r = sub.add_parser("rule", help="print a rule's documentation")
        r.add_argument(
            "rule", nargs="?", metavar="ID", help="rule id or name; omit to list all rules"
        )

    if only in (None, "graph"):
        g = sub.add_parser("graph", help="show which binary each workload will run")
        g.add_argument("--policy", metavar="FILE")
        g.add_argument("--format", choices=("text", "dot"), default="text")
        g.add_argument("paths", nargs="*", metavar="PATH")

    if only in (None, "serve"):
        sub.add_parser(
            "serve",
            help="run as a Docker authorization plugin and Kubernetes admission webhook",
            add_help=False,
        )
    return p


def main(
    argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    if argv[:1] == ["serve"]:
        from .serve import serve_main

        return serve_main(argv[1:])
    parser = _parser(argv[0] if argv and argv[0] in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed its message
        return int(e.code or 0) if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(out)
        return EXIT_USAGE
    try:
        return _dispatch(args, stdin or sys.stdin, out)
    except UsageError as e:
        print(f"shimpolicy: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # never a traceback for the user; exit 2 (SPEC §5.2)
        if os.environ.get("SHIMPOLICY_DEBUG"):
            raise
        print(f"shimpolicy: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_USAGE


def _dispatch(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    if args.command == "check":
        return _check(args, stdin, out)
    if args.command == "explain":
        from .policy import explain

        out.write(explain(_policy(args), args.name, args.context).rstrip("\n") + "\n")
        return EXIT_OK
    if args.command == "lint":
        return _lint(args, stdin, out)
    if args.command == "policy":
        return _policy_command(args, out)
    if args.command == "rule":
        return _rule(args, out)
    if args.command == "graph":
        return _graph(args, out)
    raise UsageError(f"unknown command {args.command!r}")


def _policy(args: argparse.Namespace) -> Policy:
    from .policy import Policy, PolicyError

    try:
        policy = Policy.load(args.policy) if getattr(args, "policy", None) else Policy.discover(".")
        overrides = {k: getattr(args, k, None) for k in ("containerd", "docker", "platform")}
        overrides = {k: v for k, v in overrides.items() if v}
        return policy.with_settings(**overrides) if overrides else policy
    except PolicyError as e:
        raise UsageError(str(e)) from None
    except ValueError as e:
        raise UsageError(str(e)) from None


def _check(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    names: list[str] = []
    for n in args.names:
        if n == "-":
            names.extend(line.rstrip("\r\n") for line in stdin)
        else:
            names.append(n)
    if not names:
        raise UsageError("check needs at least one NAME (or '-' to read names from stdin)")
    policy = _policy(args)
    decisions = [policy.decide(n, context=args.context) for n in names]
    failing = {"deny"} if args.fail_on == "deny" else {"deny", "warn"}
    if args.format == "json":
        results = [
            {
                "name": d.name.name,
                "kind": d.name.kind,
                "binary": d.name.binary,
                "error": d.name.error,
                "docker_permitted": d.docker_permitted,
                "decision": d.action,
                "rule": d.rule,
                "reason": d.reason,
                "context": d.context,
                "notes": sorted(d.name.notes),
                "containerd": d.name.containerd,
                "platform": d.name.platform,
                "origin": d.origin,
            }
            for d in decisions
        ]
        import json

        out.write(json.dumps({"results": results}, indent=2, ensure_ascii=False) + "\n")
    else:
        for d in decisions:
            rn = d.name
            what = rn.binary if rn.kind in ("shim", "relative", "path") else (rn.error or rn.kind)
            fields = (d.action, _show(rn.name), rn.kind, _show(what or ""), f"{d.rule}: {d.reason}")
            out.write("\t".join(fields) + "\n")
    return EXIT_FINDINGS if any(d.action in failing for d in decisions) else EXIT_OK


def _show(s: str) -> str:
    """A name as a terminal can show it safely: control and bidi characters escaped."""
    if s.isascii() and s.isprintable():
        return s
    import json

    return json.dumps(s, ensure_ascii=True)[1:-1]


def _lint(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    from .lint.engine import LintOptions, lint_bytes, lint_paths
    from .report import WRITERS

    policy = _policy(args)
    options = LintOptions(
        exclude=tuple(args.exclude),
        file_type=args.file_type,
        inline_ignores=not args.no_inline_ignores,
        max_bytes=args.max_file_size,
        jobs=max(1, args.jobs),
    )
    if args.max_file_size <= 0:
        raise UsageError("--max-file-size must be a positive number of bytes")
    sources: dict[str, str] = {}
    if "-" in args.paths:
        if len(args.paths) > 1:
            raise UsageError("'-' (stdin) cannot be combined with other paths")
        name = args.stdin_filename or "-"
        if args.stdin_filename is None and args.file_type is None:
            raise UsageError("reading stdin needs --stdin-filename NAME or --type TYPE")
        data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
        with _without_cycle_collection():
            result = lint_bytes(data, name, policy, options)
        sources[name.replace(os.sep, "/").removeprefix("./")] = data.decode(
            "utf-8", "replace"
        ).removeprefix("\ufeff")
    else:
        for p in args.paths:
            if not os.path.lexists(p):
                raise UsageError(f"{p}: no such file or directory")
        with _without_cycle_collection():
            result = lint_paths(args.paths, policy, options)
    color = args.color == "always" or (
        args.color == "auto" and out.isatty() and not os.environ.get("NO_COLOR")
    )
    out.write(WRITERS[args.format](result, color=color, sources=sources))
    threshold = SEVERITY_RANK[args.fail_on]
    return (
        EXIT_FINDINGS
        if any(SEVERITY_RANK[f.severity] >= threshold for f in result.findings)
        else EXIT_OK
    )


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Linting keeps every parsed tree until the end and makes no reference cycles worth
    collecting, so the cyclic collector only costs time (a fifth of a large run);
    reference counting still frees whatever is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _policy_command(args: argparse.Namespace, out: TextIO) -> int:
    from .policy import Policy, PolicyError, render_policy

    if args.policy_command == "show":
        out.write(render_policy(_policy(args)).rstrip("\n") + "\n")
        return EXIT_OK
    if args.policy_command == "validate":
        try:
            Policy.load(args.file)
        except PolicyError as e:
            raise UsageError(str(e)) from None
        out.write(f"{args.file}: valid\n")
        return EXIT_OK
    raise UsageError("policy needs an action: show or validate")


def _rule(args: argparse.Namespace, out: TextIO) -> int:
    from .lint.rulebook import catalog, lookup
    from .rulesdoc import render_rule

    if args.rule is None:
        for doc in catalog().values():
            out.write(f"{doc.id}  {doc.name:<32} {doc.severity:<8} {doc.title}\n")
        return EXIT_OK
    found = lookup(args.rule)
    if found is None:
        raise UsageError(f"unknown rule {args.rule!r}; `shimpolicy rule` lists them")
    out.write(render_rule(found))
    return EXIT_OK


def _graph(args: argparse.Namespace, out: TextIO) -> int:
    from .lint.links import build_graph, render_dot, render_text

    chains = build_graph(args.paths or ["."], _policy(args))
    out.write(render_dot(chains) if args.format == "dot" else render_text(chains))
    return EXIT_OK
