"""The command line, end to end (SPEC §5.2): output, exit status, errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shimpolicy.cli import main
from tests.conftest import FIXTURES as ALL_FIXTURES
from tests.conftest import ROOT

FIXTURES = ALL_FIXTURES / "cli"
TREE = FIXTURES / "tree"


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def test_check_text_output_and_exit_status() -> None:
    code, out = run("check", "io.containerd.kata.v2", "/usr/local/bin/evil")
    assert code == 1
    assert out.splitlines() == [
        "allow\tio.containerd.kata.v2\tshim\tcontainerd-shim-kata-v2\t"
        "SP113: containerd runs containerd-shim-kata-v2 for 'io.containerd.kata.v2'",
        "deny\t/usr/local/bin/evil\tpath\t/usr/local/bin/evil\tSP104: '/usr/local/bin/evil' is a "
        "path that containerd would execute directly as root (C2 step 2); chosen per container, it "
        "would let anyone with API access run any file on the host, which is why Docker refuses "
        "such names",
    ]


def test_check_allowed_names_exit_zero() -> None:
    assert run("check", "io.containerd.kata.v2", "io.containerd.runc.v2")[0] == 0


def test_check_warn_fails_only_with_fail_on_warn() -> None:
    assert run("check", "com.example.runc.v2")[0] == 0
    assert run("check", "--fail-on", "warn", "com.example.runc.v2")[0] == 1


def test_check_json_fields_in_input_order() -> None:
    code, out = run(
        "check", "--format", "json", "--containerd", "1.6", "--docker", "24", "--", "-x.y", ".a"
    )
    results = json.loads(out)["results"]
    assert [r["name"] for r in results] == ["-x.y", ".a"]
    first = results[1]
    assert {k: first[k] for k in ("name", "kind", "binary", "error", "docker_permitted")} == {
        "name": ".a",
        "kind": "shim",
        "binary": "containerd-shim--a",
        "error": None,
        "docker_permitted": True,
    }
    assert first["decision"] == "warn" and first["rule"] == "SP112"
    assert code == 0


def test_check_reads_names_from_stdin() -> None:
    code, out = run("check", "--format", "json", "-", stdin="io.containerd.kata.v2\nnvidia\n")
    assert [(r["name"], r["decision"]) for r in json.loads(out)["results"]] == [
        ("io.containerd.kata.v2", "allow"),
        ("nvidia", "deny"),
    ]
    assert code == 1


def test_check_config_context_allows_an_administrators_shim_path() -> None:
    code, out = run("check", "--context", "config", "/opt/kata/bin/containerd-shim-kata-v2")
    assert code == 0 and out.startswith("allow\t")


def test_check_escapes_control_characters_in_text_output() -> None:
    _, out = run("check", "io.containerd.\u202ekata.v2")
    assert out.startswith("deny\tio.containerd.\\u202ekata.v2\tshim\t")


def test_check_needs_a_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check")[0] == 2
    assert capsys.readouterr().err == (
        "shimpolicy: error: check needs at least one NAME (or '-' to read names from stdin)\n"
    )


def test_unknown_version_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", "--containerd", "1.4", "x.y")[0] == 2
    assert capsys.readouterr().err == (
        "shimpolicy: error: unknown containerd version '1.4': "
        "expected a release up to 1.5.18, 1.6.39, 1.7.34, 2.0.11, "
        "2.1.9, 2.2.7 or 2.3.4, or a series\n"
    )


def test_lint_json_walks_directories_and_skips_vendored_trees() -> None:
    code, out = run("lint", "--format", "json", str(TREE))
    doc = json.loads(out)
    assert doc["files_checked"] == 2
    assert [
        (f["path"].rsplit("tree/", 1)[1], f["line"], f["column"], f["rule"], f["severity"])
        for f in doc["findings"]
    ] == [
        ("deploy/compose.yaml", 10, 38, "SP004", "warning"),
        ("etc/docker/daemon.json", 4, 5, "SP201", "error"),
    ]
    assert code == 1


def test_lint_no_inline_ignores_reports_suppressed_findings() -> None:
    _, out = run("lint", "--format", "json", "--no-inline-ignores", str(TREE / "deploy"))
    rules = [(f["line"], f["rule"]) for f in json.loads(out)["findings"]]
    # Linted alone, the Compose file's `kata` has no daemon.json configuring it (SP301).
    assert rules == [(4, "SP301"), (7, "SP110")]


def test_lint_fail_on_threshold() -> None:
    deploy = str(TREE / "deploy")
    assert run("lint", deploy)[0] == 0  # a warning only
    assert run("lint", "--fail-on", "warning", deploy)[0] == 1


def test_lint_exclude_glob() -> None:
    _, out = run("lint", "--format", "json", "--exclude", "etc", str(TREE))
    assert json.loads(out)["files_checked"] == 1


def test_lint_clean_file_prints_nothing_and_exits_zero() -> None:
    assert run("lint", str(FIXTURES / "good-compose.yaml")) == (0, "")


def test_lint_text_shows_the_source_line_and_a_caret() -> None:
    code, out = run("lint", str(FIXTURES / "bad-compose.yaml"))
    lines = out.splitlines()
    assert lines[0].endswith(
        "bad-compose.yaml:4:14: error SP104 services.a.runtime: "
        "'/usr/bin/evil' is a path that containerd would execute directly as "
        "root (C2 step 2); chosen per container, it would let anyone with API "
        "access run any file on the host, which is why Docker refuses such names"
    )
    assert lines[1:] == [
        "  4 |     runtime: /usr/bin/evil",
        "    |              ^~~~~~~~~~~~~",
        "1 error in 1 file",
    ]
    assert code == 1


def test_lint_stdin_with_filename() -> None:
    text = (FIXTURES / "bad-compose.yaml").read_text()
    code, out = run("lint", "--format", "json", "--stdin-filename", "compose.yaml", "-", stdin=text)
    doc = json.loads(out)
    assert [(f["path"], f["line"], f["rule"]) for f in doc["findings"]] == [
        ("compose.yaml", 4, "SP104")
    ]
    assert code == 1


def test_lint_stdin_needs_a_filename_or_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("lint", "-", stdin="{}")[0] == 2
    assert capsys.readouterr().err == (
        "shimpolicy: error: reading stdin needs --stdin-filename NAME or --type TYPE\n"
    )


def test_lint_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("lint", "no/such/dir")[0] == 2
    assert capsys.readouterr().err == "shimpolicy: error: no/such/dir: no such file or directory\n"


def test_lint_unparsable_file_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "daemon.json").write_text('{"runtimes": {"a": }\n')
    code, out = run("lint", "--format", "json", str(tmp_path))
    [f] = json.loads(out)["findings"]
    assert (f["line"], f["column"], f["rule"], f["severity"]) == (1, 20, "SP001", "error")
    assert code == 1


def test_invalid_policy_exits_2_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nrules:\n  - id: x\n    action: permit\n")
    assert run("check", "--policy", str(policy), "x.y")[0] == 2
    assert capsys.readouterr().err == (
        f"shimpolicy: error: {policy}:4:13: rules[0].action: 'permit' is not one of "
        "'allow', 'warn', 'deny'\n"
    )
    assert run("policy", "validate", str(policy))[0] == 2


def test_policy_validate_accepts_a_good_policy(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\nextends: default\n"
        "rules: [{id: kata, match: {binary: '*kata*'}, action: allow}]\n"
    )
    assert run("policy", "validate", str(policy)) == (0, f"{policy}: valid\n")


def test_policy_show_lists_the_default_rules_with_their_origin() -> None:
    code, out = run("policy", "show")
    assert code == 0
    assert "SP104" in out and "default policy" in out


def test_explain_names_the_deciding_rule() -> None:
    code, out = run("explain", "com.example.runc.v2")
    assert code == 0
    assert "decision        warn by rule SP110 (alias-of-known-shim), from default policy" in out


def test_no_command_prints_help_and_exits_2() -> None:
    code, out = run()
    assert code == 2 and out.startswith("usage: shimpolicy")


def test_python_dash_m_and_console_script_agree() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run(
        [sys.executable, "-m", "shimpolicy", "check", "io.containerd.kata.v2"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (p.returncode, p.stdout.split("\t")[0], p.stderr) == (0, "allow", "")


def test_max_file_size_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("lint", "--max-file-size", "0", str(FIXTURES))[0] == 2
    assert capsys.readouterr().err == (
        "shimpolicy: error: --max-file-size must be a positive number of bytes\n"
    )


def test_explain_an_empty_name_names_dockers_default_runtime() -> None:
    code, out = run("explain", "")
    # Chosen per container, the empty name is the daemon's default runtime: allowed, as
    # check, lint and serve allow it (containerd would refuse it in a config: SP102).
    assert code == 0
    assert run("explain", "--context", "config", "")[0] == 1
    assert (
        "Docker 29       on linux: an empty runtime selects the daemon's default runtime "
        "(default-runtime)\n" in out
    )
