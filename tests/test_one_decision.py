"""One decision through every door: ``check``, ``explain``, the library, ``lint`` and
``serve`` give the same answer for the same runtime name chosen per container, as dockerd
takes it (D1, D2): a stock runtime is Docker's own, a configured one the administrator's,
and only the rest is put to the policy."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import shimpolicy
from shimpolicy.cli import main
from shimpolicy.grammar.docker import docker_takes
from shimpolicy.lint.engine import lint_text
from shimpolicy.policy import Policy
from shimpolicy.serve.gate import Gate


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdin=io.StringIO(""), stdout=out), out.getvalue()


def test_check_allows_docker_s_stock_runc() -> None:
    code, out = run("check", "runc")
    assert code == 0
    assert out == (
        "allow\trunc\tinvalid\tinvalid runtime name runc, correct runtime name should be "
        "either format like `io.containerd.runc.v2` or a full path to the binary\t"
        "docker-stock: 'runc' is a stock runtime of Docker 29 on linux (D2): dockerd runs it "
        "itself, with its own settings, and never hands the name to containerd\n"
    )


def test_check_json_says_docker_takes_runc_as_a_stock_runtime() -> None:
    code, out = run("check", "--format", "json", "runc", "io.containerd.kata.v2", "/x", "")
    results = json.loads(out)["results"]
    assert code == 1
    assert [
        (r["decision"], r["rule"], r["docker_permitted"], r["docker_runtime"]) for r in results
    ] == [
        ("allow", "docker-stock", True, "stock"),
        ("allow", "SP113", True, "shim"),
        ("deny", "SP104", False, "refused"),
        ("allow", "docker-default", True, "default"),
    ]


def test_before_docker_23_the_legacy_v1_runtime_is_stock_too() -> None:
    code, out = run(
        "check", "--docker", "20.10", "--format", "json", "io.containerd.runtime.v1.linux"
    )
    (result,) = json.loads(out)["results"]
    assert (code, result["decision"], result["docker_runtime"]) == (0, "allow", "stock")


def test_in_config_context_runc_is_containerd_s_to_judge() -> None:
    # daemon.json runtimeType or containerd's runtime_type "runc" fails in containerd (C2).
    code, out = run("check", "--context", "config", "--format", "json", "runc")
    (result,) = json.loads(out)["results"]
    assert (code, result["decision"], result["rule"]) == (1, "deny", "SP102")
    assert result["docker_permitted"] is True  # what Docker does with it per container


def test_explain_runc_decides_as_check_does() -> None:
    _, out = run("explain", "runc")
    lines = dict(line.split("  ", 1) for line in out.splitlines())
    assert lines["decision"].strip() == "allow: a stock runtime of Docker 29 (D2)"


@pytest.mark.parametrize(
    ("name", "docker", "takes"),
    [
        ("", "29", "default"),
        ("runc", "29", "stock"),
        ("io.containerd.runc.v2", "23", "stock"),
        ("io.containerd.runtime.v1.linux", "22.06", "stock"),
        ("io.containerd.runtime.v1.linux", "23", "shim"),
        ("nvidia", "29", "refused"),
        ("io.containerd.kata.v2", "22.06", "refused"),
        (".kata.v2", "24", "shim"),
        (".kata.v2", "25", "refused"),
        ("/usr/bin/crun", "29", "refused"),
    ],
)
def test_docker_takes_a_name_as_d1_and_d2_say(name: str, docker: str, takes: str) -> None:
    assert docker_takes(name, docker) == takes


def test_a_configured_name_is_the_administrator_s() -> None:
    assert docker_takes("nvidia", "29", configured=frozenset({"nvidia"})) == "configured"
    # Configured names always win over the shim reading (D2).
    assert (
        docker_takes("io.containerd.kata.v2", configured=frozenset({"io.containerd.kata.v2"}))
        == "configured"
    )


# --------------------------------------------------------------------- every door agrees

NAMES = [
    "runc",
    "io.containerd.runc.v2",
    "io.containerd.kata.v2",
    "com.example.runc.v2",
    "/usr/local/bin/containerd-shim-kata-v2",
    "sub/io.containerd.kata.v2",
]


def _lint_action(name: str, policy: Policy) -> str:
    compose = f"services:\n  app:\n    image: x\n    runtime: {json.dumps(name)}\n"
    findings = lint_text(compose, "compose.yaml", policy).findings
    if not findings:
        return "allow"
    (finding,) = findings
    return {"error": "deny", "warning": "warn"}[finding.severity]


def _serve_action(name: str, policy: Policy) -> str:
    problem = Gate(policy).runtime(name)
    if problem is None:
        return "allow"
    return "deny" if problem.deny else "warn"


def _check_action(name: str) -> str:
    _, out = run("check", "--format", "json", "--", name)
    return str(json.loads(out)["results"][0]["decision"])


def _explain_action(name: str) -> str:
    _, out = run("explain", "--", name)
    decision = dict(line.split("  ", 1) for line in out.splitlines())["decision"]
    return decision.strip().split(":")[0].split(" ")[0]


@pytest.mark.parametrize("name", NAMES)
def test_every_door_gives_the_same_answer(name: str) -> None:
    policy = Policy.default()
    library = policy.decide_for_docker(name).action
    assert {
        "check": _check_action(name),
        "explain": _explain_action(name),
        "lint": _lint_action(name, policy),
        "serve": _serve_action(name, policy),
    } == dict.fromkeys(("check", "explain", "lint", "serve"), library)


def test_the_library_decides_for_docker_with_configured_runtimes() -> None:
    policy = shimpolicy.Policy.default()
    d = policy.decide_for_docker("nvidia", runtimes={"nvidia": "/etc/docker/daemon.json:3"})
    assert (d.action, d.rule, d.origin, d.docker_runtime) == (
        "allow",
        "docker-configured",
        "/etc/docker/daemon.json:3",
        "configured",
    )
    assert d.reason == (
        "'nvidia' is configured in daemon.json's \"runtimes\" (D2): the administrator set it up, "
        "and dockerd takes it as written"
    )
    d = policy.decide_for_docker("nvidia")
    assert (d.action, d.docker_permitted, d.docker_runtime) == ("deny", False, "refused")


def test_check_uses_the_runtimes_of_a_daemon_json(tmp_path: Path) -> None:
    daemon = tmp_path / "daemon.json"
    daemon.write_text(
        '{\n  "runtimes": {\n    "nvidia": {"path": "nvidia-container-runtime"}\n  }\n}\n'
    )
    code, out = run("check", "--daemon-config", str(daemon), "--format", "json", "nvidia")
    (result,) = json.loads(out)["results"]
    assert (code, result["decision"], result["rule"], result["origin"]) == (
        0,
        "allow",
        "docker-configured",
        f"{daemon}:3",
    )
    assert run("check", "nvidia")[0] == 1


def test_explain_uses_the_runtimes_of_a_daemon_json(tmp_path: Path) -> None:
    daemon = tmp_path / "daemon.json"
    daemon.write_text('{"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}\n')
    code, out = run("explain", "--daemon-config", str(daemon), "nvidia")
    lines = dict(line.split("  ", 1) for line in out.splitlines())
    assert code == 0
    assert lines["decision"].strip() == f"allow: configured in {daemon}:1 (D2)"


def test_a_daemon_json_that_cannot_be_read_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = tmp_path / "daemon.json"
    daemon.write_text('{"runtimes": {\n')
    assert run("check", "--daemon-config", str(daemon), "nvidia")[0] == 2
    assert capsys.readouterr().err == (
        f"shimpolicy: error: {daemon}:2:1: expected string key or '}}'\n"
    )


def test_check_and_explain_name_the_handlers_of_a_containerd_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata]\n'
        '  runtime_type = "io.containerd.kata.v2"\n'
    )
    _, out = run(
        "check",
        "--containerd-config",
        str(config),
        "--format",
        "json",
        "io.containerd.kata.v2",
        "io.containerd.runsc.v1",
    )
    assert [r["handlers"] for r in json.loads(out)["results"]] == [["kata"], []]
    _, out = run("explain", "--containerd-config", str(config), "io.containerd.kata.v2")
    lines = dict(line.split("  ", 1) for line in out.splitlines())
    assert lines["CRI handlers"].strip() == "kata (runtime_type, C5)"


def test_a_windows_daemon_up_to_28_ignores_per_container_names_at_every_door() -> None:
    # SPEC §6: HostConfig.Runtime is never consulted; every container runs runhcs.
    policy = Policy.from_dict({"version": 1, "platform": "windows", "docker": "28"})
    d = policy.decide_for_docker("io.containerd.kata.v2")
    assert (d.action, d.rule, d.docker_runtime, d.docker_permitted) == (
        "warn",
        "SP218",
        "ignored",
        False,
    )
    assert _serve_action("io.containerd.kata.v2", policy) == "warn"
    assert _lint_action("io.containerd.kata.v2", policy) == "warn"
    code, out = run("check", "--platform", "windows", "--docker", "28", "--format", "json", "x.y")
    (result,) = json.loads(out)["results"]
    assert (code, result["decision"], result["rule"], result["docker_runtime"]) == (
        0,
        "warn",
        "SP218",
        "ignored",
    )
    # As its default-runtime, the name is read (and refused when unknown): not ignored.
    assert docker_takes("x.y", "28", "windows", per_container=False) == "refused"
