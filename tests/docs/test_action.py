"""action.yml, the GitHub Action: its steps' own commands, run as the runner would run them
(inputs and outputs through the same environment variables and files), in a fresh copy of
the checkout.  The two steps that use other actions (setup-python, upload-sarif) are GitHub's;
what they are given is checked instead."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, SHARED
from tests.docs.conftest import commit_has, options_known_at

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXAMPLE_WORKFLOW = ROOT / "examples" / "ci" / "shimpolicy.yml"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Runner:
    """Runs a composite action's `run` steps with GitHub's conventions: ``inputs.*`` with
    their defaults, ``github.action_path``, ``steps.<id>.outputs.*`` read from each step's
    $GITHUB_OUTPUT, $GITHUB_PATH prepended to PATH for the steps after."""

    def __init__(self, action_path: Path, work: Path, inputs: dict[str, str]) -> None:
        declared = ACTION["inputs"]
        assert set(inputs) <= set(declared), set(inputs) - set(declared)
        self.inputs = {k: str(v.get("default", "")) for k, v in declared.items()} | inputs
        self.action_path = action_path
        self.work = work
        self.temp = work.parent / "runner-temp"
        self.temp.mkdir(exist_ok=True)
        self.outputs: dict[str, dict[str, str]] = {}
        self.path: list[str] = [str(Path(sys.executable).parent)]  # setup-python's Python
        self.uses: list[tuple[str, dict[str, str]]] = []
        self.log = ""  # every step's output, in order

    def value(self, expression: str) -> str:
        if expression.startswith("inputs."):
            return self.inputs[expression.removeprefix("inputs.")]
        if expression == "github.action_path":
            return str(self.action_path)
        m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
        if m:
            return self.outputs.get(m[1], {}).get(m[2], "")
        raise AssertionError(f"action.yml uses an expression this test cannot read: {expression}")

    def render(self, text: str) -> str:
        return _EXPRESSION.sub(lambda m: self.value(m[1]), text)

    def condition(self, step: dict[str, Any]) -> bool:
        if "if" not in step:
            return True
        m = re.fullmatch(r"([\w.-]+)\s*==\s*'([^']*)'", step["if"].strip())
        assert m, f"action.yml has a condition this test cannot read: {step['if']}"
        return self.value(m[1]) == m[2]

    def run(self, steps: list[dict[str, Any]]) -> list[int]:
        """Each step's exit status, up to the first that fails (where the job stops)."""
        statuses = []
        for step in steps:
            if not self.condition(step):
                continue
            if "uses" in step:
                with_ = {k: self.render(str(v)) for k, v in step.get("with", {}).items()}
                self.uses.append((step["uses"], with_))
                continue
            assert step["shell"] == "bash"
            output, github_path = self.temp / "output", self.temp / "path"
            output.write_text("")
            github_path.write_text("")
            env = {
                **os.environ,
                **{k: self.render(str(v)) for k, v in step.get("env", {}).items()},
                "RUNNER_TEMP": str(self.temp),
                "GITHUB_OUTPUT": str(output),
                "GITHUB_PATH": str(github_path),
                "PATH": os.pathsep.join([*self.path, os.environ["PATH"]]),
            }
            assert _EXPRESSION.search(step["run"]) is None, "inputs reach scripts through env"
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=self.work,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            self.log += proc.stdout + proc.stderr
            statuses.append(proc.returncode)
            if "id" in step:
                self.outputs[step["id"]] = dict(
                    line.split("=", 1) for line in output.read_text().splitlines()
                )
            self.path[:0] = reversed(github_path.read_text().splitlines())
            if proc.returncode != 0:
                break  # the job stops at a failed step
        return statuses


def _validate_sarif(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    schema_path = SHARED / "schemas" / "sarif-2.1.0.json"
    if schema_path.is_file():
        import jsonschema

        jsonschema.Draft4Validator(json.loads(schema_path.read_text())).validate(doc)
    return doc


STEPS = ACTION["runs"]["steps"]
# The steps up to the install, which the tests run once; the ones after, for each case.
_INSTALLED = 1 + next(i for i, s in enumerate(STEPS) if "pip install" in s.get("run", ""))
SETUP, LINT = STEPS[:_INSTALLED], STEPS[_INSTALLED:]


@pytest.fixture(scope="module")
def installed(fresh_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """The action's first steps, once: setup-python (this Python) and the install."""
    work = tmp_path_factory.mktemp("action") / "repo"
    work.mkdir()
    runner = Runner(fresh_clone, work, {})
    assert runner.run(SETUP) == [0], runner.log
    assert runner.uses == [("actions/setup-python@v5", {"python-version": "3.12"})]
    return runner


class _Case(Runner):
    def __init__(self, installed: Runner, inputs: dict[str, str]) -> None:
        super().__init__(installed.action_path, installed.work, inputs)
        self.path = list(installed.path)  # what the install put on PATH

    def lint(self) -> list[int]:
        return self.run(LINT)


def _run(installed: Runner, inputs: dict[str, str]) -> _Case:
    return _Case(installed, inputs)


def test_the_action_installs_shimpolicy_from_its_own_checkout(installed: Runner) -> None:
    shimpolicy = Path(installed.path[0]) / "shimpolicy"
    assert shimpolicy.is_file()
    assert str(shimpolicy).startswith(str(installed.temp))
    site = subprocess.run(
        [str(shimpolicy.parent / "python"), "-c", "import shimpolicy; print(shimpolicy.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed.work,
    ).stdout
    assert str(installed.temp) in site  # installed into the runner's venv, not editable
    # What the package ships: the output schemas, with the version its JSON carries.
    shipped = subprocess.run(
        [
            str(shimpolicy.parent / "python"),
            "-c",
            "from shimpolicy.report.json import schema; "
            "print(schema('lint')['properties']['version'], schema('check')['title'])",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed.work,
    ).stdout
    assert shipped.startswith("{'const': 1,")
    assert "shimpolicy check --format json, version 1" in shipped


def test_no_file_to_check_passes_and_says_so(installed: Runner) -> None:
    (installed.work / "deploy").mkdir(exist_ok=True)
    case = _run(installed, {"paths": "deploy", "upload-sarif": "false"})
    assert case.lint() == [0, 0]
    assert "0 files checked" in case.log


def test_paths_clean_at_the_threshold_pass_and_upload_the_report(
    installed: Runner, fresh_clone: Path
) -> None:
    good = fresh_clone / "examples" / "good"
    runner = _run(installed, {"paths": f"{good}/docker-host {good}/cluster"})
    assert runner.lint()[-1] == 0
    assert runner.outputs["lint"]["status"] == "0"
    (uses, with_), *_ = [u for u in runner.uses if u[0].startswith("github/codeql-action")]
    assert uses == "github/codeql-action/upload-sarif@v3"
    sarif = installed.work / with_["sarif_file"]
    levels = {r["level"] for r in _validate_sarif(sarif)["runs"][0]["results"]}
    assert "error" not in levels  # what is reported is below the threshold


def test_findings_at_the_threshold_fail_the_job_after_the_upload(
    installed: Runner, fresh_clone: Path
) -> None:
    bad = fresh_clone / "examples" / "bad" / "docker-host"
    runner = _run(installed, {"paths": str(bad)})
    statuses = runner.lint()
    assert statuses[-1] == 1  # the last step fails the job
    assert statuses == [0, 1]  # the lint step passed its report on; the last one fails
    assert [u for u, _ in runner.uses] == ["github/codeql-action/upload-sarif@v3"]
    results = _validate_sarif(installed.work / "shimpolicy.sarif")["runs"][0]["results"]
    assert results and all(r["partialFingerprints"] for r in results)
    assert "findings at or above 'error'" in runner.log


def _levels(installed: Runner) -> dict[str, set[str]]:
    doc = _validate_sarif(installed.work / "shimpolicy.sarif")
    levels: dict[str, set[str]] = {}
    for r in doc["runs"][0]["results"]:
        levels.setdefault(r["ruleId"], set()).add(r["level"])
    return levels


def test_a_policy_given_is_the_only_one_applied(installed: Runner, fresh_clone: Path) -> None:
    # A policy in the linted repository that allows everything is not read (--isolated):
    # without the input, the embedded default decides; with it, the policy given does.
    discovered = installed.work / ".shimpolicy.yaml"
    discovered.write_text(
        "version: 1\ndefault: allow\nrules: [{id: anything, match: {name: '*'}, action: allow}]\n"
    )
    given = installed.work / "ci-policy.yaml"
    given.write_text("version: 1\nextends: default\nseverity: {SP104: info}\n")
    bad = str(fresh_clone / "examples" / "bad" / "docker-host")
    try:
        assert _run(installed, {"paths": bad, "upload-sarif": "false"}).lint() == [0, 1]
        assert _levels(installed)["SP104"] == {"error"}
        case = _run(installed, {"paths": bad, "policy": str(given), "upload-sarif": "x"})
        assert case.lint() == [0, 1]  # SP106, SP2xx … are still errors
    finally:
        discovered.unlink()
    assert case.uses == []  # upload-sarif other than "true": nothing uploaded
    assert _levels(installed)["SP104"] == {"note"}


def test_a_usage_error_stops_at_the_lint_step(installed: Runner) -> None:
    runner = _run(installed, {"paths": "no-such-dir", "fail-on": "error"})
    assert runner.lint()[-1] == 2
    assert runner.uses == []  # nothing uploaded
    assert "no-such-dir: no such file or directory" in runner.log


def test_the_example_workflow_uses_this_action_at_a_commit_that_has_it() -> None:
    workflow = yaml.safe_load(EXAMPLE_WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["shimpolicy"]["steps"]
    (ref,) = [s["uses"] for s in steps if "shimpolicy" in s.get("uses", "")]
    from shimpolicy.rulesdoc import REPOSITORY

    repo, _, commit = ref.partition("@")
    assert f"https://github.com/{repo}" == REPOSITORY
    assert re.fullmatch(r"[0-9a-f]{40}", commit), "pin a full commit"
    pinned = yaml.safe_load(commit_has(commit, "action.yml"))
    # The action at that commit takes what the workflow gives it, and the shimpolicy it
    # installs (the same commit) has every option its steps use.
    step = next(s for s in steps if "shimpolicy" in s.get("uses", ""))
    assert set(step.get("with", {})) <= set(pinned["inputs"])
    scripts = "\n".join(s.get("run", "") for s in pinned["runs"]["steps"])
    assert options_known_at(commit, scripts) == []
    assert workflow["jobs"]["shimpolicy"]["permissions"]["security-events"] == "write"
