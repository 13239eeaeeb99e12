"""The command line's grammar (SPEC §5.2): one argparse parser for every command,
``serve`` included.  Options shared by several commands are written once, as tables of
:class:`Option` records that ``build_parser`` hands to argparse."""

from __future__ import annotations

import os

from ._typing import TYPE_CHECKING, NamedTuple
from .grammar.versions import CONTAINERD_KNOWN, DEFAULT_CONTAINERD, DEFAULT_DOCKER, DOCKER_KNOWN
from .lint.finding import SEVERITIES
from .lint.source import DEFAULT_MAX_BYTES

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
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
    "cloud-init",
)


class Option(NamedTuple):
    """One option: ``kind`` is "value" (a string), "int", "count" (an int of at least 1),
    "positive" (the same, as ``serve`` words its errors), "append" (repeatable) or
    "flag"."""

    flags: tuple[str, ...]
    dest: str
    kind: str = "value"
    choices: tuple[str, ...] | None = None
    default: Any = None
    metavar: str | None = None
    help: str | None = None
    required: bool = False


# --policy, --containerd, --docker and --platform: for every command that decides names.
# As ruff's --isolated: nothing the tree being checked contains can change the verdict.
ISOLATED_HELP = (
    "ignore every discovered policy (.shimpolicy.yaml, pyproject.toml): use --policy FILE, "
    "else the embedded default"
)

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
    Option(
        ("--platform",),
        "platform",
        choices=("linux", "windows"),
        help="platform whose rules apply (default: the policy's, else linux)",
    ),
    Option(("--isolated",), "isolated", "flag", default=False, help=ISOLATED_HELP),
)

# The host's own configuration, read as the linter reads it (lint/known.py), for the
# commands that decide single names; serve takes the same two.
CONFIG_OPTIONS = (
    Option(
        ("--daemon-config",),
        "daemon_config",
        metavar="FILE",
        help="Docker daemon.json: the runtimes it configures are allowed per container (D2)",
    ),
    Option(
        ("--containerd-config",),
        "containerd_config",
        metavar="FILE",
        help="containerd config.toml: name the CRI handlers that run each name (C5)",
    ),
)


def serve_options() -> tuple[Option, ...]:
    """``serve``'s options (its connection cap's default is the server's own)."""
    from .serve.http import MAX_CONNECTIONS

    daemon_config, containerd_config = CONFIG_OPTIONS
    return (
        Option(
            ("--listen",),
            "listen",
            metavar="URL",
            help="unix:///run/docker/plugins/shimpolicy.sock or tcp://HOST:PORT",
            required=True,
        ),
        VERSION_OPTIONS[0]._replace(help="policy file (default: discovered, else the default)"),
        Option(
            ("--tls-cert",),
            "tls_cert",
            metavar="FILE",
            help="serve HTTPS with this certificate (PEM)",
        ),
        Option(
            ("--tls-key",), "tls_key", metavar="FILE", help="the certificate's private key (PEM)"
        ),
        containerd_config._replace(
            help="containerd config.toml: RuntimeClass handlers are checked against its runtimes"
        ),
        daemon_config._replace(
            help="Docker daemon.json: the runtimes it configures are allowed (D2)"
        ),
        Option(
            ("--max-connections",),
            "max_connections",
            "positive",
            default=MAX_CONNECTIONS,
            metavar="N",
            help=f"client connections at once (default {MAX_CONNECTIONS}, fewer if the open-file "
            "limit is lower); one more replaces the oldest idle one, or is answered 503",
        ),
    )


LINT_OPTIONS = (
    *VERSION_OPTIONS,
    Option(
        ("--format",),
        "format",
        choices=("text", "json", "sarif", "github"),
        default="text",
        help="text (default), json, sarif (SARIF 2.1.0 for code scanning) "
        "or github (workflow annotations)",
    ),
    Option(
        ("--fail-on",),
        "fail_on",
        choices=SEVERITIES,
        default="error",
        help="lowest severity that makes the exit status 1 (default: error)",
    ),
    Option(
        ("--exit-zero",),
        "exit_zero",
        "flag",
        default=False,
        help="report findings but exit 0 (usage errors still exit 2)",
    ),
    Option(
        ("--fix",),
        "fix",
        "flag",
        default=False,
        help="apply safe fixes in place (stdin: write the fixed text to stdout); each "
        "file is linted again and written only when the fixes hold",
    ),
    Option(
        ("--unsafe-fixes",),
        "unsafe_fixes",
        "flag",
        default=False,
        help="with --fix or --diff: also the fixes that change what the daemon does",
    ),
    Option(
        ("--diff",),
        "diff",
        "flag",
        default=False,
        help="print the unified diff of what --fix would change and write nothing "
        "(exit 1 when there is something to fix)",
    ),
    Option(
        ("--exclude",),
        "exclude",
        "append",
        default=(),
        metavar="GLOB",
        help="skip paths matching GLOB (repeatable; added to the policy's exclude:)",
    ),
    Option(
        ("--type",),
        "file_type",
        choices=FILE_TYPES,
        help="read every file as this type instead of telling it by name and content",
    ),
    Option(
        ("--skip-unknown",),
        "skip_unknown",
        "flag",
        default=False,
        help="pass over named files whose type cannot be told, as a directory walk does "
        "(for hooks that select files by name; otherwise such a file is an error, SP006)",
    ),
    Option(
        ("--stdin-filename",),
        "stdin_filename",
        metavar="NAME",
        help="with '-': the name stdin is reported under, which also tells its type",
    ),
    Option(
        ("--no-inline-ignores",),
        "no_inline_ignores",
        "flag",
        default=False,
        help="ignore `# shimpolicy: ignore[...]` comments",
    ),
    Option(
        ("--color",),
        "color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text format (default auto: on a terminal, unless NO_COLOR or "
        "TERM=dumb; FORCE_COLOR or CLICOLOR_FORCE turn it on)",
    ),
    Option(
        ("-j", "--jobs"),
        "jobs",
        "count",
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


_EXIT_STATUS = """exit status:
  0  {ok}
  1  {findings}
  2  usage error, missing path, unreadable or invalid policy, internal error
"""


def _epilog(ok: str, findings: str, *examples: str) -> str:
    text = _EXIT_STATUS.format(ok=ok, findings=findings)
    return text + "\nexamples:\n" + "".join(f"  {e}\n" for e in examples)


EPILOGS = {
    None: _epilog(
        "nothing at or above the failure threshold",
        "findings at or above --fail-on, or a denied name",
        "shimpolicy check io.containerd.kata.v2 /usr/local/bin/evil",
        "shimpolicy lint .",
        "shimpolicy COMMAND --help",
    ),
    "check": _epilog(
        "no name denied (with --fail-on warn: none warned)",
        "a name denied (with --fail-on warn: or warned)",
        "shimpolicy check io.containerd.kata.v2 com.example.runc.v2",
        "shimpolicy check --context config --format json /opt/kata/bin/containerd-shim-kata-v2",
        "cut -f1 names.txt | shimpolicy check -",
    ),
    "explain": _epilog(
        "the name is allowed or warned about",
        "the name is denied",
        "shimpolicy explain io.containerd.kata.v2",
        "shimpolicy explain --context config --containerd 1.6 /opt/bin/containerd-shim-x-v2",
    ),
    "lint": _epilog(
        "nothing at or above --fail-on (always, with --exit-zero)",
        "findings at or above --fail-on",
        "shimpolicy lint",
        "shimpolicy lint --format sarif --fail-on warning deploy/ > shimpolicy.sarif",
        "shimpolicy lint --diff .",
        "shimpolicy lint --fix .",
        "cat daemon.json | shimpolicy lint --stdin-filename daemon.json -",
    ),
    "policy": _epilog(
        "the policy is valid",
        "(not used)",
        "shimpolicy policy show",
        "shimpolicy policy validate .shimpolicy.yaml",
    ),
    "rule": _epilog(
        "the rule was found (or all were listed)",
        "(not used)",
        "shimpolicy rule",
        "shimpolicy rule sp104",
    ),
    "doctor": _epilog(
        "nothing at or above --fail-on (always, with --exit-zero)",
        "findings at or above --fail-on",
        "shimpolicy doctor",
        "shimpolicy doctor --root /mnt/node-image --format json k8s/",
    ),
    "serve": """\
exit status:
  0  stopped by SIGTERM or SIGINT, after the requests in flight
  2  usage error, or a file or address that cannot be used at start

examples:
  shimpolicy serve --listen unix:///run/docker/plugins/shimpolicy.sock \\
      --daemon-config /etc/docker/daemon.json
  shimpolicy serve --listen tcp://0.0.0.0:8443 --tls-cert tls.crt --tls-key tls.key \\
      --containerd-config /etc/containerd/config.toml
""",
    "graph": _epilog(
        "every chain leads to a binary the policy allows or warns about",
        "a chain is broken (a link is missing) or ends in a denied binary",
        "shimpolicy graph examples/good/cluster",
        "shimpolicy graph --format dot k8s/ node/ | dot -Tsvg > runtimes.svg",
    ),
}


def count(value: str) -> int:
    """A number of things (``-j``): a whole number, at least 1."""
    import argparse

    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return n


def _tls_pair(options: argparse.Namespace) -> str | None:
    if (options.tls_cert is None) != (options.tls_key is None):
        return "--tls-cert and --tls-key go together"
    return None


def positive(text: str) -> int:
    """``serve --max-connections``: digits only, at least 1."""
    import argparse

    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return int(text)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that command's (a one-file lint builds
    only lint's: its cold start is ``bench/run.py``'s first row)."""
    import argparse

    class Formatter(argparse.HelpFormatter):
        """argparse's formatter, sized without importing shutil (and the compression
        modules it pulls in) on every start; an epilog keeps its own lines."""

        def __init__(self, prog: str) -> None:
            try:
                columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
            except (ValueError, OSError):
                columns = 80
            super().__init__(prog, width=max(columns - 2, 11))

        def _fill_text(self, text: str, width: int, indent: str) -> str:
            if "\n" in text:
                return "".join(indent + line for line in text.splitlines(keepends=True))
            return super()._fill_text(text, width, indent)

    class Parser(argparse.ArgumentParser):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("formatter_class", Formatter)
            super().__init__(**kwargs)

    class CommandParser(Parser):
        """A command's parser: an argument it does not know is reported with its own
        usage (``lint --frobnicate``), not left for the top-level parser to report, and so
        is what ``check`` finds wrong with the options together."""

        def __init__(
            self, check: Callable[[argparse.Namespace], str | None] | None = None, **kwargs: Any
        ) -> None:
            super().__init__(**kwargs)
            self.check = check

        def parse_known_args(  # type: ignore[override]
            self, args: Sequence[str] | None = None, namespace: Any = None
        ) -> tuple[Any, list[str]]:
            known, unknown = super().parse_known_args(args, namespace)
            if unknown:
                self.error(f"unrecognized arguments: {' '.join(unknown)}")
            problem = self.check(known) if self.check is not None else None
            if problem is not None:
                self.error(problem)
            return known, unknown

    def add(sp: argparse.ArgumentParser, options: tuple[Option, ...]) -> None:
        for o in options:
            kwargs: dict[str, Any] = {"dest": o.dest, "help": o.help}
            if o.required:
                kwargs["required"] = True
            if o.kind == "flag":
                kwargs["action"] = "store_true"
            else:
                kwargs.update(choices=o.choices, default=_default(o), metavar=o.metavar)
                if o.kind == "append":
                    kwargs["action"] = "append"
                elif o.kind == "int":
                    kwargs["type"] = int
                elif o.kind == "count":
                    kwargs["type"] = count
                elif o.kind == "positive":
                    kwargs["type"] = positive
            sp.add_argument(*o.flags, **kwargs)

    def context(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--context",
            choices=("request", "config"),
            default="request",
            help="who chose the name: an API user per container (request) "
            "or the host administrator (config)",
        )

    def policy_option(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--policy", metavar="FILE", help=VERSION_OPTIONS[0].help)
        sp.add_argument("--isolated", action="store_true", help=ISOLATED_HELP)

    from . import __version__

    p = Parser(
        prog="shimpolicy",
        description="Validate container runtime names and the configuration files that carry them.",
        epilog=EPILOGS[None],
    )
    p.add_argument("--version", action="version", version=f"shimpolicy {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)

    if only in (None, "check"):
        c = sub.add_parser(
            "check",
            help="decide runtime names",
            description="Decide runtime names given as arguments, "
            "or one per line on stdin with '-' (blank lines are skipped).",
            epilog=EPILOGS["check"],
        )
        add(c, VERSION_OPTIONS)
        add(c, CONFIG_OPTIONS)
        context(c)
        c.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help='text: one tab-separated line per name (default); json: {"results": [...]}',
        )
        c.add_argument(
            "--fail-on",
            choices=("deny", "warn"),
            default="deny",
            help="lowest decision that makes the exit status 1 (default: deny)",
        )
        c.add_argument(
            "names", nargs="*", metavar="NAME", help="runtime name; '-' reads names from stdin"
        )

    if only in (None, "explain"):
        e = sub.add_parser(
            "explain",
            help="explain what containerd and Docker do with a name",
            description="Tell what containerd would run for a name, what Docker would do "
            "with it, and which policy rule decides and why.",
            epilog=EPILOGS["explain"],
        )
        add(e, VERSION_OPTIONS)
        add(e, CONFIG_OPTIONS)
        context(e)
        e.add_argument("name", metavar="NAME", help="the runtime name")

    if only in (None, "lint"):
        lp = sub.add_parser(
            "lint",
            help="lint configuration files",
            description="Lint Docker, Compose, containerd, Kubernetes and shell files. "
            "Directories are walked; '-' reads stdin.",
            epilog=EPILOGS["lint"],
        )
        add(lp, LINT_OPTIONS)
        lp.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help="file or directory (default: the current directory); '-' reads stdin",
        )

    if only in (None, "policy"):
        pol = sub.add_parser(
            "policy",
            help="show or validate policies",
            description="Show the effective policy or validate a policy file.",
            epilog=EPILOGS["policy"],
        )
        psub = pol.add_subparsers(
            dest="policy_command", metavar="ACTION", parser_class=CommandParser
        )
        show = psub.add_parser(
            "show",
            help="print the effective policy, each rule with its origin",
            description="Print the effective policy, each rule with its origin.",
            epilog=EPILOGS["policy"],
        )
        policy_option(show)
        val = psub.add_parser(
            "validate",
            help="validate a policy file",
            description="Validate a policy file against the policy schema.",
            epilog=EPILOGS["policy"],
        )
        val.add_argument("file", metavar="FILE", help="the policy file")

    if only in (None, "rule"):
        r = sub.add_parser(
            "rule",
            help="print a rule's documentation",
            description="List every rule, or print one rule's documentation with examples.",
            epilog=EPILOGS["rule"],
        )
        r.add_argument(
            "rule",
            nargs="?",
            metavar="ID",
            help="rule id (any case) or name; omit to list all rules",
        )

    if only in (None, "graph"):
        g = sub.add_parser(
            "graph",
            help="show which binary each workload will run",
            description="Follow each workload's runtimeClassName to its RuntimeClass, "
            "containerd handler, runtime_type, shim binary and the policy's decision.",
            epilog=EPILOGS["graph"],
        )
        policy_option(g)
        g.add_argument(
            "--format",
            choices=("text", "dot"),
            default="text",
            help="text (default) or dot (Graphviz)",
        )
        g.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help="file or directory (default: the current directory)",
        )

    if only in (None, "doctor"):
        d = sub.add_parser(
            "doctor",
            help="check that the binaries of every configured runtime are there and safe",
            description="Read this node's containerd and Docker configuration and check "
            "that every runtime's binaries exist where the daemons look, are executable, and "
            "that only root can replace them.  Kubernetes manifests given as PATHs tell "
            "which containerd handlers RuntimeClasses use.",
            epilog=EPILOGS["doctor"],
        )
        d.add_argument(
            "--root",
            metavar="DIR",
            default="/",
            help="take DIR as the node's / (an image, a mounted disk); nothing under it is run",
        )
        add(d, VERSION_OPTIONS[:3])
        doctor_options = ("format", "fail_on", "exit_zero", "color")
        add(d, tuple(o for o in LINT_OPTIONS if o.dest in doctor_options))
        d.add_argument(
            "paths", nargs="*", metavar="PATH", help="Kubernetes manifest or directory of them"
        )

    if only in (None, "serve"):
        sv = sub.add_parser(
            "serve",
            help="run as a Docker authorization plugin and Kubernetes admission webhook",
            description="Serve the policy as a Docker authorization plugin (/AuthZPlugin.*) "
            "and a Kubernetes validating admission webhook (/validate), with /healthz and "
            "/metrics. SIGHUP reloads the files; SIGTERM stops after the requests in flight.",
            epilog=EPILOGS["serve"],
            check=_tls_pair,
        )
        add(sv, serve_options())
    return p
