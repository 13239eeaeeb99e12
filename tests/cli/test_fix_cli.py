"""``lint --fix``, ``--unsafe-fixes`` and ``--diff``; fixes in the text, JSON and SARIF
reports."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from shimpolicy.cli import main
from shimpolicy.lint.engine import lint_paths
from shimpolicy.policy import Policy
from shimpolicy.report import WRITERS
from tests.conftest import FIXTURES
from tests.report.test_reports import _validate

KATA = '{\n  "runtimes": {\n    "kata": {"runtimeType": "io.kata.kata-qemu.v2"}\n  }\n}\n'
# One safe fix (the Kata alias), one unsafe (runc's alias), one misspelt field (unsafe).
MIXED = (
    '{\n  "runtimes": {\n    "kata": {"runtimeType": "io.kata.kata-qemu.v2"},\n'
    '    "r2": {"runtimeType": "com.example.runc.v2", "options": {"SystemdCgroup": true}},\n'
    '    "n": {"path": "/usr/bin/n", "args": ["--debug"]}\n  }\n}\n'
)


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


@pytest.fixture
def daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "daemon.json"
    path.write_text(MIXED)
    return path


def test_text_report_marks_safe_fixes_and_counts_both_kinds(daemon: Path) -> None:
    code, out = run("lint", "daemon.json")
    heads = [line for line in out.splitlines() if line.startswith("daemon.json:")]
    assert [h.split(" ", 3)[1:3] for h in heads] == [
        ["warning", "SP110"],
        ["warning", "SP110"],
        ["warning", "SP208"],
    ]
    assert heads[0].startswith("daemon.json:3:29: warning SP110 [*] runtimes.kata.runtimeType")
    assert " [*] " not in heads[1] and " [*] " not in heads[2]
    assert out.splitlines()[-3:] == [
        "3 warnings in 1 file",
        "[*] 1 fixable with `shimpolicy lint --fix`",
        "2 more fixable with `--fix --unsafe-fixes` (these change what the daemon does; "
        "review them with `--diff --unsafe-fixes`)",
    ]
    assert code == 0


def test_diff_prints_the_safe_fixes_and_writes_nothing(
    daemon: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("lint", "--diff", "daemon.json")
    assert out == (
        '--- daemon.json\n+++ daemon.json\n@@ -1,6 +1,6 @@\n {\n   "runtimes": {\n'
        '-    "kata": {"runtimeType": "io.kata.kata-qemu.v2"},\n'
        '+    "kata": {"runtimeType": "io.containerd.kata-qemu.v2"},\n'
        '     "r2": {"runtimeType": "com.example.runc.v2", "options": {"SystemdCgroup": true}},\n'
        '     "n": {"path": "/usr/bin/n", "args": ["--debug"]}\n   }\n'
    )
    assert capsys.readouterr().err == "would fix 1 finding in 1 file\n"
    assert daemon.read_text() == MIXED
    assert code == 1


def test_diff_with_unsafe_fixes_has_them_all(daemon: Path) -> None:
    code, out = run("lint", "--diff", "--unsafe-fixes", "daemon.json")
    assert [line for line in out.splitlines() if line[:1] in "+-" and line[:3] not in "---+++"] == [
        '-    "kata": {"runtimeType": "io.kata.kata-qemu.v2"},',
        '-    "r2": {"runtimeType": "com.example.runc.v2", "options": {"SystemdCgroup": true}},',
        '-    "n": {"path": "/usr/bin/n", "args": ["--debug"]}',
        '+    "kata": {"runtimeType": "io.containerd.kata-qemu.v2"},',
        '+    "r2": {"runtimeType": "io.containerd.runc.v2", "options": {"SystemdCgroup": true}},',
        '+    "n": {"path": "/usr/bin/n", "runtimeArgs": ["--debug"]}',
    ]
    assert code == 1


def test_fix_writes_the_safe_fixes_and_reports_what_is_left(
    daemon: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("lint", "--fix", "--format", "json", "daemon.json")
    assert daemon.read_text() == MIXED.replace("io.kata.kata-qemu.v2", "io.containerd.kata-qemu.v2")
    assert [(f["rule"], f["fix"]["applicability"]) for f in json.loads(out)["findings"]] == [
        ("SP110", "unsafe"),
        ("SP208", "unsafe"),
    ]
    assert capsys.readouterr().err == "fixed 1 finding in 1 file\n"
    assert code == 0
    # Nothing left to fix safely: --diff has nothing to say, and exits 0.
    assert run("lint", "--diff", "daemon.json") == (0, "")


def test_unsafe_fixes_are_applied_when_asked(daemon: Path) -> None:
    code, out = run("lint", "--fix", "--unsafe-fixes", "daemon.json")
    assert daemon.read_text() == (
        MIXED.replace("io.kata.kata-qemu.v2", "io.containerd.kata-qemu.v2")
        .replace("com.example.runc.v2", "io.containerd.runc.v2")
        .replace('"args"', '"runtimeArgs"')
    )
    assert (code, out) == (0, "")


def test_a_refused_fix_is_an_error_and_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Renamed, runc's alias would lose the options Docker gives its stock runtime
    (SP211): a new finding, so that fix is not written; the Kata one still is."""
    monkeypatch.chdir(tmp_path)
    text = KATA.replace("\n  }", ',\n    "r": {"runtimeType": "com.example.runc.v2"}\n  }')
    (tmp_path / "daemon.json").write_text(text)
    code, _ = run("lint", "--fix", "--unsafe-fixes", "daemon.json")
    err = capsys.readouterr().err
    assert err.startswith(
        "shimpolicy: error: daemon.json:4:26: SP110 not fixed: the fixed file has a finding the "
        'original did not: SP211 runtime "r" uses io.containerd.runc.v2 without "options"'
    )
    assert err.endswith("\nfixed 1 finding in 1 file\n")
    fixed = text.replace("io.kata.kata-qemu.v2", "io.containerd.kata-qemu.v2")
    assert (tmp_path / "daemon.json").read_text() == fixed
    assert code == 2


def test_fix_on_stdin_writes_the_fixed_text_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run("lint", "--fix", "--stdin-filename", "daemon.json", "-", stdin=KATA)
    assert out == KATA.replace("io.kata.kata-qemu.v2", "io.containerd.kata-qemu.v2")
    assert capsys.readouterr().err == ""
    assert code == 0
    code, out = run("lint", "--diff", "--stdin-filename", "daemon.json", "-", stdin=KATA)
    assert out.splitlines()[:2] == ["--- daemon.json", "+++ daemon.json"]
    assert code == 1


def test_fix_on_stdin_reports_what_is_left_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run("lint", "--fix", "--stdin-filename", "daemon.json", "-", stdin=MIXED)
    assert out == MIXED.replace("io.kata.kata-qemu.v2", "io.containerd.kata-qemu.v2")
    err = capsys.readouterr().err
    assert err.splitlines()[-2] == "2 warnings in 1 file"
    assert code == 0


def test_fix_on_unparsable_stdin_gives_it_back_unchanged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run("lint", "--fix", "--stdin-filename", "daemon.json", "-", stdin="{,")
    assert out == "{,"
    assert " error SP001 " in capsys.readouterr().err
    assert code == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--unsafe-fixes"], "--unsafe-fixes goes with --fix or --diff"),
        (["--fix", "--diff"], "--fix and --diff cannot be combined: --diff writes nothing"),
    ],
)
def test_fix_option_misuse_is_a_usage_error(
    daemon: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run("lint", *argv, "daemon.json")[0] == 2
    assert capsys.readouterr().err == f"shimpolicy: error: {message}\n"
    assert daemon.read_text() == MIXED


def test_sarif_results_carry_their_fixes_as_replacements() -> None:
    result = lint_paths([str(FIXTURES / "daemon_json" / "mistakes")], Policy.default())
    doc = json.loads(WRITERS["sarif"](result))
    _validate(doc)
    fixes = [r["fixes"] for r in doc["runs"][0]["results"] if "fixes" in r]
    assert len(fixes) == sum(1 for f in result.findings if f.fix is not None) == 3
    [kata] = [f for f in fixes if f[0]["description"]["text"].startswith('rename to "runtimeType"')]
    assert kata == [
        {
            "description": {
                "text": 'rename to "runtimeType" (unsafe: changes what the daemon does)'
            },
            "artifactChanges": [
                {
                    "artifactLocation": {
                        "uri": str(FIXTURES / "daemon_json" / "mistakes" / "daemon.json"),
                    }
                    | {
                        "uri": "file://"
                        + str(FIXTURES / "daemon_json" / "mistakes" / "daemon.json")
                    },
                    "replacements": [
                        {
                            "deletedRegion": {
                                "startLine": 3,
                                "startColumn": 15,
                                "endLine": 3,
                                "endColumn": 27,
                            },
                            "insertedContent": {"text": "runtimeType"},
                        }
                    ],
                }
            ],
            "properties": {"applicability": "unsafe"},
        }
    ]


def test_json_findings_carry_their_fixes_and_follow_the_schema() -> None:
    import jsonschema

    from shimpolicy.report.json import schema

    result = lint_paths([str(FIXTURES / "daemon_json" / "mistakes")], Policy.default())
    doc = json.loads(WRITERS["json"](result))
    jsonschema.Draft202012Validator(schema("lint")).validate(doc)
    fixes = [f["fix"] for f in doc["findings"] if f["fix"] is not None]
    assert fixes[0] == {
        "applicability": "unsafe",
        "message": 'rename to "runtimeType"',
        "edits": [
            {"line": 3, "column": 15, "end_line": 3, "end_column": 27, "content": "runtimeType"}
        ],
    }


def test_rule_command_says_how_a_rule_is_fixed() -> None:
    assert run("rule", "SP104")[0] == 0
    out = run("rule", "SP406")[1]
    assert out.splitlines()[4].startswith(
        "Fix: safe (`--fix`): a removed key that containerd 2.x ignores is deleted with its line"
    )
    out = run("rule", "SP104")[1]
    assert not [line for line in out.splitlines() if line.startswith(("Fix: safe", "Fix: unsafe"))]


def test_a_file_met_twice_through_a_link_is_fixed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "daemon.json").write_text(KATA)
    (tmp_path / "conf" / "other.daemon.json").symlink_to("daemon.json")
    code, _ = run("lint", "--fix", "conf")
    assert capsys.readouterr().err == "fixed 1 finding in 1 file\n"
    fixed = KATA.replace("io.kata.kata-qemu.v2", "io.containerd.kata-qemu.v2")
    assert (tmp_path / "conf" / "daemon.json").read_text() == fixed
    assert (tmp_path / "conf" / "other.daemon.json").is_symlink()
    assert code == 0
