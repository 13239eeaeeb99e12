"""The ``shimpolicy`` command (SPEC §5.2).  ``main`` returns an exit status:
0 nothing at or above the failure threshold, 1 findings or denied names, 2 usage error,
unreadable or invalid policy, or internal error."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ._cmdline import COMMANDS, build_parser
from ._typing import TYPE_CHECKING
from .display import display
from .lint.finding import SEVERITY_RANK

if TYPE_CHECKING:
    from argparse import Namespace as Args
    from typing import TextIO

    from .lint.engine import LintOptions, LintResult
    from .lint.finding import Finding
    from .policy import Policy

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def main(
    argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed its message
        return int(e.code or 0) if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(out)
        return EXIT_USAGE
    try:
        return _dispatch(args, stdin or sys.stdin, out)
    except UsageError as e:  # one line each, when there are several
        for line in str(e).split("\n"):
            print(f"shimpolicy: error: {display(line)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # never a traceback for the user; exit 2 (SPEC §5.2)
        if os.environ.get("SHIMPOLICY_DEBUG"):
            raise
        print(f"shimpolicy: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_USAGE


def _dispatch(args: Args, stdin: TextIO, out: TextIO) -> int:
    if args.command == "check":
        return _check(args, stdin, out)
    if args.command == "explain":
        return _explain(args, out)
    if args.command == "lint":
        return _lint(args, stdin, out)
    if args.command == "policy":
        return _policy_command(args, out)
    if args.command == "rule":
        return _rule(args, out)
    if args.command == "graph":
        return _graph(args, out)
    if args.command == "serve":
        from .serve import serve_main

        return serve_main(args)
    if args.command == "doctor":
        return _doctor(args, out)
    raise UsageError(f"unknown command {args.command!r}")


def _policy(args: Args) -> Policy:
    from .policy import Policy, PolicyError

    try:
        if getattr(args, "policy", None):
            policy = Policy.load(args.policy)
        elif getattr(args, "isolated", False):
            policy = Policy.default()  # nothing discovered in the tree may change the verdict
        else:
            policy = Policy.discover(".")
        overrides = {k: getattr(args, k, None) for k in ("containerd", "docker", "platform")}
        overrides = {k: v for k, v in overrides.items() if v}
        return policy.with_settings(**overrides) if overrides else policy
    except PolicyError as e:
        raise UsageError(str(e)) from None
    except ValueError as e:
        raise UsageError(str(e)) from None


def _docker_runtimes(args: Args) -> dict[str, str]:
    """The runtimes ``--daemon-config`` configures, each with where it is written."""
    if getattr(args, "daemon_config", None) is None:
        return {}
    from .lint.known import ConfigError, daemon_runtimes_where

    try:
        return daemon_runtimes_where(args.daemon_config)
    except ConfigError as e:
        raise UsageError(str(e)) from None


def _handlers(args: Args, policy: Policy) -> dict[str, list[str]] | None:
    """With ``--containerd-config``: for each runtime_type, the CRI handlers of that
    config that run it (C5, for the policy's containerd version); else None."""
    if getattr(args, "containerd_config", None) is None:
        return None
    from .lint.known import ConfigError, containerd_config

    try:
        config = containerd_config(args.containerd_config)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    runs: dict[str, list[str]] = {}
    for handler in config.effective_handlers(policy.containerd).values():
        if handler.runtime_type is not None:
            runs.setdefault(handler.runtime_type, []).append(handler.name)
    return runs


def _explain(args: Args, out: TextIO) -> int:
    from .policy import explain

    policy = _policy(args)
    runtimes = _docker_runtimes(args)
    text = explain(policy, args.name, args.context, runtimes, _handlers(args, policy))
    out.write(text.rstrip("\n") + "\n")
    if args.context == "request":
        decision = policy.decide_for_docker(args.name, runtimes)
    else:
        decision = policy.decide(args.name, "config")
    return EXIT_FINDINGS if decision.action == "deny" else EXIT_OK


def _check(args: Args, stdin: TextIO, out: TextIO) -> int:
    names: list[str] = []
    for n in args.names:
        if n == "-":
            # A blank line is a gap between names, not an empty name ('' as an argument is).
            piped = [line.rstrip("\r\n") for line in stdin]
            names.extend(line for line in piped if line.strip())
            if not any(line.strip() for line in piped):
                raise UsageError("no names on stdin")
        else:
            names.append(n)
    if not names:
        raise UsageError("check needs at least one NAME (or '-' to read names from stdin)")
    policy = _policy(args)
    runtimes = _docker_runtimes(args)
    handlers = _handlers(args, policy)
    decisions = [
        # A name chosen per container is Docker's to take first (D2), as serve and lint do.
        policy.decide_for_docker(n, runtimes)
        if args.context == "request"
        else policy.decide(n, "config")
        for n in names
    ]
    failing = {"deny"} if args.fail_on == "deny" else {"deny", "warn"}
    if args.format == "json":
        results = [
            {
                "name": d.name.name,
                "kind": d.name.kind,
                "binary": d.name.binary,
                "error": d.name.error,
                "docker_permitted": d.docker_permitted,
                "docker_runtime": d.docker_runtime,
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
        if handlers is not None:
            for result, d in zip(results, decisions, strict=True):
                result["handlers"] = handlers.get(d.name.name, [])
        import json

        from .report.json import VERSION

        document = {"version": VERSION, "results": results}
        # ASCII only: the names stay exactly as given, and no control or bidirectional
        # character in one reaches the output raw.
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        for d in decisions:
            rn = d.name
            what = rn.binary if rn.kind in ("shim", "relative", "path") else (rn.error or rn.kind)
            fields = (
                d.action,
                display(rn.name),
                rn.kind,
                display(what or ""),
                f"{d.rule}: {d.reason}",
            )
            out.write("\t".join(fields) + "\n")
    return EXIT_FINDINGS if any(d.action in failing for d in decisions) else EXIT_OK


def _doctor(args: Args, out: TextIO) -> int:
    from .doctor import DoctorOptions, doctor

    if not os.path.isdir(args.root):
        raise UsageError(f"--root {args.root}: not a directory")
    _require_paths(args.paths)
    policy = _policy(args)
    options = DoctorOptions(args.root, args.containerd, args.docker, tuple(args.paths))
    try:
        result = doctor(policy, options)
    except ValueError as e:  # a version the daemon reports that is not known here
        raise UsageError(str(e)) from None
    return _report(args, result, out, {})


def _lint(args: Args, stdin: TextIO, out: TextIO) -> int:
    from .lint.engine import LintOptions, lint_bytes, lint_paths

    policy = _policy(args)
    options = LintOptions(
        exclude=tuple(args.exclude),
        file_type=args.file_type,
        inline_ignores=not args.no_inline_ignores,
        max_bytes=args.max_file_size,
        jobs=max(1, args.jobs),
        skip_unknown=args.skip_unknown,
    )
    if args.max_file_size <= 0:
        raise UsageError("--max-file-size must be a positive number of bytes")
    if args.unsafe_fixes and not (args.fix or args.diff):
        raise UsageError("--unsafe-fixes goes with --fix or --diff")
    if args.fix and args.diff:
        raise UsageError("--fix and --diff cannot be combined: --diff writes nothing")
    sources: dict[str, str] = {}
    if "-" in args.paths:
        if len(args.paths) > 1:
            raise UsageError("'-' (stdin) cannot be combined with other paths")
        name = args.stdin_filename or "-"
        if args.stdin_filename is None and args.file_type is None:
            raise UsageError("reading stdin needs --stdin-filename NAME or --type TYPE")
        data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
        if args.fix or args.diff:
            return _fix_stdin(args, data, name, policy, options, out)
        with _collector_paused():
            result = lint_bytes(data, name, policy, options)
        sources[name.replace(os.sep, "/").removeprefix("./")] = data.decode(
            "utf-8", "replace"
        ).removeprefix("\ufeff")
    else:
        _require_paths(args.paths)
        with _collector_paused():
            result = lint_paths(args.paths, policy, options)
        if args.fix or args.diff:
            return _fix_files(args, result, policy, options, out)
    return _report(args, result, out, sources)


def _fix_files(
    args: Args, result: LintResult, policy: Policy, options: LintOptions, out: TextIO
) -> int:
    """``--fix``/``--diff`` on files: each file's fixes together, proven by linting it
    again (lint/fixes.py); a fix that does not hold is an error and is never written."""
    from .lint.engine import lint_paths
    from .lint.fixes import FixRefused, applicable, fix_text
    from .lint.source import ReadProblem, read_text

    by_path: dict[str, list[Finding]] = {}
    for f in result.findings:
        if applicable(f, args.unsafe_fixes):
            by_path.setdefault(f.path, []).append(f)
    # One file met twice (through a link inside the linted paths) is fixed once.
    seen: set[str] = set()
    for path in list(by_path):
        real = os.path.realpath(path)
        if real in seen:
            del by_path[path]
        seen.add(real)
    refused, fixed_count, changed = False, 0, 0
    for path, found in by_path.items():
        try:
            text = read_text(path, options.max_bytes)
            fixed = fix_text(text, path, policy, options, args.unsafe_fixes, found)
        except (FixRefused, ReadProblem) as e:
            print(f"shimpolicy: error: {display(f'{path}: not fixed: {e}')}", file=sys.stderr)
            refused = True
            continue
        for f, why in fixed.refused:
            print(
                "shimpolicy: error: "
                + display(f"{path}:{f.line}:{f.column}: {f.rule} not fixed: {why}"),
                file=sys.stderr,
            )
            refused = True
        if fixed.text == text:
            continue
        changed += 1
        fixed_count += len(fixed.fixed)
        if args.diff:
            out.write(_unified_diff(path, text, fixed.text))
            continue
        with open(path, "w", encoding="utf-8", newline="") as file:
            file.write(fixed.text)
    if args.diff:
        files = f"{changed} file{'s' if changed != 1 else ''}"
        print(
            f"would fix {fixed_count} finding{'s' if fixed_count != 1 else ''} in {files}",
            file=sys.stderr,
        )
        return EXIT_USAGE if refused else (EXIT_FINDINGS if changed else EXIT_OK)
    with _collector_paused():  # what is left, read back from the files as written
        remaining = lint_paths(args.paths, policy, options)
    status = _report(args, remaining, out, {})
    if fixed_count:
        files = f"{changed} file{'s' if changed != 1 else ''}"
        print(
            f"fixed {fixed_count} finding{'s' if fixed_count != 1 else ''} in {files}",
            file=sys.stderr,
        )
    return EXIT_USAGE if refused else status


def _fix_stdin(
    args: Args, data: bytes, name: str, policy: Policy, options: LintOptions, out: TextIO
) -> int:
    """``--fix -``: the fixed text to stdout, what is left reported on stderr (editors
    replace the buffer with stdout); ``--diff -``: the diff."""
    from .lint.engine import lint_bytes, lint_text
    from .lint.fixes import FixRefused, fix_text

    result = lint_bytes(data, name, policy, options)
    if any(f.rule in ("SP001", "SP006") for f in result.findings):
        if args.fix:
            out.write(data.decode("utf-8", "replace"))  # unreadable: given back as it came
        return _report(args, result, sys.stderr, {})
    text = data.decode("utf-8")
    try:
        fixed = fix_text(text, name, policy, options, args.unsafe_fixes)
    except FixRefused as e:
        print(f"shimpolicy: error: {display(f'{name}: not fixed: {e}')}", file=sys.stderr)
        if args.fix:
            out.write(text)
        return EXIT_USAGE
    for f, why in fixed.refused:
        print(
            "shimpolicy: error: "
            + display(f"{name}:{f.line}:{f.column}: {f.rule} not fixed: {why}"),
            file=sys.stderr,
        )
    if fixed.refused:
        if args.fix:
            out.write(fixed.text)
        else:
            out.write(_unified_diff(name, text, fixed.text))
        return EXIT_USAGE
    if args.diff:
        out.write(_unified_diff(name, text, fixed.text))
        return EXIT_FINDINGS if fixed.text != text else EXIT_OK
    out.write(fixed.text)
    remaining = lint_text(fixed.text, name, policy, options)
    shown = {name.replace(os.sep, "/").removeprefix("./"): fixed.text.removeprefix("\ufeff")}
    return _report(args, remaining, sys.stderr, shown)


def _unified_diff(path: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        path,
        path,
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _report(args: Args, result: LintResult, out: TextIO, sources: dict[str, str]) -> int:
    """Write findings in the format asked for; the exit status for them (SPEC §5.2)."""
    from .report import WRITERS

    out.write(WRITERS[args.format](result, color=_color(args.color, out), sources=sources))
    threshold = SEVERITY_RANK[args.fail_on]
    failed = any(SEVERITY_RANK[f.severity] >= threshold for f in result.findings)
    return EXIT_FINDINGS if failed and not args.exit_zero else EXIT_OK


def _require_paths(paths: Sequence[str]) -> None:
    """Every path given exists; else each missing one is said, and it is a usage error."""
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        raise UsageError("\n".join(f"{p}: no such file or directory" for p in missing))


def _color(choice: str, out: TextIO) -> bool:
    """``--color``; for auto, the usual variables: NO_COLOR (no-color.org) turns colour
    off, FORCE_COLOR (force-color.org) or CLICOLOR_FORCE other than 0 turn it on, else a
    terminal other than TERM=dumb has it."""
    if choice != "auto":
        return choice == "always"
    env = os.environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR") or env.get("CLICOLOR_FORCE", "0") != "0":
        return True
    return out.isatty() and env.get("TERM") != "dumb"


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a lint run.  Every parsed tree lives until the
    run ends and none makes a reference cycle, so the collector would only walk them again
    and again to free nothing (a sixth of a large run: ``bench/run.py``); reference
    counting still frees whatever is dropped.  A worker forked meanwhile inherits the
    setting."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _policy_command(args: Args, out: TextIO) -> int:
    from .policy import Policy, PolicyError, render_policy

    if args.policy_command == "show":
        out.write(render_policy(_policy(args)).rstrip("\n") + "\n")
        return EXIT_OK
    if args.policy_command == "validate":
        try:
            policy = Policy.load(args.file)
        except PolicyError as e:
            raise UsageError(str(e)) from None
        builds_on_default = policy.rules and all(
            r.origin == Policy.default().source for r in policy.rules
        )
        note = (
            "; it has no rules of its own, so it builds on the default policy "
            "(write `extends: none` to start from nothing)"
            if builds_on_default
            else ""
        )
        out.write(f"{args.file}: valid{note}\n")
        return EXIT_OK
    raise UsageError("policy needs an action: show or validate")


def _rule(args: Args, out: TextIO) -> int:
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


def _graph(args: Args, out: TextIO) -> int:
    from .lint.graph import build_graph, render_dot, render_text

    _require_paths(args.paths)
    chains = build_graph(args.paths or ["."], _policy(args))
    out.write(render_dot(chains) if args.format == "dot" else render_text(chains))
    failed = any(c.broken or c.denied for c in chains)
    return EXIT_FINDINGS if failed else EXIT_OK
