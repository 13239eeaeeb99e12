"""Compare shimpolicy's grammar with containerd's and moby's own code, name by name.

    python -m fuzz.differential --oracle {1.6,1.7,moby26} --count N [--seed S] [--name NAME]...

The oracles are Go programs compiled against the containerd and moby source that Debian
ships (``fuzz/oracle/build.sh``). For each name the containerd oracle reports ``BinaryName``,
``BinaryPath``, ``filepath.IsAbs``, ``filepath.Dir``/``Split`` and the outcome of
``resolveRuntimePath``; moby's reports ``isPermissibleC8dRuntimeName``. Those facts are mapped
onto shimpolicy's API (SPEC C1-C3, D1) and compared field by field:

- ``binary_name`` = ``BinaryName`` (``None`` for ""); ``is_absolute`` = ``filepath.IsAbs``;
  ``pieces`` = ``strings.Split(name, ".")``; ``directory`` = ``filepath.Dir`` when
  ``filepath.Split`` finds a directory part, else ``None``;
- ``kind``/``binary``/``error`` from ``resolveRuntimePath``, run in an empty working directory
  with ``PATH`` naming an empty directory, so that no lookup can succeed: ``no runtime name``
  is kind empty; an absolute name is kind path, whether or not the file exists; ``invalid
  runtime name …`` is kind invalid with that exact error; a "binary not installed" error, or
  (1.6, a binary name with a ``/``, which ``exec.LookPath`` treats as a path) a fall-through
  to containerd's working directory, is kind relative when the name has a directory part and
  shim otherwise. The legacy v1 name never reaches ``resolveRuntimePath`` (C4), so only its
  C1 facts are compared.

Exit status: 0 all agree, 1 some disagree, 2 the oracle is missing or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shimpolicy import docker_permits, parse
from shimpolicy.grammar.name import binary_name, is_absolute

from .strategies import LEGACY_V1, generate

FUZZ_DIR = Path(__file__).resolve().parent
BUILD_SCRIPT = FUZZ_DIR / "oracle" / "build.sh"

_NOT_INSTALLED = " binary not installed "


def build_dir() -> Path:
    """Where build.sh puts the oracles (``SHIMPOLICY_ORACLE_BUILD`` overrides, as for it)."""
    return Path(os.environ.get("SHIMPOLICY_ORACLE_BUILD") or FUZZ_DIR / ".build")


@dataclass(frozen=True)
class Oracle:
    """One compiled oracle and the shimpolicy call it answers for."""

    key: str
    executable: str  # file name in build_dir()
    build_target: str  # build.sh argument that makes it
    containerd: str | None = None  # for the containerd oracles: parse(..., containerd=)
    docker: str | None = None  # for the moby oracle: docker_permits(..., docker=)

    def path(self) -> Path:
        return build_dir() / self.executable

    def version(self) -> str:
        stamp = build_dir() / f"{self.executable}.version"
        return stamp.read_text().strip() if stamp.exists() else "unknown version"


ORACLES = {
    "1.6": Oracle("1.6", "containerd-1.6", "1.6", containerd="1.6"),
    "1.7": Oracle("1.7", "containerd-1.7", "1.7", containerd="1.7"),
    "moby26": Oracle("moby26", "moby-26", "1.7", docker="26"),
}


class OracleError(Exception):
    """The oracle is missing, failed, or answered something other than what was asked."""


@dataclass(frozen=True)
class ContainerdAnswer:
    """What containerd's own functions returned for one name."""

    name: str
    binary_name: str
    binary_path: str
    is_abs: bool
    dir: str
    split_dir: str
    pieces: tuple[str, ...]
    path: str
    err: str | None
    cwd: str


@dataclass(frozen=True)
class Disagreement:
    name: str
    field: str
    oracle: object
    shimpolicy: object

    def __str__(self) -> str:
        # JSON spelling: copy-pasteable into an oracle's stdin, and control or bidirectional
        # characters in a name cannot garble the terminal.
        return (
            f"{json.dumps(self.name)}: {self.field}: oracle {json.dumps(self.oracle)}, "
            f"shimpolicy {json.dumps(self.shimpolicy)}"
        )


@dataclass(frozen=True)
class Comparison:
    names: int
    disagreements: tuple[Disagreement, ...]

    @property
    def disagreeing_names(self) -> int:
        return len({d.name for d in self.disagreements})

    def summary(self) -> str:
        bad = self.disagreeing_names
        return f"{self.names} names, {self.names - bad} agree, {bad} disagree"


def ask(oracle: Oracle, names: Sequence[str]) -> list[dict[str, object]]:
    """Run the oracle over ``names`` in an empty directory with an empty ``PATH``."""
    executable = oracle.path()
    if not executable.exists():
        raise OracleError(
            f"{executable} is missing: run fuzz/oracle/build.sh {oracle.build_target}"
        )
    stdin = "".join(json.dumps(name) + "\n" for name in names)
    with tempfile.TemporaryDirectory() as cwd, tempfile.TemporaryDirectory() as empty_path:
        proc = subprocess.run(
            [str(executable)],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=cwd,
            env={"PATH": empty_path},
            check=False,
        )
    if proc.returncode != 0:
        raise OracleError(f"{executable} exited {proc.returncode}: {proc.stderr.strip()}")
    # Split on "\n" alone: Go writes U+0085 unescaped, which str.splitlines() would split on.
    try:
        answers = [json.loads(line) for line in proc.stdout.split("\n") if line]
    except json.JSONDecodeError as e:
        raise OracleError(f"{executable} wrote something other than JSON lines: {e}") from e
    if [a.get("in") for a in answers] != list(names):
        raise OracleError(f"{executable} did not answer the names it was given, in order")
    return answers


def _text(answer: dict[str, object], key: str) -> str:
    value = answer[key]
    if not isinstance(value, str):
        raise OracleError(f"oracle field {key!r} is {value!r}, not a string")
    return value


def containerd_answer(answer: dict[str, object]) -> ContainerdAnswer:
    pieces = answer["pieces"]
    err = answer["err"]
    is_abs = answer["is_abs"]
    if not isinstance(pieces, list) or not all(isinstance(p, str) for p in pieces):
        raise OracleError(f"oracle field 'pieces' is {pieces!r}")
    if not (err is None or isinstance(err, str)) or not isinstance(is_abs, bool):
        raise OracleError(f"oracle answer {answer!r} is malformed")
    return ContainerdAnswer(
        name=_text(answer, "in"),
        binary_name=_text(answer, "binary_name"),
        binary_path=_text(answer, "binary_path"),
        is_abs=is_abs,
        dir=_text(answer, "dir"),
        split_dir=_text(answer, "split_dir"),
        pieces=tuple(pieces),
        path=_text(answer, "path"),
        err=err,
        cwd=_text(answer, "cwd"),
    )


def resolution(a: ContainerdAnswer) -> tuple[str, str | None, str | None]:
    """(kind, binary, error) from resolveRuntimePath's outcome; see the module docstring.

    An outcome the mapping cannot explain becomes kind ``unexplained: …``, which disagrees
    with every shimpolicy answer, so a wrong harness cannot pass silently.
    """
    if a.err == "no runtime name":  # C2 step 1
        return "empty", None, a.err
    if a.is_abs:  # C2 step 2: executed directly if it exists, else a stat error
        if a.err is None or a.err.startswith("invalid custom binary path: stat "):
            return "path", a.name, None
        return f"unexplained: {a.err}", None, None
    if a.err is not None and a.err.startswith("invalid runtime name "):  # C2 steps 3 and 4
        return "invalid", None, a.err
    kind = "relative" if a.split_dir else "shim"
    not_installed = (
        a.err is not None
        and a.err.startswith("runtime ")
        and _NOT_INSTALLED in a.err
        and a.err.endswith(": file does not exist")
    )
    # exec.LookPath fails on a binary name with '/' without ErrNotFound, and containerd 1.6
    # then resolves "" against its working directory (SPEC C3: `exec "/"` live).
    fell_through = a.err is None and a.path == a.cwd and "/" in a.binary_name
    if a.binary_name and (not_installed or fell_through):
        return kind, a.binary_name, None
    return f"unexplained: {a.err or a.path}", None, None


def containerd_facts(a: ContainerdAnswer) -> dict[str, object]:
    facts: dict[str, object] = {
        "binary_name": a.binary_name or None,
        "is_absolute": a.is_abs,
        "pieces": a.pieces,
        "directory": a.dir if a.split_dir else None,
    }
    if a.name != LEGACY_V1:  # C4: routed to the v1 runtime before resolveRuntimePath
        kind, binary, error = resolution(a)
        facts.update(kind=kind, binary=binary, error=error)
    return facts


def shimpolicy_facts(name: str, containerd: str) -> dict[str, object]:
    rn = parse(name, containerd=containerd, platform="linux")
    facts: dict[str, object] = {
        "binary_name": binary_name(name, containerd=containerd, platform="linux"),
        "is_absolute": is_absolute(name, containerd=containerd, platform="linux"),
        "pieces": rn.pieces,
        "directory": rn.directory,
    }
    if name != LEGACY_V1:
        facts.update(kind=rn.kind, binary=rn.binary, error=rn.error)
    return facts


def _differences(
    name: str, oracle: dict[str, object], ours: dict[str, object]
) -> list[Disagreement]:
    return [
        Disagreement(name, key, oracle[key], ours[key])
        for key in oracle
        if oracle[key] != ours[key]
    ]


def compare(oracle: Oracle, names: Sequence[str]) -> Comparison:
    """Ask the oracle about every name and compare with shimpolicy's answers."""
    found: list[Disagreement] = []
    for answer in ask(oracle, names):
        if oracle.containerd is not None:
            a = containerd_answer(answer)
            found += _differences(
                a.name, containerd_facts(a), shimpolicy_facts(a.name, oracle.containerd)
            )
        elif oracle.docker is not None:
            name = _text(answer, "in")
            ours = docker_permits(name, docker=oracle.docker, platform="linux")
            found += _differences(name, {"permitted": answer["permitted"]}, {"permitted": ours})
    return Comparison(len(names), tuple(found))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fuzz.differential",
        description="Compare shimpolicy with containerd's and moby's own code on generated names.",
    )
    parser.add_argument("--oracle", choices=sorted(ORACLES), required=True)
    parser.add_argument("--count", type=int, default=1000, help="names to generate")
    parser.add_argument("--seed", type=int, help="seed for the generator (default: random)")
    parser.add_argument(
        "--name", action="append", default=[], help="check this name too (repeatable)"
    )
    parser.add_argument("--show", type=int, default=20, help="disagreements to print")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must not be negative")

    oracle = ORACLES[args.oracle]
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    names = [*args.name, *generate(args.count, seed)]
    try:
        result = compare(oracle, names)
    except OracleError as e:
        print(f"differential: {e}", file=sys.stderr)
        return 2
    print(f"oracle {oracle.key}: {oracle.version()}; seed {seed}")
    print(result.summary())
    for disagreement in result.disagreements[: args.show]:
        print(disagreement)
    if len(result.disagreements) > args.show:
        print(f"… and {len(result.disagreements) - args.show} more")
    return 1 if result.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
