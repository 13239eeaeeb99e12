"""``shimpolicy serve``: the policy as a Docker authorization plugin and a Kubernetes
validating admission webhook, on one unix socket or TCP port (optionally TLS).

- ``POST /Plugin.Activate``, ``/AuthZPlugin.AuthZReq``, ``/AuthZPlugin.AuthZRes``: Docker's
  access authorization plugin protocol (moby ``pkg/authorization``).  A request that can
  set a container's runtime (a create, or before API 1.24 a start with a host
  configuration) is decided on ``HostConfig.Runtime`` in ``request`` context, failing
  closed when its body cannot be read; every other request is allowed.
- ``POST /validate``: an ``AdmissionReview`` (``admission.k8s.io/v1``) for RuntimeClass
  objects (K1, K2, and with a containerd config the policy on the handler's
  ``runtime_type`` in ``config`` context) and ``runtimeClassName`` in pods and pod
  templates (K3).
- ``GET /healthz`` and ``GET /metrics`` (Prometheus text format).

Standard library only: a thread per connection, HTTP/1.1 keep-alive, one JSON log line per
denial on stderr.  SIGHUP reloads the inputs (keeping the old ones when the new ones are
invalid); SIGTERM finishes the requests in flight and removes the unix socket.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import http
import json
import posixpath
import re
import signal
import socket
import socketserver
import ssl
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import FrameType
from urllib.parse import unquote, urlsplit

from . import syntax
from ._typing import TYPE_CHECKING, NamedTuple
from .grammar.docker import stock_runtimes
from .lint.kubernetes import label_errors, subdomain_errors
from .policy import Policy, PolicyError
from .syntax.json import parse_json
from .syntax.toml import parse_toml

if TYPE_CHECKING:
    from typing import IO, Any, ClassVar, NoReturn

# Docker forwards a request body to the plugin only when it is under 1 MiB, base64-encoded
# (4/3 larger); a Kubernetes object is at most 1.5 MiB (etcd) and an UPDATE review carries
# it twice.  4 MiB admits all of those and bounds what one request can make us hold.
MAX_BODY = 4 << 20
# The standard library's listen backlog of 5 refuses connections under load.
LISTEN_BACKLOG = 1024
# An idle keep-alive connection (or a client stalling mid-request) is closed after this.
IDLE_TIMEOUT = 60.0
# How long SIGTERM waits for requests in flight before exiting anyway.
DRAIN_TIMEOUT = 10.0
# The Content-Type Docker's plugin client sends and expects (moby pkg/plugins/transport).
PLUGIN_MEDIA_TYPE = "application/vnd.docker.plugins.v1.2+json"
ADMISSION_API = "admission.k8s.io/v1"
_MAX_REQUEST_LINE = 65536

# The rule id (metrics label, log field) when a request that can set a runtime cannot be
# read.
FAIL_CLOSED = "fail-closed"


class ServeError(Exception):
    """An input the server cannot start (or reload) with: the message says which and why."""


# ------------------------------------------------------------------------ decisions


class Problem(NamedTuple):
    """One reason to deny a request or, when not ``deny``, to warn about it."""

    rule: str  # a policy or lint rule id (SP…), or FAIL_CLOSED
    message: str
    value: str  # the runtime, handler or class name concerned ("" when none was readable)
    deny: bool = True


class _Unreadable(Exception):
    """A request whose runtime cannot be known: denied, never guessed (fail closed)."""


class _Object(list[tuple[str, "Any"]]):
    """A JSON object as all its members in document order, duplicate keys kept."""


# Docker's router (gorilla/mux) matches the percent-decoded path, with an optional API
# version prefix.
_CREATE_PATH = re.compile(r"(?:/v[0-9.]+)?/containers/create")
# Before API 1.24 a start request could carry a new host configuration, runtime included
# (dockerd 23 and 24 still serve those API versions).
_START_PATH = re.compile(r"/v([0-9.]+)/containers/[^/]+/start")
CREATE, LEGACY_START = "create", "legacy start"

# Pod specs inside the objects a webhook may be sent, by (API group, kind) (K3).
POD_SPEC_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): ("spec",),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}


def _quote(value: str) -> str:
    # JSON quoting escapes control, bidi and other non-ASCII characters: the text a
    # client or log reader sees is the text that was decided.
    return json.dumps(value)


def _field(envelope: dict[str, Any], name: str) -> Any:
    """A member of Docker's AuthZ request: Go's JSON field names match case-insensitively
    (the documentation spells ``RequestURI``, the daemon sends ``RequestUri``)."""
    if name in envelope:
        return envelope[name]
    folded = name.casefold()
    return next((v for k, v in envelope.items() if k.casefold() == folded), None)


def runtime_route(method: str, uri: str) -> str | None:
    """Can this Engine API request set a container's runtime?  CREATE for ``POST
    [/vX.Y]/containers/create``, LEGACY_START for ``POST /vX.Y/containers/ID/start`` with
    X.Y below 1.24, else None."""
    if method.upper() != "POST":
        return None
    # Go's server also accepts the absolute form ``http://host/path`` and routes its path.
    path = uri.partition("?")[0] if uri.startswith("/") else urlsplit(uri).path
    # Every spelling the router would serve, or redirect to, as this path counts: repeated
    # slashes (normpath keeps a leading "//"), "." and ".." segments, a trailing slash.
    path = posixpath.normpath("/" + unquote(path).lstrip("/")) if path else ""
    if _CREATE_PATH.fullmatch(path):
        return CREATE
    start = _START_PATH.fullmatch(path)
    return LEGACY_START if start and _api_older(start.group(1), "1.24") else None


def _api_older(version: str, than: str) -> bool:
    """Docker's ``versions.LessThan``: dotted numbers, a missing or bad part counting 0."""
    a, b = version.split("."), than.split(".")
    width = max(len(a), len(b))
    a, b = a + [""] * (width - len(a)), b + [""] * (width - len(b))
    return [int(p) if p.isdigit() else 0 for p in a] < [int(p) if p.isdigit() else 0 for p in b]


def runtimes_in_body(body: object, route: str) -> list[str]:
    """Every value Docker could take as ``HostConfig.Runtime`` from a request's
    ``RequestBody`` (base64 JSON): a create wraps the host configuration in
    ``HostConfig``, a legacy start sends it bare.  Go's decoder matches member names
    case-insensitively and lets a later duplicate override or merge into an earlier one,
    so every candidate is returned and each must pass.  ``_Unreadable`` when the body
    cannot be read."""
    if body is None or body == "":
        raise _Unreadable("Docker sent no request body (it forwards only JSON bodies under 1 MiB)")
    if not isinstance(body, str):
        raise _Unreadable("RequestBody is not a base64 string")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise _Unreadable("RequestBody is not valid base64") from None
    try:
        # Go replaces invalid UTF-8 with U+FFFD rather than failing; so do we.
        doc = json.loads(raw.decode("utf-8", "replace"), object_pairs_hook=_Object)
    except (ValueError, RecursionError) as e:
        raise _Unreadable(f"the request body is not JSON ({e})") from None
    if not isinstance(doc, _Object):
        raise _Unreadable("the request body is not a JSON object")
    hosts = [doc] if route == LEGACY_START else [v for k, v in doc if k.casefold() == "hostconfig"]
    names: list[str] = []
    for host in hosts:
        if host is None:
            continue  # Go leaves a field unchanged for null
        if not isinstance(host, _Object):
            raise _Unreadable("HostConfig is not a JSON object")
        for member, value in host:
            if member.casefold() != "runtime" or value is None:
                continue
            if not isinstance(value, str):
                raise _Unreadable("HostConfig.Runtime is not a string")
            names.append(value)
    return names


def _declared_length(headers: object) -> int:
    """The Content-Length dockerd saw, from the forwarded headers; -1 when unknown."""
    value = _field(headers, "Content-Length") if isinstance(headers, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else -1


class Gate:
    """Everything a decision needs, loaded together and replaced together on reload."""

    __slots__ = ("admin_runtimes", "containerd_config", "handlers", "policy")

    def __init__(
        self,
        policy: Policy,
        admin_runtimes: frozenset[str] = frozenset(),
        handlers: Handlers | None = None,
        containerd_config: str | None = None,
    ) -> None:
        self.policy = policy
        # D2: Docker's stock runtimes and daemon.json's configured ones are the
        # administrator's choice, never checked beyond what dockerd itself checks.
        self.admin_runtimes = admin_runtimes | stock_runtimes(policy.docker, policy.platform)
        self.handlers = handlers
        self.containerd_config = containerd_config

    # --------------------------------------------------------------- Docker

    def docker_request(
        self, method: str, uri: str, body: object, headers: object
    ) -> tuple[Problem, ...]:
        """Problems with one Engine API request (dockerd's AuthZReq fields): only one that
        can set a runtime can have any."""
        route = runtime_route(method, uri)
        if route is None:
            return ()
        # dockerd decodes a start body only when it declares more than 7 bytes (or its
        # length is unknown): a shorter one sets nothing.
        if route == LEGACY_START and not body and 0 <= _declared_length(headers) <= 7:
            return ()
        try:
            names = runtimes_in_body(body, route)
        except _Unreadable as e:
            return (Problem(FAIL_CLOSED, f"cannot check HostConfig.Runtime: {e}; denied", ""),)
        return tuple(p for name in names if (p := self._runtime(name)) is not None)

    def _runtime(self, name: str) -> Problem | None:
        if name == "" or name in self.admin_runtimes:  # "": the daemon's default runtime
            return None
        d = self.policy.decide(name, "request")
        if d.action == "allow":
            return None
        verdict = "is denied" if d.action == "deny" else "is allowed with a warning"
        message = f"runtime {_quote(name)} {verdict} by rule {d.rule}: {d.reason}"
        return Problem(d.rule, message, name, d.action == "deny")

    # --------------------------------------------------------------- Kubernetes

    def admission(self, request: dict[str, Any]) -> tuple[Problem, ...]:
        """Problems with the object of one AdmissionReview request."""
        obj = request.get("object")
        if not isinstance(obj, dict):  # DELETE and CONNECT carry none
            return ()
        gvk = request.get("kind")
        key = (gvk.get("group", ""), gvk.get("kind", "")) if isinstance(gvk, dict) else ("", "")
        if key == ("node.k8s.io", "RuntimeClass"):
            return self._runtime_class(obj)
        path = POD_SPEC_PATHS.get(key)
        return () if path is None else _runtime_class_name(key[1], obj, path)

    def _runtime_class(self, obj: dict[str, Any]) -> tuple[Problem, ...]:
        problems: list[Problem] = []
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(name, str) and (errors := subdomain_errors(name)):
            message = f"RuntimeClass name {_quote(name)} is not a DNS-1123 subdomain (K1): "
            problems.append(Problem("SP501", message + "; ".join(errors), name))
        handler = obj.get("handler")
        if not isinstance(handler, str):
            message = "RuntimeClass handler is missing or not a string (K2)"
            problems.append(Problem("SP502", message, ""))
        elif errors := label_errors(handler):
            message = f"RuntimeClass handler {_quote(handler)} is not a DNS-1123 label (K2): "
            problems.append(Problem("SP502", message + "; ".join(errors) + _hint(handler), handler))
        elif self.handlers is not None:
            problems.extend(self._handler(self.handlers, handler))
        return tuple(problems)

    def _handler(self, handlers: Handlers, handler: str) -> tuple[Problem, ...]:
        runtime_type = handlers.runtime_types.get(handler)
        where = self.containerd_config
        if runtime_type is None:
            if handlers.imports:  # the handler may come from an imported file
                return ()
            message = (
                f"RuntimeClass handler {_quote(handler)} is not configured in {where}: pods "
                f'using it would fail with: no runtime for "{handler}" is configured (K4)'
            )
            return (Problem("SP702", message, handler, deny=False),)
        d = self.policy.decide(runtime_type, "config")
        if d.action == "allow":
            return ()
        verdict = "is denied" if d.action == "deny" else "is allowed with a warning"
        message = (
            f"RuntimeClass handler {_quote(handler)} runs runtime_type {_quote(runtime_type)} "
            f"({where}), which {verdict} by rule {d.rule}: {d.reason}"
        )
        return (Problem(d.rule, message, runtime_type, d.action == "deny"),)


def _hint(handler: str) -> str:
    if "." not in handler:
        return ""
    return (
        "; a handler names a containerd runtimes table (runtimes.<handler> in config.toml), "
        "not a runtime name: set that table's runtime_type to the runtime name and use the "
        "table's name here"
    )


def _runtime_class_name(
    kind: str, obj: dict[str, Any], path: tuple[str, ...]
) -> tuple[Problem, ...]:
    """K3: the pod spec's ``runtimeClassName``, when the object has one."""
    spec: Any = obj
    for step in path:
        spec = spec.get(step) if isinstance(spec, dict) else None
    value = spec.get("runtimeClassName") if isinstance(spec, dict) else None
    if value is None:
        return ()
    where = f"{kind} {'.'.join((*path, 'runtimeClassName'))}"
    if not isinstance(value, str):
        return (Problem("SP503", f"{where} is not a string (K3)", ""),)
    errors = subdomain_errors(value)
    if not errors:
        return ()
    message = f"{where} {_quote(value)} is not a DNS-1123 subdomain (K3): {'; '.join(errors)}"
    return (Problem("SP503", message, value),)


# ------------------------------------------------------------------------ inputs


class Sources(NamedTuple):
    """The files a server reads at start and re-reads on SIGHUP."""

    policy: str | None = None  # None: Policy.discover() from the working directory
    daemon_config: str | None = None
    containerd_config: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None


def load_gate(sources: Sources) -> Gate:
    """Read every decision input; ``ServeError`` naming the file for any problem."""
    try:
        policy = Policy.discover() if sources.policy is None else Policy.load(sources.policy)
    except PolicyError as e:
        raise ServeError(f"invalid policy: {e}") from None
    runtimes: frozenset[str] = frozenset()
    if sources.daemon_config is not None:
        runtimes = daemon_runtimes(sources.daemon_config)
    handlers = None
    if sources.containerd_config is not None:
        handlers = containerd_handlers(sources.containerd_config)
    return Gate(policy, runtimes, handlers, sources.containerd_config)


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


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ServeError(f"cannot read {path}: {e}") from None


def daemon_runtimes(path: str) -> frozenset[str]:
    """D2, D3: the runtime names a daemon.json configures (its ``runtimes`` keys).  Docker's
    Go decoder matches ``runtimes`` case-insensitively and merges duplicates, so do we."""
    try:
        root = parse_json(_read(path))
    except syntax.SyntaxProblem as e:
        raise ServeError(f"{path}:{e.line}:{e.column}: {e.message}") from None
    if not isinstance(root, syntax.Mapping):
        raise ServeError(f"{path}: not a JSON object")
    names: set[str] = set()
    for key, value in root.items:
        if isinstance(key.value, str) and key.value.casefold() == "runtimes":
            if not isinstance(value, syntax.Mapping):
                span = value.span
                raise ServeError(f"{path}:{span.line}:{span.column}: runtimes is not an object")
            names.update(str(k.value) for k, _ in value.items)
    return frozenset(names)


# C5: where each containerd config version keeps the CRI runtimes.
_RUNTIMES_TABLE = {
    1: ("plugins", "cri", "containerd", "runtimes"),
    2: ("plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes"),
    3: ("plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes"),
    4: ("plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes"),
}


class Handlers(NamedTuple):
    """C5: the CRI handlers a containerd ``config.toml`` defines."""

    runtime_types: dict[str, str]  # handler -> runtime_type ("" when unset)
    imports: bool  # ``imports`` names other files, which may define more handlers


def containerd_handlers(path: str) -> Handlers:
    """The CRI handlers of a containerd ``config.toml``, any config version (C5)."""
    try:
        root = parse_toml(_read(path))
    except syntax.SyntaxProblem as e:
        raise ServeError(f"{path}:{e.line}:{e.column}: {e.message}") from None
    version_node = root.get("version")  # none: version 1
    version = version_node.value if isinstance(version_node, syntax.Scalar) else version_node
    if version_node is None:
        version = 1
    if type(version) is not int or version not in _RUNTIMES_TABLE:
        raise ServeError(f"{path}: unsupported config version {version!r} (expected 1 to 4)")
    node: syntax.Node | None = root
    for step in _RUNTIMES_TABLE[version]:
        node = node.get(step) if isinstance(node, syntax.Mapping) else None
    # containerd's built-in default handler survives a config that does not mention it.
    handlers = {"runc": "io.containerd.runc.v2"}
    for key, table in node.pairs() if isinstance(node, syntax.Mapping) else ():
        runtime_type = table.get("runtime_type") if isinstance(table, syntax.Mapping) else None
        if runtime_type is None:
            handlers[str(key.value)] = ""
        elif isinstance(runtime_type, syntax.Scalar) and isinstance(runtime_type.value, str):
            handlers[str(key.value)] = runtime_type.value
        else:
            span = runtime_type.span
            raise ServeError(f"{path}:{span.line}:{span.column}: runtime_type is not a string")
    imports = root.get("imports")
    return Handlers(handlers, isinstance(imports, syntax.Sequence) and bool(imports.items))


# ------------------------------------------------------------------------ logs, metrics


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


# ------------------------------------------------------------------------ service


class Service:
    """The state every connection shares: the current inputs, counters and the log."""

    def __init__(self, sources: Sources, log: Log) -> None:
        self.sources = sources
        self.log = log
        self.gate = load_gate(sources)
        self.tls = load_tls(sources)
        self.metrics = Metrics()
        self.stopping = False
        self._in_flight = 0
        self._idle = threading.Condition()

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

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until no request is in flight; False if some still were after ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

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


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class _Handler(BaseHTTPRequestHandler):
    """One connection: requests are read and answered in turn (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "shimpolicy"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    service: ClassVar[Service]
    _consumed = False  # whether this request's body has been read

    def setup(self) -> None:
        tls = self.service.tls
        if tls is not None:
            # The handshake happens here, in this connection's thread, so a slow client
            # never holds up accepting others; a reload's new certificate applies to new
            # connections.
            self.request.settimeout(self.timeout)
            self.request = tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self) -> None:
        super().finish()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.close()  # the server closes only the socket it accepted

    def handle_one_request(self) -> None:
        try:
            line = self.rfile.readline(_MAX_REQUEST_LINE + 1)
        except OSError:  # idle timeout, reset, TLS error between requests
            self.close_connection = True
            return
        if not line:
            self.close_connection = True
            return
        with self.service.in_flight():
            self._consumed = False
            self.raw_requestline = line
            try:
                if len(line) > _MAX_REQUEST_LINE:
                    self.requestline, self.request_version, self.command = "", "", ""
                    self.send_error(http.HTTPStatus.REQUEST_URI_TOO_LONG)
                elif self.parse_request():
                    self._dispatch()
            except OSError:  # the client went away or stalled mid-request
                self.close_connection = True

    def _dispatch(self) -> None:
        path = self.path.partition("?")[0]
        route = ROUTES.get(path)
        if route is None:
            self._json(404, "other", {"error": f"no endpoint {path}"})
            return
        method, endpoint = route
        if self.command != method:
            self._json(405, path, {"error": f"{path} takes {method}"}, [("Allow", method)])
            return
        try:
            endpoint(self, path)
        except OSError:
            raise
        except Exception as e:  # a bug must cost one request, never the server
            self.service.log("error", path=path, error=f"{type(e).__name__}: {e}")
            self._json(500, path, {"error": "internal error"}, close=True)

    # ------------------------------------------------------------ reading

    def _declares_body(self) -> bool:
        return "Transfer-Encoding" in self.headers or self.headers.get("Content-Length", "0") != "0"

    def _body(self, endpoint: str, *, keep: bool = True) -> bytes | None:
        """The request body, or None after answering a request whose body is unusable.
        With ``keep`` false the body is read and thrown away, whatever its size."""
        if "Transfer-Encoding" in self.headers:
            self._json(411, endpoint, {"error": "a Content-Length is required"}, close=True)
            return None
        lengths = self.headers.get_all("Content-Length") or ["0"]
        if len(lengths) != 1 or not lengths[0].isdigit() or not lengths[0].isascii():
            self._json(400, endpoint, {"error": "invalid Content-Length"}, close=True)
            return None
        # Python refuses to convert integers of thousands of digits; none would fit anyway.
        size = int(lengths[0]) if len(lengths[0]) <= 18 else 10**18
        if keep and size > MAX_BODY:
            error = f"the request body exceeds the limit of {MAX_BODY} bytes"
            self._json(413, endpoint, {"error": error}, close=True)
            return None
        if not keep:
            while size > 0:
                chunk = self.rfile.read(min(size, 1 << 16))
                if not chunk:
                    raise ConnectionError("body ended early")
                size -= len(chunk)
            self._consumed = True
            return b""
        body = self.rfile.read(size)
        if len(body) < size:
            raise ConnectionError("body ended early")
        self._consumed = True
        return body

    def _json_body(self, endpoint: str) -> Any:
        """The request body as a JSON object, or None after answering 4xx."""
        body = self._body(endpoint)
        if body is None:
            return None
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError) as e:
            self._json(400, endpoint, {"error": f"the request body is not JSON: {e}"})
            return None
        if not isinstance(doc, dict):
            self._json(400, endpoint, {"error": "the request body is not a JSON object"})
            return None
        return doc

    # ------------------------------------------------------------ writing

    def _reply(
        self,
        code: int,
        endpoint: str,
        body: bytes,
        content_type: str,
        headers: list[tuple[str, str]] | None = None,
        *,
        close: bool = False,
    ) -> None:
        # A body left unread would be taken for the next request; at shutdown every
        # connection closes after its current request.
        if close or self.service.stopping or (not self._consumed and self._declares_body()):
            self.close_connection = True
        lines = [
            f"{self.protocol_version} {code} {http.HTTPStatus(code).phrase}",
            f"Server: {self.server_version}",
            f"Date: {_http_date()}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers or ()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        # Counted before the answer leaves: a client that has its answer and asks /metrics
        # at once must find it counted.
        self.service.metrics.request(endpoint, code)
        # One write: headers and body in separate segments would meet Nagle's algorithm.
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _json(
        self,
        code: int,
        endpoint: str,
        doc: object,
        headers: list[tuple[str, str]] | None = None,
        *,
        close: bool = False,
        content_type: str = "application/json",
    ) -> None:
        body = json.dumps(doc, separators=(",", ":")).encode()
        self._reply(code, endpoint, body, content_type, headers, close=close)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found by the standard library's request parsing, as JSON."""
        self._consumed = True  # nothing more is read from this connection
        status = http.HTTPStatus(code)
        self._json(code, "other", {"error": message or status.phrase}, close=True)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: the log holds denials, warnings, reloads and errors."""

    # ------------------------------------------------------------ endpoints

    def plugin_activate(self, endpoint: str) -> None:
        if self._body(endpoint, keep=False) is not None:
            self._json(200, endpoint, {"Implements": ["authz"]}, content_type=PLUGIN_MEDIA_TYPE)

    def authz_request(self, endpoint: str) -> None:
        envelope = self._json_body(endpoint)
        if envelope is None:
            return
        method, uri = _field(envelope, "RequestMethod"), _field(envelope, "RequestUri")
        if not isinstance(method, str) or not isinstance(uri, str):
            # Docker takes any answer but 200 as the plugin failing, and denies.
            error = "RequestMethod and RequestUri must be strings"
            self._json(400, endpoint, {"Allow": False, "Msg": error, "Err": error})
            return
        body, headers = _field(envelope, "RequestBody"), _field(envelope, "RequestHeaders")
        problems = self.service.gate.docker_request(method, uri, body, headers)
        user = _field(envelope, "User")
        self.service.report("docker", problems, method=method, uri=uri, user=user)
        denials = [p.message for p in problems if p.deny]
        answer: dict[str, object] = {"Allow": not denials}
        if denials:
            answer["Msg"] = "; ".join(denials)
        self._json(200, endpoint, answer, content_type=PLUGIN_MEDIA_TYPE)

    def authz_response(self, endpoint: str) -> None:
        # Runtimes are decided before the daemon acts; the response (which may be a large
        # container listing) is not even held in memory.
        if self._body(endpoint, keep=False) is not None:
            self._json(200, endpoint, {"Allow": True}, content_type=PLUGIN_MEDIA_TYPE)

    def validate(self, endpoint: str) -> None:
        review = self._json_body(endpoint)
        if review is None:
            return
        request = review.get("request")
        uid = request.get("uid") if isinstance(request, dict) else None
        if review.get("apiVersion") != ADMISSION_API or review.get("kind") != "AdmissionReview":
            self._json(400, endpoint, {"error": f"expected an {ADMISSION_API} AdmissionReview"})
            return
        if not isinstance(request, dict) or not isinstance(uid, str):
            self._json(400, endpoint, {"error": "the AdmissionReview has no request.uid"})
            return
        problems = self.service.gate.admission(request)
        self.service.report("kubernetes", problems, **_admission_context(request))
        denials = [p.message for p in problems if p.deny]
        response: dict[str, object] = {"uid": uid, "allowed": not denials}
        if denials:
            response["status"] = {"code": 403, "message": "; ".join(denials)}
        warnings = [p.message for p in problems if not p.deny]
        if warnings:
            response["warnings"] = warnings
        answer = {"apiVersion": ADMISSION_API, "kind": "AdmissionReview", "response": response}
        self._json(200, endpoint, answer)

    def healthz(self, endpoint: str) -> None:
        self._reply(200, endpoint, b"ok\n", "text/plain; charset=utf-8")

    def metrics(self, endpoint: str) -> None:
        body = self.service.metrics.render().encode()
        self._reply(200, endpoint, body, "text/plain; version=0.0.4; charset=utf-8")


ROUTES: dict[str, tuple[str, Callable[[_Handler, str], None]]] = {
    "/Plugin.Activate": ("POST", _Handler.plugin_activate),
    "/AuthZPlugin.AuthZReq": ("POST", _Handler.authz_request),
    "/AuthZPlugin.AuthZRes": ("POST", _Handler.authz_response),
    "/validate": ("POST", _Handler.validate),
    "/healthz": ("GET", _Handler.healthz),
    "/metrics": ("GET", _Handler.metrics),
}


def _admission_context(request: dict[str, Any]) -> dict[str, object]:
    """What a log line says about the object a review was for."""
    gvk = request.get("kind")
    user = request.get("userInfo")
    return {
        "uid": request.get("uid"),
        "operation": request.get("operation"),
        "kind": gvk.get("kind") if isinstance(gvk, dict) else None,
        "namespace": request.get("namespace"),
        "name": request.get("name"),
        "user": user.get("username") if isinstance(user, dict) else None,
    }


# ------------------------------------------------------------------------ servers


class _Logged:
    log: Log

    def handle_error(self, request: object, client_address: object) -> None:
        """An exception outside any request (a failed TLS handshake): one log line, no traceback."""
        error = sys.exc_info()[1]
        self.log("connection-error", error=f"{type(error).__name__}: {error}")


class _TCPServer(_Logged, socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True  # idle keep-alive connections never hold up an exit
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)


class _UnixServer(_Logged, socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG


def parse_listen(url: str) -> str | tuple[str, int]:
    """``unix:///path`` -> the path; ``tcp://HOST:PORT`` -> (host, port)."""
    if url.startswith("unix://") and len(url) > len("unix://"):
        return url[len("unix://") :]
    if url.startswith("tcp://"):
        parts = urlsplit("//" + url[len("tcp://") :])
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.hostname and port is not None and not (parts.path or parts.query):
            return (parts.hostname, port)
    raise ServeError(f"--listen {url!r}: expected unix:///PATH or tcp://HOST:PORT")


def _claim_socket_path(path: str) -> None:
    """Remove a unix socket left by a server that is gone; refuse to replace anything else."""
    try:
        mode = Path(path).lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ServeError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        Path(path).unlink()  # stale: nobody is listening
        return
    finally:
        probe.close()
    raise ServeError(f"{path}: another server is listening there")


class PolicyServer:
    """A server listening on ``listen`` with ``sources``; ``serve_main`` adds the signals.

    ``ServeError`` from the constructor when an input is invalid or the address unusable.
    """

    def __init__(self, listen: str, sources: Sources, log: Log | None = None) -> None:
        address = parse_listen(listen)
        self.service = service = Service(sources, log or Log())

        class Handler(_Handler):
            pass

        Handler.service = service
        self._socket_path: str | None = None
        self._socket_inode = 0
        try:
            if isinstance(address, str):
                _claim_socket_path(address)
                self._server: _TCPServer | _UnixServer = _UnixServer(address, Handler)
                Path(address).chmod(0o600)  # only root (the daemon) may ask
                self._socket_path, self._socket_inode = address, Path(address).stat().st_ino
                self.address = f"unix://{address}"
            else:
                Handler.disable_nagle_algorithm = True
                self._server = _TCPServer(address, Handler)
                host, port = self._server.socket.getsockname()[:2]
                self.address = f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"
        except OSError as e:
            raise ServeError(f"cannot listen on {listen}: {e.strerror or e}") from None
        self._server.log = self.service.log
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Accept connections in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="shimpolicy-accept", daemon=True
        )
        self._thread.start()
        policy = self.service.gate.policy.source
        self.service.log("listening", address=self.address, policy=policy)

    def reload(self) -> bool:
        return self.service.reload()

    def stop(self, timeout: float = DRAIN_TIMEOUT) -> bool:
        """Stop accepting, finish the requests in flight (up to ``timeout``), close the
        listener and remove the unix socket.  False if requests were still in flight."""
        self.service.stopping = True
        if self._thread is not None:
            self._server.shutdown()
        drained = self.service.drain(timeout)
        self._server.server_close()
        if self._socket_path is not None:
            try:
                # Only our socket: another server may have taken the path since.
                socket_file = Path(self._socket_path)
                if socket_file.stat().st_ino == self._socket_inode:
                    socket_file.unlink()
            except FileNotFoundError:
                pass
        self.service.log("stopped", drained=drained)
        return drained


# ------------------------------------------------------------------------ command line


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


def _parser() -> _Parser:
    p = _Parser(
        prog="shimpolicy serve",
        description=(
            "Serve the policy as a Docker authorization plugin (/AuthZPlugin.*) and a "
            "Kubernetes validating admission webhook (/validate), with /healthz and /metrics. "
            "SIGHUP reloads the files; SIGTERM stops after the requests in flight."
        ),
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
    return p


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
    try:
        server = PolicyServer(opts.listen, sources)
    except ServeError as e:
        sys.stderr.write(f"shimpolicy serve: error: {e}\n")
        return 2
    return _run(server)


def _run(server: PolicyServer) -> int:
    """Serve until SIGTERM or SIGINT; SIGHUP reloads.  Signal handlers only record the
    signal: the work happens here, in the main thread, never inside a handler."""
    received: list[int] = []
    wake = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        wake.set()

    watched = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {s: signal.signal(s, on_signal) for s in watched}
    # Every connection thread takes turns at the one interpreter lock; switching every
    # 1 ms instead of 5 ms keeps the slowest answers fast under load (bench/bench_serve.py).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        server.start()
        while True:
            wake.wait()
            wake.clear()
            while received:
                signum = received.pop(0)
                if signum == signal.SIGHUP:
                    server.reload()
                else:
                    server.service.log("stopping", signal=signal.Signals(signum).name)
                    server.stop()
                    return 0
    finally:
        sys.setswitchinterval(switch_interval)
        for s, handler in previous.items():
            signal.signal(s, handler)
