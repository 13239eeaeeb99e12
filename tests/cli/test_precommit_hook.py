"""The pre-commit hook definition: its `files` pattern against sample paths, and its entry
run as pre-commit runs it, over every file the pattern selects in a tree."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from shimpolicy.cli import main
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
        "daemon.prod.json",
        "etc/docker/prod.daemon.json",
        "k8s/runtimeclass.json",
        "scripts/deploy.zsh",
    ],
)
def test_files_pattern_selects(path: str) -> None:
    assert re.search(HOOK["files"], path)  # pre-commit uses re.search


@pytest.mark.parametrize(
    "path", ["README.md", "main.py", "Dockerfile.dev", "notes.txt", "a/b.json.bak"]
)
def test_files_pattern_skips(path: str) -> None:
    assert not re.search(HOOK["files"], path)


def test_hook_runs_the_linter_in_one_process() -> None:
    assert HOOK["entry"] == "shimpolicy lint --skip-unknown"
    assert HOOK["require_serial"] is True
    assert HOOK["language"] == "python"
    assert set(HOOK["types_or"]) == {"json", "yaml", "toml", "shell"}


def test_the_hook_over_a_tree_reports_configs_and_passes_over_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "daemon.prod.json": '{"runtimes": {"runc": {"path": "/usr/bin/runc"}}}\n',
        "k8s/rc.json": '{"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",\n'
        ' "metadata": {"name": "kata"}, "handler": "io.containerd.kata.v2"}\n',
        "bin/deploy.zsh": "docker run --runtime /tmp/x alpine\n",
        "package.json": '{"name": "site"}\n',
        "mkdocs.yml": "site_name: docs\n",
        "pyproject.toml": "[project]\nname = 'x'\n",
        "README.md": "# x\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    selected = sorted(rel for rel in files if re.search(HOOK["files"], rel))
    assert "README.md" not in selected and len(selected) == 6
    program, command, *options = HOOK["entry"].split()
    assert (program, command) == ("shimpolicy", "lint")
    cwd = os.getcwd()
    os.chdir(tmp_path)  # pre-commit runs the hook at the repository's root
    try:
        status = main([command, *options, "--format", "json", *selected])
    finally:
        os.chdir(cwd)
    assert status == 1
    report = json.loads(capsys.readouterr().out)
    assert report["files_checked"] == 3
    assert sorted((f["path"], f["rule"]) for f in report["findings"]) == [
        ("bin/deploy.zsh", "SP104"),
        ("daemon.prod.json", "SP201"),
        ("k8s/rc.json", "SP502"),
    ]
