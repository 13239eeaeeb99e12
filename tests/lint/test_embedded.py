"""Configuration files written by other files (lint/embedded.py): a provisioning script's
here-documents, ``tee`` and ``printf``, a workflow's ``run:`` steps.  Each is checked by
the checks of its own type, and every finding is placed where its text is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shimpolicy.lint.engine import LintOptions, lint_paths, lint_text
from shimpolicy.lint.finding import Location
from shimpolicy.lint.graph import build_graph
from shimpolicy.lint.parallel import PARALLEL_MIN_FILES
from shimpolicy.policy import Policy
from shimpolicy.report.sarif import write as sarif_report
from shimpolicy.syntax.shell import FileWrite, find_file_writes
from tests.conftest import FIXTURES, SHARED, findings, rows

EMBEDDED = FIXTURES / "embedded"
SCRIPT = EMBEDDED / "provision.sh"
WORKFLOW = EMBEDDED / "workflow" / ".github" / "workflows" / "node.yml"
CORPUS2 = SHARED / "corpus" / "realworld2"

MIGRATED_V2 = (
    "config version 2: containerd 2.3 converts it at every start (`Configuration migrated "
    "from version 2, use `containerd config migrate` to avoid migration`); `containerd "
    "config migrate` writes the version 4 equivalent"
)
RUNC_RESERVED = (
    "runtime name 'runc' is reserved: Docker always provides `runc` itself (the stock runc "
    "v2 shim); give this runtime another name"
)


def world_writable(handler: str, directory: str, shim: str) -> str:
    return (
        f"handler '{handler}' runtime_type: containerd would execute '{directory}/{shim}' as "
        f"root from '{directory}', a directory other users can write to; install the shim in a "
        "directory only root can write, such as /usr/local/bin"
    )


def written(path: Path, line: int, column: int, end_column: int) -> str:
    return path.read_text(encoding="utf-8").split("\n")[line - 1][column - 1 : end_column - 1]


def test_a_provisioning_script_has_its_configs_checked_where_they_are_written() -> None:
    assert rows(SCRIPT) == [
        # cat > config.toml <<'EOF'
        (7, 11, 7, 12, "SP407", "info", MIGRATED_V2),
        (
            9,
            18,
            9,
            54,
            "SP106",
            "error",
            world_writable("kata", "/tmp/shims", "containerd-shim-kata-v2"),
        ),
        # sudo tee daemon.json <<EOF: $DEFAULT_RUNTIME is a placeholder, runc a real error
        (
            14,
            22,
            14,
            40,
            "SP003",
            "info",
            "default-runtime '$DEFAULT_RUNTIME' is filled in later ($DEFAULT_RUNTIME); its "
            "final value cannot be checked here",
        ),
        (16, 5, 16, 11, "SP201", "error", RUNC_RESERVED),
        # cat <<-EOF >> config.toml: the file the script started, tabs stripped; version 2
        # comes from the first piece
        (
            26,
            19,
            26,
            26,
            "SP102",
            "error",
            "handler 'gvisor' runtime_type 'runsc': containerd 2.3 rejects this name: invalid "
            "runtime name runsc, correct runtime name should be either format like "
            "`io.containerd.runc.v2` or a full path to the binary",
        ),
        # cat <<'EOF' | sudo tee conf.d/wasm.toml: its SP106 suppressed in the script
        (
            31,
            1,
            31,
            1,
            "SP407",
            "info",
            "no `version` key, so this is a version 1 config: containerd 2.3 converts it at "
            "every start (`Configuration migrated from version 0, use `containerd config "
            "migrate` to avoid migration`); `containerd config migrate` writes the version 4 "
            "equivalent",
        ),
        # printf with escapes
        (
            36,
            33,
            36,
            39,
            "SP202",
            "error",
            "specified default runtime 'kata' does not exist: it is not a stock runtime "
            '(io.containerd.runc.v2, runc) and "runtimes" here does not define it, and Docker '
            '29 would not pass it to containerd ("unknown or invalid runtime name: kata"), so '
            "dockerd does not start",
        ),
        (
            37,
            7,
            37,
            30,
            "SP003",
            "info",
            "/etc/docker/daemon.json is written with command substitutions ($(...) or "
            "backticks) the shell runs first: what it holds cannot be checked here",
        ),
        (
            40,
            7,
            40,
            30,
            "SP003",
            "info",
            "/etc/docker/daemon.json holds values filled in later that make it unreadable as "
            "a Docker daemon.json until then: its final content cannot be checked here",
        ),
        (
            43,
            71,
            43,
            103,
            "SP003",
            "info",
            "/etc/containerd/conf.d/base.toml is appended to (`tee`): the file's earlier "
            "content is not known here, so what it holds cannot be checked",
        ),
    ]
    assert written(SCRIPT, 9, 18, 54) == '"/tmp/shims/containerd-shim-kata-v2"'
    assert written(SCRIPT, 16, 5, 11) == '"runc"'
    assert written(SCRIPT, 26, 19, 26) == '"runsc"'
    assert written(SCRIPT, 36, 33, 39) == '"kata"'
    assert written(SCRIPT, 43, 71, 103) == "/etc/containerd/conf.d/base.toml"


def test_a_workflow_step_has_its_configs_checked_where_they_are_written() -> None:
    assert rows(WORKFLOW) == [
        (15, 21, 15, 22, "SP407", "info", MIGRATED_V2),
        (
            17,
            28,
            17,
            63,
            "SP106",
            "error",
            world_writable("kata", "/tmp/kata", "containerd-shim-kata-v2"),
        ),
        (
            19,
            28,
            19,
            48,
            "SP003",
            "info",
            "handler 'custom' runtime_type '${{ inputs.shim }}' is filled in later "
            "(${{ inputs.shim }}); its final value cannot be checked here",
        ),
        # a folded scalar: printf … | tee, across two lines of the workflow
        (23, 33, 23, 39, "SP201", "error", RUNC_RESERVED),
    ]
    assert written(WORKFLOW, 17, 28, 63) == '"/tmp/kata/containerd-shim-kata-v2"'
    assert written(WORKFLOW, 23, 33, 39) == '"runc"'


def test_the_sarif_report_points_into_the_carrier() -> None:
    result = lint_text(SCRIPT.read_text(encoding="utf-8"), "provision.sh", Policy.default())
    sarif = json.loads(sarif_report(result))
    located = [
        (r["ruleId"], r["locations"][0]["physicalLocation"]) for r in sarif["runs"][0]["results"]
    ]
    assert located[1] == (
        "SP106",
        {
            "artifactLocation": {"uri": "provision.sh", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 9, "startColumn": 18, "endLine": 9, "endColumn": 54},
        },
    )


def test_a_runtime_the_written_daemon_json_defines_is_known_to_the_script() -> None:
    run = "docker run --runtime nvidia cuda-sample\n"
    daemon = (
        "cat > /etc/docker/daemon.json <<'EOF'\n"
        '{"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}\n'
        "EOF\n"
    )
    alone = lint_text(run, "run.sh", Policy.default()).findings
    assert [(f.line, f.rule) for f in alone] == [(1, "SP601")]
    assert lint_text(daemon + run, "run.sh", Policy.default()).findings == ()


def test_a_suppression_in_the_script_covers_the_embedded_line() -> None:
    script = (
        "cat > /etc/docker/daemon.json <<'EOF'\n"
        '{"runtimes": {"runc": {"path": "/usr/bin/runc"}}}\n'
        "EOF\n"
    )
    found = lint_text(script, "node.sh", Policy.default()).findings
    assert [(f.line, f.column, f.rule) for f in found] == [(2, 15, "SP201")]
    toml = (
        "cat > /etc/containerd/config.toml <<'EOF'\n"
        "version = 2\n"
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
        "  # shimpolicy: ignore[SP106] -- root-owned on these images\n"
        '  runtime_type = "/tmp/containerd-shim-kata-v2"\n'
        "EOF\n"
    )
    found = lint_text(toml, "node.sh", Policy.default()).findings
    assert [(f.line, f.rule) for f in found] == [(2, "SP407")]  # no SP106, no SP004


def test_a_config_written_to_a_path_of_no_known_type_is_not_read() -> None:
    script = (
        "cat > /etc/demux-snapshotter/config.toml <<'EOF'\n"
        "[snapshotter.dialer]\n"
        '  timeout = "5s"\n'
        "EOF\n"
        "cat > notes.json <<'EOF'\n"
        "not json\n"
        "EOF\n"
    )
    assert lint_text(script, "node.sh", Policy.default()).findings == ()


# -- what a script writes (syntax/shell.py) -----------------------------------------------


def writes(script: str) -> list[tuple[str, str, bool, str | None]]:
    return [(w.command, w.target.value, w.append, w.text) for w in find_file_writes(script)]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("cat > a.json <<EOF\n{}\nEOF\n", [("cat", "a.json", False, "{}\n")]),
        ("cat <<'X' >>a.json\n$A\nX\n", [("cat", "a.json", True, "$A\n")]),
        ("cat <<-EOF >a\n\t\tx\n\tEOF\n", [("cat", "a", False, "x\n")]),
        ("cat <<EOF >a\n\\$A \\\\ \\x\nEOF\n", [("cat", "a", False, "$A \\ \\x\n")]),
        ("cat <<EOF >a\nx\\\ny\nEOF\n", [("cat", "a", False, "xy\n")]),
        ("tee -a a b <<< 'x y'\n", [("tee", "a", True, "x y\n"), ("tee", "b", True, "x y\n")]),
        ("cat <<EOF |\nz\nEOF\n  sudo tee /a >/dev/null\n", [("tee", "/a", False, "z\n")]),
        ("printf '%s\\n' a 'b c' > f\n", [("printf", "f", False, "a\nb c\n")]),
        ("printf 'a%%\\tb' > f\n", [("printf", "f", False, "a%\tb")]),
        ("printf '%d' 1 > f\n", [("printf", "f", False, None)]),
        ("echo -n 'x' \"y\" > f\n", [("echo", "f", False, "x y")]),
        ("echo 'a\\nb' > f\n", [("echo", "f", False, None)]),
        ("curl -s u | tee f\n", [("tee", "f", False, None)]),
        # Not a file write with its text here, or not a write at all.
        ("cat a.json > b.json\n", [("cat", "b.json", False, None)]),
        ("cat <<EOF 2>err.json\n{}\nEOF\n", []),
        ("printf -v x '%s' y\n", []),
        ("tee --weird f < x\n", []),
        ("x=$(cat <<EOF\n{}\nEOF\n)\n", []),
    ],
)
def test_what_a_script_writes(script: str, expected: list[tuple[str, str, bool, str]]) -> None:
    assert writes(script) == expected


def test_each_written_character_is_placed_where_it_is_written() -> None:
    script = "if x; then\n\tcat <<-EOF >a\n\t\t{\"k\": \\$v}\n\tEOF\nfi\nprintf 'a\\nb' > f\n"
    first, second = find_file_writes(script)
    assert isinstance(first, FileWrite)
    assert first.text == '{"k": $v}\n'
    assert first.starts[:2] == ((3, 3), (3, 4))
    assert first.starts[6] == (3, 9) and first.ends[6] == (3, 11)  # \$ is one character
    assert first.target.span == (2, 14, 2, 15)
    assert (first.expanded, first.substituted) == (False, False)
    assert second.text == "a\nb"
    assert second.starts == ((6, 9), (6, 10), (6, 12))
    assert second.ends == ((6, 10), (6, 12), (6, 13))


def test_expansions_are_told_from_command_substitutions() -> None:
    (plain,) = find_file_writes("cat <<EOF >a\n${X:-1} $Y\nEOF\n")
    (command,) = find_file_writes("cat <<EOF >a\n$(id -u) `id`\nEOF\n")
    (quoted,) = find_file_writes("cat <<'EOF' >a\n$(id -u)\nEOF\n")
    assert (plain.expanded, plain.substituted) == (True, False)
    assert (command.expanded, command.substituted) == (False, True)
    assert (quoted.expanded, quoted.substituted) == (False, False)


@pytest.mark.skipif(not CORPUS2.is_dir(), reason="real-world corpus not present")
def test_real_provisioning_scripts_have_their_configs_read() -> None:
    # firecracker-containerd's entrypoint writes two containerd configs (read: version 2 is
    # migrated on 2.x) and a snapshotter config of no known type (not read); no error.
    script = CORPUS2 / "shell" / "firecracker-entrypoint" / "entrypoint.sh"
    assert [(row[1], row[2]) for row in findings([str(script)])] == [
        ("16:11-16:12", "SP407"),
        ("24:11-24:12", "SP407"),
    ]


# -- cloud-init ---------------------------------------------------------------------------

CLOUD = EMBEDDED / "cloud-init" / "user-data.yaml"


def test_cloud_init_write_files_are_checked_where_they_are_written() -> None:
    assert rows(CLOUD) == [
        # a literal block scalar: placed character by character
        (7, 17, 7, 18, "SP407", "info", MIGRATED_V2),
        (
            9,
            24,
            9,
            63,
            "SP106",
            "error",
            world_writable("kata", "/var/tmp/kata", "containerd-shim-kata-v2"),
        ),
        # encoding: b64: decoded, and placed on the whole value
        (12, 14, 12, 86, "SP201", "error", RUNC_RESERVED),
        (
            15,
            7,
            15,
            7,
            "SP407",
            "info",
            "no `version` key, so this is a version 1 config: containerd 2.3 converts it at "
            "every start (`Configuration migrated from version 0, use `containerd config "
            "migrate` to avoid migration`); `containerd config migrate` writes the version 4 "
            "equivalent",
        ),
        # a template's placeholder where the reader takes it: the value is filled in later
        (
            16,
            24,
            16,
            39,
            "SP003",
            "info",
            "handler 'runsc' runtime_type '${RUNSC_SHIM}' is filled in later (${RUNSC_SHIM}); "
            "its final value cannot be checked here",
        ),
        # … and where it makes the file unreadable: the file is filled in later
        (
            17,
            11,
            17,
            39,
            "SP003",
            "info",
            "/etc/docker/daemon.prod.json holds values filled in later that make it unreadable "
            "as a Docker daemon.json until then: its final content cannot be checked here",
        ),
        (
            19,
            11,
            19,
            44,
            "SP003",
            "info",
            "/etc/containerd/conf.d/debug.toml is appended to (`append: true`): the file's "
            "earlier content is not known here, so what it holds cannot be checked",
        ),
    ]
    assert written(CLOUD, 9, 24, 63) == '"/var/tmp/kata/containerd-shim-kata-v2"'
    assert written(CLOUD, 16, 24, 39) == '"${RUNSC_SHIM}"'


@pytest.mark.parametrize(
    ("encoding", "content", "expected"),
    [
        (
            "gz+b64",
            "H4sIAAAAAAACA6tWKirNK8nMTS1WslKoBnGSwYyCxJIMIENJv7S4SD8pM08fLFNbWwsAh98wEzEAAAA=",
            "SP201",
        ),
        ("b64", "not base64!", "SP003"),
        ("gzip", "x", "SP003"),
    ],
)
def test_cloud_init_encodings(encoding: str, content: str, expected: str) -> None:
    text = (
        "#cloud-config\n"
        "write_files:\n"
        "  - path: /etc/docker/daemon.json\n"
        f"    encoding: {encoding}\n"
        f"    content: {content}\n"
    )
    found = lint_text(text, "user-data", Policy.default()).findings
    assert [f.rule for f in found] == [expected]


# -- Kubernetes ConfigMaps and Secrets ----------------------------------------------------

KUBE = EMBEDDED / "kubernetes"
INSTALLER = KUBE / "installer.yaml"


def test_configmap_and_secret_files_are_checked_where_they_are_written() -> None:
    # containerd-config is checked as containerd's because the DaemonSet mounts it as
    # /host/etc/containerd/config.toml; daemon.json by its key.
    assert rows(INSTALLER) == [
        (8, 15, 8, 16, "SP407", "info", MIGRATED_V2),
        (
            10,
            22,
            10,
            60,
            "SP106",
            "error",
            world_writable("kata-fc", "/tmp/kata", "containerd-shim-kata-fc-v2"),
        ),
        (
            21,
            26,
            21,
            46,
            "SP003",
            "info",
            "default-runtime '${DEFAULT_RUNTIME}' is filled in later (${DEFAULT_RUNTIME}); its "
            "final value cannot be checked here",
        ),
        (22, 20, 22, 26, "SP201", "error", RUNC_RESERVED),
    ]
    assert written(INSTALLER, 10, 22, 60) == '"/tmp/kata/containerd-shim-kata-fc-v2"'
    assert written(INSTALLER, 22, 20, 26) == '"runc"'


def test_a_runtimeclass_finds_its_handler_in_a_configmap_of_its_tree() -> None:
    result = lint_paths([str(KUBE)], Policy.default())
    links = [f for f in result.findings if f.path.endswith("runtimeclasses.yaml")]
    assert [(f.line, f.rule, f.related) for f in links] == [
        (
            5,
            "SP703",
            (Location(str(INSTALLER), 10, 22, 10, 60, f"handler 'kata-fc' in {INSTALLER}:8"),),
        ),
        (
            11,
            "SP702",
            (Location(str(INSTALLER), 9, 53, 9, 61, f"containerd runtimes in {INSTALLER}:8"),),
        ),
    ]


def test_the_graph_shows_the_handler_where_the_configmap_writes_it() -> None:
    chain = next(
        c for c in build_graph([str(KUBE)], Policy.default()) if c.steps[0].label == "kata-fc"
    )
    assert [(s.kind, s.label, s.location) for s in chain.steps[1:3]] == [
        ("handler", "kata-fc", Location(str(INSTALLER), 9, 62, 9, 69)),
        (
            "runtime_type",
            "/tmp/kata/containerd-shim-kata-fc-v2",
            Location(str(INSTALLER), 10, 22, 10, 60),
        ),
    ]


def test_a_template_a_quoted_here_document_writes_is_filled_in_later() -> None:
    script = "cat > /etc/containerd/config.toml <<'EOF'\nversion = 2\n[plugins.{{ .Name }}]\nEOF\n"
    (found,) = lint_text(script, "a.sh", Policy.default()).findings
    assert found[1:8] == (
        1,
        7,
        1,
        34,
        "SP003",
        "info",
        "/etc/containerd/config.toml holds values filled in later that make it unreadable as "
        "a containerd config.toml until then: its final content cannot be checked here",
    )


def test_an_embedded_finding_carries_no_fix() -> None:
    # The same compose file on its own has a fix (SP110: the documented name).
    compose = "services:\n  app:\n    image: alpine\n    runtime: com.example.runc.v2\n"
    (alone,) = lint_text(compose, "compose.yaml", Policy.default()).findings
    assert alone.rule == "SP110" and alone.fix is not None
    script = f"cat > /srv/app/compose.yaml <<'EOF'\n{compose}EOF\n"
    (found,) = lint_text(script, "deploy.sh", Policy.default()).findings
    assert (found.line, found.column, found.rule, found.fix) == (5, 14, "SP110", None)


def test_a_parallel_run_sees_embedded_files_as_a_serial_run_does(tmp_path: Path) -> None:
    (tmp_path / "node").mkdir()
    (tmp_path / "node" / "installer.yaml").write_text(INSTALLER.read_text(encoding="utf-8"))
    (tmp_path / "classes.yaml").write_text(
        (KUBE / "runtimeclasses.yaml").read_text(encoding="utf-8")
    )
    (tmp_path / "bootstrap.sh").write_text(SCRIPT.read_text(encoding="utf-8"))
    for i in range(PARALLEL_MIN_FILES + 4):
        (tmp_path / f"app{i:03d}").mkdir()
        (tmp_path / f"app{i:03d}" / "compose.yaml").write_text("services:\n  s:\n    image: x\n")
    policy = Policy.default()
    serial = lint_paths([str(tmp_path)], policy, LintOptions(jobs=1))
    parallel = lint_paths([str(tmp_path)], policy, LintOptions(jobs=3))
    assert parallel == serial
    assert serial.files_checked == PARALLEL_MIN_FILES + 4 + 3
    links = [(f.line, f.rule) for f in serial.findings if f.path.endswith("classes.yaml")]
    assert links == [(5, "SP703"), (11, "SP702")]


# -- checks that read the file's own path see where it is written -------------------------


def test_a_unit_drop_in_a_script_writes_is_read_as_a_drop_in() -> None:
    script = (
        "cat > /etc/systemd/system/docker.service.d/runtimes.conf <<'EOF'\n"
        "[Service]\n"
        "ExecStart=/usr/bin/dockerd --add-runtime crun=/usr/local/bin/crun\n"
        "EOF\n"
        "docker run --runtime crun alpine\n"
    )
    # SP217 only a drop-in gets; `docker run --runtime crun` knows the runtime the
    # drop-in adds (no SP601).
    found = lint_text(script, "node.sh", Policy.default()).findings
    assert [(f.line, f.column, f.end_column, f.rule) for f in found] == [(3, 1, 10, "SP217")]
    assert found[0].message.startswith("a second ExecStart= (besides the unit's own ExecStart=)")


def test_containerd_imports_are_resolved_at_the_paths_written_to() -> None:
    script = (
        "cat > /etc/containerd/config.toml <<'EOF'\n"
        "version = 2\n"
        'imports = ["/etc/containerd/conf.d/*.toml"]\n'
        "EOF\n"
        "cat > /etc/containerd/conf.d/kata.toml <<'EOF'\n"
        "version = 3\n"
        "EOF\n"
    )
    found = lint_text(script, "node.sh", Policy.default()).findings
    (drop_in,) = [f for f in found if f.rule == "SP419"]
    assert (drop_in.line, drop_in.column, drop_in.end_column) == (3, 12, 43)
    assert drop_in.message.startswith("node.sh:6 has config version 3, higher than this file's 2")
