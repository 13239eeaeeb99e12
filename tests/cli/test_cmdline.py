"""The quick reader of ``lint`` command lines agrees with argparse wherever it answers."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shimpolicy._cmdline import LINT_OPTIONS, build_parser, quick_lint_args

FLAGS = [flag for option in LINT_OPTIONS for flag in option.flags]
VALUES = [
    "json",
    "text",
    "sarif",
    "warning",
    "compose",
    "windows",
    "always",
    "3",
    " 4 ",
    "1_0",
    "-1",
    "0",
    "x",
    "",
    "-",
    "a b",
    "--",
    "1.7",
    "28",
]
TOKENS = st.one_of(
    st.sampled_from(FLAGS),
    st.sampled_from(["--form", "--no-inline", "-h", "--help", "--", "-j3", "-j=2", "--bogus"]),
    st.builds(lambda f, v: f"{f}={v}", st.sampled_from(FLAGS), st.sampled_from(VALUES)),
    st.sampled_from(VALUES),
    st.sampled_from(["compose.yaml", "dir/", "-", "a=b", "-x"]),
)


def argparse_reading(argv: list[str]) -> dict[str, object] | None:
    """What argparse makes of ``argv``: its namespace, or None when it refuses it."""
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            return vars(build_parser("lint").parse_args(argv))
    except SystemExit:
        return None


@settings(max_examples=3000, deadline=None)
@given(st.lists(TOKENS, max_size=8))
def test_quick_reader_agrees_with_argparse_whenever_it_answers(tokens: list[str]) -> None:
    argv = ["lint", *tokens]
    quick = quick_lint_args(argv)
    if quick is not None:
        assert vars(quick) == argparse_reading(argv)


def test_the_usual_invocations_are_read_without_argparse() -> None:
    common = [
        ["lint"],
        ["lint", "compose.yaml", "daemon.json"],
        ["lint", "--format", "sarif", "--fail-on", "warning", "-j", "4", "."],
        ["lint", "--format=github", "--exclude", "vendor/*", "--exclude=*.tmpl", "deploy/"],
        ["lint", "--policy", "ci/.shimpolicy.yaml", "--containerd", "1.7", "--docker", "25", "x"],
        ["lint", "--type", "compose", "--stdin-filename", "c.yaml", "--no-inline-ignores", "-"],
        ["lint", "--platform", "windows", "--color", "never", "--max-file-size", "1024", "a"],
    ]
    for argv in common:
        quick = quick_lint_args(argv)
        assert quick is not None, argv
        assert vars(quick) == argparse_reading(argv)


def test_anything_else_is_left_to_argparse() -> None:
    for argv in (
        ["check", "runc"],
        ["lint", "--form", "json"],  # abbreviations: argparse's business
        ["lint", "a", "--format", "json"],  # an option after a path
        ["lint", "-j4"],
        ["lint", "--format", "yaml"],  # argparse reports the invalid choice
        ["lint", "--jobs", "many"],
        ["lint", "--policy", "-p.yaml"],
        ["lint", "-h"],
        ["lint", "--", "-x"],
        ["lint", "--no-inline-ignores=1"],
    ):
        assert quick_lint_args(argv) is None, argv


def test_a_one_file_lint_does_not_import_argparse(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n")
    code = (
        "import sys; from shimpolicy.cli import main\n"
        "status = main(['lint', 'compose.yaml'])\n"
        "print(status, 'argparse' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout == "0 False\n"
