"""Inputs that found bugs (or guard against known classes of them), replayed through the
fuzzing harness's own targets: each must run to completion with the harness's checks
holding (no exception, findings inside the file).  A crash that `fuzz/run.py` finds is
added under `fuzz/regressions/TARGET/`."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.run import TARGETS, target
from tests.conftest import ROOT

REGRESSIONS = ROOT / "fuzz" / "regressions"
CASES = sorted(p for p in REGRESSIONS.rglob("*") if p.is_file())


def test_every_regression_belongs_to_a_target() -> None:
    assert CASES
    assert {p.parent.name for p in CASES} <= set(TARGETS)


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_regression_input(case: Path) -> None:
    target(case.parent.name)(case.read_bytes())
