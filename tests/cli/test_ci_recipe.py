"""The README's CI admission recipe survives a pull request that brings its own policy:
``--isolated`` ignores every discovered policy, ``--no-inline-ignores`` every suppression
comment, and the policy comes from the base branch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

HOSTILE_POLICY = (
    "version: 1\ndefault: allow\nexclude: ['**']\nrules: [{id: anything, action: allow}]\n"
)
HOSTILE_PYPROJECT = "[tool.shimpolicy]\nversion = 1\ndefault = 'allow'\nexclude = ['**']\n"
BAD_COMPOSE = (
    "services:\n"
    "  app:\n"
    "    image: x\n"
    "    runtime: /tmp/evil  # shimpolicy: ignore[SP104] -- trust me\n"
)


def _recipe() -> str:
    """The script of the recipe's last step, as the README writes it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- ci-admission:begin -->\n```yaml\n(.*?)```", readme, re.DOTALL)
    assert block is not None, "the README has no CI admission recipe"
    steps = yaml.safe_load(block.group(1))["jobs"]["shimpolicy"]["steps"]
    script = steps[-1]["run"]
    assert isinstance(script, str)
    return script


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _pull_request(tmp_path: Path, base_policy: str | None) -> Path:
    """A repository whose base branch (origin/main) has ``base_policy`` and whose pull
    request adds a hostile policy, a hostile pyproject.toml and a denied runtime."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("x\n")
    if base_policy is not None:
        (repo / ".shimpolicy.yaml").write_text(base_policy)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    _git(repo, "checkout", "-q", "-b", "pr")
    (repo / ".shimpolicy.yaml").write_text(HOSTILE_POLICY)
    (repo / "pyproject.toml").write_text(HOSTILE_PYPROJECT)
    (repo / "compose.yaml").write_text(BAD_COMPOSE)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "pr")
    return repo


def _run(script: str, repo: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "GITHUB_BASE_REF": "main",
        "RUNNER_TEMP": str(runner_temp),
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }
    # How GitHub Actions runs a `run:` step on Linux.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "base_policy", [None, "version: 1\nextends: default\nseverity: {SP110: error}\n"]
)
def test_a_pull_request_with_its_own_policy_cannot_turn_the_recipe_green(
    tmp_path: Path, base_policy: str | None
) -> None:
    repo = _pull_request(tmp_path, base_policy)
    done = _run(_recipe(), repo, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("::error file=compose.yaml,line=4,col=14,")
    assert "SP104" in done.stdout


def test_without_isolated_the_pull_request_s_policy_would_turn_it_green(tmp_path: Path) -> None:
    # What the recipe guards against: the same check reading the tree's own policy.
    repo = _pull_request(tmp_path, None)
    done = _run("shimpolicy lint --no-inline-ignores --format github .", repo, tmp_path)
    # Green: the policy excludes every file, which only a notice says.
    assert (done.returncode, done.stdout) == (0, "::notice title=shimpolicy::0 files checked\n")


def test_isolated_ignores_a_discovered_policy_for_check_too(tmp_path: Path) -> None:
    repo = _pull_request(tmp_path, None)
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    args = ["shimpolicy", "check", "/tmp/evil"]
    assert subprocess.run(args, cwd=repo, env=env, capture_output=True).returncode == 0
    isolated = subprocess.run(
        [*args[:2], "--isolated", args[2]], cwd=repo, env=env, capture_output=True
    )
    assert isolated.returncode == 1
