"""Real containerd and dockerd, each in private mount and network namespaces.

Everything a daemon writes lives under one scratch folder: its root, state and sockets,
and the namespace's ``/run``, ``/opt``, ``/var/lib`` (and ``/etc/docker`` for dockerd),
which are bind mounts of folders there. The namespaces have loopback and an unconnected
veth pair, so the CRI plugin can pick a "host" address and nothing reaches a network.
Every daemon is stopped by the PID this module started, never by name.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CONTAINERD = "/usr/bin/containerd"
CTR = "/usr/bin/ctr"
DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"  # Debian's CLI, whatever else is first on PATH
TOOLS = (CONTAINERD, CTR, DOCKERD, DOCKER, "/usr/bin/unshare", "/usr/bin/nsenter", "/usr/sbin/ip")
INSTALL = "apt-get install containerd docker.io busybox-static"

# The namespace set-up run before the daemon: loopback, a veth with a default route (the
# CRI plugin's stream server wants a host address), and the bind mounts.
_NAMESPACE = r"""
set -e
ip link set lo up
ip link add v0 type veth peer name v1
ip link set v1 up; ip addr add 10.254.0.2/24 dev v0; ip link set v0 up
ip route add default via 10.254.0.1 dev v0
for pair in $MOUNTS; do mount --bind "${pair%%=*}" "${pair#*=}"; done
cd "$DAEMON_CWD"
exec "$@"
"""


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop the process this module started (by its PID), and wait for it."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _namespaced(
    argv: list[str], mounts: dict[Path, str], cwd: str, path: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        "PATH": path,
        "MOUNTS": " ".join(f"{src}={dst}" for src, dst in mounts.items()),
        "DAEMON_CWD": cwd,
        "HOME": "/root",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            ["/usr/bin/unshare", "-m", "-n", "/bin/sh", "-c", _NAMESPACE, "sh", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )


def _unquote(value: str) -> str:
    """A logrus field value as written: Go's %q quoting undone."""
    if value.startswith('"'):
        return str(json.loads(value))
    return value


_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def log_fields(line: str) -> dict[str, str]:
    return {k: _unquote(v) for k, v in _FIELD.findall(line)}


@dataclass
class ContainerdRun:
    """How containerd took one config.toml."""

    started: bool
    exit_code: int | None
    cri_loaded: bool
    error: str  # containerd's own text: why it exited, or why the CRI plugin failed to load
    log: str
    handlers: list[str] = field(default_factory=list)


class Containerd:
    """containerd 1.6 with one config.toml, in its own namespaces under ``home``."""

    def __init__(self, home: Path, config: Path, fakebin: Path, cwd: str = "/") -> None:
        self.home, self.config, self.fakebin, self.cwd = home, config, fakebin, cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.socket = home / "c.sock"
        self.logfile = home / "containerd.log"

    def start(self, timeout: float = 20) -> ContainerdRun:
        if self.home.exists():
            shutil.rmtree(self.home)
        for sub in ("root", "state", "run", "opt", "varlib"):
            (self.home / sub).mkdir(parents=True)
        mounts = {
            self.home / "run": "/run",
            self.home / "opt": "/opt",
            self.home / "varlib": "/var/lib",
        }
        argv = [
            CONTAINERD,
            "--config", str(self.config),
            "--root", str(self.home / "root"),
            "--state", str(self.home / "state"),
            "--address", str(self.socket),
            "--log-level", "debug",
        ]  # fmt: skip
        path = f"{self.fakebin}:/usr/sbin:/usr/bin:/sbin:/bin"
        self.proc = _namespaced(argv, mounts, self.cwd, path, self.logfile)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                return self._exited(code)
            if self.socket.exists() and self.ctr("version").returncode == 0:
                return self._running()
            time.sleep(0.05)
        raise TimeoutError(f"containerd did not start within {timeout} s: {self.log()}")

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")

    def ctr(self, *args: str, namespace: str = "k8s.io") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CTR, "--address", str(self.socket), "-n", namespace, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def _exited(self, code: int) -> ContainerdRun:
        log = self.log()
        lines = [ln for ln in log.splitlines() if ln.startswith("containerd: ")]
        error = lines[-1].removeprefix("containerd: ") if lines else ""
        if not error:  # a fatal log line instead of the CLI's message
            fatal = [log_fields(ln) for ln in log.splitlines() if "level=fatal" in ln]
            error = fatal[-1].get("msg", "") if fatal else log.strip().splitlines()[-1]
        return ContainerdRun(False, code, False, error, log)

    def _running(self) -> ContainerdRun:
        plugins = self.ctr("plugins", "ls").stdout
        cri = [ln.split() for ln in plugins.splitlines() if ln.split()[1:2] == ["cri"]]
        loaded = bool(cri) and cri[0][-1] == "ok"
        log = self.log()
        error = ""
        for line in log.splitlines():
            if 'msg="failed to load plugin io.containerd.grpc.v1.cri"' in line:
                error = log_fields(line).get("error", "")
        handlers = re.findall(r"Runtimes:map\[(.*?)\] NoPivot", log)
        return ContainerdRun(True, None, loaded, error, log, handlers)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@dataclass
class DockerdRun:
    """How dockerd took one daemon.json."""

    started: bool
    exit_code: int | None
    error: str  # the text dockerd stopped with, without its log prefix
    log: str


class Dockerd:
    """dockerd 20.10 with one daemon.json, in its own namespaces under ``home``.

    It uses the containerd listening on ``containerd`` when given (one for a whole run:
    dockerd's own starts with every daemon and dockerd gives up on it after 15 s on a busy
    machine), else starts its own, inside the same namespaces and with the same PATH.
    Authorization plugins are found through ``home/etc-docker/plugins``, the namespace's
    ``/etc/docker``.
    """

    def __init__(self, home: Path, fakebin: Path, containerd: Path | None = None) -> None:
        self.home, self.fakebin, self.containerd = home, fakebin, containerd
        self.proc: subprocess.Popen[bytes] | None = None
        self.socket = home / "docker.sock"
        self.logfile = home / "dockerd.log"
        self.etc = home / "etc-docker"
        self.config = home / "daemon.json"

    def prepare(self) -> None:
        for sub in ("run", "opt", "varlib", "data", "exec", "etc-docker/plugins"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)

    def start(self, config: bytes, timeout: float = 30) -> DockerdRun:
        self.prepare()
        self.config.write_bytes(config)
        self.socket.unlink(missing_ok=True)
        mounts = {
            self.home / "run": "/run",
            self.home / "opt": "/opt",
            self.home / "varlib": "/var/lib",
            self.etc: "/etc/docker",
        }
        argv = [
            DOCKERD,
            "--config-file", str(self.config),
            "--data-root", str(self.home / "data"),
            "--exec-root", str(self.home / "exec"),
            "--pidfile", str(self.home / "docker.pid"),
            "-H", f"unix://{self.socket}",
            "--iptables=false", "--bridge=none", "--storage-driver=vfs",
        ]  # fmt: skip
        if self.containerd is not None:
            argv += ["--containerd", str(self.containerd)]
        path = f"{self.fakebin}:/usr/sbin:/usr/bin:/sbin:/bin"
        self.proc = _namespaced(argv, mounts, "/", path, self.logfile)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                return DockerdRun(False, code, self._refusal(), self.log())
            if self.socket.exists() and self.docker("version").returncode == 0:
                return DockerdRun(True, None, "", self.log())
            time.sleep(0.1)
        raise TimeoutError(f"dockerd did not start within {timeout} s: {self.log()}")

    def _refusal(self) -> str:
        lines = [ln for ln in self.log().splitlines() if ln.strip()]
        plain = [ln for ln in lines if not ln.startswith("time=")]
        if plain:  # dockerd prints the error that stopped it on its own, after the log
            return plain[-1]
        fatal = [log_fields(ln) for ln in lines if "level=fatal" in ln]
        return fatal[-1].get("msg", "") if fatal else (lines[-1] if lines else "")

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")

    def docker(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DOCKER, "-H", f"unix://{self.socket}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.home), "DOCKER_CONFIG": str(self.home)},
        )

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, timeout=20)
