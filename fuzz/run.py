"""Coverage-guided fuzzing with atheris, one command per target and a time budget:

    python fuzz/run.py parse --seconds 60
    python fuzz/run.py lint-compose --seconds 300
    python fuzz/run.py all --seconds 600     # the budget is split between the targets

Seeds come from the test fixtures and ``fuzz/regressions/TARGET``; the corpus grows under
``fuzz/corpus/TARGET`` and crashing inputs are written to ``fuzz/crashes/``.  Every crash
found becomes a regression input under ``fuzz/regressions/TARGET/``, which
``tests/test_fuzz_regressions.py`` replays through the same target.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LINT_TYPES = {
    "daemon.json": "daemon.json",
    "compose": "compose.yaml",
    "containerd": "config.toml",
    "kubernetes": "manifest.yaml",
    "shell": "script.sh",
    "workflow": ".github/workflows/ci.yml",
}
TARGETS = ["parse", "decide", "json", "yaml", "toml", "shell", *(f"lint-{t}" for t in LINT_TYPES)]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def target(name: str) -> Callable[[bytes], None]:
    """The function atheris calls with each input: it must raise only on a real bug."""
    import shimpolicy
    from shimpolicy.policy import Policy
    from shimpolicy.syntax import SyntaxProblem

    if name == "parse":

        def run(data: bytes) -> None:
            s = _text(data)
            for v in ("1.5", "1.6", "1.7", "2.0"):
                for p in ("linux", "windows"):
                    rn = shimpolicy.parse(s, v, p)
                    assert rn.kind in shimpolicy.KINDS
                    assert (rn.error is None) == (
                        rn.kind not in ("invalid",) and rn.kind != "empty"
                    )
                    assert ".".join(rn.pieces) == s

        return run
    if name == "decide":
        policy = Policy.default()

        def run(data: bytes) -> None:
            s = _text(data)
            for context in ("request", "config"):
                d = policy.decide(s, context=context)
                assert d.action in ("allow", "warn", "deny")

        return run
    if name in ("json", "yaml", "toml"):
        from shimpolicy.syntax import json, toml, yaml

        reader: Callable[[str], object] = {
            "json": json.parse_json,
            "yaml": yaml.parse_yaml,
            "toml": toml.parse_toml,
        }[name]

        def run(data: bytes) -> None:
            try:
                reader(_text(data))
            except SyntaxProblem as e:
                assert e.line >= 1 and e.column >= 1

        return run
    if name == "shell":
        from shimpolicy.syntax.shell import find_runtime_flags

        def run(data: bytes) -> None:
            s = _text(data)
            lines = s.split("\n")
            for f in find_runtime_flags(s):
                assert 1 <= f.span.line <= len(lines)

        return run
    if name.startswith("lint-"):
        from shimpolicy.lint.engine import LintOptions, lint_bytes

        kind = name.removeprefix("lint-")
        filename = LINT_TYPES[kind]
        policy = Policy.default()
        options = LintOptions(file_type=kind)

        def run(data: bytes) -> None:
            result = lint_bytes(data, filename, policy, options)
            text = data.decode("utf-8", "replace").removeprefix("\ufeff")
            n_lines = max(1, len(text.splitlines()) + 1)
            for f in result.findings:
                assert 1 <= f.line <= n_lines, f
                assert f.column >= 1, f

        return run
    raise SystemExit(f"unknown target {name!r}; targets: {', '.join(TARGETS)}")


def seeds(name: str) -> list[Path]:
    """Seed files for a target, from tests/fixtures (by extension) and rules/ examples."""
    ext = {
        "json": (".json",),
        "yaml": (".yaml", ".yml"),
        "toml": (".toml",),
        "shell": (".sh",),
        "lint-daemon.json": (".json",),
        "lint-compose": (".yaml", ".yml"),
        "lint-containerd": (".toml",),
        "lint-kubernetes": (".yaml", ".yml"),
        "lint-shell": (".sh",),
        "lint-workflow": (".yml", ".yaml"),
    }.get(name, ())
    fixtures = ROOT / "tests" / "fixtures"
    return (
        [p for p in sorted(fixtures.rglob("*")) if p.is_file() and p.suffix in ext] if ext else []
    )


def prepare_corpus(name: str) -> Path:
    corpus = HERE / "corpus" / name
    corpus.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(seeds(name)):
        dest = corpus / f"seed-{i:04d}{p.suffix}"
        if not dest.exists():
            dest.write_bytes(p.read_bytes()[: 1 << 16])
    if name in ("parse", "decide"):
        for i, s in enumerate(
            [
                "io.containerd.kata.v2",
                "/opt/x/io.y.v1",
                "C:\\x\\io.y.z",
                "a..",
                ".a",
                "\\\\host\\share\\x",
                "io.containerd.runtime.v1.linux",
            ]
        ):
            (corpus / f"seed-{i:04d}").write_text(s, encoding="utf-8")
    return corpus


def fuzz_one(name: str, seconds: int) -> int:
    """Run one target in a child process so a crash (even a segfault) is reported, not fatal."""
    corpus = prepare_corpus(name)
    crashes = HERE / "crashes"
    crashes.mkdir(exist_ok=True)
    cmd = [
        sys.executable,
        str(Path(__file__)),
        "--child",
        name,
        str(corpus),
        f"-max_total_time={seconds}",
        f"-artifact_prefix={crashes}/{name}-",
        "-rss_limit_mb=2048",
        "-timeout=10",
        "-print_final_stats=1",
    ]
    return subprocess.call(cmd)


def child(name: str, argv: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["shimpolicy"]):
        import shimpolicy.lint.engine
        import shimpolicy.policy
        import shimpolicy.syntax.json
        import shimpolicy.syntax.shell
        import shimpolicy.syntax.toml
        import shimpolicy.syntax.yaml  # noqa: F401
    fn = target(name)
    atheris.Setup([sys.argv[0], *argv], fn)
    atheris.Fuzz()


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return 0
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("target", choices=[*TARGETS, "all"])
    ap.add_argument("--seconds", type=int, default=60)
    args = ap.parse_args()
    names = TARGETS if args.target == "all" else [args.target]
    each = max(1, args.seconds // len(names))
    status = 0
    for n in names:
        print(f"== {n}: {each}s", flush=True)
        rc = fuzz_one(n, each)
        if rc != 0:
            print(f"== {n}: exit status {rc} (see fuzz/crashes/)", flush=True)
            status = 1
    return status


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    sys.exit(main())
