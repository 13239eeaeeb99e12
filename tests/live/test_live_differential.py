"""Generated configs on the live daemons: does ``shimpolicy lint`` report a load-time error
exactly when containerd 1.6.20 / dockerd 20.10.24 refuses the file?

The files come from ``fuzz/configs.py`` with a fixed seed (250 containerd configs and 250
daemon.json files; ``SHIMPOLICY_LIVE_GENERATED=C,D`` sets other counts). Errors about
failures at container start and the policy's own errors are not counted (see
``tests/live/lint.py``). The agreement is reported class by class at the end of the run,
with every file on which the two disagree; each daemon must agree on at least 97% of its
files.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fuzz.configs import Generated, containerd_configs, daemon_jsons, write
from tests.live.conftest import REPORTS, FakeShims
from tests.live.daemons import Containerd, Dockerd
from tests.live.lint import LIVE_DOCKER, Finding, containerd_version, lint_many, load_errors

SEED = int(os.environ.get("SHIMPOLICY_LIVE_SEED", "20261206"))
THRESHOLD = 0.97
COUNTS = [int(n) for n in os.environ.get("SHIMPOLICY_LIVE_GENERATED", "250,250").split(",")]


class Outcome:
    def __init__(self, item: Generated, path: Path, refused: bool, reason: str) -> None:
        self.item, self.path, self.refused, self.reason = item, path, refused, reason
        self.errors: list[Finding] = []

    @property
    def agrees(self) -> bool:
        return self.refused == bool(self.errors)

    def explain(self) -> str:
        said = "refused: " + self.reason if self.refused else "accepted"
        lint = "; ".join(f"{f.rule} {f.message}" for f in self.errors) or "no load-time error"
        text = self.item.data.decode(errors="replace").strip()
        return f"--- {self.item.name}\n{text}\n  daemon {said}\n  lint: {lint}"


def report(daemon: str, outcomes: list[Outcome]) -> tuple[float, str]:
    total, agreed = Counter[str](), Counter[str]()
    for o in outcomes:
        total[o.item.cls] += 1
        agreed[o.item.cls] += o.agrees
    rate = sum(agreed.values()) / len(outcomes)
    lines = [f"{daemon}: lint agrees on {sum(agreed.values())}/{len(outcomes)} ({rate:.1%})"]
    for cls in sorted(total):
        lines.append(f"  {cls:16} {agreed[cls]:4}/{total[cls]:<4} {agreed[cls] / total[cls]:.1%}")
    lines += [o.explain() for o in outcomes if not o.agrees]
    return rate, "\n".join(lines)


def measure(
    files: list[Generated], folder: Path, run: Callable[[Generated, Path], tuple[bool, str]],
    kind: str, *versions: str,
) -> list[Outcome]:  # fmt: skip
    paths = write(folder, files)
    outcomes = [
        Outcome(item, path, *run(item, path)) for item, path in zip(files, paths, strict=True)
    ]
    found = lint_many(paths, kind, *versions)
    for outcome in outcomes:
        outcome.errors = load_errors(found[outcome.path.resolve()])
    return outcomes


def test_lint_predicts_containerd_on_generated_configs(scratch: Path, shims: FakeShims) -> None:
    def run(item: Generated, path: Path) -> tuple[bool, str]:
        daemon = Containerd(scratch / "gen-ctd" / path.stem, path, shims.folder)
        try:
            result = daemon.start()
        finally:
            daemon.stop()
        refused = not result.started or bool(result.error)
        return refused, result.error

    files = containerd_configs(SEED, COUNTS[0])
    outcomes = measure(
        files,
        scratch / "gen" / "containerd",
        run,
        "containerd",
        "--containerd",
        containerd_version(),
    )
    rate, text = report(f"containerd {containerd_version()}", outcomes)
    REPORTS.append(text)
    assert rate >= THRESHOLD, text


def test_lint_predicts_dockerd_on_generated_daemon_json(
    scratch: Path, shims: FakeShims, docker_containerd: Path
) -> None:
    def run(item: Generated, path: Path) -> tuple[bool, str]:
        daemon = Dockerd(scratch / "gen-dockerd" / path.stem, shims.folder, docker_containerd)
        try:
            result = daemon.start(item.data)
        finally:
            daemon.stop()
        return not result.started, result.error

    files = daemon_jsons(SEED, COUNTS[1])
    outcomes = measure(
        files, scratch / "gen" / "daemon.json", run, "daemon.json", "--docker", LIVE_DOCKER
    )
    rate, text = report(f"dockerd {LIVE_DOCKER}", outcomes)
    REPORTS.append(text)
    assert rate >= THRESHOLD, text
