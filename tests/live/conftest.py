"""Fixtures of the live suite: skips, the scratch folder, fake shims, images.

The suite runs with ``SHIMPOLICY_LIVE=1``, as root, with Debian's containerd, docker.io
and busybox-static installed (``.ci/run`` installs them, and grpcio for the CRI client).
Without them every test here is skipped with a message naming what to install; nothing is
ever installed from here, and nothing is written outside pytest's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.daemons import INSTALL, TOOLS, Containerd
from tests.live.image import BUSYBOX


def _missing() -> str | None:
    if os.environ.get("SHIMPOLICY_LIVE") != "1":
        return (
            f"live daemons run with SHIMPOLICY_LIVE=1, as root, after `{INSTALL}` and "
            "`pip install -e '.[live]'` (README, 'Live suite')"
        )
    if os.geteuid() != 0:
        return "the live suite starts containerd and dockerd in namespaces: run it as root"
    absent = [tool for tool in (*TOOLS, str(BUSYBOX)) if not Path(tool).exists()]
    if absent:
        return f"{', '.join(absent)} missing: {INSTALL}"
    probe = subprocess.run(
        ["/usr/bin/unshare", "-m", "-n", "/bin/true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:  # a container without the privilege, for example
        return f"cannot create mount and network namespaces here: {probe.stderr.strip()}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("live")
    yield path
    shutil.rmtree(path, ignore_errors=True)


SHIM = """#!/bin/sh
echo "$0" >> {log}
echo "fake shim: not starting" >&2
exit 1
"""
# Shim binaries the handlers under test name; each only records that it was executed.
FAKE_SHIMS = (
    "containerd-shim-fake-v1",
    "containerd-shim-other-v1",
    "containerd-shim-runc-v2",
    "containerd-shim-kata-v2",
    "crun",  # a runc-compatible binary daemon.json files name
)


class FakeShims:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder.parent / "shim-argv.log"
        folder.mkdir(parents=True, exist_ok=True)
        for name in FAKE_SHIMS:
            self.add(folder / name)

    def add(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SHIM.format(log=self.log))
        path.chmod(0o755)

    def executed(self) -> list[str]:
        """The shims executed since the last call."""
        if not self.log.exists():
            return []
        lines = self.log.read_text().split()
        self.log.unlink()
        return lines


@pytest.fixture(scope="session")
def shims(scratch: Path) -> FakeShims:
    return FakeShims(scratch / "fakebin")


# What the differential measured, printed at the end of the run.
REPORTS: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for text in REPORTS:
        terminalreporter.write_sep("-", "live differential")
        terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def docker_containerd(scratch: Path, shims: FakeShims) -> Iterator[Path]:
    """The containerd every dockerd of the run uses (its CRI plugin off)."""
    config = scratch / "docker-containerd.toml"
    config.write_text('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
    daemon = Containerd(scratch / "docker-containerd", config, shims.folder)
    run = daemon.start()
    assert run.started, run.log
    yield daemon.socket
    daemon.stop()
