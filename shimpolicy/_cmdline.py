"""The command line's grammar (SPEC §5.2).

argparse builds the parsers, help and error messages.  The options of ``lint`` are also
written as a table, which argparse reads and so does ``quick_lint_args``: the invocation a
pre-commit hook or a CI job makes (``lint [OPTION VALUE]... [PATH]...``, each option
spelled in full) is read without importing argparse, which is a noticeable part of the
start-up of a one-file run.  Anything else, help and every error included, goes to
argparse, so both readers always agree (tests/test_cmdline.py checks it).
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from ._typing import TYPE_CHECKING, NamedTuple
from .grammar.versions import CONTAINERD_KNOWN, DEFAULT_CONTAINERD, DEFAULT_DOCKER, DOCKER_KNOWN
from .lint.finding import SEVERITIES
from .lint.source import DEFAULT_MAX_BYTES

if TYPE_CHECKING:
    import argparse
    from typing import Any

COMMANDS = ("check", "explain", "lint", "policy", "rule", "graph", "doctor", "serve")
FILE_TYPES = (
    "daemon.json",
    "compose",
    "containerd",
    "kubernetes",
    "shell",
    "systemd",
    "workflow",
)


class Option(NamedTuple):
    """One option: ``kind`` is "value" (a string), "int", "append" (repeatable) or "flag"."""

    flags: tuple[str, ...]
    dest: str
    kind: str = "value"
    choices: tuple[str, ...] | None = None
    default: Any = None
    metavar: str | None = None
    help: str | None = None


# --policy, --containerd, --docker and --platform: for every command that decides names.
VERSION_OPTIONS = (
    Option(
        ("--policy",),
        "policy",
        metavar="FILE",
        help="policy file (default: discovered, else the embedded default)",
    ),
    Option(
        ("--containerd",),
        "containerd",
        metavar="V",
        help=f"containerd release or series to reproduce (known: {CONTAINERD_KNOWN}; a "
        f"series such as 1.7 is its newest release; default {DEFAULT_CONTAINERD})",
    ),
    Option(
        ("--docker",),
        "docker",
        metavar="V",
        help=f"Docker version to reproduce ({DOCKER_KNOWN}; default {DEFAULT_DOCKER})",
    ),
    Option(("--platform",), "platform", choices=("linux", "windows")),
)

LINT_OPTIONS = (
    *VERSION_OPTIONS,
    Option(("--format",), "format", choices=("text", "json", "sarif", "github"), default="text"),
    Option(("--fail-on",), "fail_on", choices=SEVERITIES, default="error"),
    Option(("--exclude",), "exclude", "append", default=(), metavar="GLOB"),
    Option(("--type",), "file_type", choices=FILE_TYPES),
    Option(("--stdin-filename",), "stdin_filename", metavar="NAME"),
    Option(
        ("--no-inline-ignores",),
        "no_inline_ignores",
        "flag",
        default=False,
        help="ignore `# shimpolicy: ignore[...]` comments",
    ),
    Option(("--color",), "color", choices=("auto", "always", "never"), default="auto"),
    Option(
        ("-j", "--jobs"),
        "jobs",
        "int",
        default=None,  # the number of cores, read when the command runs
        metavar="N",
        help="worker processes for large trees (default: the number of cores)",
    ),
    Option(
        ("--max-file-size",),
        "max_file_size",
        "int",
        default=DEFAULT_MAX_BYTES,
        metavar="BYTES",
        help=f"larger files are reported, not read (default {DEFAULT_MAX_BYTES})",
    ),
)


def _default(option: Option) -> Any:
    if option.kind == "append":
        return list(option.default)
    if option.dest == "jobs":
        return os.cpu_count() or 1
    return option.default


def quick_lint_args(argv: list[str]) -> SimpleNamespace | None:
    """``argv`` read as argparse would read it, when it is ``lint`` with options spelled in
    full (``--format json`` or ``--format=json``, ``-j 4``) before the paths; None for
    anything else, which argparse then reads (and reports, if it is wrong)."""
    if argv[:1] != ["lint"]:
        return None
    options = {flag: option for option in LINT_OPTIONS for flag in option.flags}
    values = {option.dest: _default(option) for option in LINT_OPTIONS}
    i = 1
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        flag, eq, value = argv[i].partition("=")
        option = options.get(flag) if not eq or flag.startswith("--") else None
        if option is None:
            return None  # an abbreviation, a short option with its value attached, --, -h …
        i += 1
        if option.kind == "flag":
            if eq:
                return None
            values[option.dest] = True
            continue
        if not eq:
            if i == len(argv):
                return None
            value = argv[i]
            i += 1
        if value.startswith("-"):
            return None  # argparse decides what a value starting with '-' means
        if option.choices is not None and value not in option.choices:
            return None
        if option.kind == "int":
            try:
                values[option.dest] = int(value)  # what argparse's type=int does
            except ValueError:
                return None
        elif option.kind == "append":
            values[option.dest].append(value)
        else:
            values[option.dest] = value
    paths = argv[i:]
    if any(p.startswith("-") and p != "-" for p in paths):
        return None
    return SimpleNamespace(command="lint", **values, paths=paths)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that command's (building all of them is
    a noticeable part of a one-file run's start-up)."""
    import argparse

    class Formatter(argparse.HelpFormatter):
        """argparse's formatter, sized without importing shutil (and the compression
        modules it pulls in) on every start."""

        def __init__(self, prog: str) -> None:
            try:
                columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
            except (ValueError, OSError):
                columns = 80
            super().__init__(prog, width=max(columns - 2, 11))

    class Parser(argparse.ArgumentParser):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("formatter_class", Formatter)
            super().__init__(**kwargs)

    def add(sp: argparse.ArgumentParser, options: tuple[Option, ...]) -> None:
        for o in options:
            kwargs: dict[str, Any] = {"dest": o.dest, "help": o.help}
            if o.kind == "flag":
                kwargs["action"] = "store_true"
            else:
                kwargs.update(choices=o.choices, default=_default(o), metavar=o.metavar)
                if o.kind == "append":
                    kwargs["action"] = "append"
                elif o.kind == "int":
                    kwargs["type"] = int
            sp.add_argument(*o.flags, **kwargs)

    def context(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--context",
            choices=("request", "config"),
            default="request",
            help="who chose the name: an API user per container (request) "
            "or the host administrator (config)",
        )

    from . import __version__

    p = Parser(
        prog="shimpolicy",
        description="Validate container runtime names and the configuration files that carry them.",
    )
    p.add_argument("--version", action="version", version=f"shimpolicy {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    if only in (None, "check"):
        c = sub.add_parser(
            "check",
            help="decide runtime names",
            description="Decide runtime names given as arguments, "
            "or one per line on stdin with '-'.",
        )
        add(c, VERSION_OPTIONS)
        context(c)
        c.add_argument("--format", choices=("text", "json"), default="text")
        c.add_argument("--fail-on", choices=("deny", "warn"), default="deny")
        c.add_argument("names", nargs="*", metavar="NAME")

    if only in (None, "explain"):
        e = sub.add_parser("explain", help="explain what containerd and Docker do with a name")
        add(e, VERSION_OPTIONS)
        context(e)
        e.add_argument("name", metavar="NAME")

    if only in (None, "lint"):
        lp = sub.add_parser(
            "lint",
            help="lint configuration files",
            description="Lint Docker, Compose, containerd, Kubernetes and shell files. "
            "Directories are walked; '-' reads stdin.",
        )
        add(lp, LINT_OPTIONS)
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

    if only in (None, "doctor"):
        d = sub.add_parser(
            "doctor",
            help="check that the binaries of every configured runtime are there and safe",
            description="Read this node's containerd and Docker configuration and check "
            "that every runtime's binaries exist where the daemons look, are executable, and "
            "that only root can replace them.  Kubernetes manifests given as PATHs tell "
            "which containerd handlers RuntimeClasses use.",
        )
        d.add_argument(
            "--root",
            metavar="DIR",
            default="/",
            help="take DIR as the node's / (an image, a mounted disk); nothing under it is run",
        )
        add(d, VERSION_OPTIONS[:3])
        add(d, tuple(o for o in LINT_OPTIONS if o.dest in ("format", "fail_on", "color")))
        d.add_argument("paths", nargs="*", metavar="PATH")

    if only in (None, "serve"):
        sub.add_parser(
            "serve",
            help="run as a Docker authorization plugin and Kubernetes admission webhook",
            add_help=False,
        )
    return p
