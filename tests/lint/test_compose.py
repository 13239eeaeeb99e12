"""Compose `services.<name>.runtime` checks (SPEC D1, D2, D4): exact findings on fixtures."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shimpolicy.lint.compose import Malformed, _closing_brace, _stack_file, interpolations
from shimpolicy.lint.engine import lint_text
from shimpolicy.policy import Policy
from tests.conftest import CORPUS, findings, needs_corpus, policy, text_findings
from tests.conftest import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "compose"


@pytest.fixture(autouse=True)
def _in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


# ---------------------------------------------------------------- interpolation


@pytest.mark.parametrize(
    ("value", "outcomes"),
    [
        ("nvidia", [(("nvidia", 0),)]),
        ("", [()]),
        ("${RT}", [(None,)]),
        ("$RT", [(None,)]),
        ("${RT:-kata}", [(("kata", 6),)]),
        ("${RT-kata}", [(("kata", 5),)]),
        ("${RT:+kata}", [(("kata", 6),), ()]),
        ("${RT+kata}", [(("kata", 5),), ()]),
        ("${RT:?set it}", [(None,)]),
        ("${RT?set it}", [(None,)]),
        ("io.${S:-kata}.v2", [(("io.", 0), ("kata", 8), (".v2", 13))]),
        ("${A:-${B:-runc}}", [(("runc", 10),)]),
        ("$$RT", [(("$", 1), ("RT", 2))]),
        # A '$' that starts nothing stays: compose-go's pattern does not match it.
        ("a$1b", [(("a$1b", 0),)]),
        ("x$", [(("x$", 0),)]),
        # The default runs to the first balancing '}', the rest is text again.
        ("${A-x}}", [(("x", 4), ("}", 6))]),
        ("${A:-{x}}", [(("{x}", 5),)]),
        ("${A:-}", [()]),
    ],
)
def test_interpolation_yields_every_value_compose_can_produce(
    value: str, outcomes: list[tuple[tuple[str, int] | None, ...]]
) -> None:
    assert interpolations(value) == outcomes


@pytest.mark.parametrize(
    ("value", "offset"),
    [
        ("${", 0),
        ("${RT", 0),
        ("${}", 0),
        ("${ RT}", 0),
        ("${RT }", 0),
        ("${RT!}", 0),
        ("io.${RT:-x", 3),
        ("${A:-${}", 5),
    ],
)
def test_malformed_interpolation_is_found_where_compose_go_finds_it(
    value: str, offset: int
) -> None:
    assert interpolations(value) == Malformed(offset)


def _go_first_brace_closing_index(s: str) -> int:
    """compose-go's getFirstBraceClosingIndex, character by character as Go writes it."""
    depth = 0
    i = 0
    while i < len(s):
        if s[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        if s[i] == "{":
            depth += 1
            i += 1
        i += 1
    return -1


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="{}$ab", max_size=24), data=st.data())
def test_closing_brace_is_the_one_compose_go_finds(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    found = _go_first_brace_closing_index(text[start:end])
    assert _closing_brace(text, start, end) == (start + found if found >= 0 else -1)


# ---------------------------------------------------------------- fixtures


def test_each_interpolated_value_is_checked_at_its_own_characters() -> None:
    assert findings(["interpolation"]) == [
        (
            "interpolation/compose.yaml",
            "8:25-8:44",
            "SP104",
            "error",
            "services.unset-default.runtime: '/usr/local/bin/crun' is a path "
            "that containerd would execute directly as root (C2 step 2); chosen per container, it "
            "would let anyone with API access run any file on the host, which is why Docker "
            "refuses such names",
        ),
        (
            "interpolation/compose.yaml",
            "11:26-11:32",
            "SP301",
            "warning",
            "services.alternative.runtime 'nvidia' is neither a stock runtime nor a shim name: "
            'Docker 29 accepts it only if the host\'s daemon.json defines it under "runtimes", and '
            'no daemon.json is linted beside this file (otherwise Docker refuses it: "unknown or '
            'invalid runtime name: nvidia")',
        ),
        (
            "interpolation/compose.yaml",
            "17:24-17:43",
            "SP110",
            "warning",
            "services.nested.runtime: 'com.example.runc.v2' runs "
            "containerd-shim-runc-v2 (runc (shim v2)), the shim documented as "
            "io.containerd.runc.v2: containerd reads only the last two pieces of a name (C1), so "
            "the rest of it selects nothing",
        ),
        (
            "interpolation/compose.yaml",
            "20:14-20:42",
            "SP110",
            "warning",
            "services.composed.runtime: 'com.example.kata.v2' runs "
            "containerd-shim-kata-v2 (Kata Containers), the shim documented as "
            "io.containerd.kata.v2: containerd reads only the last two pieces of a name (C1), so "
            "the rest of it selects nothing",
        ),
        (
            "interpolation/compose.yaml",
            "23:14-23:37",
            "SP003",
            "info",
            "services.required.runtime '${RUNTIME:?set RUNTIME}' is filled in later "
            "(${RUNTIME:?set RUNTIME}); its final value cannot be checked here",
        ),
        (
            "interpolation/compose.yaml",
            "26:14-26:22",
            "SP003",
            "info",
            "services.bare.runtime '$RUNTIME' is filled in later ($RUNTIME); its final value "
            "cannot be checked here",
        ),
        (
            "interpolation/compose.yaml",
            "29:14-29:23",
            "SP301",
            "warning",
            "services.escaped.runtime '$runtime' is neither a stock runtime nor a shim name: "
            'Docker 29 accepts it only if the host\'s daemon.json defines it under "runtimes", and '
            'no daemon.json is linted beside this file (otherwise Docker refuses it: "unknown or '
            'invalid runtime name: $runtime")',
        ),
        (
            "interpolation/compose.yaml",
            "32:14-32:32",
            "SP301",
            "warning",
            "services.escaped-in-quotes.runtime 'Anvidia' is neither a stock runtime nor a shim "
            "name: Docker 29 accepts it only if the host's daemon.json defines it under "
            '"runtimes", and no daemon.json is linted beside this file (otherwise Docker refuses '
            'it: "unknown or invalid runtime name: Anvidia")',
        ),
        (
            "interpolation/compose.yaml",
            "35:14-35:16",
            "SP304",
            "error",
            "invalid interpolation format for services.unclosed.runtime: "
            "'${RUNTIME:-io.containerd.kata.v2'; Compose refuses the file (\"You may need to "
            'escape any $ with another $")',
        ),
        (
            "interpolation/compose.yaml",
            "38:29-38:31",
            "SP304",
            "error",
            "invalid interpolation format for services.bad-name.runtime: 'io.containerd.${ "
            'SHIM}.v2\'; Compose refuses the file ("You may need to escape any $ with another $")',
        ),
    ]


def test_runtime_from_an_anchor_is_reported_once_where_it_is_written() -> None:
    # x-gpu is merged into three services, but notebook overrides runtime; worker merges
    # [*sandbox, *gpu], where the first mapping wins.
    assert findings(["anchors"]) == [
        (
            "anchors/docker-compose.yml",
            "2:12-2:18",
            "SP301",
            "warning",
            "runtime shared by services inference and trainer 'nvidia' is neither a stock runtime "
            "nor a shim name: Docker 29 accepts it only if the host's daemon.json defines it under "
            '"runtimes", and no daemon.json is linted beside this file (otherwise Docker refuses '
            'it: "unknown or invalid runtime name: nvidia")',
        ),
        (
            "anchors/docker-compose.yml",
            "6:12-6:36",
            "SP111",
            "warning",
            "runtime shared by services untrusted and worker: "
            "'io.containerd.kata.v2 ' contains whitespace or non-ASCII characters, which "
            "containerd copies verbatim into the binary name containerd-shim-kata-v2 ",
        ),
    ]


def test_quoted_and_flow_style_scalars() -> None:
    assert findings(["flow"]) == [
        (
            "flow/compose.yaml",
            "1:94-1:100",
            "SP301",
            "warning",
            "services.b.runtime 'crun' is neither a stock runtime nor a shim name: Docker 29 "
            'accepts it only if the host\'s daemon.json defines it under "runtimes", and no '
            'daemon.json is linted beside this file (otherwise Docker refuses it: "unknown or '
            'invalid runtime name: crun")',
        ),
        (
            "flow/compose.yaml",
            "1:131-1:150",
            "SP110",
            "warning",
            "services.c.runtime: 'com.example.runc.v2' runs "
            "containerd-shim-runc-v2 (runc (shim v2)), the shim documented as "
            "io.containerd.runc.v2: containerd reads only the last two pieces of a name (C1), so "
            "the rest of it selects nothing",
        ),
    ]


def test_wrong_types_are_refused_and_yaml_1_2_strings_are_names() -> None:
    # yes and 1:20 are strings to compose-go's YAML 1.2 reader; an empty value points at
    # its key; services named true keep their name as written.
    assert findings(["wrong-types"]) == [
        (
            "wrong-types/compose.yaml",
            "4:14-4:37",
            "SP302",
            "error",
            "services.list.runtime must be a string, not a list: Compose refuses the file; write "
            "one runtime name",
        ),
        (
            "wrong-types/compose.yaml",
            "8:7-9:3",
            "SP302",
            "error",
            "services.mapping.runtime must be a string, not a mapping: Compose refuses the file; "
            "write one runtime name",
        ),
        (
            "wrong-types/compose.yaml",
            "11:14-11:15",
            "SP302",
            "error",
            "services.number.runtime must be a string, not a number: Compose refuses the file; "
            "write one runtime name",
        ),
        (
            "wrong-types/compose.yaml",
            "14:5-14:12",
            "SP302",
            "error",
            "services.empty.runtime must be a string, not null (an empty value): Compose refuses "
            "the file; write one runtime name",
        ),
        (
            "wrong-types/compose.yaml",
            "17:14-17:17",
            "SP301",
            "warning",
            "services.yaml11-boolean.runtime 'yes' is neither a stock runtime nor a shim name: "
            'Docker 29 accepts it only if the host\'s daemon.json defines it under "runtimes", and '
            'no daemon.json is linted beside this file (otherwise Docker refuses it: "unknown or '
            'invalid runtime name: yes")',
        ),
        (
            "wrong-types/compose.yaml",
            "20:14-20:18",
            "SP301",
            "warning",
            "services.sexagesimal.runtime '1:20' is neither a stock runtime nor a shim name: "
            'Docker 29 accepts it only if the host\'s daemon.json defines it under "runtimes", and '
            'no daemon.json is linted beside this file (otherwise Docker refuses it: "unknown or '
            'invalid runtime name: 1:20")',
        ),
        (
            "wrong-types/compose.yaml",
            "23:14-23:18",
            "SP302",
            "error",
            "services.true.runtime must be a string, not a boolean: Compose refuses the file; "
            "write one runtime name",
        ),
        (
            "wrong-types/docker-compose.yaml",
            "2:3-4:1",
            "SP302",
            "error",
            "services must be a mapping, not a list: Compose refuses the file",
        ),
    ]


def test_a_service_or_a_file_that_is_not_a_mapping_is_refused() -> None:
    # compose-go validates each service against the schema (an object) and refuses a file
    # whose top level is not a mapping; an empty service and `!reset` are not refused.
    def found(text: str) -> list[tuple[int, int, str, str, str]]:
        result = lint_text(text, "compose.yaml", Policy.default())
        return [(f.line, f.column, f.rule, f.severity, f.message) for f in result.findings]

    assert found("services:\n  web: nginx\n  empty:\n  gone: !reset\n") == [
        (
            2,
            8,
            "SP302",
            "error",
            "services.web must be a mapping, not a string: Compose refuses the file",
        ),
    ]
    assert found("- web\n") == [
        (
            1,
            1,
            "SP302",
            "error",
            "the top level must be a mapping, not a list: Compose refuses the file "
            '("Top-level object must be a mapping")',
        )
    ]


def test_stack_files_are_recognised_by_name_or_by_swarm_placement() -> None:
    assert findings(["stack"]) == [
        (
            "stack/compose.yaml",
            "5:5-5:12",
            "SP303",
            "warning",
            '`docker stack deploy` rejects `runtime` ("services.web Additional property runtime is '
            'not allowed") and this looks like a stack file (version 3.9 with deploy.placement, '
            "which only swarm honours); only `docker compose` honours it",
        ),
        (
            "stack/compose.yaml",
            "11:5-11:12",
            "SP303",
            "warning",
            '`docker stack deploy` rejects `runtime` ("services.db Additional property runtime is '
            'not allowed") and this looks like a stack file (version 3.9 with deploy.placement, '
            "which only swarm honours); only `docker compose` honours it",
        ),
        (
            "stack/docker-stack.yml",
            "5:5-5:12",
            "SP303",
            "warning",
            '`docker stack deploy` rejects `runtime` ("services.web Additional property runtime is '
            'not allowed") and this looks like a stack file (its name is docker-stack.yml); only '
            "`docker compose` honours it",
        ),
    ]


def test_file_found_by_its_content() -> None:
    assert findings(["apps"]) == [
        (
            "apps/firefox.yml",
            "5:14-5:31",
            "SP003",
            "info",
            "services.firefox.runtime '${DOCKER_RUNTIME}' is filled in later (${DOCKER_RUNTIME}); "
            "its final value cannot be checked here",
        ),
        (
            "apps/firefox.yml",
            "8:14-8:34",
            "SP104",
            "error",
            "services.sandboxed.runtime: '/usr/local/bin/runsc' is a path "
            "that containerd would execute directly as root (C2 step 2); chosen per container, it "
            "would let anyone with API access run any file on the host, which is why Docker "
            "refuses such names",
        ),
    ]


def test_reset_and_override_tags_of_override_files() -> None:
    assert findings(["override"]) == []


def test_names_configured_in_a_daemon_json_beside_the_file_are_accepted() -> None:
    # D2: nvidia is configured there; runsc and kata are not, and Docker refuses them.
    assert findings(["with-daemon"]) == [
        (
            "with-daemon/app/compose.yaml",
            "7:14-7:19",
            "SP301",
            "error",
            "services.sandbox.runtime 'runsc' is not configured in with-daemon/daemon.json: Docker "
            'refuses it ("unknown or invalid runtime name: runsc"); define it under "runtimes" '
            'there; "io.containerd.runsc.v1" needs no configuration where the gVisor (runsc) shim '
            "is installed",
        ),
        (
            "with-daemon/app/compose.yaml",
            "10:14-10:18",
            "SP301",
            "error",
            "services.kata.runtime 'kata' is not configured in with-daemon/daemon.json: Docker "
            'refuses it ("unknown or invalid runtime name: kata"); define it under "runtimes" '
            'there; "io.containerd.kata.v2" needs no configuration where the Kata Containers shim '
            "is installed",
        ),
    ]


def test_without_a_daemon_json_beside_it_an_unconfigured_name_is_a_warning() -> None:
    assert findings(["with-daemon/app"]) == [
        (
            "with-daemon/app/compose.yaml",
            "4:14-4:20",
            "SP301",
            "warning",
            "services.gpu.runtime 'nvidia' is neither a stock runtime nor a shim name: Docker 29 "
            'accepts it only if the host\'s daemon.json defines it under "runtimes", and no '
            'daemon.json is linted beside this file (otherwise Docker refuses it: "unknown or '
            'invalid runtime name: nvidia")',
        ),
        (
            "with-daemon/app/compose.yaml",
            "7:14-7:19",
            "SP301",
            "warning",
            "services.sandbox.runtime 'runsc' is neither a stock runtime nor a shim name: Docker "
            '29 accepts it only if the host\'s daemon.json defines it under "runtimes", and no '
            'daemon.json is linted beside this file (otherwise Docker refuses it: "unknown or '
            'invalid runtime name: runsc"); "io.containerd.runsc.v1" needs no configuration where '
            "the gVisor (runsc) shim is installed",
        ),
        (
            "with-daemon/app/compose.yaml",
            "10:14-10:18",
            "SP301",
            "warning",
            "services.kata.runtime 'kata' is neither a stock runtime nor a shim name: Docker 29 "
            'accepts it only if the host\'s daemon.json defines it under "runtimes", and no '
            'daemon.json is linted beside this file (otherwise Docker refuses it: "unknown or '
            'invalid runtime name: kata"); "io.containerd.kata.v2" needs no configuration where '
            "the Kata Containers shim is installed",
        ),
    ]


# ---------------------------------------------------------------- behaviour


def test_configured_names_from_a_daemon_json_elsewhere_are_accepted() -> None:
    # D2 holds whichever daemon.json of the run configures the name (nvidia here); only the
    # severity of a name none configures depends on a daemon.json beside the file.
    found = findings(["with-daemon/daemon.json", "anchors"])
    assert [(r[0], r[1], r[2]) for r in found] == [
        ("anchors/docker-compose.yml", "6:12-6:36", "SP111"),
    ]


def test_before_docker_23_every_unconfigured_name_needs_daemon_json() -> None:
    text = "services:\n  app:\n    image: alpine\n    runtime: io.containerd.kata.v2\n"
    found = text_findings(text, "compose.yaml", pol=policy(docker="22.06"))
    assert found == [(4, 14, "SP301", "warning")]
    assert text_findings(text, "compose.yaml", pol=policy(docker="23")) == []


def test_template_markers_left_after_interpolation_are_unresolvable() -> None:
    text = "services:\n  app:\n    image: alpine\n    runtime: '{{ .Values.runtime }}'\n"
    assert text_findings(text, "compose.yaml") == [(4, 14, "SP003", "info")]


def test_every_document_of_a_stream_is_checked() -> None:
    text = (
        "services:\n  a:\n    runtime: io.containerd.kata.v2\n---\n"
        "services:\n  b:\n    runtime: /usr/bin/kata\n"
    )
    assert text_findings(text, "compose.yaml") == [(7, 14, "SP104", "error")]


def test_version_3_without_placement_is_not_taken_for_a_stack_file() -> None:
    text = (
        'version: "3.9"\nservices:\n  app:\n    image: alpine\n    runtime: io.containerd.kata.v2\n'
        "    deploy:\n      resources: {limits: {memory: 1G}}\n"
    )
    assert text_findings(text, "compose.yaml") == []


def test_a_shared_runtime_names_every_service_that_takes_it() -> None:
    text = "x-rt: &rt\n  runtime: com.example.runc.v2\nservices:\n" + "".join(
        f"  s{i}:\n    <<: *rt\n" for i in range(7)
    )
    result = lint_text(text, "compose.yaml", Policy.default())
    assert [(f.line, f.column, f.rule, f.message) for f in result.findings] == [
        (
            2,
            12,
            "SP110",
            "runtime shared by services s0, s1, s2, s3 and 3 more: "
            "'com.example.runc.v2' runs containerd-shim-runc-v2 (runc (shim v2)), the shim "
            "documented as io.containerd.runc.v2: containerd reads only the last two pieces of a "
            "name (C1), so the rest of it selects nothing",
        ),
    ]


# ---------------------------------------------------------------- real-world files


@needs_corpus
@pytest.mark.parametrize("project", ["awesome-compose-wasmedge-kafka", "microservice-rust-mysql"])
def test_real_world_wasm_shim_by_name_is_clean(project: str) -> None:
    # runtime: io.containerd.wasmedge.v1, a well-formed shim name Docker passes on.
    assert findings([str(CORPUS / "compose" / project)]) == []


@needs_corpus
def test_real_world_runtime_from_the_environment_is_information_only() -> None:
    path = str(CORPUS / "compose" / "gow-firefox")
    assert [(r[1], r[2], r[3]) for r in findings([path])] == [("17:14-17:31", "SP003", "info")]


@needs_corpus
@pytest.mark.parametrize(
    ("project", "position"),
    [("jetson-wyoming", "2:12-2:18"), ("milla-postgres", "55:14-55:19")],
)
def test_real_world_host_configured_runtime_is_a_warning_alone(project: str, position: str) -> None:
    # nvidia (from an x- anchor merged into five services, reported once) and runsc work
    # where the host's daemon.json configures them, which this run cannot see.
    found = findings([str(CORPUS / "compose" / project)])
    assert [(r[1], r[2], r[3]) for r in found] == [(position, "SP301", "warning")]


@needs_corpus
@pytest.mark.parametrize("daemon", ["nvidia-docker2", "nvidia-data-science-stack"])
def test_real_world_nvidia_runtime_is_fine_with_nvidias_daemon_json(daemon: str) -> None:
    paths = [str(CORPUS / "compose" / "jetson-wyoming"), str(CORPUS / "docker" / daemon)]
    assert findings(paths) == []


@given(
    st.lists(
        st.sampled_from(["stack", "Stack", "docker-", ".", "yml", "yaml", "x", ""]), max_size=6
    )
)
def test_stack_file_names_are_the_globs(pieces: list[str]) -> None:
    base = "".join(pieces)
    by_globs = any(fnmatchcase(base.lower(), g) for g in ("*stack*.yml", "*stack*.yaml"))
    assert (_stack_file(f"deploy/{base}", []) is not None) == by_globs
