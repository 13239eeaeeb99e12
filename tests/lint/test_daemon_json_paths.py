"""daemon.json ``path`` and ``options.BinaryName`` are judged exactly as containerd's
``options.BinaryName`` is (one function decides both, lint/containerd.py
``check_runc_binary``): a path into a directory others can write is refused (SP106), a
relative one fails every container that uses it (SP412)."""

from __future__ import annotations

import json

from shimpolicy.lint.engine import lint_text
from tests.conftest import policy

WRITABLE = (
    "containerd would execute '{path}' as root from '{dir}', a directory other users can "
    "write to; install the shim in a directory only root can write, such as /usr/local/bin"
)


def rows(runtimes: dict[str, object], docker: str = "29") -> list[tuple[int, int, str, str]]:
    text = json.dumps({"runtimes": runtimes}, indent=2) + "\n"
    result = lint_text(text, "daemon.json", policy(docker=docker))
    return [(f.line, f.column, f.rule, f.message) for f in result.findings]


def test_a_path_in_a_writable_directory_is_refused_as_containerd_s_is() -> None:
    assert rows({"x": {"path": "/tmp/x"}}) == [
        (
            4,
            15,
            "SP106",
            "runtimes.x.path: " + WRITABLE.format(path="/tmp/x", dir="/tmp"),
        )
    ]


def test_a_runc_binary_name_in_a_writable_directory_is_refused() -> None:
    entry = {"runtimeType": "io.containerd.runc.v2", "options": {"BinaryName": "/dev/shm/runc"}}
    assert rows({"x": entry}) == [
        (
            6,
            23,
            "SP106",
            "runtimes.x.options.BinaryName: "
            + WRITABLE.format(path="/dev/shm/runc", dir="/dev/shm"),
        )
    ]


def test_a_relative_path_fails_every_container_as_dockerd_20_10_showed() -> None:
    assert rows({"crun": {"path": "bin/crun"}}) == [
        (
            4,
            15,
            "SP412",
            "runtimes.crun.path 'bin/crun' is a relative path: the runc shim resolves it "
            "against its own working directory (the container's bundle directory), where it "
            "does not exist, so every container using it fails to start (fork/exec bin/crun: "
            "no such file or directory); use an absolute path, or a bare name looked up on PATH",
        )
    ]


def test_a_bare_name_and_an_administrator_s_path_are_fine() -> None:
    assert rows({"crun": {"path": "crun"}, "youki": {"path": "/usr/local/bin/youki"}}) == []
    entry = {"runtimeType": "io.containerd.runc.v2", "options": {"BinaryName": "crun"}}
    assert rows({"crun": entry}) == []


def test_binary_name_of_another_shim_is_not_runc_s() -> None:
    # Only the runc shim reads BinaryName as the binary it runs.
    entry = {"runtimeType": "io.containerd.kata.v2", "options": {"BinaryName": "/tmp/x"}}
    assert rows({"kata": entry}) == []
