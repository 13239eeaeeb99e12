"""Linting shell scripts and GitHub Actions workflows: ``--runtime`` values (SPEC D4)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shimpolicy.lint.engine import lint_paths, lint_text
from shimpolicy.lint.workflow import ScriptText, yaml_lines
from shimpolicy.policy import Policy
from shimpolicy.syntax import Mapping, Scalar, Span, SyntaxProblem
from shimpolicy.syntax.shell import find_runtime_flags
from shimpolicy.syntax.yaml import parse_yaml
from tests.conftest import FIXTURES, rows

PATH_IN_REQUEST = (
    "is a path that containerd would execute directly as root (C2 step 2); chosen per "
    "container, it would let anyone with API access run any file on the host, which is why "
    "Docker refuses such names"
)
RELATIVE = (
    "is a relative path: the runc shim resolves it against its own working directory (the "
    "container's bundle directory), where it does not exist, so every container using it "
    "fails to start; use an absolute path, or a bare name looked up on PATH"
)


def written(path: Path, line: int, column: int, end_column: int) -> str:
    return path.read_text(encoding="utf-8").split("\n")[line - 1][column - 1 : end_column - 1]


# -- shell scripts ---------------------------------------------------------------------


def test_every_tool_reads_its_runtime_its_own_way() -> None:
    script = FIXTURES / "shell" / "run-containers.sh"
    assert rows(script) == [
        (
            7,
            35,
            7,
            41,
            "SP601",
            "warning",
            "`docker container create --runtime` 'nvidia' is neither a stock runtime nor a shim "
            "name: Docker 29 accepts it only if the host's daemon.json defines it under "
            '"runtimes", '
            "and no daemon.json is linted beside this file (otherwise Docker refuses it: "
            '"unknown or invalid runtime name: nvidia")',
        ),
        (
            8,
            22,
            8,
            41,
            "SP104",
            "error",
            f"`docker run --runtime`: '/usr/local/bin/crun' {PATH_IN_REQUEST}",
        ),
        (
            9,
            27,
            9,
            46,
            "SP110",
            "warning",
            "`docker run --runtime`: 'com.example.runc.v2' runs containerd-shim-runc-v2 (runc "
            "(shim v2)), the shim documented as io.containerd.runc.v2: containerd reads only the "
            "last two pieces of a name (C1), so the rest of it selects nothing",
        ),
        (13, 23, 13, 33, "SP412", "warning", f"`nerdctl run --runtime` './bin/crun' {RELATIVE}"),
        (
            17,
            19,
            17,
            56,
            "SP104",
            "error",
            "`ctr run --runtime`: '/opt/kata/bin/containerd-shim-kata-v2' " + PATH_IN_REQUEST,
        ),
        (
            20,
            22,
            20,
            27,
            "SP003",
            "info",
            "`docker run --runtime` '$RT' is filled in later ($RT); its final value cannot be "
            "checked here",
        ),
    ]


def test_a_variables_default_is_checked_as_the_name() -> None:
    text = 'docker run --runtime "${RT:-/opt/x/shim}" img\ndocker run --runtime ${RT-runc} img\n'
    assert [
        (f.line, f.column, f.rule) for f in lint_text(text, "a.sh", Policy.default()).findings
    ] == [
        (1, 22, "SP104"),
    ]


def test_docker_names_configured_in_a_daemon_json_beside_the_script(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "daemon.json").write_text(
        '{"runtimes": {"crun": {"path": "/usr/bin/crun"}}}'
    )
    (tmp_path / "run.sh").write_text(
        "docker run --runtime crun img\ndocker run --runtime youki img\n"
    )
    result = lint_paths([str(tmp_path)], Policy.default())
    (finding,) = result.findings
    assert (finding.line, finding.column, finding.rule, finding.severity) == (
        2,
        22,
        "SP601",
        "error",
    )
    assert finding.message == (
        f"`docker run --runtime` 'youki' is not configured in {tmp_path}/etc/daemon.json: Docker "
        'refuses it ("unknown or invalid runtime name: youki"); define it under "runtimes" there'
    )


def test_a_shims_own_word_gets_a_hint() -> None:
    (finding,) = lint_text("docker run --runtime runsc img\n", "a.sh", Policy.default()).findings
    assert finding.message.endswith(
        '; "io.containerd.runsc.v1" needs no configuration where the gVisor (runsc) shim is '
        "installed"
    )


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("nerdctl run --runtime crun img", []),
        ("nerdctl run --runtime /usr/local/bin/crun img", []),
        ("nerdctl run --runtime /tmp/crun img", ["SP106"]),
        ("nerdctl run --runtime io.containerd.runc.v1 img", ["SP109"]),
        ("nerdctl run --runtime com.example.kata.v2 img", ["SP110"]),
        ("nerdctl run --runtime /usr/bin/containerd-shim-kata-v2 img", ["SP411"]),
        ("ctr run --runtime runc img id", ["SP102"]),
        ("ctr run --runtime io.containerd.kata.v2 img id", []),
        ("docker run --runtime runc img", []),
        ("docker run --runtime '' img", []),
        ("docker run --runtime .hidden.v1 img", ["SP102"]),
        ("podman run --runtime /tmp/crun img", []),
    ],
)
def test_tool_by_tool(command: str, expected: list[str]) -> None:
    result = lint_text(command + "\n", "a.sh", Policy.default())
    assert [f.rule for f in result.findings] == expected


def test_docker_before_23_knows_only_configured_names() -> None:
    policy = Policy.from_dict({"version": 1, "extends": "default", "docker": "20.10"})
    (finding,) = lint_text(
        "docker run --runtime io.containerd.kata.v2 img\n", "a.sh", policy
    ).findings
    assert finding.rule == "SP601"
    assert "Unknown runtime specified io.containerd.kata.v2" in finding.message


def test_shebang_scripts_without_an_extension_are_read(tmp_path: Path) -> None:
    (tmp_path / "deploy").write_text("#!/bin/sh\nctr run --runtime /tmp/shim img id\n")
    (finding,) = lint_paths([str(tmp_path)], Policy.default()).findings
    assert (finding.line, finding.column, finding.rule) == (2, 19, "SP104")


# -- GitHub Actions workflows -----------------------------------------------------------


def test_workflow_run_steps_map_to_the_workflow_file() -> None:
    workflow = FIXTURES / "workflow" / ".github" / "workflows" / "ci.yml"
    found = rows(FIXTURES / "workflow")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in found] == [
        (14, 37, 14, 46, "SP104"),  # literal block
        (18, 21, 18, 27, "SP601"),  # folded block, on the second line
        (20, 35, 20, 58, "SP003"),  # a GitHub expression
        (23, 21, 23, 27, "SP412"),  # double-quoted, after an escaped line break
        (25, 33, 25, 47, "SP102"),  # single-quoted, '' escapes included
        (31, 31, 31, 40, "SP104"),  # a block with an indentation indicator
    ]
    assert [written(workflow, r[0], r[1], r[3]) for r in found] == [
        "/tmp/shim",
        "nvidia",
        '"${{ inputs.runtime }}"',
        "./crun",
        "''.hidden.v1''",
        "/opt/shim",
    ]
    assert found[2][6] == (
        "`docker run --runtime` '${{ inputs.runtime }}' is filled in later "
        "(${{ inputs.runtime }}); its final value cannot be checked here"
    )


def scalar_and_lines(text: str) -> tuple[Scalar, list[str]]:
    (doc,) = parse_yaml(text)
    assert isinstance(doc, Mapping)
    node = doc.get("run")
    assert isinstance(node, Scalar)
    return node, yaml_lines(text)


@pytest.mark.parametrize(
    "text",
    [
        "run: plain\n",
        "run: |\n  a\n  b\n\n  c\n",
        "run: |+\n  a\n\n\n",
        "run: |-\n    a\n      b\n",
        "run: >\n  a\n  b\n\n  c\n    d\n  e\n",
        "run: >-\n\n  a\n  b\n",
        "run: 'it''s\n  folded\n\n  here'\n",
        'run: "tab\\tnew\\nline \\\n  joined \\x41\\u00e9 end"\n',
        "run: plain\n  continued\n\n  paragraph\n",
        'run: "a\r\n  b"\r\n',
    ],
)
def test_script_text_rebuilds_every_scalar_style(text: str) -> None:
    scalar, lines = scalar_and_lines(text)
    where = ScriptText.of(lines, scalar, 0)
    assert isinstance(scalar.value, str)
    # Every character maps back to itself (the value's line breaks to where lines end).
    for i, char in enumerate(scalar.value):
        (line, column), (_, end_column) = where.starts[i], where.ends[i]
        source = lines[line - 1][column - 1 : end_column - 1]
        if char in " \n" and source in ("", " "):
            continue
        assert source in (char, "''", "\\t", "\\n", "\\x41", "\\u00e9"), (i, char, source)


def test_script_text_span_of_a_flag_value() -> None:
    text = "run: >\n  docker run\n  --runtime x.y img\n"
    scalar, lines = scalar_and_lines(text)
    assert isinstance(scalar.value, str)
    (flag,) = find_runtime_flags(scalar.value)
    assert ScriptText.of(lines, scalar, 0).span(flag.span) == Span(3, 13, 3, 16)


_WORDS = st.text(alphabet=string.ascii_letters + string.digits + " -_=.$'\"/\\", max_size=16)


def _document(style: str, lines: list[str]) -> str:
    if style in ("|", "|-", "|+", ">", ">-"):
        return f"run: {style}\n" + "".join(f"  {line}\n" for line in lines)
    if style == "'":
        return "run: '" + "\n  ".join(line.replace("'", "''") for line in lines) + "'\n"
    if style == '"':
        escaped = (line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
        return 'run: "' + "\n  ".join(escaped) + '"\n'
    return "run: " + "\n  ".join(lines) + "\n"


@settings(max_examples=300, deadline=None)
@given(
    style=st.sampled_from(["|", "|-", "|+", ">", ">-", "'", '"', "plain"]),
    lines=st.lists(_WORDS, min_size=1, max_size=5),
)
def test_script_text_maps_every_character_back(style: str, lines: list[str]) -> None:
    text = _document(style, lines)
    try:
        scalar, file_lines = scalar_and_lines(text)
    except (SyntaxProblem, AssertionError):
        return  # not a YAML document with a scalar `run` (plain scalars are fussy)
    assume(isinstance(scalar.value, str))
    assert isinstance(scalar.value, str)
    where = ScriptText.of(file_lines, scalar, 0)
    for i, char in enumerate(scalar.value):
        (line, column), (_, end_column) = where.starts[i], where.ends[i]
        source = file_lines[line - 1][column - 1 : end_column - 1]
        if char.isspace() and source.strip() == "":
            continue  # a line break or folded space: placed where the line ends
        assert source == char or (source, char) in (("''", "'"), ('\\"', '"'), ("\\\\", "\\"))
