"""Report formats: SARIF 2.1.0 (schema-valid), GitHub annotations, JSON, text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shimpolicy.lint.engine import LintResult, lint_paths
from shimpolicy.lint.finding import Finding, Location
from shimpolicy.policy import Policy
from shimpolicy.report import WRITERS
from tests.conftest import FIXTURES, ROOT, SHARED


def _sarif_schema() -> dict[str, Any]:
    path = SHARED / "schemas" / "sarif-2.1.0.json"
    if not path.is_file():
        pytest.skip("shared/schemas/sarif-2.1.0.json is not beside this checkout")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def _validate(doc: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.Draft4Validator(_sarif_schema()).validate(doc)


FINDING = Finding(
    "a/compose.yaml",
    4,
    14,
    4,
    27,
    "SP104",
    "error",
    "bad: path",
    (Location("etc/daemon.json", 2, 3, 2, 9, "configured here"),),
)


def test_sarif_of_a_real_run_is_valid_and_describes_each_rule() -> None:
    result = lint_paths(
        [str(FIXTURES / "daemon_json" / "mistakes"), str(FIXTURES / "compose")], Policy.default()
    )
    # The fixtures' mistakes: daemon.json's and Compose's rules, errors and warnings.
    found = {f.rule for f in result.findings}
    assert {"SP202", "SP203", "SP207", "SP301", "SP302", "SP304"} <= found
    assert {f.severity for f in result.findings} >= {"error", "warning"}
    doc = json.loads(WRITERS["sarif"](result))
    _validate(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(found)
    for rule in rules:
        assert rule["help"]["text"] and rule["shortDescription"]["text"]
    assert len(run["results"]) == len(result.findings)
    for res, f in zip(run["results"], result.findings, strict=True):
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"] == f.rule
        region = res["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (f.line, f.column)


def test_sarif_when_clean_has_an_empty_results_list() -> None:
    doc = json.loads(WRITERS["sarif"](LintResult(3, ())))
    _validate(doc)
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_related_locations() -> None:
    doc = json.loads(WRITERS["sarif"](LintResult(1, (FINDING,))))
    _validate(doc)
    [related] = doc["runs"][0]["results"][0]["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "etc/daemon.json"
    assert related["physicalLocation"]["region"] == {
        "startLine": 2,
        "startColumn": 3,
        "endLine": 2,
        "endColumn": 9,
    }
    assert related["message"] == {"text": "configured here"}


def test_sarif_describes_a_user_policy_rule() -> None:
    f = Finding("compose.yaml", 1, 1, 1, 5, "no-kata", "error", "kata is not allowed here")
    doc = json.loads(WRITERS["sarif"](LintResult(1, (f,))))
    _validate(doc)
    assert doc["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "no-kata"


def test_github_annotations_escape_their_properties_and_data() -> None:
    f = Finding("a,b:c.yaml", 2, 3, 2, 8, "SP110", "warning", "50% of\nit")
    info = Finding("x.sh", 1, 1, 1, 2, "SP003", "info", "later")
    assert WRITERS["github"](LintResult(2, (f, info))) == (
        "::warning file=a%2Cb%3Ac.yaml,line=2,col=3,endLine=2,endColumn=8,title=SP110"
        "::50%25 of\\nit\n"  # a line break shown escaped, as in every format
        "::notice file=x.sh,line=1,col=1,endLine=1,endColumn=2,title=SP003::later\n"
    )


def test_json_report_fields() -> None:
    doc = json.loads(WRITERS["json"](LintResult(1, (FINDING,))))
    assert doc == {
        "version": 1,
        "files_checked": 1,
        "findings": [
            {
                "path": "a/compose.yaml",
                "line": 4,
                "column": 14,
                "end_line": 4,
                "end_column": 27,
                "rule": "SP104",
                "severity": "error",
                "message": "bad: path",
                "related": [
                    {
                        "path": "etc/daemon.json",
                        "line": 2,
                        "column": 3,
                        "message": "configured here",
                    }
                ],
                "fix": None,
            }
        ],
    }


def test_text_report_colours_only_when_asked() -> None:
    plain = WRITERS["text"](LintResult(1, (FINDING,)), sources={"a/compose.yaml": "x\n"})
    assert "\033[" not in plain
    assert plain.splitlines() == [
        "a/compose.yaml:4:14: error SP104 bad: path",
        "  note: etc/daemon.json:2:3: configured here",
        "1 error in 1 file",
    ]
    coloured = WRITERS["text"](LintResult(1, (FINDING,)), color=True, sources={})
    assert "\033[31merror\033[0m" in coloured


def test_text_report_aligns_the_caret_under_tabs() -> None:
    f = Finding("d.json", 2, 3, 2, 9, "SP201", "error", "reserved")
    out = WRITERS["text"](LintResult(1, (f,)), sources={"d.json": '{\n\t"runc": {}\n}\n'})
    assert out.splitlines()[1:3] == ['  2 |  "runc": {}', "    |   ^~~~~~"]


def test_sarif_uris_are_encoded_and_absolute_paths_are_file_uris() -> None:
    relative = Finding("my configs/compose.yaml", 1, 1, 1, 2, "SP104", "error", "x")
    absolute = Finding("/etc/docker/daemon.json", 1, 1, 1, 2, "SP201", "error", "y")
    doc = json.loads(WRITERS["sarif"](LintResult(2, (relative, absolute))))
    _validate(doc)
    locations = [
        r["locations"][0]["physicalLocation"]["artifactLocation"] for r in doc["runs"][0]["results"]
    ]
    assert locations == [
        {"uri": "my%20configs/compose.yaml", "uriBaseId": "%SRCROOT%"},
        {"uri": "file:///etc/docker/daemon.json"},
    ]


def test_sarif_rules_link_their_pages_and_rank_execution_paths_as_security() -> None:
    from shimpolicy.rulesdoc import REPOSITORY

    f102 = FINDING._replace(rule="SP102", related=())
    doc = json.loads(WRITERS["sarif"](LintResult(1, (FINDING, f102))))
    _validate(doc)
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == REPOSITORY
    rules = {r["id"]: r for r in driver["rules"]}
    assert rules["SP104"]["helpUri"] == f"{REPOSITORY}/blob/main/docs/rules/SP104.md"
    assert (ROOT / "docs" / "rules" / "SP104.md").is_file()
    assert rules["SP104"]["properties"]["security-severity"] == "9.1"
    assert "security-severity" not in rules["SP102"]["properties"]


def test_security_severity_is_on_exactly_the_rules_that_stop_a_path_being_executed() -> None:
    from shimpolicy.lint.rulebook import catalog

    ranked = {d.id: float(d.security_severity) for d in catalog().values() if d.security_severity}
    assert sorted(ranked) == ["SP103", "SP104", "SP106", "SP803"]
    assert all(0.0 < v <= 10.0 for v in ranked.values())


def test_sarif_fingerprints_follow_a_finding_when_lines_move() -> None:
    a = FINDING._replace(related=())
    moved = a._replace(line=40, end_line=40)
    twin = a._replace(line=9, end_line=9)  # the same rule, file and message again

    def prints(*findings: Finding) -> list[str]:
        doc = json.loads(WRITERS["sarif"](LintResult(1, findings)))
        _validate(doc)
        return [r["partialFingerprints"]["shimpolicyFinding/v1"] for r in doc["runs"][0]["results"]]

    (first,) = prints(a)
    assert prints(moved) == [first]
    assert len(set(prints(a, twin))) == 2
    (other,) = prints(a._replace(message="bad: another path"))
    assert other != first


@pytest.mark.parametrize("command", ["lint", "check"])
def test_output_schemas_are_valid_and_versioned(command: str) -> None:
    import jsonschema

    from shimpolicy.report.json import VERSION, schema
    from shimpolicy.rulesdoc import REPOSITORY

    s = schema(command)
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["properties"]["version"] == {
        "const": VERSION,
        "description": "The version of this format.",
    }
    assert s["$id"].startswith(REPOSITORY + "/")


def test_lint_json_of_a_real_run_follows_its_schema() -> None:
    import jsonschema

    from shimpolicy.report.json import schema

    result = lint_paths([str(FIXTURES / "links"), str(FIXTURES / "compose")], Policy.default())
    doc = json.loads(WRITERS["json"](result))
    assert any(f["related"] for f in doc["findings"])
    jsonschema.Draft202012Validator(schema("lint")).validate(doc)
    # The schema holds what it says: a finding without its rule is refused.
    del doc["findings"][0]["rule"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema("lint")).validate(doc)


def test_check_json_follows_its_schema() -> None:
    import io

    import jsonschema

    from shimpolicy.cli import main
    from shimpolicy.report.json import schema

    out = io.StringIO()
    names = ["io.containerd.kata.v2", "/tmp/x", "", "runc", "io.containerd.runtime.v1.linux"]
    main(["check", "--format", "json", "--containerd", "1.7", "--", *names], stdout=out)
    doc = json.loads(out.getvalue())
    assert doc["version"] == 1
    jsonschema.Draft202012Validator(schema("check")).validate(doc)
