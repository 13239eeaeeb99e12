"""README.md as a new user meets it: every block runs as written, in a fresh copy of the
checkout.  ``sh`` blocks run with ``bash -e`` (the first one makes the virtual environment
the others run in, as a user's shell would have it), each ``console`` command's output is
the one shown, ``python`` blocks run against the installed package, ``yaml`` and ``json``
blocks parse.  A block that cannot run offline or unattended says why in its info string
(``sh skip=network``) and is only checked for what can be checked without running it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from shimpolicy.rulesdoc import REPOSITORY
from tests.conftest import ROOT
from tests.docs.conftest import commit_has as _commit_has
from tests.docs.conftest import options_known_at

README = ROOT / "README.md"
MAX_SKIPPED = 6  # blocks that cannot run here: kept few
SHELLS = {"bash": "sh", "shell": "sh", "shell-session": "console"}
DATA = ("yaml", "json", "toml")  # parsed
SHOWN = ("text", "ini", "dockerfile", "go", "diff")  # shown, not run: nothing to run


class Block(NamedTuple):
    line: int  # of the opening fence
    lang: str
    skip: str | None  # why it is not run, from `skip=REASON` in the info string
    text: str

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.lang}" + (f":skip={self.skip}" if self.skip else "")


def blocks(text: str) -> list[Block]:
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.fullmatch(r"( *)```(\S*)(.*)", lines[i])
        if not m:
            i += 1
            continue
        indent, lang, rest = len(m[1]), m[2], m[3].split()
        skip = next((w.removeprefix("skip=") for w in rest if w.startswith("skip=")), None)
        body = []
        i += 1
        while not re.fullmatch(r" *```", lines[i]):
            body.append(lines[i][indent:])
            i += 1
        lang = SHELLS.get(lang, lang)
        found.append(Block(i - len(body), lang, skip, "".join(f"{b}\n" for b in body)))
        i += 1
    return found


BLOCKS = blocks(README.read_text(encoding="utf-8"))
RUNNABLE = [b for b in BLOCKS if b.lang in ("sh", "console", "python") and not b.skip]


def _environment(clone: Path) -> dict[str, str]:
    """A user's shell after `. .venv/bin/activate`, with no colour forced either way."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FORCE_COLOR", "CLICOLOR_FORCE", "NO_COLOR", "PYTHONPATH", "VIRTUAL_ENV")
    }
    venv = clone / ".venv"
    if venv.is_dir():
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    return env


HINT = "a block that cannot run offline or unattended says why: ```sh skip=REASON"


def _bash(
    script: str, cwd: Path, env: dict[str, str], timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """``script`` run as a user's shell runs it; a block still running after ``timeout``
    fails the test, and everything it started is stopped (its own process group)."""
    proc = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"still running after {timeout} s:\n{script}\n({HINT})")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def clone(fresh_clone: Path) -> Path:
    """The fresh copy after the README's first block: installed in its own venv."""
    first = next(b for b in BLOCKS if b.lang == "sh" and not b.skip)
    assert "python3 -m venv .venv" in first.text, "the first block makes the venv"
    proc = _bash(first.text, fresh_clone, _environment(fresh_clone), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (fresh_clone / ".venv" / "bin" / "shimpolicy").is_file()
    return fresh_clone


def _console(block: Block) -> list[tuple[str, str]]:
    """(command, output shown) for each `$ ` line, continuation lines joined."""
    pairs: list[tuple[str, list[str]]] = []
    lines = block.text.splitlines()
    i = 0
    while i < len(lines):
        assert lines[i].startswith("$ "), f"{block.id}: output before any command"
        command = lines[i][2:]
        while command.endswith("\\"):
            i += 1
            command = command[:-1] + lines[i]
        pairs.append((command, []))
        i += 1
        while i < len(lines) and not lines[i].startswith("$ "):
            pairs[-1][1].append(lines[i])
            i += 1
    return [(c, "".join(f"{o}\n" for o in out)) for c, out in pairs]


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_block_runs_as_written(block: Block, clone: Path, tmp_path: Path) -> None:
    env = _environment(clone)
    if block.lang == "sh":
        proc = _bash(block.text, clone, env)
        assert proc.returncode == 0, f"{block.id} failed ({HINT}):\n{proc.stdout}{proc.stderr}"
    elif block.lang == "console":
        for command, shown in _console(block):
            proc = _bash(command, clone, env)
            assert proc.stdout + proc.stderr == shown, f"{block.id}: `{command}`"
    else:  # python: the installed package, not the copy's source tree
        proc = subprocess.run(
            [str(clone / ".venv" / "bin" / "python"), "-"],
            input=block.text,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"{block.id} failed:\n{proc.stderr}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang in DATA], ids=lambda b: b.id)
def test_data_block_parses(block: Block) -> None:
    if block.lang == "json":
        json.loads(block.text)
    elif block.lang == "toml":
        from shimpolicy.syntax.toml import parse_toml

        parse_toml(block.text)
    else:
        yaml.safe_load(block.text)


def test_blocks_not_run_are_few_and_say_why() -> None:
    skipped = [b for b in BLOCKS if b.skip is not None]
    assert all(b.skip for b in skipped)  # `skip=` alone says nothing
    assert len(skipped) <= MAX_SKIPPED, [b.id for b in skipped]
    known = ("sh", "console", "python", *DATA, *SHOWN)
    unknown = [b.id for b in BLOCKS if b.lang not in known]
    assert unknown == []


def test_installs_from_the_repository_pin_commits_that_exist() -> None:
    readme = README.read_text(encoding="utf-8")
    # shimpolicy is not on PyPI: `pip install shimpolicy` would fail (or install another).
    assert re.search(r"pip install +['\"]?shimpolicy\b", readme) is None
    pins = re.findall(r"git\+(https://[^@\s]+)@([^\"'\s]+)", readme)
    assert pins, "the README shows how to install from the repository"
    for url, commit in pins:
        assert url == REPOSITORY
        assert re.fullmatch(r"[0-9a-f]{40}", commit), f"pin a full commit, not {commit}"
        assert 'name = "shimpolicy"' in _commit_has(commit, "pyproject.toml")
    # What the README runs after such an install, that commit's shimpolicy has.
    for block in BLOCKS:
        for commit in re.findall(r"git\+https://[^@\s]+@([0-9a-f]{40})", block.text):
            assert options_known_at(commit, block.text) == [], block.id


def test_pre_commit_snippet_names_a_revision_and_hook_that_exist() -> None:
    (block,) = [b for b in BLOCKS if b.lang == "yaml" and "repos:" in b.text]
    (repo,) = yaml.safe_load(block.text)["repos"]
    assert repo["repo"] == REPOSITORY
    assert re.fullmatch(r"[0-9a-f]{40}", repo["rev"]), "pin a full commit"
    hooks = yaml.safe_load(_commit_has(repo["rev"], ".pre-commit-hooks.yaml"))
    assert {h["id"] for h in repo["hooks"]} <= {h["id"] for h in hooks}
    # The hook at that commit is the one this README describes, and its shimpolicy runs it.
    assert hooks == yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert options_known_at(repo["rev"], " ".join(h["entry"] for h in hooks)) == []


def test_ci_snippet_is_the_example_workflow() -> None:
    example = (ROOT / "examples" / "ci" / "shimpolicy.yml").read_text(encoding="utf-8")
    assert any(b.lang == "yaml" and b.text == example for b in BLOCKS)
