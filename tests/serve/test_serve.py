"""``shimpolicy serve``: the Docker authorization plugin and the Kubernetes admission
webhook, end to end over real unix sockets and TCP connections."""

from __future__ import annotations

import base64
import http.client
import io
import json
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from shimpolicy.cli import main
from shimpolicy.serve.docker import CREATE, LEGACY_START, runtime_route
from shimpolicy.serve.http import MAX_BODY, PolicyServer
from shimpolicy.serve.ops import Log
from shimpolicy.serve.records import ServeError, Sources

POLICY = """\
version: 1
extends: default
rules:
  - id: no-tmp
    match: {name: "/tmp/*"}
    action: deny
    reason: shims under /tmp are never allowed
  - id: beta-shim
    match: {name: io.containerd.beta.v2}
    action: warn
    reason: the beta shim is on trial
"""

# A policy that denies everything it is asked about: only D2 names get through.
DENY_ALL = "version: 1\ndefault: deny\nrules: []\n"

NO_TMP_MSG = 'runtime "/tmp/evil" is denied by rule no-tmp: shims under /tmp are never allowed'

CONTAINERD_V2 = """\
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]
  runtime_type = "io.containerd.kata.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.evil]
  runtime_type = "/tmp/containerd-shim-evil-v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.beta]
  runtime_type = "io.containerd.beta.v2"
"""

RUN = "import sys; from shimpolicy.cli import main; sys.exit(main(['serve', *sys.argv[1:]]))"

Connect = Callable[[], http.client.HTTPConnection]


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.path)
        self.sock = s


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # A unix socket path must fit in 108 bytes; pytest's tmp_path may not.
    d = Path(tempfile.mkdtemp(prefix="sp-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _connector(server: PolicyServer) -> Connect:
    address = server.address
    if address.startswith("unix://"):
        return lambda: UnixConnection(address[len("unix://") :])
    host, port = address[len("tcp://") :].rsplit(":", 1)
    return lambda: http.client.HTTPConnection(host, int(port), timeout=10)


class Running:
    def __init__(self, server: PolicyServer, log: io.StringIO) -> None:
        self.server = server
        self.log = log
        self.connect = _connector(server)

    def post(self, path: str, body: bytes | str | dict[str, Any]) -> tuple[int, Any]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        conn = self.connect()
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        return resp.status, json.loads(raw)

    def get(self, path: str) -> tuple[int, str]:
        conn = self.connect()
        conn.request("GET", path)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        return resp.status, text

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]


@pytest.fixture
def start(short_dir: Path) -> Iterator[Callable[..., Running]]:
    started: list[PolicyServer] = []

    def _start(
        transport: str = "tcp",
        policy: str = POLICY,
        daemon_json: str | None = None,
        containerd: str | None = None,
        tls: tuple[str, str] | None = None,
    ) -> Running:
        policy_file = short_dir / "policy.yaml"
        policy_file.write_text(policy)
        daemon_file = containerd_file = None
        if daemon_json is not None:
            daemon_file = short_dir / "daemon.json"
            daemon_file.write_text(daemon_json)
        if containerd is not None:
            containerd_file = short_dir / "config.toml"
            containerd_file.write_text(containerd)
        sources = Sources(
            str(policy_file),
            None if daemon_file is None else str(daemon_file),
            None if containerd_file is None else str(containerd_file),
            *(tls or (None, None)),
        )
        listen = f"unix://{short_dir}/sp.sock" if transport == "unix" else "tcp://127.0.0.1:0"
        log = io.StringIO()
        server = PolicyServer(listen, sources, Log(log))
        server.start()
        started.append(server)
        return Running(server, log)

    yield _start
    for server in started:
        server.stop(timeout=2)


def authz(uri: str, body: object = None, method: str = "POST", **extra: object) -> dict[str, Any]:
    """An AuthZReq as dockerd sends it; a dict or str body is JSON-encoded then base64'd."""
    envelope: dict[str, Any] = {"User": "alice", "RequestMethod": method, "RequestUri": uri}
    if body is not None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        envelope["RequestBody"] = base64.b64encode(raw).decode()
    envelope.update(extra)
    return envelope


def create(runtime: str | None) -> dict[str, Any]:
    host = {} if runtime is None else {"Runtime": runtime}
    return authz("/v1.47/containers/create?name=web", {"Image": "nginx", "HostConfig": host})


def review(kind: tuple[str, str], obj: object, operation: str = "CREATE") -> dict[str, Any]:
    request = {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": kind[0], "version": "v1", "kind": kind[1]},
        "operation": operation,
        "name": "x",
        "object": obj,
    }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


RUNTIME_CLASS = ("node.k8s.io", "RuntimeClass")


def runtime_class(name: str, handler: object) -> dict[str, Any]:
    return {"apiVersion": "node.k8s.io/v1", "metadata": {"name": name}, "handler": handler}


# ---------------------------------------------------------------------- Docker plugin


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_plugin_activate_implements_authz(start: Callable[..., Running], transport: str) -> None:
    assert start(transport).post("/Plugin.Activate", b"null") == (200, {"Implements": ["authz"]})


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_create_with_a_path_in_tmp_is_denied_with_rule_and_reason(
    start: Callable[..., Running], transport: str
) -> None:
    s = start(transport)
    assert s.post("/AuthZPlugin.AuthZReq", create("/tmp/evil")) == (
        200,
        {"Allow": False, "Msg": NO_TMP_MSG},
    )
    (line,) = [e for e in s.events() if e["event"] == "deny"]
    assert {k: v for k, v in line.items() if k != "time"} == {
        "event": "deny",
        "endpoint": "docker",
        "rule": "no-tmp",
        "value": "/tmp/evil",
        "message": NO_TMP_MSG,
        "method": "POST",
        "uri": "/v1.47/containers/create?name=web",
        "user": "alice",
    }


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_create_with_a_well_formed_shim_is_allowed(
    start: Callable[..., Running], transport: str
) -> None:
    assert start(transport).post("/AuthZPlugin.AuthZReq", create("io.containerd.kata.v2")) == (
        200,
        {"Allow": True},
    )


def test_default_policy_denies_a_path_in_request_context(start: Callable[..., Running]) -> None:
    status, answer = start().post("/AuthZPlugin.AuthZReq", create("/opt/kata/shim"))
    assert (status, answer["Allow"]) == (200, False)
    assert answer["Msg"].startswith('runtime "/opt/kata/shim" is denied by rule SP104: ')


@pytest.mark.parametrize("runtime", [None, ""])
def test_daemon_default_runtime_is_allowed(
    start: Callable[..., Running], runtime: str | None
) -> None:
    s = start(policy=DENY_ALL)
    assert s.post("/AuthZPlugin.AuthZReq", create(runtime)) == (200, {"Allow": True})


@pytest.mark.parametrize("runtime", ["runc", "io.containerd.runc.v2"])
def test_docker_stock_runtimes_are_allowed_d2(start: Callable[..., Running], runtime: str) -> None:
    s = start(policy=DENY_ALL)
    assert s.post("/AuthZPlugin.AuthZReq", create(runtime)) == (200, {"Allow": True})


def test_daemon_json_runtimes_are_the_administrators_choice_d2(
    start: Callable[..., Running],
) -> None:
    daemon = '{"runtimes": {"/tmp/evil": {"path": "/usr/bin/crun"}}, "RUNTIMES": {"gvisor": {}}}'
    s = start(daemon_json=daemon)
    assert s.post("/AuthZPlugin.AuthZReq", create("/tmp/evil")) == (200, {"Allow": True})
    # dockerd refuses a "RUNTIMES" key (no option of its): it configures nothing (D2).
    status, answer = s.post("/AuthZPlugin.AuthZReq", create("gvisor"))
    assert (status, answer["Allow"]) == (200, False)


def test_warned_runtime_is_allowed_and_logged(start: Callable[..., Running]) -> None:
    s = start()
    assert s.post("/AuthZPlugin.AuthZReq", create("io.containerd.beta.v2")) == (
        200,
        {"Allow": True},
    )
    (line,) = [e for e in s.events() if e["event"] == "warn"]
    assert line["rule"] == "beta-shim"
    assert line["message"] == (
        'runtime "io.containerd.beta.v2" is allowed with a warning by rule beta-shim: '
        "the beta shim is on trial"
    )


FAIL_CLOSED = "cannot check HostConfig.Runtime: {}; denied"


@pytest.mark.parametrize(
    ("envelope", "why"),
    [
        (
            authz("/containers/create"),
            "Docker sent no request body (it forwards only JSON bodies under 1 MiB)",
        ),
        (authz("/containers/create", RequestBody="%%%"), "RequestBody is not valid base64"),
        (authz("/containers/create", RequestBody=12), "RequestBody is not a base64 string"),
        (
            authz("/containers/create", b"{not json"),
            "the request body is not JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        (authz("/containers/create", [1]), "the request body is not a JSON object"),
        (authz("/containers/create", {"HostConfig": "x"}), "HostConfig is not a JSON object"),
        (
            authz("/containers/create", {"HostConfig": {"Runtime": ["/tmp/x"]}}),
            "HostConfig.Runtime is not a string",
        ),
        (authz("/containers/create", b"[" * 100_000), "the request body is not JSON"),
    ],
)
def test_create_whose_body_cannot_be_read_is_denied_fail_closed(
    start: Callable[..., Running], envelope: dict[str, Any], why: str
) -> None:
    status, answer = start().post("/AuthZPlugin.AuthZReq", envelope)
    assert status == 200
    assert answer["Allow"] is False
    assert answer["Msg"].startswith(FAIL_CLOSED.format(why)[: -len("; denied")])
    assert answer["Msg"].endswith("; denied")


@pytest.mark.parametrize(
    "body",
    [
        # Go's decoder matches member names case-insensitively ...
        {"hostconfig": {"runtime": "/tmp/evil"}},
        {"HOSTCONFIG": {"RUNTIME": "/tmp/evil"}},
        {"ho\u017ftConfig": {"Runtime": "/tmp/evil"}},  # U+017F folds to 's' in Go too
        # ... and a later duplicate overrides or merges into an earlier one.
        {"HostConfig": {"Runtime": "runc"}, "hostConfig": {"Runtime": "/tmp/evil"}},
    ],
)
def test_every_spelling_docker_would_decode_is_checked(
    start: Callable[..., Running], body: dict[str, Any]
) -> None:
    answer = start().post("/AuthZPlugin.AuthZReq", authz("/containers/create", body))
    assert answer == (200, {"Allow": False, "Msg": NO_TMP_MSG})


@pytest.mark.parametrize(
    ("raw", "allowed"),
    [
        # Go's decoder applies a repeated member again: the last string wins (SPEC §6).
        (b'{"HostConfig": {"Runtime": "/tmp/evil", "Runtime": "runc"}}', True),
        (b'{"HostConfig": {"Runtime": "runc", "Runtime": "/tmp/evil"}}', False),
    ],
)
def test_the_last_of_repeated_runtime_keys_is_the_runtime(
    start: Callable[..., Running], raw: bytes, allowed: bool
) -> None:
    answer = start().post("/AuthZPlugin.AuthZReq", authz("/containers/create", raw))
    assert answer == (200, {"Allow": True} if allowed else {"Allow": False, "Msg": NO_TMP_MSG})


@pytest.mark.parametrize(
    ("method", "uri", "route"),
    [
        ("POST", "/containers/create", CREATE),
        ("POST", "/v1.47/containers/create?name=a&platform=linux", CREATE),
        ("POST", "/v1.24/containers/create", CREATE),
        ("POST", "/containers/%63reate", CREATE),  # Go's router matches the decoded path
        ("POST", "/containers//create", CREATE),
        ("POST", "//containers/create", CREATE),
        ("POST", "/v1.47/containers/create/", CREATE),
        ("POST", "/v1.47/x/../containers/create", CREATE),
        ("POST", "http://docker/v1.47/containers/create", CREATE),
        ("post", "/containers/create", CREATE),
        ("POST", "/v1.23/containers/web/start", LEGACY_START),
        ("POST", "/v1.12/containers/0123abcd/start", LEGACY_START),
        ("POST", "/v1.9/containers/web/start", LEGACY_START),  # 9 < 24, as Docker compares
        # /containers/{name:.*}/start: a name may hold "/" (a link alias), also encoded.
        ("POST", "/v1.23/containers/db/web/start", LEGACY_START),
        ("POST", "/v1.23/containers/db%2Fweb/start", LEGACY_START),
        ("POST", "/v1.23/containers/start/start", LEGACY_START),
        ("POST", "/v1.23/containers/a%0Ab/start", None),  # Go's "." matches no newline
        ("POST", "/v1.24/containers/web/start", None),
        ("POST", "/v1.47/containers/web/start", None),
        ("POST", "/containers/web/start", None),  # no version: the daemon's current one
        ("GET", "/containers/create", None),
        ("POST", "/containers/abc/stop", None),
        ("POST", "/containers/create/x", None),
        ("POST", "/v1.47/images/create?fromImage=alpine", None),
        ("POST", "/vx/containers/create", None),
        ("POST", "", None),
    ],
)
def test_which_requests_can_set_a_runtime(method: str, uri: str, route: str | None) -> None:
    assert runtime_route(method, uri) == route


@pytest.mark.parametrize(
    ("docker", "uri", "body"),
    [
        # The ways around a plugin that read only HostConfig.Runtime (SPEC §6).
        ("26", "/v1.45/containers/create", {"Image": "alpine", "Runtime": "/tmp/evil"}),
        ("26", "/v1.45/containers/create", {"runtime": "/tmp/evil", "HostConfig": None}),
        ("29", "/v1.45/containers/create", {"Image": "alpine", "Runtime": "/tmp/evil"}),
        ("24", "/v1.23/containers/web/start", {"HostConfig": {"Runtime": "/tmp/evil"}}),
        ("24", "/v1.23/containers/db/web/start", {"Runtime": "/tmp/evil"}),
    ],
)
def test_every_way_dockerd_takes_a_runtime_is_checked(
    start: Callable[..., Running], docker: str, uri: str, body: dict[str, Any]
) -> None:
    policy = POLICY.replace("version: 1\n", f'version: 1\ndocker: "{docker}"\n')
    envelope = authz(uri, body, RequestHeaders={"Content-Length": "64"})
    answer = start(policy=policy).post("/AuthZPlugin.AuthZReq", envelope)
    assert answer == (200, {"Allow": False, "Msg": NO_TMP_MSG})


def test_legacy_start_with_a_host_configuration_is_checked(start: Callable[..., Running]) -> None:
    s = start()
    uri = "/v1.23/containers/web/start"
    denied = authz(uri, {"Runtime": "/tmp/evil"}, RequestHeaders={"Content-Length": "24"})
    assert s.post("/AuthZPlugin.AuthZReq", denied) == (200, {"Allow": False, "Msg": NO_TMP_MSG})
    shim = authz(uri, {"Runtime": "io.containerd.kata.v2"})
    assert s.post("/AuthZPlugin.AuthZReq", shim) == (200, {"Allow": True})
    # dockerd decodes no host configuration from a start body of 7 bytes or fewer.
    empty = authz(uri, RequestHeaders={"Content-Length": "0"})
    assert s.post("/AuthZPlugin.AuthZReq", empty) == (200, {"Allow": True})


def test_legacy_start_whose_body_was_not_forwarded_is_denied(
    start: Callable[..., Running],
) -> None:
    status, answer = start().post(
        "/AuthZPlugin.AuthZReq",
        authz("/v1.23/containers/web/start", RequestHeaders={"Content-Length": "2000000"}),
    )
    assert (status, answer) == (
        200,
        {
            "Allow": False,
            "Msg": "cannot check HostConfig.Runtime: Docker sent no request body (it forwards "
            "only JSON bodies under 1 MiB); denied",
        },
    )


@pytest.mark.parametrize(
    "envelope",
    [
        authz("/v1.47/containers/json?all=1", method="GET"),
        authz("/v1.47/containers/abc/start", {"HostConfig": {"Runtime": "/tmp/evil"}}),
        authz("/v1.47/build", RequestBody="%%%"),
    ],
)
def test_other_requests_are_allowed(
    start: Callable[..., Running], envelope: dict[str, Any]
) -> None:
    assert start().post("/AuthZPlugin.AuthZReq", envelope) == (200, {"Allow": True})


def test_response_authorization_is_allowed_even_for_a_large_response(
    start: Callable[..., Running],
) -> None:
    s = start()
    big = authz("/v1.47/containers/json", method="GET", ResponseBody="A" * (MAX_BODY + 10))
    assert s.post("/AuthZPlugin.AuthZRes", big) == (200, {"Allow": True})


def test_authz_request_without_method_or_uri_is_a_plugin_error(
    start: Callable[..., Running],
) -> None:
    error = "RequestMethod and RequestUri must be strings"
    assert start().post("/AuthZPlugin.AuthZReq", {"User": "alice"}) == (
        400,
        {"Allow": False, "Msg": error, "Err": error},
    )


def test_keep_alive_connection_serves_many_requests(start: Callable[..., Running]) -> None:
    s = start("unix")
    conn = s.connect()
    for runtime, allowed in [("io.containerd.kata.v2", True), ("/tmp/evil", False)] * 3:
        conn.request("POST", "/AuthZPlugin.AuthZReq", body=json.dumps(create(runtime)))
        resp = conn.getresponse()
        assert json.loads(resp.read())["Allow"] is allowed
        assert resp.getheader("Content-Type") == "application/vnd.docker.plugins.v1.2+json"
    conn.close()


# ---------------------------------------------------------------------- Kubernetes


def test_admission_allows_a_valid_runtime_class_and_echoes_the_uid(
    start: Callable[..., Running],
) -> None:
    status, answer = start().post("/validate", review(RUNTIME_CLASS, runtime_class("kata", "kata")))
    assert (status, answer) == (
        200,
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True},
        },
    )


K2_MESSAGE = (
    'RuntimeClass handler "io.containerd.kata.v2" is not a DNS-1123 label (K2): must not '
    "contain dots; a handler names a containerd runtimes table (runtimes.<handler> in "
    "config.toml), not a runtime name: set that table's runtime_type to the runtime name and "
    "use the table's name here"
)
# Kubernetes' own words (k8s.io/apimachinery IsDNS1123Subdomain).
NOT_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_admission_denies_a_runtime_name_as_handler_k2(
    start: Callable[..., Running], transport: str
) -> None:
    s = start(transport)
    obj = runtime_class("kata", "io.containerd.kata.v2")
    status, answer = s.post("/validate", review(RUNTIME_CLASS, obj))
    assert status == 200
    assert answer["response"] == {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "allowed": False,
        "status": {"code": 403, "message": K2_MESSAGE},
    }
    (line,) = [e for e in s.events() if e["event"] == "deny"]
    assert (line["endpoint"], line["rule"], line["kind"], line["operation"]) == (
        "kubernetes",
        "SP502",
        "RuntimeClass",
        "CREATE",
    )


def test_admission_denies_an_invalid_runtime_class_name_k1(start: Callable[..., Running]) -> None:
    _, answer = start().post("/validate", review(RUNTIME_CLASS, runtime_class("Kata_1", "kata")))
    assert answer["response"]["status"]["message"] == (
        f'RuntimeClass name "Kata_1" is not a DNS-1123 subdomain (K1): {NOT_SUBDOMAIN}'
    )


def test_admission_denies_a_64_character_handler_k2(start: Callable[..., Running]) -> None:
    s = start()
    _, answer = s.post("/validate", review(RUNTIME_CLASS, runtime_class("k", "a" * 64)))
    assert answer["response"]["status"]["message"] == (
        f'RuntimeClass handler "{"a" * 64}" is not a DNS-1123 label (K2): must be no more than '
        "63 characters"
    )
    _, answer = s.post("/validate", review(RUNTIME_CLASS, runtime_class("k", "a" * 63)))
    assert answer["response"]["allowed"] is True


def test_admission_applies_the_policy_to_the_handlers_runtime_type(
    start: Callable[..., Running],
) -> None:
    s = start(containerd=CONTAINERD_V2)
    config = s.server.service.sources.containerd_config
    _, answer = s.post("/validate", review(RUNTIME_CLASS, runtime_class("evil", "evil")))
    assert answer["response"]["status"] == {
        "code": 403,
        "message": (
            f'RuntimeClass handler "evil" runs runtime_type "/tmp/containerd-shim-evil-v2" '
            f"({config}), which is denied by rule no-tmp: shims under /tmp are never allowed"
        ),
    }
    _, answer = s.post("/validate", review(RUNTIME_CLASS, runtime_class("kata", "kata")))
    assert answer["response"]["allowed"] is True


def test_admission_warns_about_a_handler_containerd_does_not_configure_k4(
    start: Callable[..., Running],
) -> None:
    s = start(containerd=CONTAINERD_V2)
    config = s.server.service.sources.containerd_config
    _, answer = s.post("/validate", review(RUNTIME_CLASS, runtime_class("gvisor", "gvisor")))
    assert answer["response"]["allowed"] is True
    assert answer["response"]["warnings"] == [
        f'RuntimeClass handler "gvisor" is not configured in {config}: pods using it would '
        'fail with: no runtime for "gvisor" is configured (K4)'
    ]
    _, answer = s.post("/validate", review(RUNTIME_CLASS, runtime_class("beta", "beta")))
    assert answer["response"]["warnings"] == [
        f'RuntimeClass handler "beta" runs runtime_type "io.containerd.beta.v2" ({config}), '
        "which is allowed with a warning by rule beta-shim: the beta shim is on trial"
    ]


def test_admission_does_not_warn_when_containerd_imports_other_files(
    start: Callable[..., Running],
) -> None:
    s = start(containerd='imports = ["/etc/containerd/conf.d/*.toml"]\n' + CONTAINERD_V2)
    _, answer = s.post("/validate", review(RUNTIME_CLASS, runtime_class("gvisor", "gvisor")))
    assert answer["response"] == {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True}


POD_SPEC = {"runtimeClassName": "Kata_Fast", "containers": [{"name": "c", "image": "nginx"}]}


@pytest.mark.parametrize(
    ("kind", "obj", "field"),
    [
        (("", "Pod"), {"spec": POD_SPEC}, "Pod spec.runtimeClassName"),
        (
            ("apps", "Deployment"),
            {"spec": {"template": {"spec": POD_SPEC}}},
            "Deployment spec.template.spec.runtimeClassName",
        ),
        (
            ("batch", "CronJob"),
            {"spec": {"jobTemplate": {"spec": {"template": {"spec": POD_SPEC}}}}},
            "CronJob spec.jobTemplate.spec.template.spec.runtimeClassName",
        ),
    ],
)
def test_admission_denies_an_invalid_runtime_class_name_in_pod_specs_k3(
    start: Callable[..., Running], kind: tuple[str, str], obj: dict[str, Any], field: str
) -> None:
    _, answer = start().post("/validate", review(kind, obj))
    assert answer["response"]["status"]["message"] == (
        f'{field} "Kata_Fast" is not a DNS-1123 subdomain (K3): {NOT_SUBDOMAIN}'
    )


@pytest.mark.parametrize(
    ("kind", "obj", "operation"),
    [
        (("", "Pod"), {"spec": {"runtimeClassName": "kata.fast"}}, "CREATE"),
        (("apps", "StatefulSet"), {"spec": {"template": {"spec": {}}}}, "UPDATE"),
        (("", "Pod"), None, "DELETE"),
        (("", "ConfigMap"), {"data": {"runtimeClassName": "Not_Checked"}}, "CREATE"),
    ],
)
def test_admission_allows_valid_or_unrelated_objects(
    start: Callable[..., Running], kind: tuple[str, str], obj: object, operation: str
) -> None:
    _, answer = start().post("/validate", review(kind, obj, operation))
    assert answer["response"] == {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}},
            "expected an admission.k8s.io/v1 AdmissionReview",
        ),
        (
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}},
            "the AdmissionReview has no request.uid",
        ),
        (b"[]", "the request body is not a JSON object"),
    ],
)
def test_malformed_admission_review_is_a_400(
    start: Callable[..., Running], body: dict[str, Any] | bytes, error: str
) -> None:
    assert start().post("/validate", body) == (400, {"error": error})


# ---------------------------------------------------------------------- HTTP hygiene


def _raw(s: Running, request: bytes) -> bytes:
    """Send bytes, read until the server closes the connection."""
    host, port = s.server.address[len("tcp://") :].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_bad_json_is_a_400_and_the_server_keeps_serving(start: Callable[..., Running]) -> None:
    s = start()
    assert s.post("/AuthZPlugin.AuthZReq", b"{") == (
        400,
        {
            "error": "the request body is not JSON: Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1)"
        },
    )
    assert s.get("/healthz") == (200, "ok\n")


def test_unknown_path_is_a_404(start: Callable[..., Running]) -> None:
    assert start().post("/VolumeDriver.Create", b"{}") == (
        404,
        {"error": "no endpoint /VolumeDriver.Create"},
    )


def test_wrong_method_is_a_405_naming_the_allowed_one(start: Callable[..., Running]) -> None:
    s = start()
    conn = s.connect()
    conn.request("GET", "/AuthZPlugin.AuthZReq")
    resp = conn.getresponse()
    assert (resp.status, resp.getheader("Allow")) == (405, "POST")
    assert json.loads(resp.read()) == {"error": "/AuthZPlugin.AuthZReq takes POST"}
    conn.close()


def test_oversize_request_is_a_413_without_reading_it(start: Callable[..., Running]) -> None:
    s = start()
    head = (
        f"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n"
    ).encode()
    answer = _raw(s, head)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close\r\n" in answer
    error = f"the request body exceeds the limit of {MAX_BODY} bytes"
    assert answer.endswith(json.dumps({"error": error}, separators=(",", ":")).encode())
    assert s.get("/healthz") == (200, "ok\n")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /validate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"411"),
        (b"POST /validate HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"400"),
        (b"POST /validate HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", b"413"),
        (b"POST /validate HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", b"400"),
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET /healthz HTTP/9.9\r\n\r\n", b"505"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414"),
    ],
)
def test_malformed_http_gets_a_json_error_never_a_traceback(
    start: Callable[..., Running], request_bytes: bytes, status: bytes
) -> None:
    s = start()
    answer = _raw(s, request_bytes)
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json" in head
    assert set(json.loads(body)) == {"error"}
    assert b"Traceback" not in answer
    assert s.get("/healthz") == (200, "ok\n")


def test_metrics_count_requests_by_endpoint_and_denials_by_rule(
    start: Callable[..., Running],
) -> None:
    s = start()
    s.post("/AuthZPlugin.AuthZReq", create("/tmp/evil"))
    s.post("/AuthZPlugin.AuthZReq", create("/tmp/evil"))
    s.post("/AuthZPlugin.AuthZReq", create("io.containerd.beta.v2"))
    s.post("/validate", review(RUNTIME_CLASS, runtime_class("kata", "io.containerd.kata.v2")))
    s.post("/nowhere", b"")
    status, text = s.get("/metrics")
    assert status == 200
    assert text == (
        "# HELP shimpolicy_requests_total HTTP requests answered, by endpoint and status code.\n"
        "# TYPE shimpolicy_requests_total counter\n"
        'shimpolicy_requests_total{endpoint="/AuthZPlugin.AuthZReq",code="200"} 3\n'
        'shimpolicy_requests_total{endpoint="/validate",code="200"} 1\n'
        'shimpolicy_requests_total{endpoint="other",code="404"} 1\n'
        "# HELP shimpolicy_denials_total Denials, by rule.\n"
        "# TYPE shimpolicy_denials_total counter\n"
        'shimpolicy_denials_total{rule="SP502"} 1\n'
        'shimpolicy_denials_total{rule="no-tmp"} 2\n'
        "# HELP shimpolicy_warnings_total Warnings, by rule.\n"
        "# TYPE shimpolicy_warnings_total counter\n"
        'shimpolicy_warnings_total{rule="beta-shim"} 1\n'
        "# HELP shimpolicy_reloads_total Reloads of the inputs on SIGHUP, by result.\n"
        "# TYPE shimpolicy_reloads_total counter\n"
        'shimpolicy_reloads_total{result="failed"} 0\n'
        'shimpolicy_reloads_total{result="ok"} 0\n'
    )


def test_healthz(start: Callable[..., Running]) -> None:
    assert start("unix").get("/healthz") == (200, "ok\n")


def test_stop_removes_the_unix_socket(start: Callable[..., Running]) -> None:
    s = start("unix")
    path = s.server.address[len("unix://") :]
    assert Path(path).is_socket()
    assert s.server.stop(timeout=2) is True
    assert not Path(path).exists()


def test_a_running_servers_socket_is_never_taken_over(
    start: Callable[..., Running], short_dir: Path
) -> None:
    start("unix")
    with pytest.raises(ServeError, match="another server is listening there"):
        PolicyServer(f"unix://{short_dir}/sp.sock", Sources(str(short_dir / "policy.yaml")))


def test_tls(start: Callable[..., Running], short_dir: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = short_dir / "tls.crt", short_dir / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=shimpolicy",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    s = start(tls=(str(cert), str(key)))
    host, port = s.server.address[len("tcp://") :].rsplit(":", 1)
    context = ssl.create_default_context(cafile=str(cert))
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    conn.request(
        "POST", "/validate", body=json.dumps(review(RUNTIME_CLASS, runtime_class("k", "k")))
    )
    resp = conn.getresponse()
    assert json.loads(resp.read())["response"]["allowed"] is True
    conn.close()
    # A client that speaks plain HTTP to the TLS port costs one log line, nothing more.
    with socket.create_connection((host, int(port)), timeout=10) as plain:
        plain.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
        try:
            answer = plain.recv(65536)  # at most a TLS alert
        except ConnectionResetError:
            answer = b""
        assert not answer.startswith(b"HTTP/")
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b"ok\n"
    conn.close()
    for _ in range(100):
        errors = [e for e in s.events() if e["event"] == "connection-error"]
        if errors:
            break
        time.sleep(0.01)
    assert errors[0]["error"].startswith("SSLError: ")


# ---------------------------------------------------------------------- inputs


# ---------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--listen", "http://x"],
            "shimpolicy serve: error: --listen 'http://x': expected "
            "unix:///PATH or tcp://HOST:PORT\n",
        ),
        (
            ["--listen", "tcp://127.0.0.1:0", "--tls-cert", "c.pem"],
            "shimpolicy serve: error: --tls-cert and --tls-key go together\n",
        ),
        ([], "shimpolicy serve: error: the following arguments are required: --listen\n"),
    ],
)
def test_usage_errors_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *args]) == 2
    assert capsys.readouterr().err.endswith(message)


def test_invalid_policy_at_start_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nrules:\n  - id: x\n    action: maybe\n")
    assert main(["serve", "--listen", "tcp://127.0.0.1:0", "--policy", str(policy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"shimpolicy serve: error: invalid policy: {policy}:")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: shimpolicy serve [-h] --listen URL")


# ---------------------------------------------------------------------- signals


class Process:
    """``shimpolicy serve`` in a subprocess, its JSON log read line by line."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RUN, *args], stderr=subprocess.PIPE, text=True, cwd=cwd
        )
        self.listening = self.next_event()
        assert self.listening["event"] == "listening", self.listening

    def next_event(self, *skip: str) -> dict[str, Any]:
        """The next log line whose event is not one of ``skip``."""
        stream: IO[str] | None = self.proc.stderr
        assert stream is not None
        while True:
            line = stream.readline()
            assert line, f"the server exited: {self.proc.wait()}"
            event: dict[str, Any] = json.loads(line)
            if event["event"] not in skip:
                return event

    def signal(self, signum: int) -> dict[str, Any]:
        """Send a signal; the server's answer is the next line that is not a decision."""
        self.proc.send_signal(signum)
        return self.next_event("deny", "warn")


def _unix_post(path: str, body: dict[str, Any]) -> dict[str, Any]:
    conn = UnixConnection(path)
    conn.request("POST", "/AuthZPlugin.AuthZReq", body=json.dumps(body))
    answer: dict[str, Any] = json.loads(conn.getresponse().read())
    conn.close()
    return answer


def test_sighup_reloads_the_policy_and_keeps_it_when_the_new_one_is_invalid(
    short_dir: Path,
) -> None:
    policy = short_dir / "policy.yaml"
    policy.write_text(POLICY)
    sock = str(short_dir / "sp.sock")
    p = Process(["--listen", f"unix://{sock}", "--policy", str(policy)], short_dir)
    try:
        assert _unix_post(sock, create("/tmp/evil")) == {"Allow": False, "Msg": NO_TMP_MSG}

        policy.write_text(POLICY.replace("are never allowed", "are refused here"))
        event = p.signal(signal.SIGHUP)
        assert (event["event"], event["result"], event["policy"]) == ("reload", "ok", str(policy))
        refused = NO_TMP_MSG.replace("are never allowed", "are refused here")
        assert _unix_post(sock, create("/tmp/evil")) == {"Allow": False, "Msg": refused}

        policy.write_text("version: 1\nrules: [{id: x, action: allow, match: {nam: y}}]\n")
        event = p.signal(signal.SIGHUP)
        assert (event["event"], event["result"], event["kept"]) == ("reload", "failed", str(policy))
        assert event["error"] == (
            f"invalid policy: {policy}:2:40: rules[0].match.nam: unknown key (did you mean 'name'?)"
        )
        assert _unix_post(sock, create("/tmp/evil")) == {"Allow": False, "Msg": refused}

        conn = UnixConnection(sock)
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
        conn.close()
        assert 'shimpolicy_reloads_total{result="failed"} 1\n' in metrics
        assert 'shimpolicy_reloads_total{result="ok"} 1\n' in metrics
    finally:
        p.proc.terminate()
        p.proc.wait(timeout=10)


def test_sigterm_finishes_the_request_in_flight_then_removes_the_socket(
    short_dir: Path,
) -> None:
    sock = str(short_dir / "sp.sock")
    p = Process(["--listen", f"unix://{sock}"], short_dir)
    body = json.dumps(create("/tmp/evil")).encode()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    client.connect(sock)
    # Headers now, body after SIGTERM: the request is in flight when the signal lands.
    client.sendall(
        f"POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    time.sleep(0.5)
    assert p.signal(signal.SIGTERM)["event"] == "stopping"
    time.sleep(0.2)
    client.sendall(body)
    answer = b""
    while chunk := client.recv(65536):
        answer += chunk
    client.close()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["Allow"] is False
    assert p.proc.wait(timeout=10) == 0
    assert not Path(sock).exists()
