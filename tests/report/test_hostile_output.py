"""Nothing a linted tree contains can turn the output against whoever reads it: control and
bidirectional characters are escaped by one helper in every format, a path never starts an
output line, and a symbolic link that leads outside the linted paths is never read."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from shimpolicy.cli import main

FORMATS = ("text", "json", "sarif", "github")
INJECTION = "evil\n::error file=README.md,line=1::x"
# ESC and BEL (an OSC title sequence), a bidi override, a C1 control, a line separator.
HOSTILE = "\x1b]0;pwned\x07\u202eabc\x85\u2028d"
RAW = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
BAD_COMPOSE = "services:\n  app:\n    image: x\n    runtime: /tmp/evil\n"


def lint(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["lint", *argv], stdin=io.StringIO(""), stdout=out), out.getvalue()


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in (INJECTION, HOSTILE):
        (tmp_path / "repo" / name).mkdir(parents=True)
        (tmp_path / "repo" / name / "compose.yaml").write_text(BAD_COMPOSE)
    return tmp_path / "repo"


def _texts(fmt: str, out: str) -> list[str]:
    """What a reader of the output sees: its lines, or for JSON formats every string in it."""
    if fmt not in ("json", "sarif"):
        return out.splitlines()
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(json.loads(out))
    return found


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_control_or_bidi_character_reaches_any_format(tree: Path, fmt: str) -> None:
    code, out = lint("--isolated", "--format", fmt, "repo")
    assert code == 1
    assert RAW.search(out) is None
    assert all(RAW.search(text) is None for text in _texts(fmt, out))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_directory_name_cannot_start_an_output_line(tree: Path, fmt: str) -> None:
    _, out = lint("--isolated", "--format", fmt, "repo")
    assert not any(line.lstrip().startswith("::error file=README.md") for line in out.splitlines())


def test_the_github_format_cannot_be_injected_through_a_directory_name(tree: Path) -> None:
    _, out = lint("--isolated", "--format", "github", "repo")
    lines = out.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("::error file=repo/") for line in lines)
    assert (
        "::error file=repo/evil\\n%3A%3Aerror file=README.md%2Cline=1%3A%3Ax/compose.yaml,"
        "line=4,col=14," in out
    )
    assert "file=repo/\\x1b]0;pwned\\x07\\u202eabc\\x85\\u2028d/compose.yaml," in out


def test_the_text_format_shows_an_escaped_path(tree: Path) -> None:
    _, out = lint("--isolated", "repo")
    assert "repo/evil\\n::error file=README.md,line=1::x/compose.yaml:4:14: error SP104 " in out


def test_an_echoed_source_line_is_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("compose.yaml").write_text(
        'services:\n  app:\n    image: x\n    runtime: "io.containerd.\u202ekata.v2"\n'
    )
    _, out = lint("--isolated", "compose.yaml")
    assert '  4 |     runtime: "io.containerd.\\u202ekata.v2"\n' in out
    assert "\u202e" not in out


def test_check_escapes_names_in_both_formats() -> None:
    out = io.StringIO()
    main(["check", "--", "a\u202eb.c", "\x1b[31mx.y"], stdout=out)
    assert RAW.search(out.getvalue().replace("\t", " ")) is None  # tabs separate the fields
    assert out.getvalue().startswith("deny\ta\\u202eb.c\t")
    out = io.StringIO()
    main(["check", "--format", "json", "--", "a\u202eb.c"], stdout=out)
    assert RAW.search(out.getvalue()) is None
    assert json.loads(out.getvalue())["results"][0]["name"] == "a\u202eb.c"  # the data as given


# ------------------------------------------------------------------ links outside the tree


@pytest.fixture
def linked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "daemon.json").write_text('TOPSECRET-9f3a {"default-runtime": "/tmp/x"}\n')
    repo = tmp_path / "repo"
    (repo / "etc").mkdir(parents=True)
    (repo / "etc" / "daemon.json").symlink_to(secret / "daemon.json")
    (repo / "inside.json").write_text('{"default-runtime": "runc"}\n')
    (repo / "docker").mkdir()
    (repo / "docker" / "daemon.json").symlink_to(repo / "inside.json")
    return repo


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_link_outside_the_tree_is_reported_and_never_read(linked: Path, fmt: str) -> None:
    code, out = lint("--isolated", "--format", fmt, "repo")
    assert "TOPSECRET" not in out
    assert "SP002" in out
    assert code == 0  # a warning: the file is not this tree's to judge


def test_a_link_outside_the_tree_is_one_finding(linked: Path) -> None:
    _, out = lint("--isolated", "--format", "json", "repo")
    findings = json.loads(out)["findings"]
    assert [(f["path"], f["line"], f["rule"], f["severity"], f["message"]) for f in findings] == [
        (
            "repo/etc/daemon.json",
            1,
            "SP002",
            "warning",
            "not read: a symbolic link to a file outside the linted paths (what a tree links "
            "to elsewhere is not its own configuration); lint the file where it lives",
        )
    ]


def test_a_link_outside_the_tree_named_on_the_command_line_is_not_read(
    linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files named on the command line may be read from the working directory's tree.
    monkeypatch.chdir(linked)
    _, out = lint("--isolated", "etc/daemon.json", "docker/daemon.json")
    assert "TOPSECRET" not in out
    assert out.startswith("etc/daemon.json:1:1: warning SP002 not read: ")


def test_graph_never_reads_a_link_outside_the_tree(linked: Path) -> None:
    out = io.StringIO()
    main(["graph", "--isolated", "repo"], stdout=out)
    assert "TOPSECRET" not in out.getvalue()


def test_an_error_message_never_carries_a_raw_control_character(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lint(str(tmp_path / "\x1b]0;pwned\x07"))[0] == 2
    err = capsys.readouterr().err
    assert RAW.search(err.replace("\n", " ")) is None
    assert err.endswith("\\x1b]0;pwned\\x07: no such file or directory\n")
