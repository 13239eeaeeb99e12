"""What ``shimpolicy`` predicts for a file, through its command line as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Errors that are not about the daemon refusing the file: the policy's own (SP1xx), and
# failures the SPEC places at container start (a handler without runtime_type, SP401; a
# runc BinaryName that names a shim, SP411).
NOT_AT_LOAD = ("SP1", "SP401", "SP411")
LIVE_CONTAINERD = "1.6.20"  # Debian 12's
LIVE_DOCKER = "20.10"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    line: int


def _shimpolicy(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shimpolicy", *args],
        capture_output=True, text=True, timeout=300, check=False, cwd=cwd,
    )  # fmt: skip


@cache
def containerd_version() -> str:
    """The live containerd's version as ``--containerd`` takes it: at patch level where
    shimpolicy knows patch levels, else its series."""
    known = _shimpolicy("check", "--containerd", LIVE_CONTAINERD, "io.containerd.runc.v2")
    return LIVE_CONTAINERD if known.returncode == 0 else LIVE_CONTAINERD.rsplit(".", 1)[0]


def lint_many(paths: list[Path], kind: str, *options: str) -> dict[Path, list[Finding]]:
    """``shimpolicy lint --format json`` on files of type ``kind``, findings per file."""
    found: dict[Path, list[Finding]] = {path.resolve(): [] for path in paths}
    for start in range(0, len(paths), 200):  # a command line of bounded length
        chunk = [str(p.resolve()) for p in paths[start : start + 200]]
        proc = _shimpolicy("lint", "--format", "json", "--type", kind, "-j", "1", *options, *chunk)
        assert proc.returncode in (0, 1), proc.stderr
        for f in json.loads(proc.stdout)["findings"]:
            found[Path(f["path"]).resolve()].append(
                Finding(f["rule"], f["severity"], f["message"], f["line"])
            )
    return found


def lint(path: Path, kind: str, *options: str) -> list[Finding]:
    return lint_many([path], kind, *options)[path.resolve()]


def load_errors(findings: list[Finding]) -> list[Finding]:
    """The errors that say the daemon refuses the file (exits, or fails its CRI plugin)."""
    return [f for f in findings if f.severity == "error" and not f.rule.startswith(NOT_AT_LOAD)]
