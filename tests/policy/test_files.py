"""Policy files (SPEC §5.3): loading, extending, refusing bad ones, discovery, rendering."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from shimpolicy.policy import (
    Conditions,
    PathIgnore,
    Policy,
    PolicyError,
    explain,
    render_policy,
)
from tests.conftest import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "policy"


@pytest.fixture
def in_fixtures() -> Iterator[Path]:
    """Run in the fixtures directory, so that messages name files as a user would see them."""
    old = Path.cwd()
    os.chdir(FIXTURES)
    try:
        yield FIXTURES
    finally:
        os.chdir(old)


# ------------------------------------------------------------------- SPEC §5.3 example


def test_spec_example_policy_puts_its_rules_before_the_default_policys() -> None:
    policy = Policy.load(FIXTURES / "spec-example.shimpolicy.yaml")
    ids = [r.id for r in policy.rules]
    assert ids[:3] == ["stock-runc", "kata", "no-paths"]
    assert ids[3:] == [r.id for r in Policy.default().rules]
    assert (policy.containerd, policy.docker, policy.platform) == ("2.0", "28", "linux")
    assert policy.default_action == "deny"


@pytest.mark.parametrize(
    ("name", "context", "action", "rule"),
    [
        ("io.containerd.runc.v2", "request", "allow", "stock-runc"),
        ("io.containerd.kata.v2", "request", "allow", "kata"),
        ("io.containerd.kata-qemu.v2", "config", "allow", "kata"),
        # Your rules win: the default policy would warn on this alias (SP110).
        ("com.example.kata.v2", "request", "allow", "kata"),
        ("/opt/kata/bin/containerd-shim-kata-v2", "request", "deny", "no-paths"),
        # A rule without `context` applies in both; no-paths has one, so config falls through.
        ("/opt/kata/bin/containerd-shim-kata-v2", "config", "allow", "SP107"),
        ("/tmp/containerd-shim-kata-v2", "config", "deny", "SP106"),
        ("com.example.runc.v2", "request", "warn", "SP110"),
        ("runc", "request", "deny", "SP102"),
        ("io.containerd.wasmtime.v1", "request", "allow", "SP113"),
    ],
)
def test_spec_example_policy_decisions(name: str, context: str, action: str, rule: str) -> None:
    d = Policy.load(FIXTURES / "spec-example.shimpolicy.yaml").decide(name, context)
    assert (d.action, d.rule) == (action, rule)


def test_spec_example_reasons_and_origins(in_fixtures: Path) -> None:
    policy = Policy.load("spec-example.shimpolicy.yaml")
    paths = policy.decide("/usr/local/bin/x")
    assert paths.reason == "containerd would execute this file as root"
    assert paths.origin == "spec-example.shimpolicy.yaml:15"
    kata = policy.decide("io.containerd.kata.v2")
    assert kata.reason == "rule 'kata' matched: binary matches containerd-shim-kata-*"
    assert kata.origin == "spec-example.shimpolicy.yaml:12"
    assert policy.decide("com.example.runc.v2").origin == "default policy"
    assert policy.source == "spec-example.shimpolicy.yaml"


def test_extending_keeps_the_default_action_unless_set() -> None:
    policy = Policy.from_dict({"version": 1, "extends": "default", "default": "warn"})
    assert (policy.default_action, policy.default_origin) == ("warn", "<dict> (default)")
    assert Policy.from_dict({"version": 1, "extends": "default"}).default_origin == "default policy"


def test_a_policy_without_extends_has_only_its_rules_and_denies_the_rest() -> None:
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {"id": "runc", "match": {"name": "io.containerd.runc.v2"}, "action": "allow"}
            ],
        }
    )
    assert [r.id for r in policy.rules] == ["runc"]
    d = policy.decide("io.containerd.kata.v2")
    assert (d.action, d.rule, d.origin) == ("deny", "default", "<dict>")
    assert d.reason == "no rule matched; the policy's default action is deny"


# ------------------------------------------------------------------- every match key


def test_full_policy_settings(in_fixtures: Path) -> None:
    policy = Policy.load("full.shimpolicy.yaml")
    assert (policy.containerd, policy.docker, policy.default_action) == ("1.6", "24", "warn")
    assert dict(policy.severity) == {"SP201": "warning", "SP304": "off"}
    assert policy.exclude == ("vendor/**", "third_party/**")
    assert policy.ignore == (
        PathIgnore(
            ("legacy/**/daemon.json",),
            ("SP203",),
            "kept for the old fleet until 2027",
            "full.shimpolicy.yaml:28",
        ),
    )
    assert policy.rule("pinned-wasm") is not None
    assert policy.rule("pinned-wasm").match.alternatives == (  # type: ignore[union-attr]
        Conditions(name=("io.containerd.wasmtime.v1", "io.containerd.spin.v2"), known=True),
    )


@pytest.mark.parametrize(
    ("name", "context", "rule", "reason"),
    [
        (
            "io.containerd.spin.v2",
            "request",
            "pinned-wasm",
            "io.containerd.spin.v2 is one of our Wasm shims (Spin)",
        ),
        (
            "/opt/vendor/kata/shim",
            "config",
            "vendor-dir",
            "rule 'vendor-dir' matched: kind is path and context is config and directory "
            "matches /opt/vendor/*",
        ),
        ("com.example.runc.v2", "config", "odd", "rule 'odd' matched: note has alias"),
        (
            "io.containerd.kata.v2/x",
            "request",
            "odd",
            "rule 'odd' matched: context is request and Docker refuses it (D1)",
        ),
        (
            "io.containerd.kata.v2",
            "config",
            "default",
            "no rule matched; the policy's default action is warn",
        ),
    ],
)
def test_full_policy_decisions(name: str, context: str, rule: str, reason: str) -> None:
    d = Policy.load(FIXTURES / "full.shimpolicy.yaml").decide(name, context)
    assert (d.rule, d.reason) == (rule, reason)


def match_policy(match: dict[str, object], platform: str = "linux") -> Policy:
    rule = {"id": "r", "match": match, "action": "allow"}
    return Policy.from_dict({"version": 1, "platform": platform, "rules": [rule]})


@pytest.mark.parametrize(
    ("match", "name", "context", "matches"),
    [
        ({"name": "io.containerd.kata*.v2"}, "io.containerd.kata-fc.v2", "request", True),
        ({"name": "io.containerd.kata*.v2"}, "IO.containerd.kata.v2", "request", False),
        ({"name": ["a.*", "b.*"]}, "b.x", "request", True),
        ({"binary": "containerd-shim-kata-*"}, "x.kata-qemu.v2", "request", True),
        ({"binary": "containerd-shim-kata-*"}, "runc", "request", False),
        ({"binary": "/opt/*"}, "/opt/x", "config", True),
        ({"kind": "path"}, "/x", "request", True),
        ({"kind": ["invalid", "empty"]}, "", "request", True),
        ({"context": "config"}, "a.b", "request", False),
        ({"context": ["config", "request"]}, "a.b", "request", True),
        ({"docker_permitted": True}, "a.b", "request", True),
        ({"docker_permitted": False}, "a.b", "request", False),
        ({"known": True}, "x.runc.v2", "request", True),
        ({"known": False}, "x.runc.v2", "request", False),
        ({"note": ["alias", "bidi"]}, "x.runc.v2", "request", True),
        ({"note": "no-version"}, "x.runc.v2", "request", False),
        ({"dir": "/opt/*"}, "/opt/a/b/shim", "config", True),
        ({"dir": "/opt/*"}, "io.x.v2", "config", False),
        ({}, "anything at all", "config", True),
        ({"name": "a.*", "kind": "shim", "context": "request"}, "a.b", "config", False),
    ],
)
def test_match_keys(match: dict[str, object], name: str, context: str, matches: bool) -> None:
    assert (match_policy(match).decide(name, context).rule == "r") is matches


def test_an_empty_match_in_yaml_matches_everything() -> None:
    policy = Policy.from_dict(
        {"version": 1, "rules": [{"id": "all", "match": None, "action": "warn"}]}
    )
    assert policy.decide("").rule == "all"


def test_windows_binary_globs_ignore_case_and_the_exe_suffix() -> None:
    policy = match_policy({"binary": "containerd-shim-runhcs-v1"}, platform="windows")
    assert policy.decide("io.containerd.RUNHCS.v1", "config").rule == "r"
    assert policy.decide("io.containerd.kata.v2", "config").rule == "default"


def test_windows_dir_globs_may_use_forward_slashes() -> None:
    policy = match_policy({"dir": "c:/program files/*"}, platform="windows")
    assert policy.decide("C:\\Program Files\\x\\shim.exe", "config").rule == "r"


def test_reason_placeholders_are_filled_in() -> None:
    fields = " ".join(f"{{{f}}}" for f in ("name", "kind", "binary", "context", "notes"))
    rule = {"id": "r", "action": "warn", "reason": fields + " {{literal}}"}
    policy = Policy.from_dict({"version": 1, "rules": [rule]})
    assert policy.decide("com.example.runc.v2").reason == (
        "com.example.runc.v2 shim containerd-shim-runc-v2 request alias {literal}"
    )


def test_reason_placeholders_that_convert_or_format_are_filled_in_too() -> None:
    reason = "{name!r} is {kind:>6} on containerd {containerd} ({context}, {platform}) {{x}}"
    rule = {"id": "r", "action": "warn", "reason": reason}
    policy = Policy.from_dict({"version": 1, "containerd": "1.7", "rules": [rule]})
    assert policy.decide("a\tb", "config").reason == (
        # the name is escaped for display first (a\tb), then converted by !r
        "'a\\\\tb' is invalid on containerd 1.7 (config, linux) {x}"
    )
    assert policy.decide("x.y").reason == "'x.y' is   shim on containerd 1.7 (request, linux) {x}"


def test_a_reason_without_placeholders_for_the_name_is_the_same_for_every_name() -> None:
    rule = {"id": "r", "action": "warn", "reason": "Docker {docker}, {context}: {{name}}"}
    policy = Policy.from_dict({"version": 1, "docker": "25", "rules": [rule]})
    reasons = {policy.decide(n, "config").reason for n in ("a.b", "/x", "")}
    assert reasons == {"Docker 25, config: {name}"}


# ------------------------------------------------------------------- refused policies

KNOWN_PLACEHOLDERS = (
    "name, kind, binary, error, directory, context, docker_message, shim, documented, notes, "
    "containerd, docker, platform"
)
ACTIONS = "'allow', 'warn', 'deny'"

# file -> "LINE:COLUMN: message" after the file name
REFUSED = {
    "bad-action.yaml": f"7:13: rules[0].action: 'permit' is not one of {ACTIONS}",
    "bad-unknown-key.yaml": "4:13: rules[0].match.nmae: unknown key (did you mean 'name'?)",
    "bad-top-level-key.yaml": "2:1: rule: unknown key (did you mean 'rules'?)",
    "bad-duplicate-id.yaml": (
        "7:9: rules[2].id: rule id 'kata' is already used by rules[0] on line 3"
    ),
    "bad-duplicate-key.yaml": "5:5: rules[0].action: duplicate key (first written on line 4)",
    "bad-unquoted-version.yaml": "2:13: containerd: 2.0 is not a string (quote the version)",
    "bad-containerd-version.yaml": (
        "2:13: containerd: unknown containerd version '3.1': "
        "expected a release up to 1.5.18, 1.6.39, 1.7.34, 2.0.11, "
        "2.1.9, 2.2.7 or 2.3.4, or a series"
    ),
    "bad-yaml.yaml": "5:5: invalid YAML: did not find expected ',' or '}' "
    "(while parsing a flow mapping at line 4, column 12)",
    "bad-placeholder.yaml": (
        f"5:13: rules[0].reason: unknown placeholder {{nmae}} (known: {KNOWN_PLACEHOLDERS})"
    ),
    "bad-never-matches.yaml": (
        "5:40: rules[0].match.binary[1]: 'kata-runtime' can never match: a binary is "
        "containerd-shim-<shim>-<version> or a path"
    ),
    "bad-kind-in-list.yaml": (
        "4:26: rules[0].match.kind[1]: 'relativ' is not one of 'shim', 'path', 'relative', "
        "'invalid', 'empty', 'legacy-v1'"
    ),
    "bad-shadows-default.yaml": (
        "4:9: rules[0].id: rule id 'SP104' is already used by the default policy"
    ),
    "bad-version.yaml": "1:10: version: must be 1, not 2",
    "bad-missing-version.yaml": "1:1: 'version' is required",
    "bad-ignore-without-reason.yaml": "3:5: ignore[0]: 'reason' is required",
    "bad-empty.yaml": "1:1: the policy is empty: it needs at least 'version: 1'",
    "pyproject-invalid/pyproject.toml": (
        f"9:10: tool.shimpolicy.rules[0].action: 'permit' is not one of {ACTIONS}"
    ),
    "pyproject-bad-toml/pyproject.toml": "3:11: invalid TOML: expected a value, found 'd'",
    "pyproject-without/pyproject.toml": " no [tool.shimpolicy] table",
    "missing.yaml": " cannot read policy: No such file or directory",
}


@pytest.mark.parametrize(("path", "message"), REFUSED.items(), ids=list(REFUSED))
def test_invalid_policy_is_refused_with_its_position(
    in_fixtures: Path, path: str, message: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert str(raised.value) == f"{path}:{message}"
    assert raised.value.path == path


def test_policy_error_carries_line_and_column(in_fixtures: Path) -> None:
    with pytest.raises(PolicyError) as raised:
        Policy.load("bad-action.yaml")
    e = raised.value
    assert (e.path, e.line, e.column) == ("bad-action.yaml", 7, 13)
    assert e.message == "rules[0].action: 'permit' is not one of 'allow', 'warn', 'deny'"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "<dict>: a list is not a mapping"),
        (
            {"version": 1, "rules": [{"id": "a", "match": {"name": 5}, "action": "deny"}]},
            "<dict>: rules[0].match.name: 5 is not a string or a list",
        ),
        (
            {"version": 1, "rules": [{"id": "a", "match": {"kind": []}, "action": "deny"}]},
            "<dict>: rules[0].match.kind: must not be empty",
        ),
        (
            {"version": 1, "rules": [{"id": "a", "match": {"known": "yes"}, "action": "deny"}]},
            "<dict>: rules[0].match.known: 'yes' is not a boolean",
        ),
        (
            {"version": 1, "rules": [{"id": "a", "match": [{"nmae": 1}], "action": "deny"}]},
            "<dict>: rules[0].match[0].nmae: unknown key (did you mean 'name'?)",
        ),
        (
            {"version": 1, "rules": [{"id": "a b", "action": "deny"}]},
            "<dict>: rules[0].id: 'a b' is not a rule id: use letters, digits, '.', '_' and '-'",
        ),
        (
            {"version": 1, "rules": [{"id": "default", "action": "deny"}]},
            "<dict>: rules[0].id: 'default' names the policy's default action",
        ),
        (
            {"version": 1, "rules": [{"id": "a", "action": "deny", "reason": "{"}]},
            "<dict>: rules[0].reason: Single '{' encountered in format string "
            "(write {{ and }} for literal braces)",
        ),
        (
            {"version": 1, "rules": [{"id": "a", "action": "deny", "reason": "{name.upper}"}]},
            "<dict>: rules[0].reason: unknown placeholder {name.upper} "
            f"(known: {KNOWN_PLACEHOLDERS})",
        ),
        (
            {
                "version": 1,
                "rules": [{"id": "a", "match": {"kind": "shim", "dir": "/x/*"}, "action": "deny"}],
            },
            "<dict>: rules[0].match.dir: can never match: names of these kinds have no directory",
        ),
        (
            {
                "version": 1,
                "rules": [
                    {"id": "a", "match": {"kind": "empty", "binary": "c*"}, "action": "deny"}
                ],
            },
            "<dict>: rules[0].match.binary: can never match: names of these kinds have no binary",
        ),
        (
            {"version": 1, "severity": {"bad id": "warning"}},
            "<dict>: severity['bad id']: 'bad id' is not a rule id",
        ),
        (
            {"version": 1, "severity": {"SP201": "fatal"}},
            "<dict>: severity.SP201: 'fatal' is not one of 'error', 'warning', 'info', 'off'",
        ),
        (
            {"version": 1, "extends": "strict"},
            "<dict>: extends: 'strict' is not one of 'default', 'none'",
        ),
        (
            {"version": 1, "platform": "darwin"},
            "<dict>: platform: 'darwin' is not one of 'linux', 'windows'",
        ),
        (
            {"version": 1, "docker": "30"},
            "<dict>: docker: unknown Docker version '30': expected 20.10, 22.06 or 23 to 29",
        ),
        (
            {"version": 1, "ignore": [{"path": [], "rules": ["SP203"], "reason": "x"}]},
            "<dict>: ignore[0].path: must not be empty",
        ),
    ],
)
def test_invalid_policy_data_is_refused(data: object, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        Policy.from_dict(data, origin="<dict>")  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_the_first_problem_in_the_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nrules:\n  - {id: a, action: nope}\nextra: 1\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r":3:21: rules\[0\]\.action: 'nope'"):
        Policy.load(path)


def test_a_self_referencing_yaml_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nexclude: &a [*a]\n", encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert raised.value.message == "invalid YAML: alias 'a' refers to a collection that contains it"


def test_exponential_yaml_aliases_are_refused_quickly(tmp_path: Path) -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)
    ]
    path = tmp_path / "p.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert raised.value.message == (
        "invalid YAML: document expands to more than 100000 nodes (alias bomb?)"
    )


def test_yaml_merge_keys_and_anchors_are_read(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nx-base: &base {action: deny, match: {kind: path}}\nrules: []\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match=r"p\.yaml:2:1: x-base: unknown key"):
        Policy.load(path)
    path.write_text(
        "version: 1\n"
        "rules:\n"
        "  - &paths {id: paths, action: deny, match: {kind: path}}\n"
        "  - {<<: *paths, id: shims, match: {kind: shim}}\n",
        encoding="utf-8",
    )
    policy = Policy.load(path)
    assert [(r.id, r.action) for r in policy.rules] == [("paths", "deny"), ("shims", "deny")]


def test_yaml_reads_only_true_and_false_as_booleans(tmp_path: Path) -> None:
    # YAML 1.1 would read `off` as false, turning a valid severity into a baffling error.
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nseverity: {SP201: off}\n", encoding="utf-8")
    assert dict(Policy.load(path).severity) == {"SP201": "off"}
    path.write_text("version: 1\nrules: [{id: a, action: deny, match: {known: yes}}]\n")
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert raised.value.message == "rules[0].match.known: 'yes' is not a boolean"


def test_unreadable_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"version: 1\n# \xff\n")
    with pytest.raises(PolicyError) as raised:
        Policy.load(path)
    assert (
        str(raised.value) == f"{path}:2:3: cannot read policy: file is not valid UTF-8 (byte 0xff)"
    )


def test_a_policy_is_immutable() -> None:
    policy = Policy.default()
    with pytest.raises(AttributeError, match="Policy is immutable"):
        policy.default_action = "allow"
    with pytest.raises(TypeError):
        policy.severity["SP201"] = "off"  # type: ignore[index]


# ------------------------------------------------------------------- pyproject.toml


def test_pyproject_policy(in_fixtures: Path) -> None:
    policy = Policy.load("pyproject-valid/pyproject.toml")
    assert policy.containerd == "1.7"
    assert policy.rules[0].origin == "pyproject-valid/pyproject.toml:9"
    assert policy.decide("com.example.kata.v2").rule == "kata"
    assert policy.decide("com.example.runc.v2").rule == "SP110"


# ------------------------------------------------------------------- discovery


def make_repo(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    return deep


def write_policy(directory: Path, name: str, default: str) -> None:
    (directory / name).write_text(f"version: 1\ndefault: {default}\n", encoding="utf-8")


def test_discover_finds_the_nearest_policy_file_up_to_the_repository_root(tmp_path: Path) -> None:
    deep = make_repo(tmp_path / "repo")
    write_policy(tmp_path, ".shimpolicy.yaml", "allow")  # above the repository: not ours
    assert Policy.discover(deep) is Policy.default()
    write_policy(tmp_path / "repo", ".shimpolicy.yaml", "warn")
    assert Policy.discover(deep).default_action == "warn"
    write_policy(tmp_path / "repo" / "a", ".shimpolicy.yml", "deny")
    found = Policy.discover(deep)
    assert found.source == str(tmp_path / "repo" / "a" / ".shimpolicy.yml")


def test_discover_prefers_any_policy_file_to_pyproject(tmp_path: Path) -> None:
    deep = make_repo(tmp_path)
    (deep / "pyproject.toml").write_text("[tool.shimpolicy]\nversion = 1\ndefault = 'allow'\n")
    assert Policy.discover(deep).default_action == "allow"
    write_policy(tmp_path, ".shimpolicy.yaml", "warn")
    assert Policy.discover(deep).default_action == "warn"


def test_discover_skips_a_pyproject_without_a_policy(tmp_path: Path) -> None:
    deep = make_repo(tmp_path)
    (deep / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.shimpolicy]\nversion = 1\ndefault = 'warn'\n")
    assert Policy.discover(deep).default_action == "warn"
    # Not parsed at all when it never mentions shimpolicy, so its errors are not ours.
    (deep / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    assert Policy.discover(deep).default_action == "warn"


def test_discover_from_a_file_starts_in_its_directory(tmp_path: Path) -> None:
    deep = make_repo(tmp_path)
    write_policy(deep, ".shimpolicy.yaml", "warn")
    (deep / "daemon.json").write_text("{}", encoding="utf-8")
    assert Policy.discover(deep / "daemon.json").default_action == "warn"


def test_discover_refuses_two_policy_files_in_one_directory(tmp_path: Path) -> None:
    deep = make_repo(tmp_path)
    write_policy(deep, ".shimpolicy.yaml", "warn")
    write_policy(deep, ".shimpolicy.yml", "deny")
    with pytest.raises(PolicyError) as raised:
        Policy.discover(deep)
    assert raised.value.message == "both .shimpolicy.yaml and .shimpolicy.yml exist: keep one"
    assert raised.value.path == str(deep)


def test_discover_refuses_an_invalid_policy_rather_than_using_the_default(tmp_path: Path) -> None:
    deep = make_repo(tmp_path)
    (deep / ".shimpolicy.yaml").write_text("version: 1\ndefault: permit\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"\.shimpolicy\.yaml:2:10: default: 'permit'"):
        Policy.discover(deep)


def test_discovered_paths_are_shown_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = make_repo(tmp_path)
    write_policy(tmp_path, ".shimpolicy.yaml", "warn")
    monkeypatch.chdir(tmp_path)
    assert Policy.discover("a/b").source == ".shimpolicy.yaml"
    monkeypatch.chdir(deep)  # above the working directory: shown in full
    assert Policy.discover().source == str(tmp_path / ".shimpolicy.yaml")


# ------------------------------------------------------------------- policy show, explain


def test_render_policy_shows_rules_with_their_origins(in_fixtures: Path) -> None:
    assert render_policy(Policy.load("full.shimpolicy.yaml")) == (
        "# effective policy from full.shimpolicy.yaml\n"
        "version: 1\n"
        'containerd: "1.6"\n'
        'docker: "24"\n'
        "platform: linux\n"
        "default: warn  # full.shimpolicy.yaml:5\n"
        "rules:\n"
        "  # full.shimpolicy.yaml:7\n"
        "  - id: pinned-wasm\n"
        "    name: wasm-shims\n"
        "    match: {name: [io.containerd.wasmtime.v1, io.containerd.spin.v2], known: true}\n"
        "    action: allow\n"
        '    reason: "{name} is one of our Wasm shims ({shim})"\n'
        "  # full.shimpolicy.yaml:14\n"
        "  - id: vendor-dir\n"
        '    match: {kind: path, context: config, dir: "/opt/vendor/*"}\n'
        "    action: allow\n"
        "    # reason (generated): \"rule 'vendor-dir' matched: kind is path and context is config "
        'and directory matches /opt/vendor/*"\n'
        "  # full.shimpolicy.yaml:20\n"
        "  - id: odd\n"
        "    match: [{note: alias}, {context: request, docker_permitted: false}]\n"
        "    action: deny\n"
        "    # reason (generated): \"rule 'odd' matched: note has alias; or context is request and "
        'Docker refuses it (D1)"\n'
        'severity: {SP201: warning, SP304: "off"}\n'
        'exclude: ["vendor/**", "third_party/**"]\n'
        "ignore:\n"
        "  # full.shimpolicy.yaml:28\n"
        '  - path: ["legacy/**/daemon.json"]\n'
        "    rules: [SP203]\n"
        '    reason: "kept for the old fleet until 2027"\n'
    )


@pytest.mark.parametrize(
    "source",
    ["default", "full.shimpolicy.yaml", "spec-example.shimpolicy.yaml", "windows"],
)
def test_rendered_policy_reads_back_as_the_same_policy(source: str) -> None:
    if source == "default":
        policy = Policy.default()
    elif source == "windows":
        policy = Policy.from_dict({"version": 1, "extends": "default", "platform": "windows"})
    else:
        policy = Policy.load(FIXTURES / source)
    again = Policy.from_dict(yaml.safe_load(render_policy(policy)))
    assert [(r.id, r.name, r.action, r.match, r.reason) for r in again.rules] == [
        (r.id, r.name, r.action, r.match, r.reason) for r in policy.rules
    ]
    names = [
        "io.containerd.runc.v2",
        "com.example.runc.v2",
        "/tmp/x",
        "C:\\Users\\x\\s.exe",
        "",
        "a\u202e.b",
    ]
    for name in names:
        for context in ("request", "config"):
            d, e = policy.decide(name, context), again.decide(name, context)
            assert (d.action, d.rule, d.reason) == (e.action, e.rule, e.reason)


def test_explain_says_what_containerd_and_docker_would_do_and_why() -> None:
    assert explain(Policy.default(), "com.example.runc.v2") == (
        "name            'com.example.runc.v2'\n"
        "context         request (chosen per container: docker|nerdctl|ctr run --runtime, "
        "Compose `runtime`, the Engine API, Docker's default-runtime)\n"
        "containerd 2.3  on linux: shim; runs containerd-shim-runc-v2 (runc (shim v2)), found in "
        "containerd's working directory, else on $PATH, else beside containerd's own executable "
        "(C1, C2 steps 6-7)\n"
        "Docker 29       on linux: passes it to containerd verbatim unless daemon.json configures "
        "it (D1)\n"
        "notes           alias\n"
        "decision        warn by rule SP110 (alias-of-known-shim), from default policy\n"
        "reason          'com.example.runc.v2' runs containerd-shim-runc-v2 (runc (shim v2)), the "
        "shim documented as io.containerd.runc.v2: containerd reads only the last two pieces of a "
        "name (C1), so the rest of it selects nothing\n"
    )


@pytest.mark.parametrize(
    ("name", "context", "policy", "containerd_line", "docker_line"),
    [
        (
            "/tmp/x",
            "config",
            {},
            "on linux: path; executes /tmp/x directly as the shim, as root (C2 step 2)",
            "on linux: refuses it unless daemon.json configures it: unknown or invalid runtime "
            "name: /tmp/x (D1)",
        ),
        (
            "runc",
            "request",
            {},
            "on linux: invalid; refuses it: invalid runtime name runc, correct runtime name should "
            "be either format like `io.containerd.runc.v2` or a full path to the binary",
            "on linux: a stock runtime, which Docker runs with its own settings (D2)",
        ),
        (
            "sub/io.x.y.v1",
            "config",
            {"containerd": "1.6"},
            "on linux: relative; looks for containerd-shim-y-v1 in sub relative to its working "
            "directory first (C2 step 6)",
            "on linux: refuses it unless daemon.json configures it: unknown or invalid runtime "
            "name: sub/io.x.y.v1 (D1)",
        ),
        (
            "io.containerd.runtime.v1.linux",
            "config",
            {"containerd": "1.7"},
            "on linux: legacy-v1; runs the deprecated v1 runtime: containerd-shim and runc (C4)",
            "on linux: passes it to containerd verbatim unless daemon.json configures it (D1)",
        ),
    ],
)
def test_explain_lines(
    name: str, context: str, policy: dict[str, str], containerd_line: str, docker_line: str
) -> None:
    p = Policy.from_dict({"version": 1, "extends": "default", **policy})
    lines = explain(p, name, context).splitlines()
    assert lines[2].split(None, 2)[2] == containerd_line
    assert lines[3].split(None, 2)[2] == docker_line


def test_explain_escapes_what_does_not_print() -> None:
    text = explain(Policy.default(), "a\x1b[2J.v2")
    assert "\x1b" not in text
    assert text.splitlines()[0] == "name            'a\\x1b[2J.v2'"


def test_explain_names_the_default_when_no_rule_matched() -> None:
    policy = Policy.from_dict(
        {"version": 1, "extends": "none", "default": "warn"}, origin="ci policy"
    )
    assert explain(policy, "a.b").splitlines()[5] == (
        "decision        warn: no rule matched; the default action is from ci policy (default)"
    )


# ------------------------------------------------------------------- command-line overrides


def test_with_settings_applies_the_same_rules_to_other_versions(in_fixtures: Path) -> None:
    policy = Policy.load("spec-example.shimpolicy.yaml")
    older = policy.with_settings(containerd="1.6", docker="23")
    assert (older.containerd, older.docker, older.platform) == ("1.6", "23", "linux")
    assert [r.id for r in older.rules] == [r.id for r in policy.rules]
    assert (older.source, older.default_origin) == (policy.source, policy.default_origin)
    assert older.decide(".a", "config").rule == "SP112"  # a shim to containerd 1.6
    assert policy.decide(".a", "config").rule == "SP102"  # unchanged: invalid from 1.7


def test_with_settings_for_windows_matches_directories_without_case() -> None:
    windows = Policy.default().with_settings(platform="windows")
    assert windows.decide("c:\\WINDOWS\\temp\\s.exe", "config").rule == "SP106"
    assert windows.with_settings(platform="linux").decide("/tmp/s", "config").rule == "SP106"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"containerd": "3"},
            "unknown containerd version '3': "
            "expected a release up to 1.5.18, 1.6.39, 1.7.34, 2.0.11, "
            "2.1.9, 2.2.7 or 2.3.4, or a series",
        ),
        ({"docker": "19.03"}, "unknown Docker version '19.03': expected 20.10, 22.06 or 23 to 29"),
        ({"platform": "darwin"}, "unknown platform 'darwin': expected linux or windows"),
    ],
)
def test_with_settings_refuses_unknown_versions(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Policy.default().with_settings(**settings)
    assert str(raised.value) == message
