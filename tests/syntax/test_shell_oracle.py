"""The shell reader against a real shell (SPEC D4): generated scripts run under ``sh``
with a stub ``docker`` on PATH that writes down the arguments it was given; the
``--runtime`` values the stub receives are the values the reader must find, in order."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from shimpolicy.syntax.shell import find_runtime_flags

SH = shutil.which("sh")
pytestmark = pytest.mark.skipif(SH is None, reason="no POSIX sh on PATH")

# Prints each argument followed by a NUL, and a record separator after the call.
STUB = "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done\nprintf '\\036'\n"

# Options of `docker run` / `docker create` the generated commands use (docker's CLI reads
# them with pflag, options before the image only).
FLAGS = ("-d", "--rm", "-i", "-t")
WITH_VALUE = ("--name", "-e", "--network")
ALPHABET = "abcxyz019.-_/:\\ '\"$`#;&|*?~=é"


def _quoted(value: str, rng: random.Random) -> str:
    """``value`` as one shell word, in one of the ways sh reads back to ``value``."""
    style = rng.choice(("single", "double", "backslash", "mixed"))
    if style == "single":
        return "'" + value.replace("'", "'\\''") + "'"
    if style == "double":
        return '"' + "".join("\\" + c if c in '"\\$`' else c for c in value) + '"'
    if style == "backslash" and value:
        return "".join(c if c.isalnum() else "\\" + c for c in value)
    # Pieces in turn, each quoted its own way: 'a'"b"c.
    cut = rng.randint(0, len(value))
    return (_quoted(value[:cut], rng) if cut else "") + _quoted(value[cut:], rng)


def _command(rng: random.Random) -> tuple[str, list[str]]:
    """One docker command, and the --runtime values docker would read from it."""
    words = ["docker", *rng.choice((["run"], ["create"], ["container", "run"]))]
    expected: list[str] = []
    for _ in range(rng.randint(0, 4)):
        kind = rng.random()
        if kind < 0.4:
            value = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))
            expected.append(value)
            if rng.random() < 0.5:
                words += ["--runtime", _quoted(value, rng)]
            else:
                words.append("--runtime=" + _quoted(value, rng))
        elif kind < 0.7:
            words.append(rng.choice(FLAGS))
        else:
            words += [rng.choice(WITH_VALUE), _quoted(rng.choice(("web", "A=b c", "x")), rng)]
    words.append(rng.choice(("alpine", "ghcr.io/x/y:1")))
    if rng.random() < 0.4:  # the container's own arguments: not docker's options
        words += ["sh", "-c", _quoted("echo --runtime nope", rng), "--runtime", "inner"]
    joiners = (" ", " ", " ", " \\\n  ")
    text = words[0]
    for word in words[1:]:
        text += rng.choice(joiners) + word
    return text, expected


def _script(rng: random.Random) -> tuple[str, list[list[str]]]:
    commands = [_command(rng) for _ in range(rng.randint(1, 4))]
    text = ""
    for i, (command, _) in enumerate(commands):
        if i and not text.endswith("\n"):
            text += rng.choice(("\n", "; ", " && "))
        text += command
        if rng.random() < 0.2:
            text += "  # docker run --runtime commented-out img\n"
    return text + "\n", [expected for _, expected in commands]


def _runtimes(argv: list[str]) -> list[str]:
    """The --runtime values docker's CLI reads from ``docker ARGV``: options end at the
    first argument that is not one (the image)."""
    args = argv[2:] if argv[0] == "container" else argv[1:]
    found, i = [], 0
    while i < len(args) and args[i].startswith("-"):
        arg = args[i]
        if arg == "--runtime":
            found.append(args[i + 1])
            i += 2
        elif arg.startswith("--runtime="):
            found.append(arg.removeprefix("--runtime="))
            i += 1
        else:
            i += 2 if arg in WITH_VALUE else 1
    return found


@pytest.fixture(scope="module")
def stub_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    bin_dir = tmp_path_factory.mktemp("bin")
    docker = bin_dir / "docker"
    docker.write_text(STUB)
    docker.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def _run(script: str, path: str, tmp_path: Path) -> list[list[str]]:
    file = tmp_path / "script.sh"
    file.write_text(script, encoding="utf-8")
    assert SH is not None
    out = subprocess.run(
        [SH, str(file)], env=dict(os.environ, PATH=path), capture_output=True, check=True
    ).stdout.decode("utf-8")
    return [call.split("\0")[:-1] for call in out.split("\x1e")[:-1]]


@pytest.mark.parametrize("seed", range(40))
def test_the_reader_finds_the_runtimes_docker_is_given(
    seed: int, stub_path: str, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    for _ in range(5):
        script, expected = _script(rng)
        calls = _run(script, stub_path, tmp_path)
        given = [_runtimes(argv) for argv in calls]
        assert given == expected, script  # the generator and the shell agree
        found = [f.value for f in find_runtime_flags(script)]
        assert found == [value for values in given for value in values], script
