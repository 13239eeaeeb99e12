"""``shimpolicy serve`` under slow and idle clients, over loopback.

Starts a server on 127.0.0.1 (an ephemeral port) in a subprocess, then holds at once:

- ``--slow`` connections that each send a request head one byte every ``--trickle``
  seconds and never finish it (a client holding the server the cheapest way there is);
  when the server closes one, it connects again at once;
- ``--idle`` connections that send nothing at all (reconnected likewise);

and meanwhile asks ``GET /healthz`` on a fresh connection every ``--probe-interval``
seconds, as a kubelet does, timing each answer (an answer slower than ``--probe-timeout``
counts as a failure).  The run ends after ``--duration`` seconds.  It reports the probes'
latency, how long the server let a slow client hold its connection, how many connections
were held at the end and the CPU the server used.

    python bench/bench_serve_slow.py                 # 120 slow, 600 idle, 20 s
    python bench/bench_serve_slow.py --server-nofile 1024 --idle 1100
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import selectors
import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import HOST, _percentile, _start_server

HEAD = b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: " + b"a" * 100_000


class _Held:
    """The slow and idle connections, kept open (and reopened) from one thread."""

    def __init__(self, port: int, slow: int, idle: int, trickle: float) -> None:
        self.port = port
        self.trickle = trickle
        self.selector = selectors.DefaultSelector()
        self.opened: dict[socket.socket, tuple[str, float, int]] = {}  # kind, since, sent
        self.slow_lifetimes: list[float] = []
        self.closed = {"slow": 0, "idle": 0}
        self.connect_errors = 0
        for _ in range(slow):
            self._open("slow")
        for _ in range(idle):
            self._open("idle")

    def _open(self, kind: str) -> None:
        try:
            sock = socket.create_connection((HOST, self.port), timeout=5)
        except OSError:
            self.connect_errors += 1
            return
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ)
        self.opened[sock] = (kind, time.monotonic(), 0)

    def held(self, kind: str) -> int:
        return sum(1 for k, _, _ in self.opened.values() if k == kind)

    def run(self, until: float) -> None:
        next_trickle = time.monotonic()
        while time.monotonic() < until:
            timeout = max(0.0, min(next_trickle, until) - time.monotonic())
            for key, _ in self.selector.select(timeout):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:  # closed by the server (an answer would be data)
                    self._close(sock)
            if time.monotonic() >= next_trickle:
                for sock, (kind, since, sent) in list(self.opened.items()):
                    if kind != "slow":
                        continue
                    try:
                        sock.send(HEAD[sent : sent + 1])
                        self.opened[sock] = (kind, since, sent + 1)
                    except OSError:
                        self._close(sock)
                next_trickle += self.trickle

    def _close(self, sock: socket.socket) -> None:
        kind, since, _ = self.opened.pop(sock)
        self.selector.unregister(sock)
        sock.close()
        self.closed[kind] += 1
        if kind == "slow":
            self.slow_lifetimes.append(time.monotonic() - since)
        self._open(kind)

    def close_all(self) -> None:
        for sock in self.opened:
            sock.close()
        self.selector.close()


def _hold(
    port: int,
    slow: int,
    idle: int,
    trickle: float,
    duration: float,
    ready: Any,
    results: Any,
) -> None:
    """The holding process: open the connections, say so, hold them, report."""
    held = _Held(port, slow, idle, trickle)
    ready.set()
    held.run(time.monotonic() + duration)
    results.put(
        {
            "slow_lifetimes": held.slow_lifetimes,
            "closed": held.closed,
            "held": {"slow": held.held("slow"), "idle": held.held("idle")},
            "connect_errors": held.connect_errors,
        }
    )
    held.close_all()


def _probe(port: int, timeout: float) -> float | None:
    """One /healthz on a new connection: seconds to the whole answer, None on failure."""
    start = time.perf_counter()
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    except OSError:
        return None
    elapsed = time.perf_counter() - start
    ok = answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\nok\n")
    return elapsed if ok and elapsed <= timeout else None


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=120, help="slow clients (120)")
    parser.add_argument("--idle", type=int, default=600, help="idle connections (600)")
    parser.add_argument("--trickle", type=float, default=2.0, help="seconds per byte (2)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds (20)")
    parser.add_argument("--probe-interval", type=float, default=0.05, help="seconds (0.05)")
    parser.add_argument("--probe-timeout", type=float, default=5.0, help="seconds (5)")
    parser.add_argument(
        "--server-nofile",
        type=int,
        help="the server's open-file limit, soft and hard (default: inherited)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    opts = parser.parse_args()

    # Room for every connection on both ends in this process and the server.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * (opts.slow + opts.idle) + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    proc, port = _start_server(opts.server_nofile)
    try:
        # The connections are held from another process: the probes never wait for it.
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        ready = context.Event()
        holder = context.Process(
            target=_hold,
            args=(port, opts.slow, opts.idle, opts.trickle, opts.duration, ready, results),
        )
        holder.start()
        ready.wait()
        cpu_before = _cpu_seconds(proc.pid)
        start = time.monotonic()
        until = start + opts.duration
        latencies: list[float] = []
        failures = 0
        while time.monotonic() < until:
            due = time.monotonic() + opts.probe_interval
            result = _probe(port, opts.probe_timeout)
            if result is None:
                failures += 1
            else:
                latencies.append(result)
            time.sleep(max(0.0, due - time.monotonic()))
        elapsed = time.monotonic() - start
        cpu = _cpu_seconds(proc.pid) - cpu_before
        held = results.get(timeout=60)
        holder.join()
    finally:
        proc.terminate()
        proc.wait(timeout=15)

    latencies.sort()
    lifetimes = sorted(held["slow_lifetimes"])
    result = {
        "slow_clients": opts.slow,
        "idle_connections": opts.idle,
        "server_nofile": opts.server_nofile,
        "seconds": round(elapsed, 1),
        "probes": len(latencies) + failures,
        "probe_failures": failures,
        "healthz_p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "healthz_p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "healthz_max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "slow_closed_by_server": held["closed"]["slow"],
        "slow_held_longest_s": round(lifetimes[-1], 1) if lifetimes else None,
        "idle_closed_by_server": held["closed"]["idle"],
        "held_at_end": held["held"],
        "connect_errors": held["connect_errors"],
        "server_cpu_percent": round(100 * cpu / elapsed, 1),
    }
    if opts.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
