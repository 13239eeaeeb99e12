"""The embedded default policy (SPEC §5.3) against every SPEC §4 vector, in both contexts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import shimpolicy
from shimpolicy.grammar.versions import DEFAULT_CONTAINERD, DEFAULT_DOCKER
from shimpolicy.policy import ACTIONS, CONTEXTS, PLACEHOLDERS, Policy, default_policy_table
from shimpolicy.policy.building import schema
from shimpolicy.policy.default_yaml import POLICY
from tests import conftest
from tests.conftest import RULES as RULES_DIR

POLICY_DIR = Path(shimpolicy.__file__).resolve().parent / "policy"


def invalid(name: str, containerd: str = DEFAULT_CONTAINERD) -> str:
    example = "runc.v2" if containerd.startswith("2") else "runc.v1"
    return (
        f"containerd {containerd} rejects this name: invalid runtime name {name}, correct runtime "
        f"name should be either format like `io.containerd.{example}` or a full path to the binary"
    )


def well_formed(name: str, binary: str) -> str:
    return f"containerd runs {binary} for '{name}'"


def malformed(name: str, binary: str) -> str:
    return (
        f"'{name}' is not a well-formed shim name (non-empty pieces ending in <shim>.<version>, "
        f"such as io.containerd.runc.v2); containerd would run {binary}"
    )


def path_in_request(name: str) -> str:
    return (
        f"'{name}' is a path that containerd would execute directly as root (C2 step 2); chosen "
        "per container, it would let anyone with API access run any file on the host, which is "
        "why Docker refuses such names"
    )


def administrator_path(name: str) -> str:
    return (
        "the host administrator configured this shim by path; containerd executes "
        f"'{name}' directly (C2 step 2)"
    )


LEGACY = (
    "'io.containerd.runtime.v1.linux' is the legacy v1 runtime: deprecated, and removed in "
    "containerd 2.0, where the name resolves to the missing binary containerd-shim-v1-linux "
    "(C4); use io.containerd.runc.v2, and keep a custom runc binary (runtime_engine) as the "
    "handler's options.BinaryName"
)
ALIAS = (
    "'com.example.runc.v2' runs containerd-shim-runc-v2 (runc (shim v2)), the shim documented "
    "as io.containerd.runc.v2: containerd reads only the last two pieces of a name (C1), so the "
    "rest of it selects nothing"
)

# SPEC §4, containerd 2.3 (the default), Linux, Docker 29: name -> decision in each context.
SPEC_VECTORS_2_0: list[tuple[str, tuple[str, str, str], tuple[str, str, str]]] = [
    (
        "io.containerd.runc.v2",
        ("allow", "SP113", well_formed("io.containerd.runc.v2", "containerd-shim-runc-v2")),
        ("allow", "SP113", well_formed("io.containerd.runc.v2", "containerd-shim-runc-v2")),
    ),
    (
        "io.containerd.kata.v2",
        ("allow", "SP113", well_formed("io.containerd.kata.v2", "containerd-shim-kata-v2")),
        ("allow", "SP113", well_formed("io.containerd.kata.v2", "containerd-shim-kata-v2")),
    ),
    ("com.example.runc.v2", ("warn", "SP110", ALIAS), ("warn", "SP110", ALIAS)),
    ("runc", ("deny", "SP102", invalid("runc")), ("deny", "SP102", invalid("runc"))),
    (
        "",
        ("deny", "SP102", "containerd 2.3 rejects this name: no runtime name"),
        ("deny", "SP102", "containerd 2.3 rejects this name: no runtime name"),
    ),
    (".", ("deny", "SP102", invalid(".")), ("deny", "SP102", invalid("."))),
    (".a", ("deny", "SP102", invalid(".a")), ("deny", "SP102", invalid(".a"))),
    (
        "a.",
        ("warn", "SP112", malformed("a.", "containerd-shim-a-")),
        ("warn", "SP112", malformed("a.", "containerd-shim-a-")),
    ),
    (
        "a..",
        ("warn", "SP112", malformed("a..", "containerd-shim--")),
        ("warn", "SP112", malformed("a..", "containerd-shim--")),
    ),
    (
        "/usr/bin/foo",
        ("deny", "SP104", path_in_request("/usr/bin/foo")),
        ("allow", "SP107", administrator_path("/usr/bin/foo")),
    ),
    ("a/b.c", ("deny", "SP102", invalid("a/b.c")), ("deny", "SP102", invalid("a/b.c"))),
    (
        "sub/io.x.y.v1",
        ("deny", "SP102", invalid("sub/io.x.y.v1")),
        ("deny", "SP102", invalid("sub/io.x.y.v1")),
    ),
    (
        "/opt/x/io.y.v1",
        ("deny", "SP104", path_in_request("/opt/x/io.y.v1")),
        ("allow", "SP107", administrator_path("/opt/x/io.y.v1")),
    ),
    (
        "a\\b.c",
        ("warn", "SP112", malformed("a\\b.c", "containerd-shim-a\\b-c")),
        ("warn", "SP112", malformed("a\\b.c", "containerd-shim-a\\b-c")),
    ),
    ("C:\\foo", ("deny", "SP102", invalid("C:\\foo")), ("deny", "SP102", invalid("C:\\foo"))),
    ("io.containerd.runtime.v1.linux", ("warn", "SP108", LEGACY), ("warn", "SP108", LEGACY)),
]


@pytest.mark.parametrize(("name", "request_", "config"), SPEC_VECTORS_2_0)
def test_spec_vectors_on_the_default_containerd_in_both_contexts(
    name: str, request_: tuple[str, str, str], config: tuple[str, str, str]
) -> None:
    policy = Policy.default()
    for context, expected in (("request", request_), ("config", config)):
        d = policy.decide(name, context)
        assert (d.action, d.rule, d.reason) == expected, context
        assert d.context == context
        assert d.origin == "default policy"
        assert d.name == shimpolicy.parse(name)
        # Docker accepts the name per container: a stock runtime, the default, or D1.
        assert d.docker_permitted == (shimpolicy.docker_takes(name) != "refused")


def test_windows_path_vector_is_denied_per_container_and_allowed_for_the_administrator() -> None:
    # SPEC §4 `C:\x\io.y.z` (Windows): a path from containerd 1.6 on.
    policy = Policy.from_dict({"version": 1, "extends": "default", "platform": "windows"})
    name = "C:\\x\\io.y.z"
    assert (policy.decide(name).action, policy.decide(name).rule) == ("deny", "SP104")
    assert policy.decide(name).reason == path_in_request(name)
    config = policy.decide(name, "config")
    assert (config.action, config.rule, config.reason) == (
        "allow",
        "SP107",
        administrator_path(name),
    )


# The same vectors on the other containerd series (C3): (request rule, config rule).
OTHER_SERIES = {
    "1.5": {
        "io.containerd.runc.v2": ("SP113", "SP113"),
        "com.example.runc.v2": ("SP110", "SP110"),
        "runc": ("SP102", "SP102"),
        "": ("SP102", "SP102"),
        ".": ("SP105", "SP112"),  # a shim to 1.5, refused by Docker ≥25 (D1)
        ".a": ("SP105", "SP112"),
        "a.": ("SP112", "SP112"),
        "/usr/bin/foo": ("SP102", "SP102"),  # 1.5 has no path support
        "a/b.c": ("SP103", "SP103"),
        "sub/io.x.y.v1": ("SP103", "SP103"),
        "/opt/x/io.y.v1": ("SP103", "SP103"),  # relative to 1.5: its directory searched first
        "a\\b.c": ("SP112", "SP112"),
        "C:\\foo": ("SP102", "SP102"),
        "io.containerd.runtime.v1.linux": ("SP108", "SP108"),
    },
    "1.6": {
        "io.containerd.runc.v2": ("SP113", "SP113"),
        "runc": ("SP102", "SP102"),
        "": ("SP102", "SP102"),
        ".": ("SP105", "SP112"),
        ".a": ("SP105", "SP112"),
        "a..": ("SP112", "SP112"),
        "/usr/bin/foo": ("SP104", "SP107"),
        "a/b.c": ("SP103", "SP103"),
        "sub/io.x.y.v1": ("SP103", "SP103"),
        "/opt/x/io.y.v1": ("SP104", "SP107"),
        "C:\\foo": ("SP102", "SP102"),
        "io.containerd.runtime.v1.linux": ("SP108", "SP108"),
    },
    "1.7": {
        "io.containerd.kata.v2": ("SP113", "SP113"),
        ".": ("SP102", "SP102"),
        ".a": ("SP102", "SP102"),
        "a/b.c": ("SP102", "SP102"),
        "/opt/x/io.y.v1": ("SP104", "SP107"),
        "io.containerd.runtime.v1.linux": ("SP108", "SP108"),
    },
}


@pytest.mark.parametrize(
    ("containerd", "name", "rules"),
    [(c, n, r) for c, rows in OTHER_SERIES.items() for n, r in rows.items()],
)
def test_spec_vectors_on_older_containerd(
    containerd: str, name: str, rules: tuple[str, str]
) -> None:
    policy = Policy.from_dict({"version": 1, "extends": "default", "containerd": containerd})
    assert (policy.decide(name).rule, policy.decide(name, "config").rule) == rules


def test_containerd_1_5_quotes_its_own_error_for_the_empty_name() -> None:
    policy = Policy.from_dict({"version": 1, "extends": "default", "containerd": "1.5"})
    assert policy.decide("").reason == (
        "containerd 1.5 rejects this name: invalid runtime name , correct runtime name should "
        "format like io.containerd.runc.v1"
    )


def test_relative_name_reason_names_the_directory_and_binary() -> None:
    policy = Policy.from_dict({"version": 1, "extends": "default", "containerd": "1.6"})
    assert policy.decide("sub/io.x.y.v1", "config").reason == (
        "containerd 1.6 would look for containerd-shim-y-v1 in 'sub' relative to its own working "
        "directory before anywhere else (C2 step 6), so what runs depends on where containerd "
        "was started"
    )


def test_docker_refusal_quotes_dockers_message() -> None:
    policy = Policy.from_dict({"version": 1, "extends": "default", "containerd": "1.6"})
    d = policy.decide(".a")
    assert (d.action, d.rule, d.docker_permitted) == ("deny", "SP105", False)
    assert d.reason == (
        "Docker 29 refuses this name unless daemon.json configures it: "
        "unknown or invalid runtime name: .a"
    )


def test_docker_23_permits_a_leading_dot_so_only_the_shape_warns() -> None:
    # D1: Docker 23 to 24 vendored containerd 1.6's rules, where a leading '.' passes.
    policy = Policy.from_dict(
        {"version": 1, "extends": "default", "containerd": "1.6", "docker": "23"}
    )
    d = policy.decide(".a")
    assert (d.action, d.rule, d.docker_permitted) == ("warn", "SP112", True)


def test_docker_before_23_refuses_with_its_older_message() -> None:
    policy = Policy.from_dict({"version": 1, "extends": "default", "docker": "20.10"})
    assert policy.decide("io.containerd.kata.v2").reason == (
        "Docker 20.10 refuses this name unless daemon.json configures it: "
        "Unknown runtime specified io.containerd.kata.v2"
    )


def test_writable_directory_reason() -> None:
    d = Policy.default().decide("/tmp/containerd-shim-kata-v2", "config")
    assert (d.action, d.rule) == ("deny", "SP106")
    assert d.reason == (
        "containerd would execute '/tmp/containerd-shim-kata-v2' as root from '/tmp', a "
        "directory other users can write to; install the shim in a directory only root can "
        "write, such as /usr/local/bin"
    )


@pytest.mark.parametrize(
    "name",
    [
        "/tmp/shim",
        "/tmp/a/b/shim",
        "/var/tmp/shim",
        "/dev/shm/shim",
        "/run/user/1000/shim",
        "/home/alice/shim",
        "/Users/alice/shim",
        "/private/tmp/shim",
        "//tmp/shim",  # Go's Dir cleans the path, as the kernel would resolve it
        "/usr/../tmp/shim",
    ],
)
def test_paths_into_writable_directories_are_denied_in_config(name: str) -> None:
    assert Policy.default().decide(name, "config").rule == "SP106"


@pytest.mark.parametrize(
    "name", ["/tmpfiles/shim", "/opt/tmp/shim", "/homes/shim", "/usr/local/bin/shim"]
)
def test_paths_elsewhere_are_allowed_in_config(name: str) -> None:
    assert Policy.default().decide(name, "config").rule == "SP107"


@pytest.mark.parametrize(
    "name",
    [
        "C:\\Windows\\Temp\\shim.exe",
        "c:\\windows\\temp\\shim.exe",
        "C:/WINDOWS/TEMP/shim.exe",
        "D:\\Windows\\Temp\\sub\\shim.exe",
        "C:\\Users\\alice\\AppData\\Local\\Temp\\shim.exe",
        "C:\\users\\Public\\shim.exe",
        "\\\\?\\C:\\Windows\\Temp\\shim.exe",
    ],
)
def test_windows_temporary_and_profile_directories_match_in_any_case(name: str) -> None:
    policy = Policy.from_dict({"version": 1, "extends": "default", "platform": "windows"})
    assert policy.decide(name, "config").rule == "SP106"


def test_windows_program_files_is_an_administrator_path() -> None:
    policy = Policy.from_dict({"version": 1, "extends": "default", "platform": "windows"})
    name = "C:\\Program Files\\containerd\\containerd-shim-runhcs-v1.exe"
    assert policy.decide(name, "config").rule == "SP107"


def test_control_and_bidi_characters_are_escaped_in_the_reason() -> None:
    d = Policy.default().decide("io.containerd.runc\u202e.v2\n", "config")
    assert (d.action, d.rule) == ("deny", "SP101")
    assert d.reason == (
        "'io.containerd.runc\\u202e.v2\\n' contains control or bidirectional-override "
        "characters, so it reads differently from what containerd would run"
    )


def test_alias_reason_names_the_documented_name_of_a_kata_hypervisor_shim() -> None:
    assert Policy.default().decide("io.kata.kata-qemu.v2").reason == (
        "'io.kata.kata-qemu.v2' runs containerd-shim-kata-qemu-v2 (Kata Containers), the shim "
        "documented as io.containerd.kata-qemu.v2: containerd reads only the last two pieces of "
        "a name (C1), so the rest of it selects nothing"
    )


def test_a_known_shim_without_a_version_piece_is_well_formed() -> None:
    assert Policy.default().decide("aws.firecracker").rule == "SP113"


def test_unknown_context_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown context 'daemon': expected request or config"):
        Policy.default().decide("io.containerd.runc.v2", "daemon")


# ------------------------------------------------------------------- rules/SP1*.yaml


def rule_docs() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(RULES_DIR.glob("SP1*"))]


def test_every_default_rule_has_a_documentation_file_and_no_file_is_stray() -> None:
    documented = [(d["id"], d["name"]) for d in rule_docs()]
    assert documented == [(r.id, r.name) for r in Policy.default().rules]


@pytest.mark.parametrize("doc", rule_docs(), ids=lambda d: str(d["id"]))
def test_rule_documentation_matches_the_rule(doc: dict[str, Any]) -> None:
    rule = Policy.default().rule(doc["id"])
    assert rule is not None
    assert doc["source"] == "policy"
    assert doc["severity"] == {"deny": "error", "warn": "warning", "allow": "none"}[rule.action]
    assert doc["title"] and doc["rationale"].strip() and doc["references"]


@pytest.mark.parametrize(
    ("rule_id", "example"),
    [(d["id"], e) for d in rule_docs() for e in d["examples"]],
    ids=lambda v: v if isinstance(v, str) else repr(v["name"]),
)
def test_rule_examples(rule_id: str, example: dict[str, Any]) -> None:
    policy = conftest.policy(
        containerd=example.get("containerd", DEFAULT_CONTAINERD),
        docker=example.get("docker", DEFAULT_DOCKER),
        platform=example.get("platform", "linux"),
    )
    d = policy.decide(example["name"], example["context"])
    assert d.action == example["expect"], d.reason
    rule = policy.rule(rule_id)
    assert rule is not None
    if example["expect"] != "allow" or rule.action == "allow":
        assert d.rule == rule_id, d.reason


# ------------------------------------------------------------------- schema and table


def enum_of(definition: str) -> tuple[str, ...]:
    return tuple(schema()["$defs"][definition]["enum"])


def test_schema_enums_are_the_grammars_kinds_and_notes() -> None:
    assert enum_of("kind") == shimpolicy.KINDS
    assert enum_of("note") == shimpolicy.NOTES
    assert enum_of("action") == ACTIONS
    assert enum_of("context") == CONTEXTS


def test_schema_closes_every_object_with_fixed_keys() -> None:
    def objects(node: object) -> list[dict[str, Any]]:
        if isinstance(node, dict):
            found = [node] if "properties" in node else []
            return found + [o for v in node.values() for o in objects(v)]
        if isinstance(node, list):
            return [o for v in node for o in objects(v)]
        return []

    assert [o.get("additionalProperties") for o in objects(schema())] == [False] * 4


def test_default_policy_is_valid_against_the_schema() -> None:
    data = yaml.safe_load((POLICY_DIR / "default.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.Draft202012Validator(schema()).validate(data)


def test_default_policy_data_is_default_yaml_as_read_by_yaml() -> None:
    # default_yaml.py copies default.yaml's data (its docstring says how to write it again);
    # repr tells False from 0 and keeps the order of keys.
    data = yaml.safe_load((POLICY_DIR / "default.yaml").read_text(encoding="utf-8"))
    assert repr(POLICY) == repr(data)


def test_shipped_schema_file_is_the_one_validation_uses() -> None:
    assert json.loads((POLICY_DIR / "schema.json").read_text(encoding="utf-8")) == schema()


def test_default_policy_table() -> None:
    table = default_policy_table().splitlines()
    assert table[:3] == [
        "| # | Rule | Action | When | Reason |",
        "|---|---|---|---|---|",
        "| 1 | `SP101` control-characters | deny | note has one of `control`, `bidi` | "
        "'{name}' contains control or bidirectional-override characters, so it reads "
        "differently from what containerd would run |",
    ]
    assert table[6] == (
        "| 5 | `SP105` docker-refuses | deny | context is `request` and Docker refuses it (D1) | "
        "Docker {docker} refuses this name unless daemon.json configures it: {docker_message} |"
    )
    assert table[14] == (
        "| 13 | `SP113` well-formed-shim | allow | kind is `shim` | "
        "containerd runs {binary} for '{name}' |"
    )
    assert table[-1] == "| | default | deny | no rule matched | |"
    assert len(table) == 2 + 13 + 1


def test_deciding_with_the_default_policy_imports_no_yaml_jsonschema_or_dataclasses() -> None:
    code = (
        "import sys\n"
        "from shimpolicy.policy import Policy\n"
        "Policy.default().decide('io.containerd.kata.v2')\n"
        "Policy.default().decide('/tmp/x', 'config')\n"
        "print(sorted(m for m in ('yaml', 'dataclasses', 'jsonschema') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.stdout, result.stderr) == ("[]\n", "")


def test_rule_describe_is_one_line_for_listings() -> None:
    rules = Policy.default()
    assert rules.rule("SP104").describe() == (  # type: ignore[union-attr]
        "SP104 path-in-request: deny when kind is path and context is request"
    )
    assert rules.rule("SP112").describe() == (  # type: ignore[union-attr]
        "SP112 malformed-shim-name: warn when note has one of empty-piece, leading-dot, "
        "binary-separator; or the binary is not a well-known shim and note has no-version"
    )


def test_every_placeholder_is_filled_in() -> None:
    template = " ".join(f"{p}={{{p}}}" for p in PLACEHOLDERS)
    policy = Policy.from_dict(
        {"version": 1, "rules": [{"id": "r", "action": "warn", "reason": template}]}
    )
    assert policy.decide("com.example.runc.v2").reason == (
        "name=com.example.runc.v2 kind=shim binary=containerd-shim-runc-v2 error= directory= "
        "context=request docker_message=unknown or invalid runtime name: com.example.runc.v2 "
        "shim=runc (shim v2) documented=io.containerd.runc.v2 notes=alias containerd=2.3 "
        "docker=29 platform=linux"
    )
    assert policy.decide("/a/b", "config").reason.startswith(
        "name=/a/b kind=path binary=/a/b error= directory=/a context=config"
    )
