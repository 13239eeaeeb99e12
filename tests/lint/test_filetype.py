"""How a file's type is told from its name and content: Compose's file names, daemon.json
under per-host names, scripts, Kubernetes manifests written as JSON."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from shimpolicy.lint.engine import lint_paths
from shimpolicy.lint.filetype import is_compose_name, type_by_content, type_by_name
from shimpolicy.policy import Policy

# The names Compose reads, as globs (compose-spec: compose.yaml and its overrides).
GLOBS = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
    "compose.*.yaml",
    "compose.*.yml",
    "docker-compose.*.yaml",
    "docker-compose.*.yml",
)
PIECES = st.sampled_from(["compose", "docker-", ".", "yaml", "yml", "override", "-", "x", ""])


@given(st.lists(PIECES, max_size=6).map("".join))
def test_compose_names_are_exactly_the_globs(base: str) -> None:
    assert is_compose_name(base) == any(fnmatchcase(base, g) for g in GLOBS)


def test_compose_names_decide_the_type() -> None:
    assert type_by_name("deploy/compose.yaml") == "compose"
    assert type_by_name("docker-compose.override.yml") == "compose"
    assert type_by_name("compose..yaml") == "compose"
    assert type_by_name("compose.yaml.bak") is None
    assert type_by_name("my-compose.yaml") is None
    assert type_by_name("Compose.yaml") is None


def test_daemon_json_under_per_host_names() -> None:
    for name in ("daemon.json", "daemon.prod.json", "etc/prod.daemon.json", "daemon.a.b.json"):
        assert type_by_name(name) == "daemon.json", name
    for name in ("mydaemon.json", "daemon.jsonc", "daemon-prod.json", "daemon.json.bak"):
        assert type_by_name(name) is None, name


def test_zsh_scripts_by_extension_and_extensionless_scripts_by_shebang(tmp_path: Path) -> None:
    assert type_by_name("bin/deploy.zsh") == "shell"
    run = "docker run --runtime /tmp/x alpine\n"
    (tmp_path / "deploy.zsh").write_text(run)
    for name, shebang in (("start", "#!/usr/bin/env zsh"), ("stop", "#!/bin/bash -e")):
        (tmp_path / name).write_text(f"{shebang}\n{run}")
    (tmp_path / "notes").write_text(run)  # no shebang: not a script
    found = lint_paths([str(tmp_path)], Policy.default()).findings
    assert sorted((Path(f.path).name, f.rule) for f in found) == [
        ("deploy.zsh", "SP104"),
        ("start", "SP104"),
        ("stop", "SP104"),
    ]


RUNTIMECLASS_JSON = """{
  "apiVersion": "node.k8s.io/v1",
  "kind": "RuntimeClass",
  "metadata": {"name": "kata"},
  "handler": "io.containerd.kata.v2"
}
"""


def test_kubernetes_manifests_written_as_json(tmp_path: Path) -> None:
    (tmp_path / "rc.json").write_text(RUNTIMECLASS_JSON)
    (tmp_path / "package.json").write_text('{"name": "x", "kind": "app", "version": "1"}\n')
    (tmp_path / "tsconfig.json").write_text('{"compilerOptions": {"strict": true}}\n')
    result = lint_paths([str(tmp_path)], Policy.default())
    assert result.files_checked == 1
    assert [(Path(f.path).name, f.line, f.column, f.rule) for f in result.findings] == [
        ("rc.json", 5, 14, "SP502")
    ]
    assert type_by_content("rc.json", RUNTIMECLASS_JSON) == "kubernetes"
    assert type_by_content("rc.json", '{"apiVersion": "v1"}') is None
