"""The benchmark suite: one command, every figure measured side by side in one run.

    python bench/run.py [--quick] [--jobs N]

1. cold start of `shimpolicy lint` on one small file, against `python -c "import yaml"`,
   yamllint and check-jsonschema on the same file (those two are skipped when not
   installed: `pip install -r bench/requirements.txt`);
2. `Policy.decide` per call, for names seen before and new names, against `str.split`
   (bench/bench_decide.py);
3. linting a generated tree (1,000 Compose files and 100 each of daemon.json,
   config.toml and Kubernetes files) against the parse floor — loading the same files
   with PyYAML's C loader, json and the TOML reader — serially and with `-j N`, in
   process (the speed-up of the work itself) and as whole commands (start-up included);
4. peak memory linting the largest file, against parsing it alone.

It prints a table and the ratios against their targets.  Figures depend on the machine:
the README and the issue notes say which one they came from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

COMPOSE = """\
# service {i}
x-common: &common
  restart: unless-stopped
  logging:
    driver: json-file
    options: {{max-size: "10m"}}
services:
  web{i}:
    <<: *common
    image: ghcr.io/example/web:{i}
    runtime: io.containerd.kata.v2
    ports: ["8{i:03d}:80"]
    environment:
      LOG_LEVEL: info
      FEATURE_{i}: "on"
    volumes:
      - ./data/{i}:/data
  worker{i}:
    <<: *common
    image: ghcr.io/example/worker:{i}
    runtime: ${{WORKER_RUNTIME:-io.containerd.runsc.v1}}
    command: ["run", "--queue", "q{i}"]
  db{i}:
    image: postgres:16
    environment: [POSTGRES_DB=app{i}]
"""
DAEMON = """{{
  "default-runtime": "runc",
  "log-driver": "json-file",
  "runtimes": {{
    "crun{i}": {{"path": "/usr/local/bin/crun", "runtimeArgs": ["--systemd-cgroup"]}},
    "kata{i}": {{"runtimeType": "io.containerd.kata.v2"}}
  }}
}}
"""
CONTAINERD = """version = 3

[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "runc"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
  SystemdCgroup = true

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata{i}]
  runtime_type = "io.containerd.kata.v2"
"""
K8S = """apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: kata{i}
handler: kata{i}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{i}
spec:
  selector: {{matchLabels: {{app: app{i}}}}}
  template:
    metadata: {{labels: {{app: app{i}}}}}
    spec:
      runtimeClassName: kata{i}
      containers:
        - name: app
          image: ghcr.io/example/app:{i}
"""


def generate(root: Path, compose: int, each: int) -> list[Path]:
    files = []
    for i in range(compose):
        d = root / "services" / f"s{i:04d}"
        d.mkdir(parents=True)
        (d / "compose.yaml").write_text(COMPOSE.format(i=i))
        files.append(d / "compose.yaml")
    for i in range(each):
        d = root / "hosts" / f"h{i:03d}"
        d.mkdir(parents=True)
        for name, text in (
            ("daemon.json", DAEMON),
            ("config.toml", CONTAINERD),
            ("deploy.yaml", K8S),
        ):
            (d / name).write_text(text.format(i=i))
            files.append(d / name)
    return files


def timed(cmd: list[str], runs: int, cwd: Path | None = None) -> float:
    """Median wall time of ``cmd`` in milliseconds (after one warm-up run)."""
    subprocess.run(cmd, capture_output=True, cwd=cwd)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, cwd=cwd)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def child(measure: str, target: str, runs: int = 3) -> float:
    """Run one measurement in a fresh interpreter (``--child``) and return its figure."""
    cmd = [PY, str(Path(__file__).resolve()), "--child", measure, target, str(runs)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
    return float(out.stdout.strip())


def _parse_all(files: list[Path]) -> None:
    import yaml

    from shimpolicy.syntax.toml import parse_toml

    for p in files:
        text = p.read_text()
        if p.name.endswith(".json"):
            json.loads(text)
        elif p.name.endswith(".toml"):
            parse_toml(text)
        else:
            list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def run_child(measure: str, target: str, runs: int) -> float:
    """The measurements themselves: best time in ms, or peak RSS growth in KiB."""
    import resource

    sys.path.insert(0, str(ROOT))
    from shimpolicy.lint.engine import LintOptions, lint_paths
    from shimpolicy.policy import Policy

    policy = Policy.default()
    files = [p for p in Path(target).rglob("*") if p.is_file()] if Path(target).is_dir() else []
    jobs = int(measure.removeprefix("lint-j")) if measure.startswith("lint-j") else 1
    work = {
        "floor": lambda: _parse_all(files),
        "lint": lambda: lint_paths([target], policy),
        f"lint-j{jobs}": lambda: lint_paths([target], policy, LintOptions(jobs=jobs)),
        "rss-parse": lambda: _parse_all([Path(target)]),
        "rss-lint": lambda: lint_paths([target], policy),
    }[measure]
    if measure.startswith("lint"):
        import gc

        gc.disable()  # as `shimpolicy lint` does for its run (cli.py)
    if measure.startswith("rss-"):
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        work()
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t)
    return best * 1000


def row(label: str, value: float, unit: str, ratio: str = "", target: str = "") -> None:
    print(f"{label:<52} {value:>10.1f} {unit:<4} {ratio:>8} {target}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(run_child(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return 0
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="fewer runs and a smaller tree")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    runs = 5 if args.quick else 15
    shim = shutil.which("shimpolicy", path=str(Path(PY).parent)) or shutil.which("shimpolicy")
    python = platform.python_version()
    system = f"{platform.system()} {platform.release()}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}, {system}")
    print(f"{'measure':<52} {'value':>10} {'unit':<4} {'ratio':>8} target")

    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "compose.yaml"
        small.write_text(COMPOSE.format(i=1))
        # 1. cold start
        # Every command runs in the file's directory: a project with no policy of its own
        # (run from this repository, the lint would read its pyproject.toml first).
        floor = timed([PY, "-c", "import yaml"], runs, cwd=Path(tmp))
        row("python -c 'import yaml'", floor, "ms", "1.00x")
        lint_cmd = (
            [shim, "lint", str(small)] if shim else [PY, "-m", "shimpolicy", "lint", str(small)]
        )
        cold = timed(lint_cmd, runs, cwd=Path(tmp))
        row(
            "shimpolicy lint compose.yaml (cold start)",
            cold,
            "ms",
            f"{cold / floor:.2f}x",
            "<= 1.5x",
        )
        for tool, cmd in (
            ("yamllint", ["yamllint", "-d", "relaxed", str(small)]),
            (
                "check-jsonschema",
                [
                    "check-jsonschema",
                    "--schemafile",
                    str(ROOT / "shimpolicy" / "policy" / "schema.json"),
                    str(small),
                ],
            ),
        ):
            exe = shutil.which(tool, path=str(Path(PY).parent)) or shutil.which(tool)
            if exe is None:
                print(f"{tool + ' (not installed: pip install -r bench/requirements.txt)':<52}")
                continue
            t = timed([exe, *cmd[1:]], runs, cwd=Path(tmp))
            # The tool users compare with: shimpolicy's cold start stays under 0.75x its.
            target = "shimpolicy <= 0.75x" if tool == "yamllint" else "shimpolicy faster"
            row(f"{tool} on the same file", t, "ms", f"{cold / t:.2f}x", target)

        # 2. decide
        print("-- decide (bench/bench_decide.py)")
        subprocess.run([PY, str(ROOT / "bench" / "bench_decide.py")], cwd=ROOT, check=False)

        # 3. bulk
        tree = Path(tmp) / "tree"
        files = generate(tree, 200 if args.quick else 1000, 20 if args.quick else 100)
        total = sum(f.stat().st_size for f in files)
        print(f"-- bulk: {len(files)} files, {total // 1024} KiB")
        parse_floor = child("floor", str(tree))
        row("parse floor (read + C YAML loader, json, TOML reader)", parse_floor, "ms", "1.00x")
        serial = child("lint", str(tree))
        row(
            "lint_paths, serial (in process)",
            serial,
            "ms",
            f"{serial / parse_floor:.2f}x",
            "<= 1.3x",
        )
        parallel = child(f"lint-j{args.jobs}", str(tree))
        row(
            f"lint_paths, -j {args.jobs} (in process)",
            parallel,
            "ms",
            f"{serial / parallel:.2f}x",
            f"speed-up (ideal {args.jobs}x)",
        )
        base = lint_cmd[:-1]
        one = timed([*base, "-j", "1", str(tree)], 3, cwd=Path(tmp))
        row("shimpolicy lint -j 1 (whole command)", one, "ms")
        many = timed([*base, "-j", str(args.jobs), str(tree)], 3, cwd=Path(tmp))
        row(
            f"shimpolicy lint -j {args.jobs} (whole command)",
            many,
            "ms",
            f"{one / many:.2f}x",
            f"speed-up (ideal {args.jobs}x)",
        )

        # 4. memory on the largest file
        big = Path(tmp) / "docker-compose.yml"
        big.write_text(
            "services:\n"
            + "".join(
                COMPOSE.format(i=i).split("services:\n", 1)[1].replace("    <<: *common\n", "")
                for i in range(3000)
            )
        )
        print(f"-- memory: {big.stat().st_size // 1024} KiB Compose file")
        parse_mem = child("rss-parse", str(big))
        row("peak RSS growth: yaml.load (C loader)", parse_mem / 1024, "MiB", "1.00x")
        lint_mem = child("rss-lint", str(big))
        ratio = f"{lint_mem / max(parse_mem, 1):.2f}x"
        row("peak RSS growth: shimpolicy lint", lint_mem / 1024, "MiB", ratio, "<= 2x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
