"""``shimpolicy serve`` as dockerd 20.10.24's authorization plugin, end to end (SPEC §6).

dockerd finds the plugin through a spec file in its ``/etc/docker/plugins`` and is told to
use it by ``"authorization-plugins"`` in daemon.json. daemon.json configures two runtimes,
both fine to dockerd; the site's policy allows one (``kata.ok.v2``) and denies the other
(``blocked``), so only the plugin stands between a user and the denied one. The real
``docker`` CLI and the raw Engine API shapes are tried; what the user sees is asserted, and
that nothing denied is ever created or started with the denied runtime.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.conftest import FakeShims
from tests.live.daemons import Dockerd, _stop
from tests.live.image import BUSYBOX_IMAGE, rootfs

POLICY = """\
version: 1
extends: default
docker: "23"
rules:
  - id: no-blocked
    match: {name: blocked}
    action: deny
    reason: blocked by the site's policy
"""
DAEMON_JSON = {
    "authorization-plugins": ["shimpolicy"],
    "runtimes": {
        "kata.ok.v2": {"path": "/usr/sbin/runc"},
        "blocked": {"path": "/usr/sbin/runc"},
    },
}
DENIED = (
    "Error response from daemon: authorization denied by plugin shimpolicy: runtime "
    '"blocked" is denied by rule no-blocked: blocked by the site\'s policy'
)
# What the CLI prints around it, and its exit status.
CLI = {
    "create": ("{}", 1),
    "run": ("docker: {}.\nSee 'docker run --help'.", 125),
}


class Plugin:
    """``shimpolicy serve`` on a unix socket, started and stopped by its PID."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.socket = home / "shimpolicy.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        (self.home / "policy.yaml").write_text(POLICY)
        self.socket.unlink(missing_ok=True)
        with (self.home / "serve.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shimpolicy", "serve", "--listen",
                 f"unix://{self.socket}", "--policy", str(self.home / "policy.yaml")],
                cwd=self.home, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        for _ in range(200):
            if self.socket.exists():
                return
            assert self.proc.poll() is None, (self.home / "serve.log").read_text()
            time.sleep(0.05)
        raise TimeoutError("shimpolicy serve did not listen")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(self.path))


def api(daemon: Dockerd, method: str, uri: str, body: object = None) -> tuple[int, str]:
    """One Engine API request, as a client other than the CLI sends it."""
    conn = _UnixConnection(daemon.socket)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, uri, body=data, headers={"Content-Type": "application/json"})
    reply = conn.getresponse()
    text = reply.read().decode()
    conn.close()
    return reply.status, text


@pytest.fixture(scope="module")
def setup(
    scratch: Path, shims: FakeShims, docker_containerd: Path
) -> Iterator[tuple[Dockerd, Plugin]]:
    home = scratch / "authz"
    daemon = Dockerd(home / "dockerd", shims.folder, docker_containerd)
    daemon.prepare()
    plugin = Plugin(home)
    (daemon.etc / "plugins" / "shimpolicy.spec").write_text(f"unix://{plugin.socket}\n")
    plugin.start()
    try:
        run = daemon.start(json.dumps(DAEMON_JSON).encode())
        assert run.started, run.log
        tar = home / "rootfs.tar"
        tar.write_bytes(rootfs())
        imported = daemon.docker("import", str(tar), BUSYBOX_IMAGE)
        assert imported.returncode == 0, imported.stderr
        yield daemon, plugin
    finally:
        daemon.stop()
        plugin.stop()


def containers(daemon: Dockerd) -> dict[str, str]:
    """Every container dockerd has: id -> its runtime."""
    ids = daemon.docker("ps", "-aq", "--no-trunc").stdout.split()
    if not ids:
        return {}
    shown = daemon.docker("inspect", "-f", "{{.Id}} {{.HostConfig.Runtime}}", *ids).stdout
    return dict(line.split(" ", 1) for line in shown.splitlines())


def create(daemon: Dockerd, *args: str) -> subprocess.CompletedProcess[str]:
    return daemon.docker("create", *args, "--network", "none", BUSYBOX_IMAGE, "/bin/true")


def test_an_allowed_configured_runtime_is_created(setup: tuple[Dockerd, Plugin]) -> None:
    daemon, _ = setup
    made = create(daemon, "--runtime", "kata.ok.v2")
    assert made.returncode == 0, made.stderr
    assert containers(daemon)[made.stdout.strip()] == "kata.ok.v2"


@pytest.mark.parametrize("command", ["create", "run"])
def test_the_cli_shows_the_plugins_denial_and_nothing_is_created(
    setup: tuple[Dockerd, Plugin], command: str
) -> None:
    daemon, _ = setup
    before = containers(daemon)
    args = [command, "--runtime", "blocked", "--network", "none", BUSYBOX_IMAGE, "/bin/true"]
    denied = daemon.docker(*args)
    shown, status = CLI[command]
    assert (denied.returncode, denied.stderr.strip()) == (status, shown.format(DENIED))
    assert containers(daemon) == before


def test_a_path_is_denied_by_the_plugin(setup: tuple[Dockerd, Plugin]) -> None:
    daemon, _ = setup
    before = containers(daemon)
    denied = create(daemon, "--runtime", "/usr/sbin/runc")
    assert denied.returncode == 1
    assert denied.stderr.startswith(
        "Error response from daemon: authorization denied by plugin shimpolicy: runtime "
        '"/usr/sbin/runc" is denied by rule SP104: '
    )
    assert containers(daemon) == before


# SPEC §6: dockerd 20.10 decodes a create body into a wrapper that embeds a HostConfig at the
# top level, and the legacy start (API < 1.24) takes a HostConfig, or a wrapper, as its body.
CREATE_SHAPES = {
    "top-level Runtime": {"Image": BUSYBOX_IMAGE, "Cmd": ["/bin/true"], "Runtime": "blocked"},
    "top-level runtime, any case": {
        "Image": BUSYBOX_IMAGE,
        "Cmd": ["/bin/true"],
        "rUNTIME": "blocked",
    },
    "top-level Runtime, HostConfig null": {
        "Image": BUSYBOX_IMAGE,
        "Cmd": ["/bin/true"],
        "Runtime": "blocked",
        "HostConfig": None,
    },
    "HostConfig.Runtime": {
        "Image": BUSYBOX_IMAGE,
        "Cmd": ["/bin/true"],
        "HostConfig": {"Runtime": "blocked"},
    },
    "both, the inner one denied": {
        "Image": BUSYBOX_IMAGE,
        "Cmd": ["/bin/true"],
        "Runtime": "kata.ok.v2",
        "HostConfig": {"Runtime": "blocked"},
    },
}


@pytest.mark.parametrize("shape", list(CREATE_SHAPES))
def test_raw_create_shapes_are_denied_and_nothing_is_created(
    setup: tuple[Dockerd, Plugin], shape: str
) -> None:
    daemon, _ = setup
    before = containers(daemon)
    status, text = api(daemon, "POST", "/v1.41/containers/create", CREATE_SHAPES[shape])
    assert containers(daemon) == before, f"created with {shape}: {text}"
    assert status == 403, text
    assert json.loads(text)["message"].startswith(
        DENIED.removeprefix("Error response from daemon: ")
    )


def test_when_both_are_given_the_inner_runtime_is_the_one_decided(
    setup: tuple[Dockerd, Plugin],
) -> None:
    # dockerd takes HostConfig.Runtime over a top-level one (§6): the plugin lets this
    # through, and the container runs the allowed runtime.
    daemon, _ = setup
    body = {
        "Image": BUSYBOX_IMAGE,
        "Cmd": ["/bin/true"],
        "Runtime": "blocked",
        "HostConfig": {"Runtime": "kata.ok.v2"},
    }
    status, text = api(daemon, "POST", "/v1.41/containers/create", body)
    assert status == 201, text
    assert containers(daemon)[json.loads(text)["Id"]] == "kata.ok.v2"


START_SHAPES = {
    "HostConfig as the body": {"Runtime": "blocked"},
    "a wrapper as the body": {"HostConfig": {"Runtime": "blocked"}},
}


@pytest.mark.parametrize("shape", list(START_SHAPES))
def test_legacy_start_with_a_denied_runtime_is_denied(
    setup: tuple[Dockerd, Plugin], shape: str
) -> None:
    daemon, _ = setup
    made = create(daemon, "--runtime", "kata.ok.v2")
    assert made.returncode == 0, made.stderr
    cid = made.stdout.strip()
    status, text = api(daemon, "POST", f"/v1.23/containers/{cid}/start", START_SHAPES[shape])
    assert containers(daemon)[cid] == "kata.ok.v2", f"runtime changed by {shape}: {text}"
    assert status == 403, text


def test_dockerd_fails_closed_while_the_plugin_is_down(setup: tuple[Dockerd, Plugin]) -> None:
    daemon, plugin = setup
    before = containers(daemon)
    plugin.stop()
    try:
        refused = create(daemon, "--runtime", "kata.ok.v2")
        assert refused.returncode == 1
        assert refused.stderr.startswith(
            "Error response from daemon: plugin shimpolicy failed with error: "
        ), refused.stderr
    finally:
        plugin.start()
    assert containers(daemon) == before
