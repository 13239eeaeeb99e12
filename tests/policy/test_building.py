"""A policy that only tunes the linter builds on the default policy, severity and ignore
name only rules that exist, and policy files go through the same guarded YAML reader as
linted files (SPEC §5.3)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from shimpolicy.cli import main
from shimpolicy.policy import Policy, PolicyError


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdin=io.StringIO(""), stdout=out), out.getvalue()


# ------------------------------------------------------------- no rules: the default's


def test_a_policy_that_only_tunes_severities_keeps_the_default_rules(tmp_path: Path) -> None:
    path = tmp_path / ".shimpolicy.yaml"
    path.write_text("version: 1\nseverity: {SP211: off}\n")
    policy = Policy.load(path)
    assert [r.id for r in policy.rules] == [r.id for r in Policy.default().rules]
    assert policy.decide("io.containerd.kata.v2").action == "allow"
    assert (policy.default_action, policy.default_origin) == ("deny", "default policy")
    assert dict(policy.severity) == {"SP211": "off"}


def test_pyproject_that_only_tunes_severities_keeps_the_default_rules(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.shimpolicy]\nversion = 1\nseverity = { SP211 = "off" }\n')
    policy = Policy.load(path)
    assert [r.id for r in policy.rules] == [r.id for r in Policy.default().rules]
    assert policy.decide("io.containerd.kata.v2").action == "allow"


def test_extends_none_starts_from_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nextends: none\ndefault: deny\n")
    policy = Policy.load(path)
    assert policy.rules == ()
    d = policy.decide("io.containerd.kata.v2")
    assert (d.action, d.rule) == ("deny", "default")


def test_a_policy_with_rules_of_its_own_still_stands_alone() -> None:
    policy = Policy.from_dict(
        {"version": 1, "rules": [{"id": "kata", "match": {"binary": "*kata*"}, "action": "allow"}]}
    )
    assert [r.id for r in policy.rules] == ["kata"]


def test_check_with_a_severity_only_policy_allows_a_shim(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nseverity: {SP211: off}\n")
    code, out = run("check", "--policy", str(path), "io.containerd.kata.v2")
    assert (code, out.split("\t")[0]) == (0, "allow")


def test_policy_validate_says_what_a_policy_without_rules_builds_on(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nseverity: {SP211: off}\n")
    assert run("policy", "validate", str(path)) == (
        0,
        f"{path}: valid; it has no rules of its own, so it builds on the default policy "
        "(write `extends: none` to start from nothing)\n",
    )


# ------------------------------------------------------------- rule ids that exist


def test_an_unknown_rule_id_in_severity_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nseverity:\n  SP201: warning\n  SP999: off\n")
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert str(raised.value) == (
        f"{path}:4:3: severity.SP999: no rule has the id 'SP999' "
        "(`shimpolicy rule` lists the linter's rules)"
    )


def test_an_unknown_rule_id_in_pyproject_severity_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.shimpolicy]\nversion = 1\n\n[tool.shimpolicy.severity]\nSP999 = "off"\n')
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert str(raised.value) == (
        f"{path}:5:1: tool.shimpolicy.severity.SP999: no rule has the id 'SP999' "
        "(`shimpolicy rule` lists the linter's rules)"
    )


def test_an_unknown_rule_id_in_ignore_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nignore:\n  - path: 'x/**'\n    rules: [SP201, SP99]\n    reason: old\n"
    )
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert str(raised.value) == (
        f"{path}:4:20: ignore[0].rules[1]: no rule has the id 'SP99' "
        "(`shimpolicy rule` lists the linter's rules)"
    )


def test_severity_may_name_the_policys_own_rules(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nextends: default\n"
        "rules: [{id: no-kata, match: {binary: '*kata*'}, action: deny}]\n"
        "severity: {no-kata: warning, SP110: off}\n"
    )
    assert dict(Policy.load(path).severity) == {"no-kata": "warning", "SP110": "off"}


def test_policy_validate_refuses_an_unknown_rule_id(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nseverity: {SP999: off}\n")
    assert run("policy", "validate", str(path))[0] == 2


# ------------------------------------------------------------- the guarded reader


def test_a_huge_ignore_list_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    entries = "".join(
        f"  - {{path: 'dir{i}/**', rules: [SP201], reason: r}}\n" for i in range(200_000)
    )
    path.write_text("version: 1\nignore:\n" + entries)
    start = time.perf_counter()
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert time.perf_counter() - start < 5
    assert raised.value.message == (
        f"cannot read policy: file is {path.stat().st_size} bytes, larger than the "
        "1048576-byte limit; not read"
    )


def test_a_policy_with_too_many_values_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nexclude: [" + "a, " * 120_000 + "]\n")
    start = time.perf_counter()
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert time.perf_counter() - start < 5
    assert raised.value.message == (
        "invalid YAML: document expands to more than 100000 nodes (alias bomb?)"
    )


def test_a_deeply_nested_policy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nexclude: " + "[" * 600 + "]" * 600 + "\n")
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert str(raised.value) == f"{path}:2:73: invalid YAML: nesting deeper than 64 levels"


def test_a_policy_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as raised:
        Policy.load(tmp_path)
    assert str(raised.value) == f"{tmp_path}: cannot read policy: not a regular file; not read"
