"""containerd 1.6.20 and dockerd 20.10.24 themselves against where ``shimpolicy doctor``
says they find each binary.

- Shims (SPEC C2): for every handler, doctor's resolution on the live file system either
  finds a file, and containerd executes that shim (one of the fake ones, which refuses to
  start), or finds none, and containerd fails the pod with the very error doctor predicts.
- runc-compatible binaries (D3 ``path`` runtimes, the stock runc): dockerd runs a busybox
  container with each runtime through the real runc shim; where doctor finds the binary
  the container runs, where it finds none ``docker run`` fails with doctor's error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shimpolicy.doctor.fs import RootFS
from shimpolicy.doctor.resolve import Process, resolve_runc, resolve_shim
from tests.live.conftest import FakeShims
from tests.live.cri import SandboxFailed
from tests.live.daemons import CONTAINERD, Containerd, Dockerd
from tests.live.image import rootfs
from tests.live.lint import containerd_version
from tests.live.test_live_containerd import sandbox_client

HEADER = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes'


def handlers(shims: FakeShims, cwd: Path) -> dict[str, str]:
    """Handler → runtime_type: a shim on PATH, one in containerd's working directory
    (C2 step 6), an absolute path that exists and one that does not, and a name whose
    shim is nowhere."""
    shims.add(cwd / "containerd-shim-incwd-v1")
    return {
        "onpath": "io.containerd.fake.v1",
        "incwd": "io.containerd.incwd.v1",
        "absolute": str(shims.folder / "containerd-shim-other-v1"),
        "absent-path": str(shims.folder / "nothing" / "containerd-shim-gone-v1"),
        "absent": "io.containerd.absent.v1",
    }


@pytest.fixture
def daemon(scratch: Path, shims: FakeShims) -> Iterator[tuple[Containerd, dict[str, str]]]:
    cwd = scratch / "doctor-cwd"
    cwd.mkdir(exist_ok=True)
    table = handlers(shims, cwd)
    config = scratch / "doctor.toml"
    config.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
        '  default_runtime_name = "onpath"\n'
        + "".join(f'{HEADER}."{h}"]\n  runtime_type = "{t}"\n' for h, t in table.items())
    )
    ctd = Containerd(scratch / "ctd-doctor", config, shims.folder, cwd=str(cwd))
    try:
        run = ctd.start()
        assert run.started and run.cri_loaded, run.log
        yield ctd, table
    finally:
        ctd.stop()


def test_doctor_finds_a_shim_exactly_where_containerd_does(
    daemon: tuple[Containerd, dict[str, str]], scratch: Path, shims: FakeShims
) -> None:
    ctd, table = daemon
    # What the harness gives containerd: its executable, working directory and PATH.
    process = Process(
        CONTAINERD, ctd.cwd, (str(shims.folder), "/usr/sbin", "/usr/bin", "/sbin", "/bin")
    )
    client = sandbox_client(ctd, scratch)
    for handler, runtime_type in table.items():
        predicted = resolve_shim(RootFS("/"), process, runtime_type, containerd_version())
        with pytest.raises(SandboxFailed) as failure:
            client.run_sandbox(handler)
        said = str(failure.value)
        if predicted.found is None:
            assert predicted.error is not None and predicted.error in said, (handler, said)
        else:
            assert "failed to resolve runtime path" not in said, (handler, said)
            assert predicted.found.path in shims.executed(), (handler, said)


def test_doctor_finds_a_runc_binary_exactly_where_the_runc_shim_does(scratch: Path) -> None:
    bare = scratch / "no-fake-shims"  # on PATH first, empty: the real runc shim runs
    bare.mkdir(exist_ok=True)
    paths = {
        "stock": "runc",
        "bare": "runc",
        "absent": "nvidia-container-runtime",
        "absolute": "/usr/sbin/runc",
        "absent-path": str(scratch / "nothing" / "runc"),
    }
    config = {"runtimes": {name: {"path": path} for name, path in paths.items() if name != "stock"}}
    daemon = Dockerd(scratch / "dockerd-doctor", bare)
    try:
        run = daemon.start(json.dumps(config).encode())
        assert run.started, run.log
        (scratch / "rootfs.tar").write_bytes(rootfs())
        imported = daemon.docker("import", str(scratch / "rootfs.tar"), "live.local/doctor:1")
        assert imported.returncode == 0, imported.stderr
        # dockerd starts its own containerd, found on dockerd's PATH, with that PATH.
        path = (str(bare), "/usr/sbin", "/usr/bin", "/sbin", "/bin")
        process = Process(CONTAINERD, "/", path)
        for name, value in paths.items():
            predicted = resolve_runc(RootFS("/"), process, value)
            assert predicted is not None
            runtime = () if name == "stock" else ("--runtime", name)
            ran = daemon.docker(
                "run", "--rm", "--network", "none", *runtime, "live.local/doctor:1", "true"
            )
            if predicted.found is None:
                assert predicted.error is not None, name
                assert ran.returncode != 0 and predicted.error in ran.stderr, (name, ran.stderr)
            else:
                assert ran.returncode == 0, (name, ran.stderr)
    finally:
        daemon.stop()
