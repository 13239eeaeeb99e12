"""The rule catalog in rules/: complete, consistent, examples that hold, docs in sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shimpolicy.cli import main
from shimpolicy.doctor import DoctorOptions, doctor
from shimpolicy.lint import rule_index
from shimpolicy.lint.engine import lint_paths, lint_text
from shimpolicy.lint.rulebook import catalog, index_source, lookup
from shimpolicy.policy import Policy, default_policy_table
from shimpolicy.rulesdoc import render_index, splice
from tests.conftest import ROOT
from tests.doctor import nodes

SEVERITIES = ("error", "warning", "info")
SOURCES = {
    "policy",
    "file",
    "daemon.json",
    "dockerd",
    "compose",
    "containerd",
    "kubernetes",
    "shell",
    "links",
    "doctor",
}


def _policy(settings: dict[str, Any]) -> Policy:
    if not settings:
        return Policy.default()
    return Policy.from_dict({"version": 1, "extends": "default", **settings})


def _lint_examples() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (doc.id, i, ex)
        for doc in catalog().values()
        for i, ex in enumerate(doc.examples)
        if "content" in ex
    ]


def test_every_rule_file_is_named_for_its_id_and_complete() -> None:
    files = sorted(p.stem for p in (ROOT / "rules").glob("*.yaml"))
    assert files == sorted(catalog())
    names = [doc.name for doc in catalog().values()]
    assert len(names) == len(set(names))
    for doc in catalog().values():
        raw = yaml.safe_load((ROOT / "rules" / f"{doc.id}.yaml").read_text(encoding="utf-8"))
        assert set(raw) >= {"id", "name", "title", "severity", "source", "rationale", "examples"}
        # Policy rules that allow report nothing: their severity is "none".
        allowed = ("error", "warning", "info", "none") if doc.source == "policy" else SEVERITIES
        assert doc.severity in allowed, doc.id
        assert doc.source in SOURCES, doc.id
        assert doc.rationale, doc.id


def test_every_lint_rule_has_a_failing_and_a_passing_example() -> None:
    for doc in catalog().values():
        if doc.source == "policy":
            continue
        expects = [bool(ex["expect"]) for ex in doc.examples if "content" in ex or "node" in ex]
        assert True in expects and False in expects, doc.id


@pytest.mark.parametrize(("rule", "index", "example"), _lint_examples())
def test_rule_example(rule: str, index: int, example: dict[str, Any], tmp_path: Path) -> None:
    """Each example is linted alone, or with the files in its `also` list in one run."""
    policy = _policy(example.get("policy") or {})
    if example.get("also"):
        for item in (example, *example["also"]):
            path = tmp_path / item["filename"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(item["content"], encoding="utf-8")
        target = (tmp_path / example["filename"]).as_posix()
        findings = [f for f in lint_paths([str(tmp_path)], policy).findings if f.path == target]
    else:
        findings = list(lint_text(example["content"], example["filename"], policy).findings)
    got = [{"rule": f.rule, "line": f.line, "column": f.column} for f in findings if f.rule == rule]
    assert got == [
        {"rule": e["rule"], "line": e["line"], "column": e["column"]} for e in example["expect"]
    ]


def _node_examples() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (doc.id, i, ex)
        for doc in catalog().values()
        for i, ex in enumerate(doc.examples)
        if "node" in ex
    ]


@pytest.mark.parametrize(("rule", "index", "example"), _node_examples())
def test_doctor_rule_example(
    rule: str, index: int, example: dict[str, Any], tmp_path: Path
) -> None:
    """Each doctor example is a node built as written, checked with its manifests."""
    node = nodes.build(tmp_path / "node", example["node"])
    manifests = nodes.build(tmp_path / "manifests", example.get("manifests", ()))
    options = DoctorOptions(
        str(node),
        example.get("containerd", "2.0"),
        example.get("docker", "28"),
        (str(manifests),) if example.get("manifests") else (),
    )
    findings = doctor(_policy(example.get("policy") or {}), options).findings
    got = [
        {"rule": f.rule, "path": f.path, "line": f.line, "column": f.column}
        for f in findings
        if f.rule == rule
    ]
    assert got == [{**e, "path": f"{node}/{e['path']}"} for e in example["expect"]]


def test_readme_generated_sections_are_up_to_date() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render_index() in readme
    assert default_policy_table().rstrip() in readme
    assert splice(readme) == readme, "run `python -m shimpolicy.rulesdoc README.md`"


def test_rule_command_prints_one_rules_documentation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "reserved-runc"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SP201 reserved-runc: `runc` is reserved in daemon.json runtimes\n")
    assert "runtime name 'runc' is reserved" in out


def test_rule_command_rejects_an_unknown_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "SP999"]) == 2
    assert capsys.readouterr().err == (
        "shimpolicy: error: unknown rule 'SP999'; `shimpolicy rule` lists them\n"
    )


def test_rule_index_is_the_rule_files_as_data() -> None:
    # rule_index.py spares a lint run PyYAML; its docstring says how to write it again.
    written = Path(rule_index.__file__).read_text(encoding="utf-8")
    assert written == index_source(), "rules/ changed: write rule_index.py again (its docstring)"


def test_a_lint_run_reads_no_yaml_for_severities(tmp_path: Path) -> None:
    (tmp_path / "daemon.json").write_text('{"runtimes": {"runc": {"path": "/x"}}}')
    code = (
        "import sys; from shimpolicy.cli import main\n"
        "status = main(['lint', 'daemon.json'])\n"
        "print(status, 'yaml' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stderr.splitlines()[-1] == "1 False"


def test_lookup_by_id_and_by_name_agree() -> None:
    for doc in catalog().values():
        assert lookup(doc.id) is doc
        assert lookup(doc.name) is doc


def test_readme_policy_example_is_a_valid_policy(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Policies") :]
    block = section[
        section.index("```yaml\n") + 8 : section.index("```\n", section.index("```yaml"))
    ]
    path = tmp_path / ".shimpolicy.yaml"
    path.write_text(block)
    policy = Policy.load(path)
    assert policy.decide("io.containerd.kata.v2").rule == "kata"
    assert policy.decide("/usr/bin/x").rule == "no-paths"
    assert policy.decide("/usr/bin/x").reason == "containerd would execute /usr/bin/x as root"
