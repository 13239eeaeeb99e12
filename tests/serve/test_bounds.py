"""``serve`` under hostile input: Docker forwards bodies under 1 MiB, so any API user can
send runtime names of nearly a megabyte.  Such a name is denied (longer than PATH_MAX)
with a message of bounded size, and nothing of it is kept: memory stays bounded."""

from __future__ import annotations

import base64
import json
import tracemalloc
from pathlib import Path

from shimpolicy.serve.docker import request_problems
from shimpolicy.serve.gate import load_gate
from shimpolicy.serve.records import Sources

MB = 1 << 20


def _name(i: int) -> str:
    return f"io.containerd.{i:04d}" + "x" * (MB - 100) + ".v2"


def _body(i: int) -> str:
    body = json.dumps({"HostConfig": {"Runtime": _name(i)}})
    return base64.b64encode(body.encode()).decode()


def test_two_hundred_megabyte_names_leave_memory_bounded(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text("version: 1\nextends: default\nrules: []\n")
    gate = load_gate(Sources(str(tmp_path / "policy.yaml")))
    uri = "/v1.45/containers/create"
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(200):
            (problem,) = request_problems(gate, "POST", uri, _body(i), {})
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 4 * MB, f"{grown} bytes kept after 200 requests"
    assert (problem.rule, problem.deny, len(problem.value)) == ("name-too-long", True, 256)
    name = _name(199)
    assert problem.message == (
        f"runtime {json.dumps(name[:256])}… ({len(name) - 256} more characters) is denied "
        f"by rule name-too-long: the name is {len(name)} bytes long, longer than any path "
        "containerd could execute (PATH_MAX, 4096 bytes)"
    )
