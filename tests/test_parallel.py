"""`lint -j N`: parallel runs give exactly the serial run's result, cross-file facts included."""

from __future__ import annotations

import gc
from pathlib import Path

from shimpolicy.lint.engine import PARALLEL_MIN_FILES, LintOptions, lint_paths
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


def test_a_run_leaves_the_cyclic_collector_as_it_found_it(tmp_path: Path) -> None:
    _tree(tmp_path)
    policy = Policy.default()
    assert gc.isenabled()
    for jobs in (1, 2):
        lint_paths([str(tmp_path)], policy, LintOptions(jobs=jobs))
        assert gc.isenabled()
    gc.disable()
    try:
        lint_paths([str(tmp_path)], policy)
        assert not gc.isenabled()
    finally:
        gc.enable()
