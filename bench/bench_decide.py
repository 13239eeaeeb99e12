"""How fast ``Policy.decide`` is, against ``name.split(".")`` on the same names.

    python bench/bench_decide.py [--names N] [--repeat R]

Rows: ``split`` (the yardstick), ``decide hot`` (names already decided: the cache),
``decide cold`` (names never seen: parse, D1 and the rules), ``decide new policy``
(names the grammar has parsed before, a policy that has not decided them: the policy
layer's own cost), and import times measured in fresh interpreters.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Callable

from shimpolicy.policy import Policy

SHAPES = (
    "io.containerd.kata{}.v2",
    "com.example{}.runc.v2",
    "/opt/shims{}/containerd-shim-x-v2",
    "runc{}",
    "a{}.",
)


def names(n: int, tag: str) -> list[str]:
    return [SHAPES[i % len(SHAPES)].format(f"{tag}{i}") for i in range(n)]


def per_call(run: Callable[[], None], calls: int, repeat: int) -> float:
    """Nanoseconds per call: the best of ``repeat`` timings of ``run``."""
    best = min(_timed(run) for _ in range(repeat))
    return best / calls


def _timed(run: Callable[[], None]) -> int:
    start = time.perf_counter_ns()
    run()
    return time.perf_counter_ns() - start


def import_ms(module: str, repeat: int) -> float:
    """Cumulative import time of ``module`` in a fresh interpreter (``-X importtime``)."""
    pattern = re.compile(rf"\|\s*(\d+)\s*\|\s*{re.escape(module)}$")
    best = float("inf")
    for _ in range(repeat):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        found = [int(m.group(1)) for m in map(pattern.search, err.splitlines()) if m]
        best = min(best, found[-1] / 1000)
    return best


def first_decision_ms(repeat: int) -> float:
    """Wall time of a fresh interpreter that imports, loads the default policy, decides."""
    code = (
        "import time; t = time.perf_counter()\n"
        "from shimpolicy.policy import Policy\n"
        "Policy.default().decide('io.containerd.kata.v2')\n"
        "print((time.perf_counter() - t) * 1000)\n"
    )
    runs = (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(repeat)
    )
    return min(float(r.stdout) for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=5000, help="names per round (<= 8192)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    n, repeat = args.names, args.repeat

    warm = names(n, "w")
    policy = Policy.default()
    for name in warm:
        policy.decide(name)

    def split() -> None:
        for name in warm:
            name.split(".")

    def hot() -> None:
        decide = policy.decide
        for name in warm:
            decide(name)

    # Fresh names and fresh policies for every round, made before the clock starts.
    batches = iter([names(n, f"c{r}-") for r in range(repeat)])
    fresh = iter(
        [Policy.from_dict({"version": 1, "extends": "default"}) for _ in range(2 * repeat)]
    )

    def cold() -> None:
        decide = next(fresh).decide
        for name in next(batches):
            decide(name)

    def new_policy() -> None:
        decide = next(fresh).decide
        for name in warm:  # parsed already (the grammar's own cache), not yet decided
            decide(name)

    base = per_call(split, n, repeat)
    rows = [
        ("name.split('.')", base),
        ("decide hot (cached)", per_call(hot, n, repeat)),
        # Before "cold", whose names push the warm ones out of the grammar's cache.
        ("decide new policy (parsed names)", per_call(new_policy, n, repeat)),
        ("decide cold (new names)", per_call(cold, n, repeat)),
    ]
    print(f"{'measure':34} {'ns/call':>9} {'x split':>8} {'calls/s':>12}")
    for label, ns in rows:
        print(f"{label:34} {ns:9.0f} {ns / base:8.1f} {1e9 / ns:12,.0f}")
    print()
    print(f"{'import':34} {'ms':>9}")
    for module in ("shimpolicy", "shimpolicy.policy"):
        print(f"{'import ' + module:34} {import_ms(module, repeat):9.1f}")
    print(f"{'import + default() + decide':34} {first_decision_ms(repeat):9.1f}")


if __name__ == "__main__":
    main()
