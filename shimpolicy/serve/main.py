"""``shimpolicy serve``'s command line: options, start, signals."""

from __future__ import annotations

import argparse
import contextlib
import resource
import signal
import sys

from .._typing import TYPE_CHECKING
from .http import MAX_CONNECTIONS, PolicyServer
from .records import ServeError, Sources

if TYPE_CHECKING:
    from typing import NoReturn


class _Exit(Exception):
    def __init__(self, status: int, message: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse that returns its verdict instead of ending the process."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Exit(status, message)

    def error(self, message: str) -> NoReturn:
        raise _Exit(2, f"{self.format_usage()}{self.prog}: error: {message}\n")


EPILOG = """\
exit status:
  0  stopped by SIGTERM or SIGINT, after the requests in flight
  2  usage error, or a file or address that cannot be used at start

examples:
  shimpolicy serve --listen unix:///run/docker/plugins/shimpolicy.sock \\
      --daemon-config /etc/docker/daemon.json
  shimpolicy serve --listen tcp://0.0.0.0:8443 --tls-cert tls.crt --tls-key tls.key \\
      --containerd-config /etc/containerd/config.toml
"""


def _parser() -> _Parser:
    p = _Parser(
        prog="shimpolicy serve",
        description=(
            "Serve the policy as a Docker authorization plugin (/AuthZPlugin.*) and a "
            "Kubernetes validating admission webhook (/validate), with /healthz and /metrics. "
            "SIGHUP reloads the files; SIGTERM stops after the requests in flight."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--listen",
        required=True,
        metavar="URL",
        help="unix:///run/docker/plugins/shimpolicy.sock or tcp://HOST:PORT",
    )
    p.add_argument(
        "--policy", metavar="FILE", help="policy file (default: discovered, else the default)"
    )
    p.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    p.add_argument(
        "--containerd-config",
        metavar="FILE",
        help="containerd config.toml: RuntimeClass handlers are checked against its runtimes",
    )
    p.add_argument(
        "--daemon-config",
        metavar="FILE",
        help="Docker daemon.json: the runtimes it configures are allowed (D2)",
    )
    p.add_argument(
        "--max-connections",
        type=_positive,
        default=MAX_CONNECTIONS,
        metavar="N",
        help=f"client connections at once (default {MAX_CONNECTIONS}, fewer if the open-file "
        "limit is lower); one more replaces the oldest idle one, or is answered 503",
    )
    return p


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return int(text)


def _raise_open_file_limit() -> None:
    """Every connection is a file descriptor: take the hard limit, as Go programs do
    (systemd's default soft limit is 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve_main(args: list[str]) -> int:
    """``shimpolicy serve``: 0 after a clean shutdown, 2 for a usage error or bad input."""
    try:
        opts = _parser().parse_args(args)
        if (opts.tls_cert is None) != (opts.tls_key is None):
            _parser().error("--tls-cert and --tls-key go together")
    except _Exit as e:
        if e.message:
            (sys.stderr if e.status else sys.stdout).write(e.message)
        return e.status
    sources = Sources(
        opts.policy, opts.daemon_config, opts.containerd_config, opts.tls_cert, opts.tls_key
    )
    _raise_open_file_limit()
    try:
        server = PolicyServer(opts.listen, sources, max_connections=opts.max_connections)
    except ServeError as e:
        sys.stderr.write(f"shimpolicy serve: error: {e}\n")
        return 2
    return _run(server)


def _run(server: PolicyServer) -> int:
    """Serve until SIGTERM or SIGINT; SIGHUP reloads.  The three signals are blocked before
    the server's thread starts (threads inherit the mask) and taken here, in the main
    thread, with ``sigwait``: the kernel cannot hand one to the server's thread, where
    Python would note it and the main thread, asleep, never run its handler."""
    watched = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    try:
        server.start()
        while True:
            signum = signal.sigwait(watched)
            if signum == signal.SIGHUP:
                server.reload()
                continue
            server.service.log("stopping", signal=signal.Signals(signum).name)
            server.stop()
            return 0
    finally:
        # A signal that came during the stop has been answered by it.
        for signum in signal.sigpending() & watched:
            signal.sigwait({signum})
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
