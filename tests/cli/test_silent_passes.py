"""Nothing passes in silence: every input the tool cannot use, and every run that checked
nothing, is said, with the exit status of SPEC §5.2 (0 clean, 1 findings or a denial,
2 a usage error)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from shimpolicy.cli import main
from tests.conftest import ROOT

COMPOSE = "services:\n  app:\n    image: alpine\n    runtime: /tmp/x\n"
UNKNOWN_TYPE = (
    "cannot tell this file's type from its name or content; give it with --type "
    "(daemon.json, compose, containerd, kubernetes, shell, workflow)"
)


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def test_a_named_file_of_unknown_type_is_an_error_that_suggests_type(tmp_path: Path) -> None:
    stack = tmp_path / "stack.txt"
    stack.write_text(COMPOSE, encoding="utf-8")
    code, out = run("lint", "--format", "json", str(stack))
    assert code == 1
    findings = json.loads(out)["findings"]
    assert [(f["rule"], f["severity"], f["line"], f["message"]) for f in findings] == [
        ("SP006", "error", 1, UNKNOWN_TYPE)
    ]
    # --type reads it, as the message says.
    code, out = run("lint", "--format", "json", "--type", "compose", str(stack))
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["SP104"]


def test_piped_input_of_unknown_type_is_an_error() -> None:
    code, out = run(
        "lint", "--format", "json", "--stdin-filename", "notes.txt", "-", stdin="hello\n"
    )
    assert code == 1
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["SP006"]


def test_a_walked_file_of_unknown_type_is_still_passed_over(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(COMPOSE, encoding="utf-8")
    (tmp_path / "compose.yaml").write_text("services: {}\n", encoding="utf-8")
    code, out = run("lint", "--format", "json", str(tmp_path))
    assert code == 0
    assert json.loads(out) == {"version": 1, "files_checked": 1, "findings": []}


def test_checking_no_file_at_all_is_said(tmp_path: Path) -> None:
    assert run("lint", str(tmp_path)) == (0, "0 files checked\n")
    notice = "::notice title=shimpolicy::0 files checked\n"
    assert run("lint", "--format", "github", str(tmp_path)) == (0, notice)
    assert json.loads(run("lint", "--format", "json", str(tmp_path))[1])["files_checked"] == 0


def test_every_missing_path_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert run("lint", str(a), str(tmp_path), str(b))[0] == 2
    assert capsys.readouterr().err == (
        f"shimpolicy: error: {a}: no such file or directory\n"
        f"shimpolicy: error: {b}: no such file or directory\n"
    )


def test_graph_of_a_missing_path_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent"
    assert run("graph", str(missing)) == (2, "")
    assert capsys.readouterr().err == f"shimpolicy: error: {missing}: no such file or directory\n"


def test_graph_exits_1_on_a_broken_chain(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec:\n  runtimeClassName: kata\n  containers: [{name: c, image: alpine}]\n",
        encoding="utf-8",
    )
    code, out = run("graph", str(tmp_path))
    assert code == 1
    assert "MISSING RuntimeClass kata: not defined in the linted files" in out


def test_graph_exits_0_when_every_chain_is_whole_and_allowed() -> None:
    root = ROOT / "examples" / "good" / "cluster"
    assert run("graph", str(root))[0] == 0


def test_explain_exits_1_on_deny_and_0_on_allow() -> None:
    code, out = run("explain", "/tmp/x")
    assert code == 1
    assert "decision        deny by rule SP104" in out
    assert run("explain", "io.containerd.kata.v2")[0] == 0


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        (
            "# shimpolicy: ignore -- our mirror",
            "malformed suppression: write `# shimpolicy: ignore[RULE,...] -- reason`",
        ),
        (
            "# shimpolicy: ignore-file -- our mirror",
            "malformed suppression: write `# shimpolicy: ignore-file[RULE,...] -- reason`",
        ),
        (
            "# shimpolicy: ignore[sp110] -- our mirror",
            "suppression names 'sp110': rule ids are upper-case, write SP110",
        ),
    ],
)
def test_a_malformed_suppression_is_sp005(comment: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(
        f"services:\n  app:\n    image: alpine\n    runtime: com.example.runc.v2  {comment}\n",
        encoding="utf-8",
    )
    code, out = run("lint", "--format", "json", str(path))
    assert code == 1
    found = [(f["rule"], f["line"], f["message"]) for f in json.loads(out)["findings"]]
    assert ("SP005", 4, message) in found
    assert "SP110" in [rule for rule, _, _ in found]  # not applied


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_jobs_must_be_at_least_one(
    jobs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("lint", "-j", jobs, str(tmp_path))[0] == 2
    assert f"argument -j/--jobs: must be at least 1, not {jobs}" in capsys.readouterr().err


def test_blank_stdin_lines_are_not_names() -> None:
    code, out = run("check", "-", stdin="io.containerd.kata.v2\n\n  \nio.containerd.runc.v2\n")
    assert code == 0
    assert [line.split("\t")[1] for line in out.splitlines()] == [
        "io.containerd.kata.v2",
        "io.containerd.runc.v2",
    ]


def test_stdin_with_no_name_at_all_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", "-", stdin="\n\n")[0] == 2
    assert capsys.readouterr().err == "shimpolicy: error: no names on stdin\n"


def test_exit_zero_reports_findings_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE, encoding="utf-8")
    code, out = run("lint", "--exit-zero", str(tmp_path))
    assert code == 0
    assert "error SP104" in out
