"""Properties of every file reader and check: linting never raises, and every finding
points inside the file it names."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.strategies import names
from shimpolicy.lint.engine import LintOptions, lint_text
from shimpolicy.policy import Policy

POLICY = Policy.default()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _toml_string(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string for these characters


def _yaml_string(s: str) -> str:
    return json.dumps(s)  # JSON strings are YAML double-quoted scalars


TEMPLATES = {
    "daemon.json": lambda n: json.dumps(
        {
            "default-runtime": n,
            "runtimes": {n: {"runtimeType": n}, "x": {"path": n, "runtimeArgs": [n]}},
        },
        indent="\t",
    ),
    "compose.yaml": lambda n: f"services:\n  a:\n    image: x\n    runtime: {_yaml_string(n)}\n",
    "config.toml": lambda n: (
        f'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
        f"  default_runtime_name = {_toml_string(n)}\n"
        f'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{_toml_string(n)}]\n'
        f"  runtime_type = {_toml_string(n)}\n  runtime_path = {_toml_string(n)}\n"
    ),
    "manifest.yaml": lambda n: (
        f"apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: {_yaml_string(n)}\n"
        f"handler: {_yaml_string(n)}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
        f"spec:\n  runtimeClassName: {_yaml_string(n)}\n  containers: []\n"
    ),
    "run.sh": lambda n: (
        f"#!/bin/sh\ndocker run --runtime {json.dumps(n)} img\nctr run --runtime={n} i x\n"
    ),
    ".github/workflows/ci.yml": lambda n: (
        f"on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: |\n"
        f"          docker run --runtime {json.dumps(n)} img\n"
    ),
}


def _check(text: str, filename: str, file_type: str | None = None) -> None:
    result = lint_text(text, filename, POLICY, LintOptions(file_type=file_type))
    lines = text.removeprefix("\ufeff").splitlines() or [""]
    for f in result.findings:
        assert 1 <= f.line <= len(lines) + 1, f
        assert f.column >= 1 and (f.end_line, f.end_column) >= (f.line, f.column), f
        assert f.severity in ("error", "warning", "info"), f


@SETTINGS
@given(name=names(), filename=st.sampled_from(sorted(TEMPLATES)))
def test_any_runtime_name_in_any_file_type(name: str, filename: str) -> None:
    _check(TEMPLATES[filename](name), filename)


@SETTINGS
@given(
    text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300),
    file_type=st.sampled_from(
        ["daemon.json", "compose", "containerd", "kubernetes", "shell", "workflow"]
    ),
)
def test_arbitrary_text_as_any_file_type(text: str, file_type: str) -> None:
    _check(text, "input", file_type)


@SETTINGS
@given(
    name=names(),
    filename=st.sampled_from(sorted(TEMPLATES)),
    cut=st.integers(min_value=0, max_value=400),
    junk=st.sampled_from(["", "{", "[", '"', "'", "\\", "\n", "\t", "&a", "*a", "<<: ", "${", "#"]),
)
def test_truncated_and_corrupted_documents(name: str, filename: str, cut: int, junk: str) -> None:
    text = TEMPLATES[filename](name)
    _check(text[:cut] + junk + text[cut:], filename)
