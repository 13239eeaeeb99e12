"""What an operator sees and does: the JSON log, the Prometheus metrics, and the state
every connection shares, re-read on SIGHUP."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time

from .._typing import TYPE_CHECKING
from .gate import load_gate
from .records import Problem, ServeError, Sources

if TYPE_CHECKING:
    from typing import IO


class Log:
    """JSON lines on a stream (stderr unless given), one write per line."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: object) -> None:
        now = time.time()
        millis = int(now % 1 * 1000)
        stamp = f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now))}.{millis:03d}Z"
        line = json.dumps({"time": stamp, "event": event, **fields}, default=str) + "\n"
        with self._lock:
            stream = self._stream or sys.stderr
            stream.write(line)
            stream.flush()


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Counters, rendered in the Prometheus text exposition format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, int], int] = {}
        self._problems: dict[tuple[bool, str], int] = {}
        self._reloads = {"ok": 0, "failed": 0}

    def request(self, endpoint: str, code: int) -> None:
        with self._lock:
            key = (endpoint, code)
            self._requests[key] = self._requests.get(key, 0) + 1

    def problems(self, problems: tuple[Problem, ...]) -> None:
        with self._lock:
            for p in problems:
                key = (p.deny, p.rule)
                self._problems[key] = self._problems.get(key, 0) + 1

    def reload(self, ok: bool) -> None:
        with self._lock:
            self._reloads["ok" if ok else "failed"] += 1

    def render(self) -> str:
        with self._lock:
            requests = sorted(self._requests.items())
            problems = sorted(self._problems.items())
            reloads = sorted(self._reloads.items())
        out = [
            "# HELP shimpolicy_requests_total HTTP requests answered, by endpoint and status code.",
            "# TYPE shimpolicy_requests_total counter",
            *(
                f'shimpolicy_requests_total{{endpoint="{_label(e)}",code="{c}"}} {n}'
                for (e, c), n in requests
            ),
        ]
        for deny, metric, what in ((True, "denials", "Denials"), (False, "warnings", "Warnings")):
            out += [
                f"# HELP shimpolicy_{metric}_total {what}, by rule.",
                f"# TYPE shimpolicy_{metric}_total counter",
                *(
                    f'shimpolicy_{metric}_total{{rule="{_label(r)}"}} {n}'
                    for (d, r), n in problems
                    if d is deny
                ),
            ]
        out += [
            "# HELP shimpolicy_reloads_total Reloads of the inputs on SIGHUP, by result.",
            "# TYPE shimpolicy_reloads_total counter",
            *(f'shimpolicy_reloads_total{{result="{r}"}} {n}' for r, n in reloads),
        ]
        return "\n".join(out) + "\n"


class Service:
    """The state every connection shares: the current inputs, counters and the log."""

    def __init__(self, sources: Sources, log: Log) -> None:
        self.sources = sources
        self.log = log
        self.gate = load_gate(sources)
        self.tls = load_tls(sources)
        self.metrics = Metrics()

    def reload(self) -> bool:
        """Re-read every input; on any problem keep the current ones and log why."""
        try:
            gate, tls = load_gate(self.sources), load_tls(self.sources)
        except ServeError as e:
            self.metrics.reload(False)
            self.log("reload", result="failed", error=str(e), kept=self.gate.policy.source)
            return False
        # Two attribute stores: a request sees the old or the new gate, each complete.
        self.gate, self.tls = gate, tls
        self.metrics.reload(True)
        self.log("reload", result="ok", policy=gate.policy.source)
        return True

    def reload_tls(self) -> bool:
        """Re-read the TLS certificate alone (its files changed); keep the current one and
        log why when the new one cannot be used."""
        try:
            tls = load_tls(self.sources)
        except ServeError as e:
            self.log("tls-reload", result="failed", error=str(e))
            return False
        self.tls = tls
        self.log("tls-reload", result="ok", certificate=self.sources.tls_cert)
        return True

    def report(self, endpoint: str, problems: tuple[Problem, ...], **context: object) -> None:
        """Count problems and log each: one line per denial, one per warning."""
        if not problems:
            return
        self.metrics.problems(problems)
        for p in problems:
            fields = {k: v for k, v in context.items() if v not in (None, "")}
            self.log(
                "deny" if p.deny else "warn",
                endpoint=endpoint,
                rule=p.rule,
                value=p.value,
                message=p.message,
                **fields,
            )


def load_tls(sources: Sources) -> ssl.SSLContext | None:
    if sources.tls_cert is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(sources.tls_cert, sources.tls_key)
    except OSError as e:  # ssl.SSLError included
        raise ServeError(f"cannot load TLS certificate {sources.tls_cert}: {e}") from None
    return context
