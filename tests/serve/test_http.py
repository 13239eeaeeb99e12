"""``shimpolicy serve``'s HTTP layer under clients that misbehave: deadlines for the request
head and body, the connection cap, bounded memory, failing closed, the unix socket's mode
and path, TLS certificate reloads."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shimpolicy.serve.http as serve_http
from shimpolicy.cli import main
from shimpolicy.serve.gate import Gate
from shimpolicy.serve.http import PolicyServer, bind_unix, connection_limit
from shimpolicy.serve.ops import Log
from shimpolicy.serve.records import ServeError, Sources


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # A unix socket path must fit in 108 bytes; pytest's tmp_path may not.
    d = Path(tempfile.mkdtemp(prefix="sp-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Server:
    def __init__(self, server: PolicyServer, log: io.StringIO) -> None:
        self.server = server
        self.log = log
        host, port = server.address[len("tcp://") :].rsplit(":", 1)
        self.host, self.port = host, int(port)

    def connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def events(self, name: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.log.getvalue().splitlines()]
        return [e for e in lines if e["event"] == name]


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    started: list[PolicyServer] = []

    def _serve(sources: Sources | None = None, **options: Any) -> Server:
        log = io.StringIO()
        server = PolicyServer("tcp://127.0.0.1:0", sources or Sources(), Log(log), **options)
        server.start()
        started.append(server)
        return Server(server, log)

    yield _serve
    for server in started:
        server.stop(timeout=2)


_unread: dict[int, bytes] = {}  # what came after an answer, by socket


def read_answer(sock: socket.socket) -> tuple[bytes, bytes]:
    """One answer: (head, body), read to its Content-Length; what follows is kept for the
    next call."""
    data = _unread.pop(sock.fileno(), b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    fields = (line.partition(b": ") for line in head.split(b"\r\n")[1:])
    length = int(next(v for k, _, v in fields if k.lower() == b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    if body[length:]:
        _unread[sock.fileno()] = body[length:]
    return head, body[:length]


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def healthz(s: Server) -> float:
    """Seconds for a GET /healthz on a new connection, asserting its answer."""
    start = time.perf_counter()
    with s.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = read_answer(sock)
    assert (head.split(b"\r\n")[0], body) == (b"HTTP/1.1 200 OK", b"ok\n")
    return time.perf_counter() - start


LATE = json.dumps({"error": "the request did not arrive in time"}, separators=(",", ":"))


# ---------------------------------------------------------------------- deadlines


def test_a_head_trickled_byte_by_byte_is_cut_off_at_the_head_deadline(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_http, "HEAD_TIMEOUT", 0.6)
    s = serve()
    sock = s.connect()
    start = time.monotonic()
    # A byte every 0.1 s: each one arrives long before any idle timeout would fire.
    for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: aaaa":
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            break
        time.sleep(0.1)
        if time.monotonic() - start > 0.9:
            break
    sock.settimeout(5)
    answer = sock.recv(65536)
    elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"\r\nConnection: close\r\n" in answer
    assert answer.endswith(LATE.encode())
    assert 0.5 < elapsed < 1.5
    assert closed_by_server(sock, 5)
    sock.close()


def test_a_connection_that_sends_nothing_is_closed_at_the_head_deadline(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_http, "HEAD_TIMEOUT", 0.3)
    s = serve()
    with s.connect() as sock:
        start = time.monotonic()
        assert closed_by_server(sock, 5)
        assert 0.2 < time.monotonic() - start < 2


def test_a_body_that_stalls_is_cut_off_at_the_body_deadline(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_http, "BODY_TIMEOUT", 0.3)
    s = serve()
    with s.connect() as sock:
        sock.sendall(b'POST /validate HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"apiV')
        start = time.monotonic()
        head, body = read_answer(sock)
        assert head.startswith(b"HTTP/1.1 408 ")
        assert body == LATE.encode()
        assert 0.2 < time.monotonic() - start < 2
        assert closed_by_server(sock, 5)


def test_an_idle_keep_alive_connection_is_closed_without_an_answer(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_http, "IDLE_TIMEOUT", 0.3)
    s = serve()
    with s.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
        assert read_answer(sock)[1] == b"ok\n"
        sock.settimeout(5)
        assert sock.recv(65536) == b""  # closed, and nothing said


def test_healthz_answers_at_once_while_120_clients_trickle_heads(
    serve: Callable[..., Server],
) -> None:
    s = serve()
    slow = [s.connect() for _ in range(120)]
    try:
        for sock in slow:
            sock.sendall(b"POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nX-A")
        times = [healthz(s) for _ in range(20)]
        for sock in slow:
            sock.sendall(b"a")
        times += [healthz(s) for _ in range(20)]
    finally:
        for sock in slow:
            sock.close()
    assert max(times) < 1.0, times


# ---------------------------------------------------------------------- connection cap


def test_connections_over_the_cap_are_refused_when_every_one_has_a_request_in_flight(
    serve: Callable[..., Server],
) -> None:
    s = serve(max_connections=3)
    busy = [s.connect() for _ in range(3)]
    for sock in busy:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # a head begun: a request in flight
    time.sleep(0.2)
    with s.connect() as extra:
        head, body = read_answer(extra)
        assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert b"Connection: close" in head.split(b"\r\n")
        assert json.loads(body) == {"error": "too many connections"}
    # Those in flight are not disturbed.
    for sock in busy:
        sock.sendall(b"\r\n")
        assert read_answer(sock)[1] == b"ok\n"
        sock.close()


def test_a_connection_over_the_cap_takes_the_place_of_the_oldest_idle_one(
    serve: Callable[..., Server],
) -> None:
    s = serve(max_connections=3)
    idle = [s.connect() for _ in range(3)]
    time.sleep(0.2)
    assert healthz(s) < 1.0
    assert closed_by_server(idle[0], 5)
    for sock in idle[1:]:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
        assert read_answer(sock)[1] == b"ok\n"
    for sock in idle:
        sock.close()


def test_the_cap_stays_below_the_open_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_http.resource, "getrlimit", lambda which: (1024, 1024))
    assert connection_limit(5000) == 1024 - serve_http.RESERVED_FILES
    assert connection_limit(100) == 100


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_max_connections_must_be_a_positive_number(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--listen", "tcp://127.0.0.1:0", "--max-connections", value]) == 2
    assert capsys.readouterr().err.endswith(
        f"shimpolicy serve: error: argument --max-connections: expected a positive number, "
        f"got {value!r}\n"
    )


# ---------------------------------------------------------------------- memory


def test_bodies_in_flight_are_bounded_in_all(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_http, "MAX_BODIES", 150)
    s = serve()
    first = s.connect()
    first.sendall(b"POST /validate HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    time.sleep(0.2)
    with s.connect() as second:
        second.sendall(b"POST /validate HTTP/1.1\r\nContent-Length: 100\r\n\r\n")
        head, body = read_answer(second)
        assert head.startswith(b"HTTP/1.1 503 ")
        assert json.loads(body) == {"error": "too many request bodies at once"}
    first.sendall(b" " * 98 + b"}")
    head, body = read_answer(first)
    assert head.startswith(b"HTTP/1.1 400 ")  # the first body was read whole
    first.close()
    # Its share is given back.
    with s.connect() as third:
        third.sendall(b"POST /validate HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        assert read_answer(third)[0].startswith(b"HTTP/1.1 400 ")


def test_a_head_over_64_kib_is_refused(serve: Callable[..., Server]) -> None:
    s = serve()
    with s.connect() as sock:
        # Sent in one go and unfinished: the server has read it all when it answers.
        sock.sendall(b"GET /healthz HTTP/1.1" + b"\r\nX-Pad: " * 7500)
        head, body = read_answer(sock)
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert json.loads(body) == {"error": "Request Header Fields Too Large"}


def test_a_whole_head_over_64_kib_is_refused_too(serve: Callable[..., Server]) -> None:
    s = serve()
    with s.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1" + b"\r\nX-Pad: " * 7500 + b"\r\n\r\n")
        head, _ = read_answer(sock)
    assert head.startswith(b"HTTP/1.1 431 ")


def test_empty_lines_before_a_request_are_ignored(serve: Callable[..., Server]) -> None:
    s = serve()
    with s.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n\r\n\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n")
        assert read_answer(sock)[1] == b"ok\n"
        assert read_answer(sock)[1] == b"ok\n"


def test_an_http_1_0_request_is_answered_then_closed(serve: Callable[..., Server]) -> None:
    s = serve()
    with s.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        head, body = read_answer(sock)
        assert (head.split(b"\r\n")[-1], body) == (b"Connection: close", b"ok\n")
        assert closed_by_server(sock, 5)


def test_a_client_still_sending_an_oversize_body_gets_its_413(
    serve: Callable[..., Server],
) -> None:
    s = serve()
    size = serve_http.MAX_BODY + 1
    with s.connect() as sock:
        # The server answers after the head; what follows it is read and dropped rather
        # than left to reset the connection before the client reads the answer.
        sock.sendall(f"POST /validate HTTP/1.1\r\nContent-Length: {size}\r\n\r\n".encode())
        sock.sendall(b"x" * (1 << 20))
        head, body = read_answer(sock)
        assert head.startswith(b"HTTP/1.1 413 ")
        error = f"the request body exceeds the limit of {serve_http.MAX_BODY} bytes"
        assert json.loads(body) == {"error": error}
        assert closed_by_server(sock, 5)


def test_requests_sent_without_waiting_are_answered_in_order(
    serve: Callable[..., Server],
) -> None:
    s = serve()
    review = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})
    with s.connect() as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\n\r\n"
            + f"POST /validate HTTP/1.1\r\nContent-Length: {len(review)}\r\n\r\n{review}".encode()
            + b"GET /nowhere HTTP/1.1\r\n\r\n"
        )
        assert read_answer(sock)[1] == b"ok\n"
        assert json.loads(read_answer(sock)[1]) == {
            "error": "the AdmissionReview has no request.uid"
        }
        assert json.loads(read_answer(sock)[1]) == {"error": "no endpoint /nowhere"}


def test_expect_100_continue_is_answered_before_the_body(serve: Callable[..., Server]) -> None:
    s = serve()
    with s.connect() as sock:
        sock.sendall(
            b"POST /validate HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"[]")
        assert json.loads(read_answer(sock)[1]) == {
            "error": "the request body is not a JSON object"
        }


# ---------------------------------------------------------------------- fail closed


def _boom(*args: object) -> None:
    raise RuntimeError("the gate broke")


CREATE = {
    "RequestMethod": "POST",
    "RequestUri": "/v1.47/containers/create",
    "RequestBody": base64.b64encode(
        b'{"HostConfig": {"Runtime": "io.containerd.kata.v2"}}'
    ).decode(),
}


def test_an_authz_request_whose_decision_fails_is_denied(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Gate, "runtime", _boom)
    s = serve()
    body = json.dumps(CREATE).encode()
    with s.connect() as sock:
        sock.sendall(
            b"POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        head, answer = read_answer(sock)
    assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"Connection: close" in head.split(b"\r\n")
    # dockerd denies on any status but 200 and shows Err.
    assert json.loads(answer) == {"Allow": False, "Err": "shimpolicy: internal error; denied"}
    (error,) = s.events("error")
    assert (error["path"], error["error"]) == (
        "/AuthZPlugin.AuthZReq",
        "RuntimeError: the gate broke",
    )
    assert healthz(s) < 1.0


def test_an_admission_review_whose_decision_fails_is_an_error(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Gate, "runtime_class", _boom)
    s = serve()
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u",
            "kind": {"group": "node.k8s.io", "version": "v1", "kind": "RuntimeClass"},
            "object": {"metadata": {"name": "kata"}, "handler": "kata"},
        },
    }
    body = json.dumps(review).encode()
    with s.connect() as sock:
        sock.sendall(b"POST /validate HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        head, answer = read_answer(sock)
    # With failurePolicy: Fail the API server refuses the object.
    assert head.startswith(b"HTTP/1.1 500 ")
    assert json.loads(answer) == {"error": "internal error"}


# ---------------------------------------------------------------------- unix socket


def test_the_socket_is_0600_from_the_moment_its_path_exists(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(short_dir / "sp.sock")
    seen: list[tuple[int, int]] = []
    real_link, real_chmod = os.link, os.chmod

    def link(src: str, dst: str) -> None:
        real_link(src, dst)
        seen.append((os.lstat(dst).st_mode, os.lstat(os.path.dirname(src)).st_mode))

    def chmod(target: str, mode: int) -> None:
        # The socket is bound where only this process can reach it.
        assert stat.S_IMODE(os.lstat(os.path.dirname(target)).st_mode) == 0o700
        real_chmod(target, mode)

    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "chmod", chmod)
    old_umask = os.umask(0)  # the most permissive: the mode must not come from it
    try:
        sock = bind_unix(path)
    finally:
        os.umask(old_umask)
    sock.close()
    ((mode, directory),) = seen
    # Linked into place already a 0600 socket: the path never had another mode.
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(directory) == 0o700
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    assert sorted(os.listdir(short_dir)) == ["sp.sock"]  # no staging left behind


@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_at_the_socket_path_is_refused_never_followed(
    short_dir: Path, dangling: bool
) -> None:
    target = short_dir / "target"
    if not dangling:
        target.write_text("precious\n")
    link = short_dir / "sp.sock"
    link.symlink_to(target)
    with pytest.raises(ServeError, match=f"^{link} exists and is not a socket$"):
        PolicyServer(f"unix://{link}", Sources(), Log(io.StringIO()))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "precious\n" if not dangling else not target.exists()
    assert sorted(os.listdir(short_dir)) == sorted(["sp.sock"] + ([] if dangling else ["target"]))


# ---------------------------------------------------------------------- TLS


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _served_certificate(s: Server) -> str:
    """The subject CN of the certificate a new TLS connection is given."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with s.connect() as raw, context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
        tls.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
        assert read_answer(tls)[1] == b"ok\n"  # type: ignore[arg-type]
    assert der is not None
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-subject"], input=pem, text=True, capture_output=True
    )
    return out.stdout.strip().rpartition("=")[2].strip()


needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="needs the openssl command to make certificates"
)


@needs_openssl
def test_sighup_reload_serves_the_new_certificate(
    serve: Callable[..., Server], short_dir: Path
) -> None:
    cert, key = _certificate(short_dir, "first")
    s = serve(Sources(tls_cert=str(cert), tls_key=str(key)))
    assert _served_certificate(s) == "first"
    new_cert, new_key = _certificate(short_dir, "second")
    new_cert.replace(cert)
    new_key.replace(key)
    assert s.server.reload() is True
    assert _served_certificate(s) == "second"


@needs_openssl
def test_a_certificate_renewed_in_place_is_picked_up(
    serve: Callable[..., Server], short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_http, "CERTIFICATE_CHECK", 0.1)
    cert, key = _certificate(short_dir, "first")
    s = serve(Sources(tls_cert=str(cert), tls_key=str(key)))
    new_cert, new_key = _certificate(short_dir, "renewed")
    new_key.replace(key)
    new_cert.replace(cert)
    for _ in range(50):
        if s.events("tls-reload"):
            break
        time.sleep(0.1)
    assert [e["result"] for e in s.events("tls-reload")] == ["ok"]
    assert _served_certificate(s) == "renewed"


@needs_openssl
def test_a_tls_handshake_that_never_comes_is_cut_off(
    serve: Callable[..., Server], short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_http, "HEAD_TIMEOUT", 0.3)
    cert, key = _certificate(short_dir, "first")
    s = serve(Sources(tls_cert=str(cert), tls_key=str(key)))
    with s.connect() as sock:
        sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and no more
        assert closed_by_server(sock, 5)


# ---------------------------------------------------------------------- any bytes at all


class _Transport(asyncio.Transport):
    """Records what the server writes; no socket."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closing
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


FRAGMENTS = [
    b"GET /healthz HTTP/1.1\r\n\r\n",
    b"POST /validate HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
    b"POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nContent-Length: 30\r\n\r\n",
    b"POST /AuthZPlugin.AuthZRes HTTP/1.1\r\nContent-Length: 5\r\n\r\nxxxxx",
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Length: 99999999999\r\n",
    b"Expect: 100-continue\r\n",
    b"Connection: close\r\n",
    b" folded\r\n",
    b"\r\n",
    b"\n",
    b"HTTP/1.0",
    json.dumps(CREATE).encode(),
]


@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=40)), max_size=12))
@settings(max_examples=300, deadline=None)
def test_any_bytes_get_answers_or_a_close_and_leave_nothing_behind(chunks: list[bytes]) -> None:
    server = PolicyServer("tcp://127.0.0.1:0", Sources(), Log(io.StringIO()))
    try:
        connection = serve_http._Connection(server)
        transport = _Transport()
        connection.connection_made(transport)
        for chunk in chunks:
            connection.data_received(chunk)
        connection.connection_lost(None)
        # Nothing in flight, no body budget held, no connection counted.
        assert (server._in_flight, server._bodies, server.connections) == (0, 0, {})
        # Every answer is a well-formed HTTP/1.1 response with a JSON or text body.
        written = bytes(transport.written).replace(b"HTTP/1.1 100 Continue\r\n\r\n", b"")
        while written:
            head, _, rest = written.partition(b"\r\n\r\n")
            status = head.split(b"\r\n")[0]
            assert status.startswith(b"HTTP/1.1 ") and status[9:12].isdigit(), written
            fields = (line.partition(b": ") for line in head.split(b"\r\n")[1:])
            length = int(next(v for k, _, v in fields if k == b"Content-Length"))
            written = rest[length:]
    finally:
        server.stop(timeout=0)
