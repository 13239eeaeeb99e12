"""The pre-commit hook definition: its `files` pattern against sample paths."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import ROOT

[HOOK] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


@pytest.mark.parametrize(
    "path",
    [
        "daemon.json",
        "etc/docker/daemon.json",
        "compose.yaml",
        "docker-compose.yml",
        "docker-compose.override.yml",
        "compose.prod.yaml",
        "k8s/deploy.yaml",
        "config.toml",
        "etc/containerd/config.toml",
        "scripts/run.sh",
        "bin/start",
        ".github/workflows/ci.yml",
    ],
)
def test_files_pattern_selects(path: str) -> None:
    assert re.search(HOOK["files"], path)  # pre-commit uses re.search


@pytest.mark.parametrize(
    "path", ["package.json", "README.md", "main.py", "Dockerfile.dev", "a/b.json"]
)
def test_files_pattern_skips(path: str) -> None:
    assert not re.search(HOOK["files"], path)


def test_hook_runs_the_linter_in_one_process() -> None:
    assert HOOK["entry"] == "shimpolicy lint"
    assert HOOK["require_serial"] is True
    assert HOOK["language"] == "python"
    assert set(HOOK["types_or"]) == {"json", "yaml", "toml", "shell"}
