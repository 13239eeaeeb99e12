"""dockerd 20.10.24 itself against what ``shimpolicy lint --docker 20.10`` says of a
daemon.json (SPEC D2, D3, §6).

Each file in ``tests/live/daemon_json/`` is given to a real dockerd: when it refuses to
start, lint must report an error quoting dockerd's reason; when it starts, lint must report
no error that says it would not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.conftest import FakeShims
from tests.live.daemons import Dockerd, DockerdRun
from tests.live.lint import LIVE_DOCKER, lint, load_errors

VARIANTS = sorted((Path(__file__).parent / "daemon_json").glob("*.json"))

_PREFIX = re.compile(
    r"^(unable to configure the Docker daemon with file \S+?: )?"
    r"(configuration validation from file failed: )?"
)


def core(run: DockerdRun, data_root: Path) -> str:
    """dockerd's reason without the file it names; its data root and the random suffix of
    the runtime scripts' folder written the way lint writes them."""
    reason = _PREFIX.sub("", run.error)
    reason = reason.replace(str(data_root), "<data-root>")
    return re.sub(r"gen-runtimes\d+", "gen-runtimes<N>", reason)


@pytest.fixture
def dockerd(
    scratch: Path, shims: FakeShims, docker_containerd: Path, request: pytest.FixtureRequest
) -> Iterator[Dockerd]:
    daemon = Dockerd(
        scratch / "dockerd" / request.node.callspec.id, shims.folder, docker_containerd
    )
    yield daemon
    daemon.stop()


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda p: p.stem)
def test_lint_reports_an_error_exactly_when_dockerd_refuses_to_start(
    variant: Path, dockerd: Dockerd
) -> None:
    run = dockerd.start(variant.read_bytes())
    errors = load_errors(lint(variant, "daemon.json", "--docker", LIVE_DOCKER))
    if run.started:
        assert not errors, "dockerd started with it"
        return
    reason = core(run, dockerd.home / "data")
    assert reason, run.log
    assert [f for f in errors if reason in f.message], (
        f"dockerd refused: {run.error}\nlint's errors: {[f.message for f in errors]}"
    )
