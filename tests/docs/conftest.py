"""What the README and action tests share: a fresh copy of the checkout, as a new user's
clone would be (the files git tracks, and new ones it does not ignore), made once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT


def checkout_files() -> list[str]:
    """The files a clone of this checkout has, with the new files not yet committed."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (or no git): cannot tell which files a clone has")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [
        p for p in listed.split("\0") if p and ((ROOT / p).is_symlink() or (ROOT / p).is_file())
    ]


@pytest.fixture(scope="session")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("clone") / "shimpolicy"
    for rel in checkout_files():
        target = copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / rel).is_symlink():  # as git checks it out: the link itself
            target.symlink_to(os.readlink(ROOT / rel))
        else:
            shutil.copy2(ROOT / rel, target)
    return copy


def commit_has(commit: str, path: str) -> str:
    """``path`` as it is in ``commit`` of this repository (a pinned commit a document names
    must exist, with that file)."""
    shallow = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True, text=True
    )
    if shallow.stdout.strip() == "true":
        pytest.skip("a shallow clone has no history to look for pinned commits in")
    shown = subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True
    )
    assert shown.returncode == 0, f"{commit} is not a commit of this repository with {path}"
    return shown.stdout


def options_known_at(commit: str, text: str) -> list[str]:
    """The ``--options`` in ``text`` that shimpolicy at ``commit`` does not have (pip's
    own, on the lines that install it, aside)."""
    cmdline = commit_has(commit, "shimpolicy/_cmdline.py")
    shimpolicy_lines = "\n".join(line for line in text.splitlines() if "pip " not in line)
    used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*[a-z])\b", shimpolicy_lines))
    return sorted(o for o in used if f'"{o}"' not in cmdline)
