"""What a CRI handler runs on containerd 1.6.20, against ``shimpolicy check`` and the
linter's handler view (``shimpolicy graph``) (SPEC C1, C2, C5, §6).

For handlers set with ``runtime_type`` (a shim name, an alias of one, a path),
``runtime_path`` and ``options.BinaryName``, a pod sandbox is started through CRI and the
fake shim containerd executed is read from the shims' log.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.conftest import FakeShims
from tests.live.cri import SandboxFailed
from tests.live.daemons import Containerd
from tests.live.lint import containerd_version
from tests.live.test_live_containerd import sandbox_client

CRI = 'plugins."io.containerd.grpc.v1.cri".containerd'


def handlers(shims: FakeShims) -> dict[str, dict[str, object]]:
    absolute = shims.folder.parent / "by-path" / "containerd-shim-abs-v1"
    shims.add(absolute)
    return {
        "runc": {"runtime_type": "io.containerd.runc.v2"},
        "fake": {"runtime_type": "io.containerd.fake.v1"},
        "alias": {"runtime_type": "com.example.kata.v2"},
        "bypath": {"runtime_type": str(absolute)},
        # 1.6.0-1.6.20 ignore runtime_path: the shim of runtime_type runs (§6).
        "runpath": {
            "runtime_type": "io.containerd.fake.v1",
            "runtime_path": str(shims.folder / "containerd-shim-other-v1"),
        },
        # BinaryName is the runc binary the runc shim runs, not a shim.
        "binname": {
            "runtime_type": "io.containerd.runc.v2",
            "options": {"BinaryName": "/usr/local/bin/crun"},
        },
    }


def config_toml(table: dict[str, dict[str, object]]) -> str:
    lines = ["version = 2"]
    for name, fields in table.items():
        lines.append(f"[{CRI}.runtimes.{name}]")
        for key, value in fields.items():
            if key != "options":
                lines.append(f"  {key} = {json.dumps(value)}")
        if "options" in fields:
            lines.append(f"[{CRI}.runtimes.{name}.options]")
            options = fields["options"]
            assert isinstance(options, dict)
            lines += [f"  {k} = {json.dumps(v)}" for k, v in options.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def running(
    scratch: Path, shims: FakeShims
) -> Iterator[tuple[Containerd, dict[str, dict[str, object]], Path]]:
    table = handlers(shims)
    config = scratch / "handlers" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(config_toml(table))
    daemon = Containerd(scratch / "handlers" / "ctd", config, shims.folder)
    run = daemon.start()
    assert run.started and run.cri_loaded, run.log
    yield daemon, table, config
    daemon.stop()


def executed(daemon: Containerd, scratch: Path, shims: FakeShims, handler: str) -> list[str]:
    client = sandbox_client(daemon, scratch)
    shims.executed()
    try:
        with pytest.raises(SandboxFailed, match="fake shim: not starting"):
            client.run_sandbox(handler)
    finally:
        client.close()
    return shims.executed()


def check(name: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "shimpolicy", "check", "--containerd", containerd_version(),
         "--format", "json", name],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    result: dict[str, object] = json.loads(proc.stdout)["results"][0]
    return result


def graph(config: Path, scratch: Path) -> dict[str, str]:
    """handler -> the binary ``shimpolicy graph`` says it runs."""
    policy = scratch / "handlers" / "policy.yaml"
    policy.write_text(f'version: 1\nextends: default\ncontainerd: "{containerd_version()}"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "shimpolicy", "graph", "--policy", str(policy), str(config)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr  # 1: the policy denies one (a path in /tmp)
    shown = re.findall(r"^handler (\S+) .*?\n(?:  -> .*\n)*?  -> binary (\S+)", proc.stdout, re.M)
    return dict(shown)


@pytest.mark.parametrize("handler", ["runc", "fake", "alias", "bypath", "runpath", "binname"])
def test_the_shim_containerd_runs_is_the_one_check_and_graph_name(
    running: tuple[Containerd, dict[str, dict[str, object]], Path],
    scratch: Path,
    shims: FakeShims,
    handler: str,
) -> None:
    daemon, table, config = running
    ran = executed(daemon, scratch, shims, handler)
    assert len(ran) == 1, ran
    runtime_type = str(table[handler]["runtime_type"])
    named = check(runtime_type)
    binary = str(named["binary"])
    # A shim name is looked up on PATH (the fake shims come first); a path runs as it is.
    assert ran[0] == (binary if named["kind"] == "path" else str(shims.folder / binary))
    assert graph(config, scratch)[handler] == binary
