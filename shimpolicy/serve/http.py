"""The HTTP server: a thread per connection on the standard library's ``http.server``,
HTTP/1.1 keep-alive, unix socket or TCP (optionally TLS), routes to the endpoints."""

from __future__ import annotations

import http
import json
import socket
import socketserver
import ssl
import stat
import sys
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from .._typing import TYPE_CHECKING
from . import admission, docker
from .docker import PLUGIN_MEDIA_TYPE
from .ops import Log, Service
from .records import Answer, ServeError, Sources

if TYPE_CHECKING:
    from typing import Any, ClassVar

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
_MAX_REQUEST_LINE = 65536

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
        if envelope is not None:
            answer = docker.authz_request(self.service.gate, envelope)
            self._answer(endpoint, "docker", answer, PLUGIN_MEDIA_TYPE)

    def authz_response(self, endpoint: str) -> None:
        # Runtimes are decided before the daemon acts; the response (which may be a large
        # container listing) is not even held in memory.
        if self._body(endpoint, keep=False) is not None:
            self._json(200, endpoint, {"Allow": True}, content_type=PLUGIN_MEDIA_TYPE)

    def validate(self, endpoint: str) -> None:
        review = self._json_body(endpoint)
        if review is not None:
            answer = admission.validate(self.service.gate, review)
            self._answer(endpoint, "kubernetes", answer, "application/json")

    def _answer(self, endpoint: str, kind: str, answer: Answer, content_type: str) -> None:
        self.service.report(kind, answer.problems, **answer.context)
        self._json(answer.status, endpoint, answer.doc, content_type=content_type)

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
