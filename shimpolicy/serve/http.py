"""The HTTP server: HTTP/1.1 with keep-alive on the standard library's asyncio event loop,
on a unix socket or TCP (optionally TLS), with the limits a server facing hostile clients
needs.

- One thread runs the event loop; a connection costs a file descriptor and a few
  kilobytes, never a thread, so slow and idle clients cannot starve the others.
- Deadlines: a request head must arrive whole within ``HEAD_TIMEOUT`` of its first byte
  (of the connection, for the first request, TLS handshake included), its body within
  ``BODY_TIMEOUT``; an idle keep-alive connection is closed after ``IDLE_TIMEOUT``.  A
  late client gets 408 and the connection is closed.
- At most ``max_connections`` at once (the open-file limit permitting): one more takes the
  place of the oldest connection waiting for a request, or when every one has a request
  in flight, is answered 503 and closed.
- Memory: a head of at most ``MAX_HEAD`` bytes (64 KiB), a body of at most ``MAX_BODY`` (413), and
  the bodies being received at once at most ``MAX_BODIES`` in all (503).
- Fail closed: a request whose handling fails is answered 500, which Docker and the API
  server (``failurePolicy: Fail``) take as a denial; never an answer that allows.
- A unix socket has mode 0600 from the moment its path exists, and an existing path that
  is not a stale socket (a symlink included) is refused, never followed or replaced.

The decisions themselves are quick and made in the event loop's thread, one at a time.
"""

from __future__ import annotations

import asyncio
import http
import json
import os
import re
import resource
import signal
import socket
import ssl
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

from .._typing import TYPE_CHECKING, NamedTuple
from . import admission, docker
from .docker import PLUGIN_MEDIA_TYPE
from .ops import Log, Service
from .records import Answer, ServeError, Sources

if TYPE_CHECKING:
    from typing import Any

# Docker forwards a request body to the plugin only when it is under 1 MiB, base64-encoded
# (4/3 larger); a Kubernetes object is at most 1.5 MiB (etcd) and an UPDATE review carries
# it twice.  4 MiB admits all of those and bounds what one request can make us hold.
MAX_BODY = 4 << 20
# The bodies being received at once, in all: 16 of the largest.
MAX_BODIES = 64 << 20
# A request line (414 beyond) and the whole head (431 beyond): what dockerd and the API
# server send is a few hundred bytes, and a thousand connections' heads stay under 64 MiB.
MAX_REQUEST_LINE = 65536
MAX_HEAD = 65536
MAX_HEADERS = 100
# Deadlines, in seconds.
HEAD_TIMEOUT = 10.0
BODY_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
# How long a closed connection still drops what the client sends, so its answer arrives.
LINGER = 2.0
# How long SIGTERM waits for requests in flight before exiting anyway.
DRAIN_TIMEOUT = 10.0
# Connections at once, by default; file descriptors kept for everything else.
MAX_CONNECTIONS = 1000
RESERVED_FILES = 32
LISTEN_BACKLOG = 1024

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/([0-9])\.([0-9])")
_VERSION = re.compile(r"HTTP/[0-9]+\.[0-9]+")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class Reply(NamedTuple):
    """One answer: status, body, what /metrics counts it under."""

    status: int
    endpoint: str
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False


def _json(
    status: int,
    endpoint: str,
    doc: object,
    content_type: str = "application/json",
    *,
    close: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
) -> Reply:
    body = json.dumps(doc, separators=(",", ":")).encode()
    return Reply(status, endpoint, body, content_type, headers, close)


def _error(status: int, message: str | None = None, endpoint: str = "other") -> Reply:
    """An HTTP-level refusal, after which nothing more is read from the connection."""
    return _json(status, endpoint, {"error": message or http.HTTPStatus(status).phrase}, close=True)


class _Request(NamedTuple):
    method: str
    path: str
    keep_alive: bool
    headers: dict[str, list[str]]  # lower-cased names


# ------------------------------------------------------------------------ endpoints


def _plugin_activate(service: Service, body: bytes) -> Reply:
    return _json(200, "/Plugin.Activate", {"Implements": ["authz"]}, PLUGIN_MEDIA_TYPE)


def _authz_request(service: Service, body: bytes) -> Reply:
    endpoint = "/AuthZPlugin.AuthZReq"
    envelope = _json_object(endpoint, body)
    if isinstance(envelope, Reply):
        return envelope
    return _answer(service, endpoint, "docker", docker.authz_request(service.gate, envelope))


def _authz_response(service: Service, body: bytes) -> Reply:
    # Runtimes are decided before the daemon acts; the response (which may be a large
    # container listing) is not even held in memory.
    return _json(200, "/AuthZPlugin.AuthZRes", {"Allow": True}, PLUGIN_MEDIA_TYPE)


def _validate(service: Service, body: bytes) -> Reply:
    review = _json_object("/validate", body)
    if isinstance(review, Reply):
        return review
    return _answer(service, "/validate", "kubernetes", admission.validate(service.gate, review))


def _healthz(service: Service, body: bytes) -> Reply:
    return Reply(200, "/healthz", b"ok\n", "text/plain; charset=utf-8")


def _metrics(service: Service, body: bytes) -> Reply:
    text = service.metrics.render().encode()
    return Reply(200, "/metrics", text, "text/plain; version=0.0.4; charset=utf-8")


def _json_object(endpoint: str, body: bytes) -> dict[str, Any] | Reply:
    """The request body as a JSON object, or the 400 answering it."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as e:
        return _json(400, endpoint, {"error": f"the request body is not JSON: {e}"})
    if not isinstance(doc, dict):
        return _json(400, endpoint, {"error": "the request body is not a JSON object"})
    return doc


def _answer(service: Service, endpoint: str, kind: str, answer: Answer) -> Reply:
    service.report(kind, answer.problems, **answer.context)
    content_type = PLUGIN_MEDIA_TYPE if kind == "docker" else "application/json"
    return _json(answer.status, endpoint, answer.doc, content_type)


class _Route(NamedTuple):
    method: str
    handle: Callable[[Service, bytes], Reply]
    keep_body: bool  # False: the body is read and thrown away, whatever its size
    plugin: bool  # Docker's plugin protocol: errors carry "Err", which dockerd shows


ROUTES: dict[str, _Route] = {
    "/Plugin.Activate": _Route("POST", _plugin_activate, False, True),
    "/AuthZPlugin.AuthZReq": _Route("POST", _authz_request, True, True),
    "/AuthZPlugin.AuthZRes": _Route("POST", _authz_response, False, True),
    "/validate": _Route("POST", _validate, True, False),
    "/healthz": _Route("GET", _healthz, False, False),
    "/metrics": _Route("GET", _metrics, False, False),
}


def _internal_error(path: str, route: _Route) -> Reply:
    """Fail closed: dockerd denies a request whose plugin answers anything but 200 (and
    shows ``Err``); the API server refuses an object whose webhook fails."""
    doc: dict[str, object] = {"error": "internal error"}
    if route.plugin:
        doc = {"Allow": False, "Err": "shimpolicy: internal error; denied"}
    return _json(500, path, doc, PLUGIN_MEDIA_TYPE if route.plugin else "application/json")


# ------------------------------------------------------------------------ connections


def _parse_head(head: bytes) -> _Request | Reply:
    """A request head (without its blank line) as a request, or the 4xx/5xx refusing it."""
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        parts = lines[0].split(" ")
        if len(parts) == 3 and _VERSION.fullmatch(parts[2]):
            return _error(505)
        return _error(400, "malformed request line")
    method, target, major, minor = match.groups()
    if major != "1":
        return _error(505)
    if len(lines) - 1 > MAX_HEADERS:
        return _error(431)
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        # No folded lines, no space before the colon: ambiguous heads are refused.
        if not colon or not _TOKEN.fullmatch(name):
            return _error(400, "malformed header line")
        headers.setdefault(name.lower(), []).append(value.strip(" \t"))
    connection = ",".join(headers.get("connection", ())).lower()
    keep_alive = "close" not in connection if minor != "0" else "keep-alive" in connection
    path = target.partition("?")[0] if target.startswith("/") else urlsplit(target).path
    return _Request(method, path, keep_alive, headers)


def _body_length(request: _Request, route: _Route) -> int | Reply:
    """How many body bytes the request sends, or the refusal."""
    if "transfer-encoding" in request.headers:
        return _error(411, "a Content-Length is required", request.path)
    lengths = request.headers.get("content-length", ["0"])
    if len(lengths) != 1 or not lengths[0].isdigit() or not lengths[0].isascii():
        return _error(400, "invalid Content-Length", request.path)
    # Python refuses to convert integers of thousands of digits; none would fit anyway.
    size = int(lengths[0]) if len(lengths[0]) <= 18 else 10**18
    if route.keep_body and size > MAX_BODY:
        error = f"the request body exceeds the limit of {MAX_BODY} bytes"
        return _error(413, error, request.path)
    return size


class _Connection(asyncio.Protocol):
    """One client connection: requests read and answered in turn (HTTP/1.1 keep-alive).

    States: ``idle`` (waiting for a request), ``head`` (part of a head received),
    ``body`` (a head received, its body arriving), ``closed``.  A request is in flight
    from its first byte to its answer."""

    def __init__(self, server: PolicyServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.searched = 0  # how much of the buffer is known not to hold a head's end
        self.state = "idle"
        self.fresh = True  # no request yet: the connection's first deadline still runs
        self.timer: asyncio.TimerHandle | None = None
        self.request: _Request | None = None
        self.route: _Route | None = None
        self.remaining = 0  # body bytes still to come
        self.reserved = 0  # of the server's body budget
        self.handshake: asyncio.Future[None] | None = None

    # ------------------------------------------------------------ transport events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        server = self.server
        tls = server.service.tls
        if len(server.connections) >= server.max_connections and not server.evict_idle():
            self.state = "closed"
            if tls is None:
                self._send(_error(503, "too many connections"))
                transport.close()
            else:
                transport.abort()
            return
        server.connections[self] = None
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The first request's head (and the TLS handshake before it) has HEAD_TIMEOUT.
        self._arm(HEAD_TIMEOUT, self._late)
        if tls is not None:
            transport.pause_reading()
            self.handshake = asyncio.ensure_future(self._start_tls(transport, tls))

    async def _start_tls(self, transport: asyncio.Transport, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            # The certificate loaded last (SIGHUP, or its files changed) serves each new
            # connection.
            upgraded = await loop.start_tls(
                transport, self, context, server_side=True, ssl_handshake_timeout=HEAD_TIMEOUT
            )
        except (OSError, asyncio.TimeoutError) as e:
            if self.state != "closed":
                self.server.service.log("connection-error", error=f"{type(e).__name__}: {e}")
                self.abort()
            return
        if upgraded is None or self.state == "closed":
            return
        assert isinstance(upgraded, asyncio.Transport)
        self.transport = upgraded
        self.handshake = None
        self._run()

    def data_received(self, data: bytes) -> None:
        if self.state == "closed":
            return
        self.buffer += data
        # During the handshake's last step the first bytes may arrive before the new
        # transport is ours to answer on: they wait.
        if self.handshake is None or self.handshake.done():
            self._run()

    def _run(self) -> None:
        try:
            self._process()
        except Exception as e:  # a bug must cost one connection, never the server
            self.server.service.log("error", error=f"{type(e).__name__}: {e}")
            if self.request is not None and self.route is not None:
                self._send(_internal_error(self.request.path, self.route)._replace(close=True))
            self._finish_request()
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish_request()
        self.state = "closed"
        self._disarm()
        self.server.connections.pop(self, None)

    def pause_writing(self) -> None:
        # A client that does not read its answers is not read from either.
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and self.state != "closed":
            self.transport.resume_reading()

    # ------------------------------------------------------------ reading

    def _process(self) -> None:
        """Take what the buffer holds as far as it goes: heads, bodies, answers, and the
        requests a client sent without waiting for answers, in turn."""
        while True:
            if self.state == "idle":
                # Empty lines before a request line are ignored (RFC 9112, 2.2).
                blank = len(self.buffer) - len(self.buffer.lstrip(b"\r\n"))
                del self.buffer[:blank]
                if not self.buffer:
                    return
                self.state = "head"
                self.server.request_started()
                if not self.fresh:
                    self._arm(HEAD_TIMEOUT, self._late)
                self.fresh = False
            if self.state == "head":
                if not self._take_head():
                    return
            elif self.state == "body":
                if not self._take_body():
                    return
            else:
                return

    def _take_head(self) -> bool:
        end = _HEAD_END.search(self.buffer, max(0, self.searched - 3))
        first_line = self.buffer.find(b"\n", 0, MAX_REQUEST_LINE + 2)
        if first_line < 0 and len(self.buffer) > MAX_REQUEST_LINE + 1:
            self._respond(_error(414))
            return False
        if end is None:
            self.searched = len(self.buffer)
            if len(self.buffer) > MAX_HEAD:
                self._respond(_error(431))
            return False
        if end.start() > MAX_HEAD:
            self._respond(_error(431))
            return False
        head = bytes(self.buffer[: end.start()])
        del self.buffer[: end.end()]
        self.searched = 0
        self._head(head)
        return True

    def _head(self, head: bytes) -> None:
        parsed = _parse_head(head)
        if isinstance(parsed, Reply):
            self._respond(parsed)
            return
        self.request = request = parsed
        route = ROUTES.get(request.path)
        if route is None:
            self._respond(_json(404, "other", {"error": f"no endpoint {request.path}"}))
            return
        if request.method != route.method:
            error = {"error": f"{request.path} takes {route.method}"}
            self._respond(_json(405, request.path, error, headers=(("Allow", route.method),)))
            return
        self.route = route
        size = _body_length(request, route)
        if isinstance(size, Reply):
            self._respond(size)
            return
        if route.keep_body and size:
            if not self.server.reserve(size):
                self._respond(_error(503, "too many request bodies at once", request.path))
                return
            self.reserved = size
        if size and "100-continue" in ",".join(request.headers.get("expect", ())).lower():
            self._write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.state = "body"
        self.remaining = size
        if size:
            self._arm(BODY_TIMEOUT, self._late)

    def _take_body(self) -> bool:
        assert self.route is not None
        if not self.route.keep_body:  # thrown away as it arrives
            dropped = min(self.remaining, len(self.buffer))
            del self.buffer[:dropped]
            self.remaining -= dropped
            if self.remaining:
                return False
            self._dispatch(b"")
            return True
        if len(self.buffer) < self.remaining:
            return False
        body = bytes(self.buffer[: self.remaining])
        del self.buffer[: self.remaining]
        self.remaining = 0
        self._dispatch(body)
        return True

    def _dispatch(self, body: bytes) -> None:
        request, route = self.request, self.route
        assert request is not None and route is not None
        try:
            reply = route.handle(self.server.service, body)
        except Exception as e:  # fail closed: never an answer that allows
            self.server.service.log("error", path=request.path, error=f"{type(e).__name__}: {e}")
            reply = _internal_error(request.path, route)._replace(close=True)
        self._respond(reply)

    # ------------------------------------------------------------ writing

    def _respond(self, reply: Reply) -> None:
        """Answer the request in flight; then wait for the next one, or close."""
        request = self.request
        # A body left unread would be taken for the next request.
        unread = self.state == "head" and request is not None and _declares_body(request)
        keep_alive = request is not None and request.keep_alive
        close = reply.close or unread or not keep_alive or self.server.stopping
        self._send(reply._replace(close=close))
        self._finish_request()
        if close:
            self._close(linger=True)
        else:
            self.state = "idle"
            self._arm(IDLE_TIMEOUT, self._close)

    def _send(self, reply: Reply) -> None:
        lines = [
            f"HTTP/1.1 {reply.status} {http.HTTPStatus(reply.status).phrase}",
            "Server: shimpolicy",
            f"Date: {_http_date()}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
            *(f"{k}: {v}" for k, v in reply.headers),
        ]
        if reply.close:
            lines.append("Connection: close")
        # Counted before the answer leaves: a client that has its answer and asks /metrics
        # at once must find it counted.
        self.server.service.metrics.request(reply.endpoint, reply.status)
        self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _finish_request(self) -> None:
        if self.state in ("head", "body"):
            self.server.request_finished()
        self.server.release(self.reserved)
        self.reserved = 0
        self.request = self.route = None
        self.remaining = 0

    # ------------------------------------------------------------ deadlines, closing

    def _arm(self, seconds: float, expire: Callable[[], None]) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.server.loop.call_later(seconds, expire)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _late(self) -> None:
        """A head or body that missed its deadline: 408, and the connection is closed."""
        if self.state in ("head", "body"):
            self._send(_error(408, "the request did not arrive in time"))
            self._finish_request()
        self._close()

    def close_if_idle(self) -> None:
        if self.state == "idle":
            self._close()

    def close(self) -> None:
        self._close()

    def _close(self, *, linger: bool = False) -> None:
        self.state = "closed"
        self._disarm()
        self.buffer.clear()
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if linger and transport.can_write_eof():
            # After an answer: half-close once it has gone, and read (and drop) what the
            # client still sends for a moment; closing with unread bytes would reset the
            # connection, and the client might never see its answer (a 413, say).
            transport.write_eof()
            self.timer = self.server.loop.call_later(LINGER, transport.close)
        else:
            transport.close()  # after what is written has gone

    def eof_received(self) -> None:
        """The client is done sending: the transport closes (once the answer is out)."""

    def abort(self) -> None:
        self._finish_request()
        self.state = "closed"
        self._disarm()
        if self.transport is not None:
            self.transport.abort()


def _declares_body(request: _Request) -> bool:
    headers = request.headers
    return "transfer-encoding" in headers or headers.get("content-length", ["0"]) != ["0"]


# ------------------------------------------------------------------------ listening


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
    """Remove a unix socket left by a server that is gone; refuse to replace anything else
    (a symlink included: it is never followed)."""
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


def bind_unix(path: str) -> socket.socket:
    """A unix socket bound at ``path`` with mode 0600 from the moment the path exists.

    It is bound in a new directory only this process can enter, given mode 0600 there,
    then hard-linked to ``path``: a link never replaces what is already at ``path`` and
    never follows a symlink there (EEXIST instead)."""
    _claim_socket_path(path)
    parent = os.path.dirname(os.path.abspath(path))
    private = tempfile.mkdtemp(prefix=".sp", dir=parent)  # mode 0700
    staged = os.path.join(private, "s")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(staged)
        os.chmod(staged, 0o600)
        os.link(staged, path)
    except BaseException:
        sock.close()
        raise
    finally:
        if os.path.lexists(staged):
            os.unlink(staged)
        os.rmdir(private)
    return sock


def _bind_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def connection_limit(requested: int) -> int:
    """``requested``, or fewer when the open-file limit would not hold that many."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return requested
    return max(1, min(requested, soft - RESERVED_FILES))


class _FileStamp(NamedTuple):
    inode: int
    size: int
    mtime: int


def _stamp(*paths: str | None) -> tuple[_FileStamp | None, ...]:
    stamps: list[_FileStamp | None] = []
    for path in paths:
        try:
            st = os.stat(path) if path is not None else None
        except OSError:
            st = None
        stamps.append(None if st is None else _FileStamp(st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(stamps)


# The signals serve_main acts on (in the main thread).
_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
# How often the TLS certificate files are looked at (cert-manager renews them in place).
CERTIFICATE_CHECK = 30.0


class PolicyServer:
    """A server listening on ``listen`` with ``sources``; ``serve_main`` adds the signals.

    ``ServeError`` from the constructor when an input is invalid or the address unusable.
    """

    def __init__(
        self,
        listen: str,
        sources: Sources,
        log: Log | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        address = parse_listen(listen)
        self.service = Service(sources, log or Log())
        self.max_connections = connection_limit(max_connections)
        # In the order they came (a dict keeps it), so the longest-held goes first.
        self.connections: dict[_Connection, None] = {}
        self.stopping = False
        self._socket_path: str | None = None
        self._socket_inode = 0
        try:
            if isinstance(address, str):
                self._sock = bind_unix(address)
                self._socket_path, self._socket_inode = address, os.lstat(address).st_ino
                self.address = f"unix://{address}"
            else:
                self._sock = _bind_tcp(*address)
                host, port = self._sock.getsockname()[:2]
                self.address = f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"
        except OSError as e:
            raise ServeError(f"cannot listen on {listen}: {e.strerror or e}") from None
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self._loop_error)
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._idle = threading.Event()
        self._idle.set()
        self._bodies = 0
        self._certificate = _stamp(sources.tls_cert, sources.tls_key)

    # ------------------------------------------------------------ bookkeeping (loop thread)

    def request_started(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def request_finished(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    def evict_idle(self) -> bool:
        """Close the oldest connection that is waiting for a request, to make room for a
        new one: idle clients cannot lock others out.  False when every connection has a
        request in flight."""
        for connection in self.connections:
            if connection.state == "idle":
                connection.close()
                self.connections.pop(connection)
                return True
        return False

    def reserve(self, size: int) -> bool:
        if self._bodies + size > MAX_BODIES:
            return False
        self._bodies += size
        return True

    def release(self, size: int) -> None:
        self._bodies -= size

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """What the event loop itself reports (an accept that failed, say): one log line."""
        error = context.get("exception")
        detail = f"{type(error).__name__}: {error}" if error else context.get("message")
        self.service.log("error", error=detail)

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Serve connections in a background thread."""
        ready = threading.Event()

        def run() -> None:
            # Signals go to the main thread, which waits for them: one delivered to this
            # thread would not wake it.
            signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
            asyncio.set_event_loop(self.loop)
            self._server = self.loop.run_until_complete(
                self.loop.create_server(
                    lambda: _Connection(self), sock=self._sock, backlog=LISTEN_BACKLOG
                )
            )
            if self.service.sources.tls_cert is not None:
                self.loop.call_later(CERTIFICATE_CHECK, self._check_certificate)
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="shimpolicy-serve", daemon=True)
        self._thread.start()
        ready.wait()
        policy = self.service.gate.policy.source
        self.service.log(
            "listening",
            address=self.address,
            policy=policy,
            max_connections=self.max_connections,
        )

    def reload(self) -> bool:
        return self.service.reload()

    def _check_certificate(self) -> None:
        """Re-read the TLS certificate when its files changed: new connections use it."""
        sources = self.service.sources
        stamp = _stamp(sources.tls_cert, sources.tls_key)
        if stamp != self._certificate:
            self._certificate = stamp
            self.service.reload_tls()
        if not self.stopping:
            self.loop.call_later(CERTIFICATE_CHECK, self._check_certificate)

    def stop(self, timeout: float = DRAIN_TIMEOUT) -> bool:
        """Stop accepting, finish the requests in flight (up to ``timeout``), close every
        connection and the listener and remove the unix socket.  False if requests were
        still in flight."""
        drained = True
        if self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._stop_accepting(), self.loop).result()
            drained = self._idle.wait(timeout)
            asyncio.run_coroutine_threadsafe(self._close_all(), self.loop).result()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
            self._thread = None
        self.loop.close()
        self._sock.close()
        if self._socket_path is not None:
            try:
                # Only our socket: another server may have taken the path since.
                if os.lstat(self._socket_path).st_ino == self._socket_inode:
                    os.unlink(self._socket_path)
            except FileNotFoundError:
                pass
        self.service.log("stopped", drained=drained)
        return drained

    async def _stop_accepting(self) -> None:
        self.stopping = True
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close_if_idle()

    async def _close_all(self) -> None:
        for connection in list(self.connections):
            connection.abort()
        await asyncio.sleep(0)  # let the transports finish closing
