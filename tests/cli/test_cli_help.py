"""Help a user can act on: every option explained, exit codes and examples in every
command's help, errors shown with the usage of the command they concern, colour as the
usual environment variables ask, rule ids in any case."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from shimpolicy._cmdline import build_parser
from shimpolicy.cli import main

COMMANDS = ("check", "explain", "lint", "policy", "rule", "graph", "doctor")
COMPOSE = "services:\n  app:\n    image: alpine\n    runtime: /tmp/x\n"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {k}": v for k, v in _subparsers(sub).items()})
    return found


def _commands() -> dict[str, argparse.ArgumentParser]:
    return _subparsers(build_parser())


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in _commands().items()
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert missing == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_gives_exit_codes_and_two_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    examples = out[out.index("examples:") :].splitlines()[1:]
    assert len([line for line in examples if line.strip().startswith("shimpolicy ")]) >= 2


def test_serve_help_gives_exit_codes_and_two_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status:\n  0  stopped by SIGTERM or SIGINT" in out
    examples = out[out.index("examples:") :].splitlines()[1:]
    assert len([line for line in examples if line.strip().startswith("shimpolicy serve ")]) == 2


def test_top_level_help_gives_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    assert "1  findings at or above --fail-on, or a denied name" in out


def test_an_unknown_option_shows_the_commands_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--frobnicate", "."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: shimpolicy lint ")
    assert err.endswith("shimpolicy lint: error: unrecognized arguments: --frobnicate\n")


def test_rule_ids_are_case_insensitive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "sp104"]) == 0
    assert capsys.readouterr().out.startswith("SP104 path-in-request: ")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _colored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tty: bool, env: dict[str, str], *opts: str
) -> bool:
    for var in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    (tmp_path / "compose.yaml").write_text(COMPOSE, encoding="utf-8")
    out = _Terminal() if tty else io.StringIO()
    main(["lint", *opts, str(tmp_path)], stdout=out)
    return "\033[" in out.getvalue()


@pytest.mark.parametrize(
    ("tty", "env", "opts", "expected"),
    [
        (True, {}, (), True),
        (False, {}, (), False),
        (True, {"NO_COLOR": "1"}, (), False),
        (True, {"TERM": "dumb"}, (), False),
        (False, {"FORCE_COLOR": "1"}, (), True),
        (False, {"CLICOLOR_FORCE": "1"}, (), True),
        (False, {"CLICOLOR_FORCE": "0"}, (), False),
        (False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, (), False),
        (True, {"TERM": "dumb", "FORCE_COLOR": "1"}, (), True),
        (False, {}, ("--color", "always"), True),
        (True, {"FORCE_COLOR": "1"}, ("--color", "never"), False),
    ],
)
def test_colour_follows_the_usual_variables(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tty: bool,
    env: dict[str, str],
    opts: tuple[str, ...],
    expected: bool,
) -> None:
    assert _colored(tmp_path, monkeypatch, tty, env, *opts) is expected
