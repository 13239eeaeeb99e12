"""shimpolicy's grammar against containerd's and moby's own code (SPEC C1-C3, D1).

The containerd 1.6 oracle is built on every run where Debian's golang-go and
golang-github-containerd-containerd-dev are installed (a few seconds; ``.ci/run`` installs
them, a test never does); elsewhere the tests skip with the command that installs them.
The containerd 1.7 and moby 26 oracles need about 100 MB from Debian 13 and run when
``SHIMPOLICY_ORACLES=all``.  ``SHIMPOLICY_ORACLE_NAMES`` sets how many generated names each
oracle is asked about (5,000 by default; ``python -m fuzz.differential`` runs longer passes).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fuzz import differential, strategies
from fuzz.differential import BUILD_SCRIPT, ORACLES, Comparison, Oracle

# How many generated names each oracle sees; a longer pass: SHIMPOLICY_ORACLE_NAMES=200000.
GENERATED = int(os.environ.get("SHIMPOLICY_ORACLE_NAMES", "5000"))
SEED = 20240611  # fixed, so that a failure here is a failure on every run


def _build(oracle: Oracle) -> Oracle:
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT), oracle.build_target],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode == 3:  # Debian's archive is out of reach: nothing to compare with
        pytest.skip(proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == 0, f"build.sh {oracle.build_target} failed:\n{proc.stderr}"
    return oracle


@pytest.fixture(scope="module")
def containerd_16() -> Oracle:
    return _build(ORACLES["1.6"])


@pytest.fixture(scope="module")
def trixie() -> None:
    if os.environ.get("SHIMPOLICY_ORACLES") != "all":
        pytest.skip("containerd 1.7 and moby 26 oracles run with SHIMPOLICY_ORACLES=all")
    _build(ORACLES["1.7"])


def test_building_an_oracle_never_installs_packages(tmp_path: Path) -> None:
    """Tests never change the system: without the packages, build.sh says what to install
    and exits 3 (a skip), as root or not, and never runs apt-get or dpkg."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for tool in ("apt-get", "apt", "dpkg", "sudo"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\nexit 100\n')
        stub.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SHIMPOLICY_GO": str(tmp_path / "no-go"),
        "SHIMPOLICY_ORACLE_BUILD": str(tmp_path / "build"),
    }
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "1.6"], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "fuzz/oracle/build.sh: golang-go and golang-github-containerd-containerd-dev are not "
        "installed (.ci/run installs them): apt-get install -y golang-go "
        "golang-github-containerd-containerd-dev"
    )
    assert not calls.exists(), calls.read_text()


def test_a_failed_download_never_refreshes_the_systems_package_index(tmp_path: Path) -> None:
    """The moby 20.10 decoder build fetches .deb files with `apt-get download` (into its own
    folder); when that fails it says so and exits 3, without `apt-get update` or installs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for tool in ("apt-get", "apt", "dpkg", "sudo"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $1" >> "{calls}"\nexit 100\n')
        stub.chmod(0o755)
    go = bin_dir / "go"
    go.write_text("#!/bin/sh\nexit 0\n")
    go.chmod(0o755)
    gocode = tmp_path / "gocode"
    manager = gocode / "github.com/containerd/containerd/runtime/v2/manager.go"
    manager.parent.mkdir(parents=True)
    manager.write_text("package v2\n")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SHIMPOLICY_GO": str(go),
        "SHIMPOLICY_GOCODE": str(gocode),
        "SHIMPOLICY_ORACLE_BUILD": str(tmp_path / "build"),
    }
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "moby20"], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 3, proc.stderr
    assert "apt-get update" in proc.stderr.strip().splitlines()[-1]  # what .ci/run does
    assert set(calls.read_text().splitlines()) == {"apt-get download"}


def _explain(result: Comparison) -> str:
    return "\n".join([result.summary(), *(str(d) for d in result.disagreements[:30])])


def _oracle_reads(oracle: Oracle, names: list[str]) -> dict[str, tuple[object, ...]]:
    facts = [
        differential.containerd_facts(differential.containerd_answer(answer))
        for answer in differential.ask(oracle, names)
    ]
    return {
        name: (f["kind"], f["binary"], f["error"]) for name, f in zip(names, facts, strict=True)
    }


_INVALID_16 = (
    "invalid runtime name {}, correct runtime name should be either format like "
    "`io.containerd.runc.v1` or a full path to the binary"
)

# SPEC §4 for containerd 1.6 on Linux, as (kind, binary, error).
SPEC_16 = {
    "io.containerd.runc.v2": ("shim", "containerd-shim-runc-v2", None),
    "io.containerd.kata.v2": ("shim", "containerd-shim-kata-v2", None),
    "com.example.runc.v2": ("shim", "containerd-shim-runc-v2", None),
    "runc": ("invalid", None, _INVALID_16.format("runc")),
    "": ("empty", None, "no runtime name"),
    ".": ("shim", "containerd-shim--", None),
    ".a": ("shim", "containerd-shim--a", None),
    "a.": ("shim", "containerd-shim-a-", None),
    "a..": ("shim", "containerd-shim--", None),
    "/usr/bin/foo": ("path", "/usr/bin/foo", None),
    "a/b.c": ("relative", "containerd-shim-a/b-c", None),
    "sub/io.x.y.v1": ("relative", "containerd-shim-y-v1", None),
    "/opt/x/io.y.v1": ("path", "/opt/x/io.y.v1", None),
    "a\\b.c": ("shim", "containerd-shim-a\\b-c", None),
    "C:\\foo": ("invalid", None, _INVALID_16.format("C:\\foo")),
}

# The same names for containerd 1.7, where they differ from 1.6.
SPEC_17 = {
    **SPEC_16,
    ".": ("invalid", None, _INVALID_16.format(".")),
    ".a": ("invalid", None, _INVALID_16.format(".a")),
    "a/b.c": ("invalid", None, _INVALID_16.format("a/b.c")),
    "sub/io.x.y.v1": ("invalid", None, _INVALID_16.format("sub/io.x.y.v1")),
}

# SPEC §4, "Docker ≥25 permits" (moby 26 vendors containerd 1.7's C1).
SPEC_PERMITS_26 = {
    "io.containerd.runc.v2": True, "io.containerd.kata.v2": True, "com.example.runc.v2": True,
    "runc": False, "": False, ".": False, ".a": False, "a.": True, "a..": True,
    "/usr/bin/foo": False, "a/b.c": False, "sub/io.x.y.v1": False, "/opt/x/io.y.v1": False,
    "a\\b.c": True, "C:\\foo": False, "io.containerd.runtime.v1.linux": True,
}  # fmt: skip


def test_generated_names_are_reproducible_from_the_seed() -> None:
    first = strategies.generate(500, seed=SEED)
    assert first == strategies.generate(500, seed=SEED)
    assert first != strategies.generate(500, seed=SEED + 1)


def test_containerd_1_6_oracle_reads_the_spec_vectors_as_the_spec_does(
    containerd_16: Oracle,
) -> None:
    assert _oracle_reads(containerd_16, list(SPEC_16)) == SPEC_16


def test_containerd_1_6_agrees_with_parse_on_generated_names(containerd_16: Oracle) -> None:
    names = [*strategies.SPEC_NAMES, *strategies.generate(GENERATED, seed=SEED)]
    result = differential.compare(containerd_16, names)
    assert not result.disagreements, _explain(result)


def test_containerd_1_7_oracle_reads_the_spec_vectors_as_the_spec_does(trixie: None) -> None:
    assert _oracle_reads(ORACLES["1.7"], list(SPEC_17)) == SPEC_17


def test_containerd_1_7_agrees_with_parse_on_generated_names(trixie: None) -> None:
    names = [*strategies.SPEC_NAMES, *strategies.generate(GENERATED, seed=SEED + 17)]
    result = differential.compare(ORACLES["1.7"], names)
    assert not result.disagreements, _explain(result)


def test_moby_26_oracle_permits_the_spec_vectors_as_the_spec_does(trixie: None) -> None:
    answers = differential.ask(ORACLES["moby26"], list(SPEC_PERMITS_26))
    assert {a["in"]: a["permitted"] for a in answers} == SPEC_PERMITS_26


def test_moby_26_agrees_with_docker_permits_on_generated_names(trixie: None) -> None:
    names = [*strategies.SPEC_NAMES, *strategies.generate(GENERATED, seed=SEED + 26)]
    result = differential.compare(ORACLES["moby26"], names)
    assert not result.disagreements, _explain(result)
