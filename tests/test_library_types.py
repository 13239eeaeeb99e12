"""The library refuses values of the wrong type with a clear ``TypeError`` (SPEC §5.1),
and types its closed sets so that a type checker catches a misspelt value."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import shimpolicy
from shimpolicy.lint.engine import lint_paths

ROOT = Path(__file__).resolve().parent.parent


def test_parse_refuses_a_name_that_is_not_a_string() -> None:
    with pytest.raises(TypeError) as e:
        shimpolicy.parse(None)  # type: ignore[arg-type]
    assert str(e.value) == "runtime name must be a str, not NoneType"


def test_parse_refuses_bytes() -> None:
    with pytest.raises(TypeError) as e:
        shimpolicy.parse(b"io.containerd.runc.v2")  # type: ignore[arg-type]
    assert str(e.value) == "runtime name must be a str, not bytes"


def test_docker_permits_refuses_a_name_that_is_not_a_string() -> None:
    with pytest.raises(TypeError) as e:
        shimpolicy.docker_permits(None)  # type: ignore[arg-type]
    assert str(e.value) == "runtime name must be a str, not NoneType"


def test_decide_refuses_a_name_that_is_not_a_string() -> None:
    with pytest.raises(TypeError) as e:
        shimpolicy.Policy.default().decide(3)  # type: ignore[arg-type]
    assert str(e.value) == "runtime name must be a str, not int"


def test_lint_paths_refuses_a_single_string(tmp_path: Path) -> None:
    with pytest.raises(TypeError) as e:
        lint_paths(str(tmp_path), shimpolicy.Policy.default())  # type: ignore[arg-type]
    assert str(e.value) == (
        "lint_paths takes a list of paths, not a str: write lint_paths([path], policy)"
    )


def test_lint_paths_takes_path_objects(tmp_path: Path) -> None:
    (tmp_path / "daemon.json").write_text('{"default-runtime": "runc"}\n')
    result = lint_paths([tmp_path], shimpolicy.Policy.default())
    assert result.files_checked == 1


SNIPPET = """\
import shimpolicy

policy = shimpolicy.Policy.default()
decision = policy.decide("io.containerd.kata.v2", context="requets")
action_ok: bool = decision.action == "alow"
kind_ok: bool = shimpolicy.parse("x.y").kind == "shimm"
"""


def test_mypy_catches_a_misspelt_context_action_and_kind(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    if mypy is None:
        pytest.fail("mypy is not installed: install the test extra (pip install -e '.[test]')")
    p = subprocess.run(
        [
            mypy,
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "snippet.py",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)},
    )
    errors = [
        line.split(": error: ", 1)[1] for line in p.stdout.splitlines() if ": error: " in line
    ]
    assert len(errors) == 3, p.stdout
    assert errors[0].startswith(
        'Argument "context" to "decide" of "Policy" has incompatible type "Literal[\'requets\']"'
    )
    assert errors[1].startswith("Non-overlapping equality check")
    assert "Literal['alow']" in errors[1]
    assert errors[2].startswith("Non-overlapping equality check")
    assert "Literal['shimm']" in errors[2]
