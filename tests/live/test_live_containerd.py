"""containerd 1.6.20 itself against what ``shimpolicy lint`` says of a config.toml (SPEC C5, §6).

Every containerd config among the examples and test fixtures, and one edge case per refusal
SPEC C5 and §6 describe (``tests/live/containerd/``), is started on a real containerd: when
it exits or its CRI plugin fails to load, lint must report an error quoting containerd's own
text; when it loads, lint must report no load-time error. Failures the SPEC places at pod
start are checked by starting a pod sandbox through CRI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.conftest import FakeShims
from tests.live.cri import Client, SandboxFailed
from tests.live.daemons import Containerd, ContainerdRun
from tests.live.image import PAUSE, oci_archive, rootfs
from tests.live.lint import containerd_version, lint, load_errors

ROOT = Path(__file__).parents[2]
EDGE = Path(__file__).parent / "containerd"
PROJECT_CONFIGS = sorted(
    [
        *ROOT.glob("examples/**/*.toml"),
        *ROOT.glob("tests/fixtures/containerd/**/*.toml"),
        *ROOT.glob("tests/fixtures/links/**/*.toml"),
        ROOT / "tests/fixtures/syntax/toml/valid/containerd-v2.toml",
    ]
)
CONFIGS = [*PROJECT_CONFIGS, *sorted(EDGE.glob("*.toml"))]

# Where lint does not yet predict containerd 1.6.20 (README, "Live suite": known limits).
KNOWN_GAPS = {
    "tests/fixtures/containerd/placeholders.toml": "placeholders are taken as filled in later",
    # An array of tables where containerd decodes one table: not predicted.
    "tests/fixtures/syntax/toml/valid/containerd-v2.toml": "TOML types containerd decodes",
    # Predicted, but containerd's text is quoted with "…" for the value, or not at all.
    "tests/live/containerd/runtimes-string.toml": "containerd's text not quoted exactly",
    "tests/live/containerd/runtime-type-integer.toml": "containerd's text not quoted exactly",
    "tests/live/containerd/version-string.toml": "containerd's text not quoted",
}


def _case(config: Path) -> object:
    name = str(config.relative_to(ROOT))
    gap = KNOWN_GAPS.get(name)
    marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
    return pytest.param(config, id=name, marks=marks)


# containerd wraps the reason in its own words: the file it read, or the plugin's config.
_WRAPPERS = re.compile(r"^(failed to load TOML from .*?: |invalid plugin config: )")


def core(error: str) -> str:
    """The reason containerd gives, without the wrapping that names its own file."""
    return _WRAPPERS.sub("", error)


def refused(run: ContainerdRun) -> bool:
    return not run.started or bool(run.error)


@pytest.fixture
def containerd(scratch: Path, shims: FakeShims) -> Iterator[list[Containerd]]:
    started: list[Containerd] = []
    yield started
    for daemon in started:
        daemon.stop()


def start(config: Path, scratch: Path, shims: FakeShims, held: list[Containerd]) -> ContainerdRun:
    daemon = Containerd(scratch / "ctd" / config.stem, config, shims.folder)
    held.append(daemon)
    return daemon.start()


@pytest.mark.parametrize("config", [_case(c) for c in CONFIGS])
def test_lint_reports_a_load_time_error_exactly_when_containerd_refuses(
    config: Path, scratch: Path, shims: FakeShims, containerd: list[Containerd]
) -> None:
    run = start(config, scratch, shims, containerd)
    errors = load_errors(lint(config, "containerd", "--containerd", containerd_version()))
    if refused(run):
        reason = core(run.error)
        assert reason, run.log
        quoting = [f for f in errors if reason in f.message]
        assert quoting, (
            f"containerd refused ({'exit ' + str(run.exit_code) if not run.started else 'CRI'}): "
            f"{run.error}\nlint's load-time errors: {[f.message for f in errors]}"
        )
    else:
        assert not errors, f"containerd loaded it (CRI plugin loaded: {run.cri_loaded})"


def test_a_handler_without_runtime_type_fails_at_pod_start_as_lint_says(
    scratch: Path, shims: FakeShims, containerd: list[Containerd]
) -> None:
    config = EDGE / "missing-runtime-type.toml"
    run = start(config, scratch, shims, containerd)
    assert run.started and run.cri_loaded and not run.error
    client = sandbox_client(containerd[-1], scratch)
    with pytest.raises(SandboxFailed) as failure:
        client.run_sandbox("half")
    # containerd's reason is the end of the CRI error: "...: <what>: invalid argument"
    text = ": ".join(str(failure.value).rsplit(": ", 2)[-2:])
    assert text == "container.Runtime.Name must be set: invalid argument"
    findings = lint(config, "containerd", "--containerd", containerd_version())
    assert [f.rule for f in findings if text in f.message] == ["SP401"], (text, findings)


def sandbox_client(daemon: Containerd, scratch: Path) -> Client:
    pytest.importorskip("grpc", reason="the CRI client needs grpcio: pip install -e '.[live]'")
    archive = scratch / "pause.tar"
    if not archive.exists():
        archive.write_bytes(oci_archive([PAUSE], rootfs()))
    imported = daemon.ctr("images", "import", str(archive))
    assert imported.returncode == 0, imported.stderr
    (scratch / "pod-logs").mkdir(exist_ok=True)
    return Client(daemon.socket, scratch / "pod-logs")
