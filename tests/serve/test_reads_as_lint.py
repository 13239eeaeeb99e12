"""``serve`` and ``lint`` read the host's files one way: the same containerd handlers
(C5, K4), daemon.json runtimes (D2) and pod-spec kinds (K3) through lint's own readers, so
what one says about a RuntimeClass or a workload the other says too."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from shimpolicy.lint.engine import lint_paths
from shimpolicy.policy import Policy
from shimpolicy.serve.admission import admission_problems
from shimpolicy.serve.docker import request_problems
from shimpolicy.serve.gate import Gate, load_gate
from shimpolicy.serve.records import Sources

POLICY = """\
version: 1
containerd: "{containerd}"
extends: default
rules:
  - id: no-tmp
    match: {{name: "/tmp/*"}}
    action: deny
    reason: shims under /tmp are never allowed
"""

V1_KATA = '[plugins.cri.containerd.runtimes.kata]\nruntime_type = "io.containerd.kata.v2"\n'
V2 = """\
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]
  runtime_type = "io.containerd.kata.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.evil]
  runtime_type = "/tmp/containerd-shim-evil-v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.untyped]
"""
IMPORTS = 'imports = ["/etc/containerd/conf.d/*.toml"]\n' + V1_KATA


def _gate(tmp_path: Path, containerd: str, config: str) -> Gate:
    (tmp_path / "policy.yaml").write_text(POLICY.format(containerd=containerd))
    (tmp_path / "config.toml").write_text(config)
    return load_gate(Sources(str(tmp_path / "policy.yaml"), None, str(tmp_path / "config.toml")))


def _lint_outcome(tmp_path: Path, handler: str) -> str:
    (tmp_path / "runtimeclass.yaml").write_text(
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\n"
        f"metadata:\n  name: rc\nhandler: {handler}\n"
    )
    policy = Policy.load(tmp_path / "policy.yaml")
    findings = [f for f in lint_paths([str(tmp_path)], policy).findings if f.path.endswith(".yaml")]
    rules = [(f.rule, f.message) for f in findings if f.rule in ("SP702", "SP703")]
    if not rules:
        return "ok"
    rule, message = rules[0]
    if rule == "SP702":
        return "missing"
    return "denied" if "the policy denies" in message else "untyped"


def _serve_outcome(gate: Gate, handler: str) -> str:
    obj = {"metadata": {"name": "rc"}, "handler": handler}
    problems = gate.runtime_class(obj)
    if not problems:
        return "ok"
    p = problems[0]
    if p.rule == "SP702":
        return "missing"
    if p.rule == "SP703":
        return "untyped"
    return "denied" if p.deny else "ok"


@pytest.mark.parametrize(
    ("containerd", "config", "handler", "outcome"),
    [
        # C5: containerd 1.x replaces the runtimes map: no runc once the file has one.
        ("1.7", V1_KATA, "runc", "missing"),
        ("1.7", V1_KATA, "kata", "ok"),
        ("2.1", V2, "runc", "ok"),
        ("1.6", V2, "runc", "missing"),
        ("2.1", V2, "evil", "denied"),
        ("2.1", V2, "untyped", "untyped"),
        ("2.1", V2, "gvisor", "missing"),
        # An imported file may define the handler: neither says it is missing.
        ("1.7", IMPORTS, "gvisor", "ok"),
    ],
)
def test_runtime_class_handlers_are_judged_as_lint_judges_them(
    tmp_path: Path, containerd: str, config: str, handler: str, outcome: str
) -> None:
    gate = _gate(tmp_path, containerd, config)
    assert (_serve_outcome(gate, handler), _lint_outcome(tmp_path, handler)) == (
        outcome,
        outcome,
    )


POD_SPEC = {"runtimeClassName": "Kata_Fast"}


@pytest.mark.parametrize(
    ("group", "kind", "obj", "field"),
    [
        ("", "Pod", {"spec": POD_SPEC}, "Pod spec.runtimeClassName"),
        (
            "",
            "PodTemplate",
            {"template": {"spec": POD_SPEC}},
            "PodTemplate template.spec.runtimeClassName",
        ),
        (
            "apps",
            "Deployment",
            {"spec": {"template": {"spec": POD_SPEC}}},
            "Deployment spec.template.spec.runtimeClassName",
        ),
    ],
)
def test_pod_specs_are_found_where_lint_finds_them_k3(
    tmp_path: Path, group: str, kind: str, obj: dict[str, Any], field: str
) -> None:
    request = {"kind": {"group": group, "kind": kind}, "object": obj}
    problems = admission_problems(_gate(tmp_path, "2.1", V2), request)
    assert [(p.rule, p.message.split(" is not")[0]) for p in problems] == [
        ("SP503", f'{field} "Kata_Fast"')
    ]
    api = f"{group}/v1" if group else "v1"
    lines = [f"apiVersion: {api}", f"kind: {kind}", "metadata:", "  name: x"]
    (tmp_path / "workload.yaml").write_text(
        "\n".join(lines) + "\n" + _yaml(obj) + "\n", encoding="utf-8"
    )
    policy = Policy.load(tmp_path / "policy.yaml")
    findings = lint_paths([str(tmp_path / "workload.yaml")], policy).findings
    assert [f.rule for f in findings] == ["SP503"]


def _yaml(obj: object, indent: int = 0) -> str:
    assert isinstance(obj, dict)
    out = []
    for key, value in obj.items():
        if isinstance(value, dict):
            out.append(" " * indent + f"{key}:\n" + _yaml(value, indent + 2))
        else:
            out.append(" " * indent + f"{key}: {value}")
    return "\n".join(out)


@pytest.mark.parametrize(
    ("daemon_json", "denied"),
    [
        ('{"runtimes": {"kata": {"runtimeType": "io.containerd.kata.v2"}}}', False),
        # dockerd refuses "Runtimes" (no such option): it configures nothing.
        ('{"Runtimes": {"kata": {"runtimeType": "io.containerd.kata.v2"}}}', True),
        # null empties what came before, as Go's decoder does.
        ('{"runtimes": {"kata": {}}, "runtimes": null}', True),
    ],
)
def test_daemon_json_runtimes_are_read_as_lint_reads_them_d2(
    tmp_path: Path, daemon_json: str, denied: bool
) -> None:
    (tmp_path / "policy.yaml").write_text("version: 1\ndefault: deny\nrules: []\n")
    (tmp_path / "daemon.json").write_text(daemon_json)
    gate = load_gate(Sources(str(tmp_path / "policy.yaml"), str(tmp_path / "daemon.json")))
    body = base64.b64encode(b'{"HostConfig": {"Runtime": "kata"}}').decode()
    problems = request_problems(gate, "POST", "/v1.43/containers/create", body, {})
    assert [p.deny for p in problems] == ([True] if denied else [])
