"""``shimpolicy serve``'s command line: options, start, signals."""

from __future__ import annotations

import contextlib
import resource
import signal
import sys

from .._typing import TYPE_CHECKING
from .http import PolicyServer
from .records import ServeError, Sources

if TYPE_CHECKING:
    from argparse import Namespace


def _raise_open_file_limit() -> None:
    """Every connection is a file descriptor: take the hard limit, as Go programs do
    (systemd's default soft limit is 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve_main(opts: Namespace) -> int:
    """``shimpolicy serve`` with its options read (shimpolicy/_cmdline.py): 0 after a clean
    shutdown, 2 for an input that cannot be used at start."""
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
