"""Load benchmark for ``shimpolicy serve`` over loopback.

Starts a server on 127.0.0.1 (an ephemeral port) in a subprocess and drives it from a pool
of client processes, each holding several keep-alive connections, with a mix of Docker
authorization and Kubernetes admission requests.  Each connection sends at a fixed pace
(``--rate`` requests/s in total; 0 sends as fast as answers come back) and latency is
measured from when a request was due, so a stalled server is not hidden by the clients
waiting for it.  The run ends after ``--requests`` requests or ``--duration`` seconds.

    python bench/bench_serve.py                  # 64 connections, 1,000 req/s, 20 s at most
    python bench/bench_serve.py --rate 0         # the most the server answers
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

HOST = "127.0.0.1"


def _authz(runtime: str | None, uri: str = "/v1.47/containers/create") -> bytes:
    body = {"Image": "alpine", "HostConfig": {} if runtime is None else {"Runtime": runtime}}
    envelope = {
        "User": "bench",
        "RequestMethod": "POST",
        "RequestUri": uri,
        "RequestBody": base64.b64encode(json.dumps(body).encode()).decode(),
        "RequestHeaders": {"Content-Type": "application/json"},
    }
    return json.dumps(envelope).encode()


def _review(kind: dict[str, str], obj: dict[str, object]) -> bytes:
    request = {"uid": "7f0b2a4e", "kind": kind, "operation": "CREATE", "object": obj}
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    return json.dumps(review).encode()


_POD = {"group": "", "version": "v1", "kind": "Pod"}
_RUNTIME_CLASS = {"group": "node.k8s.io", "version": "v1", "kind": "RuntimeClass"}

# (path, body, what the answer must contain): the mix each connection cycles through.
MIX: list[tuple[str, bytes, bytes]] = [
    ("/AuthZPlugin.AuthZReq", _authz("io.containerd.kata.v2"), b'"Allow":true'),
    ("/AuthZPlugin.AuthZReq", _authz("/tmp/containerd-shim-x-v2"), b'"Allow":false'),
    ("/AuthZPlugin.AuthZReq", _authz(None), b'"Allow":true'),
    ("/AuthZPlugin.AuthZReq", _authz("runc"), b'"Allow":true'),
    ("/AuthZPlugin.AuthZReq", _authz(None, "/v1.47/containers/json?all=1"), b'"Allow":true'),
    ("/AuthZPlugin.AuthZRes", _authz(None, "/v1.47/containers/json"), b'"Allow":true'),
    (
        "/validate",
        _review(_POD, {"metadata": {"name": "p"}, "spec": {"runtimeClassName": "kata"}}),
        b'"allowed":true',
    ),
    (
        "/validate",
        _review(_RUNTIME_CLASS, {"metadata": {"name": "kata"}, "handler": "io.kata.v2"}),
        b'"allowed":false',
    ),
]


def _wire(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Connection:
    """A keep-alive HTTP/1.1 connection that reads just enough to find each answer's end."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(v)
            for k, _, v in (x.partition(b":") for x in lines[1:])
            if k.strip().lower() == b"content-length"
        )
        while len(rest) < length:
            self.buffer = rest
            self._fill()
            rest = self.buffer
        self.buffer = rest[length:]
        return status, rest[:length]

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk


@dataclass(frozen=True)
class _Job:
    port: int
    connections: int
    requests: int  # for this process
    interval: float  # seconds between one connection's requests; 0 = unpaced
    start: float  # time.time() at which every connection begins (after the pool starts)
    deadline: float  # time.time() after which no request is started
    offset: int  # spreads the mix across connections


def _connection(job: _Job, index: int, quota: int, out: list[float], failures: list[str]) -> None:
    try:
        conn = _Connection(job.port)
    except OSError as e:
        failures.append(f"connect: {e}")
        return
    wires = [(_wire(p, b), expect) for p, b, expect in MIX]
    time.sleep(max(0.0, job.start - time.time()))
    due = time.perf_counter() + (job.interval * index / max(job.connections, 1))
    for i in range(quota):
        if time.time() >= job.deadline:
            break
        if job.interval:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        start = due if job.interval else time.perf_counter()
        request, expect = wires[(job.offset + index + i) % len(wires)]
        try:
            status, body = conn.exchange(request)
        except OSError as e:
            failures.append(f"exchange: {e}")
            return
        out.append(time.perf_counter() - start)
        if status != 200 or expect not in body:
            failures.append(f"{status} {body[:200]!r}")
        due += job.interval


def _client_process(job: _Job) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    failures: list[str] = []
    per = [
        job.requests // job.connections + (i < job.requests % job.connections)
        for i in range(job.connections)
    ]
    threads = [
        threading.Thread(target=_connection, args=(job, i, per[i], latencies, failures))
        for i in range(job.connections)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures, time.time()


def _start_server(nofile: int | None = None) -> tuple[subprocess.Popen[str], int]:
    """A server on an ephemeral port; ``nofile``: its open-file limit, soft and hard (a
    server can raise its soft limit up to the hard one, not beyond)."""
    code = "import sys; from shimpolicy.cli import main; sys.exit(main(['serve', *sys.argv[1:]]))"

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--listen", f"tcp://{HOST}:0"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tempfile.gettempdir(),  # no policy file there: the default policy
        preexec_fn=limit,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    event = json.loads(line)
    if event.get("event") != "listening":
        raise SystemExit(f"the server did not start: {line}")
    # Keep draining the server's log so it never blocks on a full pipe.
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc, int(event["address"].rsplit(":", 1)[1])


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, math.ceil(p * len(sorted_values)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64, help="keep-alive connections (64)")
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="requests/s in total; 0: unpaced"
    )
    parser.add_argument("--requests", type=int, default=20_000, help="requests at most (20000)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds at most (20)")
    parser.add_argument("--processes", type=int, default=4, help="client processes (4)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    opts = parser.parse_args()

    proc, port = _start_server()
    processes = max(1, min(opts.processes, opts.clients))
    interval = opts.clients / opts.rate if opts.rate > 0 else 0.0
    start = time.time() + 2.0  # time for the client processes to start
    deadline = start + opts.duration
    jobs = [
        _Job(
            port,
            opts.clients // processes + (i < opts.clients % processes),
            opts.requests // processes + (i < opts.requests % processes),
            interval,
            start,
            deadline,
            i * 3,
        )
        for i in range(processes)
    ]
    try:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            results = pool.map(_client_process, jobs)
    finally:
        proc.terminate()
        proc.wait(timeout=15)

    elapsed = max(end for _, _, end in results) - start
    latencies = sorted(x for lat, _, _ in results for x in lat)
    failures = [f for _, fs, _ in results for f in fs]
    result = {
        "clients": opts.clients,
        "target_rate": opts.rate or None,
        "cpus": os.cpu_count(),
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "failures": len(failures),
        "server_exit": proc.returncode,
    }
    if opts.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
        for f in failures[:5]:
            print(f"    failure: {f}")
    return 1 if failures or proc.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
