"""Docker daemon.json checks (SPEC D2, D3): exact findings on fixture files."""

from __future__ import annotations

import json

import pytest

from shimpolicy.lint.daemon_json import TYPE, docker_settings
from shimpolicy.lint.engine import lint_text
from shimpolicy.lint.facts import Facts
from shimpolicy.lint.source import SourceFile
from shimpolicy.policy import Policy
from tests.conftest import CORPUS, findings, needs_corpus, policy, text_findings
from tests.conftest import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "daemon_json"


@pytest.fixture(autouse=True)
def _in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


# ---------------------------------------------------------------- positions


def test_tab_indented_file_reports_reserved_runc_and_path_with_runtime_type() -> None:
    # D3.1 and D3.4; a tab counts as one column.
    assert findings(["tabs"]) == [
        (
            "tabs/daemon.json",
            "4:3-4:9",
            "SP201",
            "error",
            "runtime name 'runc' is reserved: Docker always provides `runc` itself (the stock runc "
            "v2 shim); give this runtime another name",
        ),
        (
            "tabs/daemon.json",
            "9:4-9:17",
            "SP204",
            "error",
            "runtime kata: cannot configure both path and runtimeType for the same runtime (keep "
            '"runtimeType" for a containerd shim, "path" for a runc-compatible binary)',
        ),
    ]


def test_bom_is_not_counted_in_columns() -> None:
    # D3.2: a path is never a default runtime, not even the path of a configured runtime.
    assert findings(["bom"]) == [
        (
            "bom/daemon.json",
            "2:22-2:43",
            "SP202",
            "error",
            "specified default runtime '/usr/local/bin/crun' does not exist: Docker never takes a "
            'path as the default runtime; define a runtime under "runtimes" with "runtimeType": '
            '"/usr/local/bin/crun" (a shim) or "path": "/usr/local/bin/crun" (a runc-compatible '
            "binary) and name that runtime here",
        ),
    ]


def test_positions_of_strings_with_escapes_cover_the_raw_token() -> None:
    # Keys and values written with \u escapes decode to path/runsc/kata; SP209 points at
    # the argument as written, SP106 applies the policy to runtimeType in config context.
    assert findings(["escapes"]) == [
        (
            "escapes/daemon.json",
            "3:78-3:98",
            "SP209",
            "warning",
            'runtimeArgs item \'--platform="kvm"\' of runtime "runsc" contains \'"\', which '
            "/bin/sh interprets: dockerd pastes path and runtimeArgs unquoted into a wrapper "
            "script (#!/bin/sh ... $@); use plain words only",
        ),
        (
            "escapes/daemon.json",
            "3:100-3:107",
            "SP209",
            "warning",
            "runtimeArgs item '--a b' of runtime \"runsc\" contains a space, which /bin/sh "
            "interprets: dockerd pastes path and runtimeArgs unquoted into a wrapper script "
            "(#!/bin/sh ... $@); use plain words only",
        ),
        (
            "escapes/daemon.json",
            "4:39-4:69",
            "SP106",
            "error",
            "runtimes.kata.runtimeType: containerd would execute "
            "'/tmp/containerd-shim-kata-v2' as root from '/tmp', a directory other users can write "
            "to; install the shim in a directory only root can write, such as /usr/local/bin",
        ),
        (
            "escapes/daemon.json",
            "4:71-4:84",
            "SP206",
            "error",
            "runtime kata: args cannot be used with a runtimeType runtime (a shim takes its "
            'settings from "options")',
        ),
    ]


def test_duplicates_are_reported_with_go_decoding_semantics() -> None:
    # Two "runtimes" objects merge, a runtime defined twice keeps its last definition,
    # "path"/"Path" are one key to Docker, "options" objects merge, options keep the last.
    assert findings(["duplicates"]) == [
        (
            "duplicates/daemon.json",
            "2:3-2:20",
            "SP212",
            "warning",
            'duplicate key "default-runtime" (again on line 15): only the last value is used; keep '
            "one",
        ),
        (
            "duplicates/daemon.json",
            "3:3-3:13",
            "SP212",
            "warning",
            'duplicate key "runtimes" (again on line 7): dockerd merges the objects, a later '
            "runtime of the same name replacing an earlier one; keep one object",
        ),
        (
            "duplicates/daemon.json",
            "4:5-4:11",
            "SP212",
            "warning",
            'runtime "crun" is defined again on line 8: the later definition replaces this one '
            "entirely; keep one",
        ),
        (
            "duplicates/daemon.json",
            "5:15-5:21",
            "SP212",
            "warning",
            'duplicate key "path" in runtime "youki" (again as "Path" at column 41 of the same '
            "line, the same key to Docker): the later one overrides this one; keep one",
        ),
        (
            "duplicates/daemon.json",
            "11:7-11:16",
            "SP212",
            "warning",
            'duplicate key "options" in runtime "kata" (again as "OPTIONS" on line 12, the same '
            "key to Docker): dockerd merges the two objects; keep one",
        ),
        (
            "duplicates/daemon.json",
            "11:19-11:31",
            "SP212",
            "warning",
            'duplicate option "ConfigPath" in runtime "kata" (again at column 53 of the same '
            "line): only the last value is used; keep one",
        ),
    ]


def test_wrong_json_types_stop_dockerd_and_null_means_unset() -> None:
    assert findings(["wrong-types"]) == [
        (
            "wrong-types/daemon.json",
            "2:22-2:30",
            "SP213",
            "error",
            '"default-runtime" must be a string, not an array: dockerd does not start (json: '
            "cannot unmarshal array into Go struct field Config.default-runtime of type string)",
        ),
        (
            "wrong-types/daemon.json",
            "4:13-4:34",
            "SP213",
            "error",
            'runtime "crun" must be an object, not a string: dockerd does not start (json: cannot '
            "unmarshal string into Go struct field Config.runtimes of type system.Runtime)",
        ),
        (
            "wrong-types/daemon.json",
            "5:47-5:63",
            "SP213",
            "error",
            '"runtimeArgs" of runtime "runsc" must be an array of strings, not a string: dockerd '
            "does not start (json: cannot unmarshal string into Go struct field "
            "Runtime.runtimes.runtimeArgs of type []string)",
        ),
        (
            "wrong-types/daemon.json",
            "6:59-6:60",
            "SP213",
            "error",
            'an item of "runtimeArgs" in runtime "youki" must be a string, not a number: dockerd '
            "does not start (json: cannot unmarshal number into Go struct field "
            "Runtime.runtimes.runtimeArgs of type string)",
        ),
        (
            "wrong-types/daemon.json",
            "7:65-7:94",
            "SP213",
            "error",
            '"options" of runtime "kata" must be an object, not an array: dockerd does not start '
            "(json: cannot unmarshal array into Go struct field Runtime.runtimes.options of type "
            "map[string]interface {})",
        ),
        (
            "wrong-types/daemon.json",
            "8:5-8:13",
            "SP203",
            "error",
            'runtime gvisor: either a runtimeType or a path must be configured (add "runtimeType" '
            'for a containerd shim, or "path" for a runc-compatible binary)',
        ),
        (
            "wrong-types/daemon.json",
            "9:5-9:11",
            "SP203",
            "error",
            'runtime none: either a runtimeType or a path must be configured (add "runtimeType" '
            'for a containerd shim, or "path" for a runc-compatible binary)',
        ),
    ]


def test_placeholders_are_unresolvable_values_not_broken_names() -> None:
    assert findings(["placeholders"]) == [
        (
            "placeholders/daemon.json",
            "2:22-2:42",
            "SP003",
            "info",
            "default-runtime '${DEFAULT_RUNTIME}' is filled in later (${DEFAULT_RUNTIME}); its "
            "final value cannot be checked here",
        ),
        (
            "placeholders/daemon.json",
            "4:29-4:49",
            "SP003",
            "info",
            "runtimes.wasm.runtimeType '{{ .Values.shim }}' is filled in later ({{ .Values.shim "
            "}}); its final value cannot be checked here",
        ),
    ]


def test_nvidia_ctk_empty_args_is_information_only() -> None:
    assert findings(["nvidia-ctk"]) == [
        (
            "nvidia-ctk/daemon.json",
            "5:13-5:19",
            "SP208",
            "info",
            'unknown key "args" in runtime "nvidia": Docker ignores it (it is empty, so nothing is '
            "lost; a runtime entry takes path, runtimeArgs, runtimeType and options); did you mean "
            '"runtimeArgs"?',
        ),
    ]


def test_common_mistakes_each_get_their_own_rule() -> None:
    assert findings(["mistakes"]) == [
        (
            "mistakes/daemon.json",
            "3:5-3:11",
            "SP203",
            "error",
            'runtime kata: either a runtimeType or a path must be configured (add "runtimeType" '
            'for a containerd shim, or "path" for a runc-compatible binary)',
        ),
        (
            "mistakes/daemon.json",
            "3:14-3:28",
            "SP208",
            "warning",
            'unknown key "runtime-type" in runtime "kata": Docker ignores it, so this setting is '
            "silently dropped (a runtime entry takes path, runtimeArgs, runtimeType and options); "
            'did you mean "runtimeType"?',
        ),
        (
            "mistakes/daemon.json",
            "4:25-4:67",
            "SP207",
            "warning",
            'path of runtime "kata-fc" names a containerd shim (containerd-shim-kata-fc-v2), but '
            '"path" is a runc-compatible binary that Docker runs under its own runc shim; '
            'configure the shim with "runtimeType": "io.containerd.kata-fc.v2" instead',
        ),
        (
            "mistakes/daemon.json",
            "5:23-5:47",
            "SP207",
            "warning",
            'path of runtime "runsc" names a containerd shim (the runtime name of '
            'containerd-shim-runsc-v1), but "path" is a runc-compatible binary that Docker runs '
            'under its own runc shim; configure the shim with "runtimeType": '
            '"io.containerd.runsc.v1" instead',
        ),
        (
            "mistakes/daemon.json",
            "6:45-6:51",
            "SP208",
            "warning",
            'unknown key "args" in runtime "crun": Docker ignores it, so this setting is silently '
            "dropped (a runtime entry takes path, runtimeArgs, runtimeType and options); did you "
            'mean "runtimeArgs"?',
        ),
        (
            "mistakes/daemon.json",
            "6:66-6:75",
            "SP205",
            "error",
            "runtime crun: options cannot be used with a path runtime (options are for the shim a "
            '"runtimeType" names)',
        ),
        (
            "mistakes/daemon.json",
            "7:56-7:69",
            "SP206",
            "error",
            "runtime youki: args cannot be used with a runtimeType runtime (a shim takes its "
            'settings from "options")',
        ),
        (
            "mistakes/daemon.json",
            "8:32-8:55",
            "SP211",
            "info",
            'runtime "my-runc" uses io.containerd.runc.v2 without "options": it does not get the '
            "options of Docker's stock runc runtime (SystemdCgroup follows the daemon's cgroup "
            'driver there), so its containers use runc\'s defaults; add "options" (for example '
            '{"SystemdCgroup": true}) if that matters',
        ),
        (
            "mistakes/daemon.json",
            "9:14-9:20",
            "SP208",
            "warning",
            'unknown key "shim" in runtime "spin": Docker ignores it, so this setting is silently '
            "dropped (a runtime entry takes path, runtimeArgs, runtimeType and options); the entry "
            'sets "runtimeType" already, so remove this key',
        ),
        (
            "mistakes/daemon.json",
            "10:5-10:12",
            "SP203",
            "error",
            'runtime empty: either a runtimeType or a path must be configured (add "runtimeType" '
            'for a containerd shim, or "path" for a runc-compatible binary)',
        ),
        (
            "mistakes/daemon.json",
            "12:22-12:31",
            "SP202",
            "error",
            "specified default runtime 'missing' does not exist: it is not a stock runtime "
            '(io.containerd.runc.v2, runc) and "runtimes" here does not define it, and Docker 29 '
            'would not pass it to containerd ("unknown or invalid runtime name: missing"), so '
            "dockerd does not start",
        ),
    ]


def test_docker_23_ignores_runtime_type_and_options() -> None:
    assert findings(["docker23"], policy(docker="23")) == [
        (
            "docker23/daemon.json",
            "3:5-3:11",
            "SP203",
            "warning",
            'runtime kata: no "path" configured; Docker 23 then runs this runtime with plain runc '
            "(the runc shim's default binary)",
        ),
        (
            "docker23/daemon.json",
            "3:14-3:27",
            "SP214",
            "warning",
            'Docker 23 ignores "runtimeType" (runtimeType and options exist from Docker 24.0): '
            'runtime "kata" does not get this setting',
        ),
        (
            "docker23/daemon.json",
            "3:54-3:63",
            "SP214",
            "warning",
            'Docker 23 ignores "options" (runtimeType and options exist from Docker 24.0): runtime '
            '"kata" does not get this setting',
        ),
    ]


# ---------------------------------------------------------------- behaviour


def test_empty_file_is_an_empty_configuration() -> None:
    # dockerd trims whitespace and starts with defaults from an empty daemon.json.
    assert findings(["empty"]) == []


def test_working_configuration_has_no_findings() -> None:
    # A path runtime with arguments, shims by name and by path, runc's shim with options,
    # keys in another case and an empty runtimeArgs on a runtimeType runtime.
    assert findings(["good"]) == []


def test_runtimes_on_windows_stop_the_daemon() -> None:
    assert findings(["windows"], policy(platform="windows")) == [
        (
            "windows/daemon.json",
            "3:3-3:13",
            "SP210",
            "error",
            'a Windows daemon has no "runtimes" setting: dockerd does not start ("the following '
            "directives don't match any configuration option: runtimes\")",
        ),
    ]


def test_top_level_value_must_be_an_object() -> None:
    result = lint_text("[]\n", "daemon.json", Policy.default())
    assert [(f.line, f.column, f.rule, f.message) for f in result.findings] == [
        (
            1,
            1,
            "SP213",
            "daemon.json must be a JSON object, not an array: dockerd does not start (json: cannot "
            "unmarshal array into Go value of type map[string]interface {})",
        ),
    ]


def test_keys_fold_like_go_long_s_matches_s() -> None:
    # "option\u017f" is "options" to Go's decoder, so D3.5 applies.
    text = '{"runtimes": {"crun": {"path": "crun", "option\u017f": {"SystemdCgroup": true}}}}'
    assert text_findings(text, "daemon.json") == [(1, 40, "SP205", "error")]


@pytest.mark.parametrize("docker", ["24", "25", "29"])
def test_dotless_i_folds_onto_nothing_in_any_go(docker: str) -> None:
    # unicode.SimpleFold keeps U+0131 (measured with Go 1.19 and 1.24): "runtımeType" is
    # no field of a runtime entry, whatever Go built the daemon.
    text = '{"runtimes": {"kata": {"runt\u0131meType": "io.containerd.kata.v2"}}}'
    assert text_findings(text, "daemon.json", policy(docker=docker)) == [
        (1, 15, "SP203", "error"),
        (1, 24, "SP208", "warning"),
    ]


def test_null_runtimes_empties_what_came_before() -> None:
    text = '{"runtimes": {"broken": {}}, "runtimes": null}'
    assert text_findings(text, "daemon.json") == [(1, 2, "SP212", "warning")]


def test_null_leaves_a_string_as_it_was() -> None:
    # Go: null does not change a string field, so the path set first is kept.
    text = '{"runtimes": {"crun": {"path": "/usr/bin/crun", "path": null}}}'
    assert text_findings(text, "daemon.json") == [(1, 24, "SP212", "warning")]


def test_empty_options_and_empty_args_are_accepted_as_docker_does() -> None:
    # D3.5 and D3.6 look at len(options) > 0 and len(args) > 0.
    text = (
        '{"runtimes": {"crun": {"path": "crun", "options": {}},'
        ' "kata": {"runtimeType": "io.containerd.kata.v2", "runtimeArgs": []}}}'
    )
    assert text_findings(text, "daemon.json") == []


def test_only_the_first_settings_problem_of_a_runtime_is_reported_as_dockerd_does() -> None:
    # Both path and runtimeType (D3.4) and options with a path (D3.5): dockerd stops at D3.4.
    text = (
        '{"runtimes": {"x": {"path": "x", "runtimeType": "io.containerd.kata.v2",'
        ' "options": {"a": 1}}}}'
    )
    assert text_findings(text, "daemon.json") == [(1, 34, "SP204", "error")]


def test_a_path_without_arguments_is_run_without_a_shell() -> None:
    # No runtimeArgs: no wrapper script, so spaces in the path are harmless.
    text = '{"runtimes": {"crun": {"path": "/opt/my runtimes/crun"}}}'
    assert text_findings(text, "daemon.json") == []


def test_a_leading_tilde_or_hash_is_special_only_at_the_start_of_a_word() -> None:
    text = (
        '{"runtimes": {"runsc": {"path": "runsc",'
        ' "runtimeArgs": ["--root=~/x", "a#b", "~/x", "#debug"]}}}'
    )
    found = text_findings(text, "daemon.json")
    assert found == [(1, 79, "SP209", "warning"), (1, 86, "SP209", "warning")]


@pytest.mark.parametrize(
    ("name", "docker", "expected"),
    [
        ("io.containerd.kata.v2", "28", []),
        ("com.example.runc.v2", "28", [(1, 21, "SP110", "warning")]),
        # D1: a leading dot passes Docker 23-24 (containerd 1.6 rules) but not 25 and later.
        (".kata", "24", [(1, 21, "SP102", "error")]),
        (".kata", "25", [(1, 21, "SP202", "error")]),
        # Before Docker 23 only stock and configured names are accepted.
        ("io.containerd.kata.v2", "22.06", [(1, 21, "SP202", "error")]),
        ("runc", "28", []),
        ("io.containerd.runc.v2", "23", []),
    ],
)
def test_default_runtime_follows_d1_for_the_docker_version(
    name: str, docker: str, expected: list[tuple[int, int, str, str]]
) -> None:
    text = f'{{"default-runtime": "{name}"}}'
    assert text_findings(text, "daemon.json", policy(docker=docker)) == expected


def test_default_runtime_naming_a_configured_runtime_is_never_checked_further() -> None:
    # D2: configured names win, even ones containerd could not resolve.
    text = '{"default-runtime": "my/odd.name", "runtimes": {"my/odd.name": {"path": "crun"}}}'
    assert text_findings(text, "daemon.json") == []


def test_collect_records_configured_runtimes_for_other_files() -> None:
    source = SourceFile.of(
        "etc/docker/daemon.json",
        (FIXTURES / "duplicates" / "daemon.json").read_text(),
        "daemon.json",
    )
    facts = Facts()
    TYPE.collect(TYPE.load(source), source, facts)
    assert facts.daemon_json == ["etc/docker/daemon.json"]
    assert {name: (loc.line, loc.column) for name, loc in facts.docker_runtimes.items()} == {
        "crun": (8, 5),
        "youki": (5, 5),
        "kata": (9, 5),
    }


# ---------------------------------------------------------------- real-world files


@needs_corpus
@pytest.mark.parametrize(
    "project", ["moby-dev-crun", "nvidia-data-science-stack", "nvidia-docker2", "youki-dind"]
)
def test_real_world_daemon_json_files_are_clean(project: str) -> None:
    # All four work as published: crun and youki by path, nvidia with "runtimeArgs": [] and
    # as the default runtime it configures itself.
    assert findings([str(CORPUS / "docker" / project)]) == []


# ---------------------------------------------------------------- refusals measured on dockerd
# Each class below was measured on a live dockerd 20.10.24 (tests/live), and read in moby.


def rules_for(text: str, docker: str = "20.10") -> list[tuple[str, int, int, str]]:
    result = lint_text(text, "daemon.json", policy(docker=docker))
    return [(f.rule, f.line, f.column, f.message) for f in result.findings]


def test_unknown_top_level_key_stops_dockerd() -> None:
    assert rules_for('{"default_runtime": "runc"}') == [
        (
            "SP221",
            1,
            2,
            'unknown key "default_runtime": Docker 20.10 does not start ("the following '
            "directives don't match any configuration option: default_runtime\"); did you mean "
            '"default-runtime"?',
        )
    ]


def test_wrong_case_object_is_flattened_and_its_keys_refused() -> None:
    assert rules_for('{"Runtimes": {"crun": {"path": "/usr/bin/crun"}}}') == [
        (
            "SP221",
            1,
            2,
            '"Runtimes" is not a daemon.json key, so dockerd reads the keys of its object as '
            'top-level keys, and "crun" is not one either: Docker 20.10 does not start ("the '
            "following directives don't match any configuration option: crun\"); did you mean "
            '"runtimes"?',
        )
    ]
    # An empty object contributes no key: dockerd starts.
    assert rules_for('{"Runtimes": {}}') == []


def test_known_keys_follow_the_docker_version() -> None:
    proxies = '{"proxies": {"http-proxy": "http://proxy:3128"}}'
    assert [r[0] for r in rules_for(proxies, "20.10")] == ["SP221"]
    assert rules_for(proxies, "23") == []
    assert [r[0] for r in rules_for('{"cluster-store": "consul://x"}', "24")] == ["SP221"]
    assert rules_for('{"cluster-store": "consul://x"}', "20.10") == []
    assert rules_for('{"features": {"buildkit": true}, "builder": {"gc": {}}}', "20.10") == []


def test_empty_file_and_byte_order_mark_stop_docker_before_23() -> None:
    empty = (
        "SP220",
        1,
        1,
        'daemon.json is empty: Docker 20.10 does not start ("unable to configure the Docker '
        'daemon with file …: EOF"); write {} for an empty configuration (Docker 23 and later '
        "accept it)",
    )
    assert rules_for(" \n") == [empty]
    assert rules_for(" \n", "23") == []
    bom = rules_for("\ufeff{}")
    assert [(r[0], r[1], r[2]) for r in bom] == [("SP220", 1, 1)]
    assert "invalid character 'ï' looking for beginning of value" in bom[0][3]
    assert rules_for("\ufeff{}", "23") == []


def test_a_file_holding_null_starts() -> None:
    assert rules_for("null") == []
    assert rules_for("null", "28") == []


def test_duplicate_runtime_whose_first_copy_has_the_wrong_type_stops_dockerd() -> None:
    text = '{"runtimes": {"crun": "x", "crun": {"path": "/usr/bin/crun"}}}'
    assert [(r[0], r[2]) for r in rules_for(text) if r[0] == "SP213"] == [("SP213", 23)]


def test_runtime_names_that_are_not_file_names_stop_dockerd_with_runtime_args() -> None:
    def script(name: str, docker: str = "20.10") -> list[str]:
        entry = {name: {"path": "/usr/bin/crun", "runtimeArgs": ["-d"]}}
        text = json.dumps({"runtimes": entry})
        return [r[3] for r in rules_for(text, docker) if r[0] == "SP222"]

    assert [m.split('("')[1] for m in script(".")] == [
        'failed to start daemon: open <data-root>/gen-runtimes<N>: is a directory"); give the '
        "runtime a plain name"
    ]
    assert "open <data-root>: is a directory" in script("..")[0]
    assert "open <data-root>: is a directory" not in script("")[0]
    assert "open <data-root>/gen-runtimes<N>/a/b: no such file or directory" in script("a/b")[0]
    assert script("crun") == script("a/") == []
    assert script(".", "25") == []  # Docker 25 adds a suffix to the script's name
    plain = '{"runtimes": {".": {"path": "/usr/bin/crun"}}}'
    assert [r for r in rules_for(plain) if r[0] == "SP222"] == []


def test_fields_docker_20_10_never_decodes_have_no_type() -> None:
    text = '{"runtimes": {"kata": {"path": "/usr/bin/kata", "runtimeType": 1, "options": 2}}}'
    assert [r[0] for r in rules_for(text)] == ["SP214", "SP214"]
    assert "SP213" in [r[0] for r in rules_for(text, "24")]


def test_docker_settings_are_read_as_dockerd_decodes_them() -> None:
    """Keys matched ignoring case, options merged, the last default-runtime; Docker 23
    knows neither runtimeType nor options (D3)."""
    text = (
        '{"default-runtime": "kata", "runtimes": {\n'
        '  "kata": {"RuntimeType": "io.containerd.kata.v2"},\n'
        '  "crun": {"runtimeType": "io.containerd.runc.v2", "options": {"BinaryName": "crun"}},\n'
        '  "gpu": {"path": "nvidia-container-runtime", "runtimeArgs": ["--debug"]}}}\n'
    )
    source = SourceFile.of("daemon.json", text, "daemon.json")
    doc = TYPE.load(source)
    settings = docker_settings(doc, source, "28")
    assert [
        (r.name, r.path, r.runtime_type, r.binary_name, r.wrapped) for r in settings.runtimes
    ] == [
        ("kata", None, "io.containerd.kata.v2", None, False),
        ("crun", None, "io.containerd.runc.v2", "crun", False),
        ("gpu", "nvidia-container-runtime", None, None, True),
    ]
    crun = settings.runtimes[1]
    assert crun.binary_at is not None and (crun.binary_at.line, crun.binary_at.column) == (3, 78)
    assert (settings.default_runtime, settings.default_at and settings.default_at.column) == (
        "kata",
        21,
    )
    old = docker_settings(doc, source, "23")
    assert [(r.runtime_type, r.binary_name) for r in old.runtimes] == [(None, None)] * 3


def test_default_runtime_with_runtime_args_and_no_path_stops_docker_before_23() -> None:
    text = '{"default-runtime": "g", "runtimes": {"g": {"runtimeArgs": ["--debug"]}}}'
    assert [r for r in rules_for(text) if r[0] == "SP223"] == [
        (
            "SP223",
            1,
            21,
            'the default runtime "g" has runtimeArgs but no "path": Docker 20.10 looks its path '
            "up at start and does not start (\"failed to start daemon: couldn't create plugin "
            'manager: error while looking up the specified runtime path: exec: "": executable '
            'file not found in $PATH"); give it a "path" (a runc-compatible binary)',
        )
    ]
    # Not the default: it fails only when a container uses it.
    assert [
        r for r in rules_for(text.replace('"default-runtime": "g", ', "")) if r[0] == "SP223"
    ] == []
    # Docker 23 refuses it as D3.3 instead.
    assert [r[0] for r in rules_for(text, "23") if r[0] in ("SP203", "SP223")] == ["SP203"]
