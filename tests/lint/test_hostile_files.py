"""Hostile input: every case ends as a finding or a clean error, in bounded time, with
nothing executed and nothing blocking (SPEC §5.2)."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

from shimpolicy.cli import main
from shimpolicy.lint.engine import LintOptions, lint_bytes, lint_paths, lint_text
from shimpolicy.policy import Policy

POLICY = Policy.default()


def lint_json(*argv: str) -> tuple[int, list[dict[str, object]]]:
    out = io.StringIO()
    code = main(["lint", "--format", "json", *argv], stdout=out)
    return code, json.loads(out.getvalue())["findings"]


def _summary(findings: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [
        (Path(str(f["path"])).name, f["line"], f["column"], f["rule"], f["message"])
        for f in findings
    ]


def test_yaml_alias_bomb_is_a_finding_in_bounded_time(tmp_path: Path) -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        lines.append(
            f"{chr(97 + i)}: &{chr(97 + i)} [*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, "
            f"*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, "
            f"*{chr(96 + i)}]"
        )
    lines.append("services:\n  x:\n    image: y\n    runtime: *j")
    (tmp_path / "compose.yaml").write_text("\n".join(lines) + "\n")
    start = time.monotonic()
    code, findings = lint_json(str(tmp_path))
    assert time.monotonic() - start < 5
    assert [(f["rule"], f["severity"]) for f in findings] == [("SP001", "error")]
    assert "alias bomb" in str(findings[0]["message"])
    assert code == 1


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_a_finding_not_a_recursion_error(tmp_path: Path, opener: str) -> None:
    (tmp_path / "daemon.json").write_text(opener * 100_000)
    code, findings = lint_json(str(tmp_path))
    assert [f["rule"] for f in findings] == ["SP001"]
    assert "nesting deeper than" in str(findings[0]["message"])
    assert code == 1


def test_deeply_nested_yaml_does_not_reach_libyaml_s_crash(tmp_path: Path) -> None:
    # libyaml's C loader segfaults around 100,000 levels; this must be a finding.
    (tmp_path / "compose.yaml").write_text("services: " + "[" * 100_000)
    code, findings = lint_json(str(tmp_path))
    assert [f["rule"] for f in findings] == ["SP001"]
    assert "nesting deeper than" in str(findings[0]["message"])
    assert code == 1


def test_python_tags_are_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "compose.yaml").write_text(
        "services:\n  x:\n    image: y\n"
        f'    runtime: !!python/object/apply:os.system ["touch {marker}"]\n'
    )
    lint_json(str(tmp_path))
    assert not marker.exists()


def test_too_large_file_is_reported_not_read(tmp_path: Path) -> None:
    (tmp_path / "daemon.json").write_text("{}" + " " * 2000)
    code, findings = lint_json("--max-file-size", "1000", str(tmp_path))
    assert _summary(findings) == [
        (
            "daemon.json",
            1,
            1,
            "SP001",
            "file is 2002 bytes, larger than the 1000-byte limit; not read",
        ),
    ]
    assert code == 1


def test_binary_data_and_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "daemon.json").write_bytes(b'{"a":\n "\x00"}')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "daemon.json").write_bytes(b'{\n  "x": "\xff"}')
    _, findings = lint_json(str(tmp_path))
    assert _summary(findings) == [
        ("daemon.json", 2, 1, "SP001", "file contains NUL bytes (binary data); not read"),
        ("daemon.json", 2, 9, "SP001", "file is not valid UTF-8 (byte 0xff)"),
    ]


def test_bom_is_skipped_and_not_counted() -> None:
    result = lint_bytes(
        '\ufeff{"runtimes": {"runc": {"path": "x"}}}'.encode(), "daemon.json", POLICY
    )
    assert [(f.line, f.column, f.rule) for f in result.findings] == [(1, 15, "SP201")]


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path)
    (tmp_path / "self").symlink_to(tmp_path / "self")
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n")
    result = lint_paths([str(tmp_path)], POLICY)
    assert (result.files_checked, result.findings) == (1, ())


def test_fifo_is_never_opened_when_walking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "compose.yaml")
    start = time.monotonic()
    result = lint_paths([str(tmp_path)], POLICY)
    assert time.monotonic() - start < 5
    assert (result.files_checked, result.findings) == (0, ())


def test_fifo_named_on_the_command_line_is_a_finding(tmp_path: Path) -> None:
    fifo = tmp_path / "daemon.json"
    os.mkfifo(fifo)
    _, findings = lint_json(str(fifo))
    assert _summary(findings) == [("daemon.json", 1, 1, "SP001", "not a regular file; not read")]


def test_device_file_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "daemon.json").symlink_to("/dev/zero")
    result = lint_paths(["daemon.json"], POLICY)
    # /dev lies outside the linted paths: the link is not even followed.
    assert [(f.rule, f.message) for f in result.findings] == [
        (
            "SP002",
            "not read: a symbolic link to a file outside the linted paths (what a tree links "
            "to elsewhere is not its own configuration); lint the file where it lives",
        )
    ]


def test_dangling_link_named_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "daemon.json").symlink_to(tmp_path / "missing")
    result = lint_paths(["daemon.json"], POLICY)
    assert [(f.rule, f.message) for f in result.findings] == [
        ("SP001", "cannot read file: No such file or directory"),
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    f = tmp_path / "daemon.json"
    f.write_text("{}")
    f.chmod(0)
    result = lint_paths([str(f)], POLICY)
    assert [(x.rule, x.message) for x in result.findings] == [
        ("SP001", "cannot read file: Permission denied"),
    ]


def test_directory_with_very_many_files(tmp_path: Path) -> None:
    for i in range(5000):
        (tmp_path / f"f{i}.txt").write_text("x")
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n    runtime: /bin/sh\n")
    start = time.monotonic()
    result = lint_paths([str(tmp_path)], POLICY)
    assert time.monotonic() - start < 10
    assert [(f.rule, f.line) for f in result.findings] == [("SP104", 4)]


@pytest.mark.parametrize(
    ("filename", "text", "expected"),
    [
        ("daemon.json", '{"runtimes": []}', [("SP213", 1, 14)]),
        ("daemon.json", '{"runtimes": {"a": "b"}}', [("SP213", 1, 20)]),
        ("daemon.json", '{"default-runtime": 5}', [("SP213", 1, 21)]),
        ("daemon.json", "[1, 2]", [("SP213", 1, 1)]),
        ("daemon.json", '{"a": 1, "a": 2}', [("SP221", 1, 10)]),
        ("compose.yaml", "services: [1, 2]", [("SP302", 1, 11)]),
        ("compose.yaml", "services:\n  a:\n    runtime: [x]", [("SP302", 3, 14)]),
        ("compose.yaml", "services:\n  a:\n    runtime: {x: 1}", [("SP302", 3, 14)]),
        ("compose.yaml", "services:\n  a:\n    runtime: ${", [("SP304", 3, 14)]),
        # Compose refuses a service that is not a mapping, and a file that is not one.
        ("compose.yaml", "services:\n  a: 5", [("SP302", 2, 6)]),
        ("compose.yaml", "- 1\n- 2", [("SP302", 1, 1)]),
        ("compose.yaml", "services:\n  a:\n  b: !reset", []),
    ],
)
def test_wrong_types_are_findings_not_crashes(
    filename: str, text: str, expected: list[tuple[str, int, int]]
) -> None:
    result = lint_text(text, filename, POLICY, LintOptions())
    assert result.files_checked == 1
    assert [(f.rule, f.line, f.column) for f in result.findings] == expected
    assert all(f.severity == "error" for f in result.findings)
