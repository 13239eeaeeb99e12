"""`lint -j N`: parallel runs give exactly the serial run's result, cross-file facts included."""

from __future__ import annotations

import gc
import io
import os
from pathlib import Path
from typing import Any

import pytest

from shimpolicy.cli import main
from shimpolicy.lint import engine, parallel
from shimpolicy.lint.engine import LintOptions, lint_paths
from shimpolicy.lint.finding import Finding
from shimpolicy.lint.parallel import PARALLEL_MIN_FILES
from shimpolicy.policy import Policy


def _tree(root: Path) -> None:
    (root / "etc").mkdir()
    (root / "etc" / "daemon.json").write_text('{"runtimes": {"crun": {"path": "/usr/bin/crun"}}}\n')
    (root / "apps").mkdir()
    (root / "apps" / "classes.yaml").write_text(
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: kata\nhandler: kata\n"
    )
    for i in range(PARALLEL_MIN_FILES + 10):
        d = root / "apps" / f"a{i:03d}"
        d.mkdir()
        runtime = [
            "crun",
            "nvidia",
            "/usr/bin/evil",
            "com.example.runc.v2",
            "io.containerd.kata.v2",
        ][i % 5]
        (d / "compose.yaml").write_text(f"services:\n  s:\n    image: x\n    runtime: {runtime}\n")
        (d / "pod.yaml").write_text(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n"
            f"  runtimeClassName: {'kata' if i % 2 else 'gvisor'}\n  containers: []\n"
        )


def test_parallel_run_equals_serial_run(tmp_path: Path) -> None:
    _tree(tmp_path)
    policy = Policy.default()
    serial = lint_paths([str(tmp_path)], policy, LintOptions(jobs=1))
    parallel = lint_paths([str(tmp_path)], policy, LintOptions(jobs=3))
    assert parallel == serial
    rules = {f.rule for f in serial.findings}
    # Cross-file: crun is configured (no finding), nvidia is not (SP301), gvisor has no class.
    assert {"SP301", "SP104", "SP110", "SP701"} <= rules
    assert not any("crun" in f.message for f in serial.findings)
    assert serial.files_checked == 2 * (PARALLEL_MIN_FILES + 10) + 2


def test_the_library_leaves_the_cyclic_collector_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    policy = Policy.default()
    seen = []
    check_all = engine._check_all

    def recording(*args: Any) -> list[Finding]:
        seen.append(gc.isenabled())
        return check_all(*args)

    monkeypatch.setattr(engine, "_check_all", recording)
    for jobs in (1, 2):
        lint_paths([str(tmp_path)], policy, LintOptions(jobs=jobs))
    assert seen == [True, True]  # this process's share of each run
    assert gc.isenabled()


def test_the_command_pauses_the_cyclic_collector_for_a_lint_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    seen = []
    run = engine.lint_paths

    def recording(*args: Any) -> engine.LintResult:
        seen.append(gc.isenabled())
        return run(*args)

    monkeypatch.setattr(engine, "lint_paths", recording)
    assert main(["lint", str(tmp_path)], stdout=io.StringIO()) == 1
    assert seen == [False]
    assert gc.isenabled()


def test_a_worker_that_fails_makes_the_run_fail_not_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _tree(tmp_path)
    parent = os.getpid()
    check_all = engine._check_all

    def failing_in_workers(*args: Any) -> list[Finding]:
        if os.getpid() != parent:
            raise ValueError("worker broke")
        return check_all(*args)

    monkeypatch.setattr(engine, "_check_all", failing_in_workers)
    with pytest.raises(RuntimeError, match=r"^a lint worker process ended without its results$"):
        lint_paths([str(tmp_path)], Policy.default(), LintOptions(jobs=3))
    assert "ValueError: worker broke" in capfd.readouterr().err
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every worker was reaped


def test_more_chunks_than_chunk_numbers_still_lints_every_file_once(tmp_path: Path) -> None:
    _tree(tmp_path)
    policy = Policy.default()
    serial = lint_paths([str(tmp_path)], policy, LintOptions(jobs=1))
    jobs = 20
    assert jobs * parallel.CHUNKS_PER_JOB > parallel.MAX_CHUNKS  # so the cap applies
    assert lint_paths([str(tmp_path)], policy, LintOptions(jobs=jobs)) == serial


def test_a_process_gone_before_it_is_sent_its_input_is_an_error_not_a_closed_output() -> None:
    # The command treats BrokenPipeError as its own output closed early (exit 0): a worker
    # that is gone must not pass for that.
    r, w = os.pipe()
    os.close(r)
    try:
        with pytest.raises(
            RuntimeError, match=r"^a lint process ended before it was sent all it needed$"
        ):
            parallel._send(w, b"facts")
    finally:
        os.close(w)
