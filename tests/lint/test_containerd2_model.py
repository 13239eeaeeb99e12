"""The linter's view of containerd 2.x ("which handlers exist, with which default, on
release X") against an independent model of containerd's own loading and migration
(tests/lint/containerd2_model.py), on generated configs (SPEC §6 "containerd 2.x config
migration")."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from shimpolicy.grammar.versions import containerd_release
from shimpolicy.lint.containerd import config_facts, load
from shimpolicy.lint.engine import LintOptions, lint_text
from shimpolicy.lint.source import SourceFile
from tests.conftest import TOMLLIB, needs_tomllib, policy
from tests.lint import containerd2_model

SECTIONS = {
    "v1": "cri",
    "v2": "io.containerd.grpc.v1.cri",
    "v3": "io.containerd.cri.v1.runtime",
}
NAMES = ["runc", "kata", "gvisor", "crun", "nvidia", "wasm"]
TYPES = ["io.containerd.runc.v2", "io.containerd.kata.v2", "io.containerd.runsc.v1"]
CONFIGS = 1000


def _section(rng: random.Random) -> dict[str, Any]:
    containerd: dict[str, Any] = {}
    if rng.random() < 0.5:
        containerd["default_runtime_name"] = rng.choice(NAMES)
    if rng.random() < 0.2:
        containerd["snapshotter"] = "overlayfs"
    if rng.random() < 0.8:
        runtimes: dict[str, Any] = {}
        for name in rng.sample(NAMES, rng.randint(0, 3)):
            table: dict[str, Any] = {}
            if rng.random() < 0.8:
                table["runtime_type"] = rng.choice(TYPES)
            if rng.random() < 0.3:
                table["options"] = {"BinaryName": "/usr/bin/" + name}
            runtimes[name] = table
        containerd["runtimes"] = runtimes
    section: dict[str, Any] = {"containerd": containerd}
    if rng.random() < 0.2:
        section["enable_selinux"] = True
    return section


def generate(rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    version = rng.choice([None, 1, 2, 2, 3, 3, 4, 5])
    if version is not None:
        doc["version"] = version
    kinds = [k for k in SECTIONS if rng.random() < 0.55]
    if version in (None, 1) and "v1" in kinds and "v2" in kinds:
        kinds.remove("v2")  # both renamed to one key: Go's map order decides (not modelled)
    plugins = {SECTIONS[k]: _section(rng) for k in kinds}
    if rng.random() < 0.05 and plugins:
        # a non-table runtimes: containerd panics or fails to decode
        first = next(iter(plugins.values()))
        first["containerd"]["runtimes"] = "runc"
    if plugins:
        doc["plugins"] = plugins
    return doc


def to_toml(doc: dict[str, Any]) -> str:
    """TOML text for a generated config (tables in [a."b".c] form)."""
    lines: list[str] = []

    def key(k: str) -> str:
        return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)

    def emit(path: list[str], table: dict[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in table.items() if isinstance(v, dict)}
        if path:
            lines.append("[" + ".".join(key(p) for p in path) + "]")
        for k, v in scalars.items():
            lines.append(f"{key(k)} = {json.dumps(v)}")
        for k, v in tables.items():
            emit([*path, k], v)

    emit([], doc)
    return "\n".join(lines) + "\n"


def linter_view(text: str, containerd: str) -> containerd2_model.Loaded:
    options = LintOptions(file_type="containerd")
    findings = lint_text(text, "config.toml", policy(containerd=containerd), options).findings
    if any(f.rule in ("SP408", "SP415") and f.severity == "error" for f in findings):
        return containerd2_model.Loaded(True, {}, "")
    source = SourceFile.of("config.toml", text, "containerd")
    view = config_facts(load(source), source).view(containerd)
    handlers = {name: h.runtime_type for name, h in view.handlers.items()}
    return containerd2_model.Loaded(False, handlers, view.default or "")


@needs_tomllib
def test_the_generated_configs_cover_every_path() -> None:
    rng = random.Random(2026)
    docs = [generate(rng) for _ in range(CONFIGS)]
    versions = {d.get("version") for d in docs}
    assert versions == {None, 1, 2, 3, 4, 5}
    both = [d for d in docs if {"io.containerd.grpc.v1.cri", RUNTIME} <= set(d.get("plugins", {}))]
    assert len(both) > 100
    assert all(TOMLLIB.loads(to_toml(d)) == d for d in docs)
    # The releases tell these configs apart: 2.0.2's merge, 2.3's migrations.
    loaded = {
        r: [containerd2_model.load(d, r) for d in docs] for r in ((2, 0, 0), (2, 0, 2), (2, 3, 4))
    }
    assert sum(a != b for a, b in zip(loaded[(2, 0, 0)], loaded[(2, 0, 2)], strict=True)) > 50
    assert sum(a != b for a, b in zip(loaded[(2, 0, 2)], loaded[(2, 3, 4)], strict=True)) > 200
    assert sum(not x.refused and len(x.handlers) > 1 for x in loaded[(2, 3, 4)]) > 300


RUNTIME = "io.containerd.cri.v1.runtime"


@needs_tomllib
@pytest.mark.parametrize("containerd", ["2.0.0", "2.0.2", "2.2", "2.3"])
def test_the_linter_agrees_with_the_model_of_containerd(containerd: str) -> None:
    rng = random.Random(2026)
    release = containerd_release(containerd)
    disagreements = []
    for _ in range(CONFIGS):
        doc = generate(rng)
        text = to_toml(doc)
        expected = containerd2_model.load(TOMLLIB.loads(text), release)
        got = linter_view(text, containerd)
        if got != expected:
            disagreements.append((text, expected, got))
    assert disagreements == []
