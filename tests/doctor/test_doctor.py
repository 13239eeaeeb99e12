"""``shimpolicy doctor`` on fake nodes: every binary a configured runtime needs, resolved
as containerd (C2) and dockerd (D2, D3) will, and checked on the node's file system."""

from __future__ import annotations

import io
import json
import os
import shlex
from pathlib import Path

import pytest

from shimpolicy.cli import main
from shimpolicy.doctor import DoctorOptions, doctor
from shimpolicy.doctor.fs import RootFS
from shimpolicy.doctor.host import daemon_version, version_in
from shimpolicy.grammar.versions import containerd_series, docker_major
from shimpolicy.lint.containerd import runtime_path_honoured
from shimpolicy.lint.finding import Finding
from shimpolicy.policy import Policy
from tests.conftest import ROOT
from tests.doctor import nodes

V2 = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes'
EXE = {"mode": "0755"}
SEARCHED = "/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin"

CONFIG_TOML = f"""\
version = 2
imports = ["/etc/containerd/conf.d/*.toml"]
{V2}.runc]
  runtime_type = "io.containerd.runc.v2"
{V2}.kata]
  runtime_type = "io.containerd.kata.v2"
{V2}.spin]
  runtime_type = "/opt/spin/bin/containerd-shim-spin-v2"
{V2}.youki]
  runtime_type = "io.containerd.runc.v2"
  options = {{ BinaryName = "youki" }}
{V2}.wasmtime]
  runtime_type = "io.containerd.wasmtime.v1"
"""
GVISOR_TOML = f"""\
version = 2
{V2}.gvisor]
  runtime_type = "io.containerd.runsc.v1"
"""
DAEMON_JSON = """\
{
  "default-runtime": "nvidia",
  "runtimes": {
    "nvidia": {"path": "nvidia-container-runtime"},
    "crun": {"path": "/usr/local/bin/crun"},
    "sysbox": {"path": "/usr/bin/sysbox-runc"},
    "hostsh": {"path": "/usr/local/bin/hostsh"},
    "kata": {"runtimeType": "io.containerd.kata.v2"}
  }
}
"""


def gpu_node(top: Path) -> Path:
    """Docker and containerd configured together, with binaries present, missing, not
    executable, replaceable, and behind symbolic links."""
    return nodes.build(
        top,
        [
            {"path": "etc/containerd/config.toml", "content": CONFIG_TOML},
            {"path": "etc/containerd/conf.d/gvisor.toml", "content": GVISOR_TOML},
            {"path": "etc/docker/daemon.json", "content": DAEMON_JSON},
            # containerd lives in /opt and is linked onto PATH: it finds the wasmtime shim
            # beside its own executable (C2 step 7).
            {"path": "opt/containerd/bin/containerd", **EXE},
            {"path": "opt/containerd/bin/containerd-shim-wasmtime-v1", **EXE},
            {"path": "usr/local/bin/containerd", "link": "/opt/containerd/bin/containerd"},
            {"path": "usr/bin/dockerd", **EXE},
            {"path": "usr/bin/containerd-shim-runc-v2", **EXE},
            {"path": "usr/sbin/runc", **EXE},
            # kata: an absolute link, followed inside the root.
            {"path": "opt/kata/bin/containerd-shim-kata-v2", **EXE},
            {
                "path": "usr/local/bin/containerd-shim-kata-v2",
                "link": "/opt/kata/bin/containerd-shim-kata-v2",
            },
            # spin: present, in a directory its group can write.
            {"path": "opt/spin", "directory": True, "mode": "0775"},
            {"path": "opt/spin/bin/containerd-shim-spin-v2", **EXE},
            # youki: on PATH, but not executable.
            {"path": "usr/local/sbin/youki", "mode": "0644"},
            {"path": "usr/local/bin/crun", **EXE},
            # sysbox: a relative link that climbs above the root stays inside it.
            {
                "path": "usr/bin/sysbox-runc",
                "link": "../../../../../../../../opt/sysbox/sysbox-runc",
            },
            # hostsh: an absolute link to a file this machine has, but the node does not.
            {"path": "usr/local/bin/hostsh", "link": "/bin/sh"},
        ],
    )


def run_doctor(top: Path, **options: object) -> list[Finding]:
    given = {"containerd": "2.1.4", "docker": "25.0.3", **options}
    result = doctor(Policy.default(), DoctorOptions(str(top), **given))  # type: ignore[arg-type]
    return list(result.findings)


def shown(findings: list[Finding], top: Path) -> list[tuple[str, int, int, str, str]]:
    return [(f.path.removeprefix(f"{top}/"), f.line, f.column, f.rule, f.message) for f in findings]


def test_every_missing_or_unsafe_binary_of_docker_and_containerd_together(tmp_path: Path) -> None:
    top = gpu_node(tmp_path / "node")
    assert shown(run_doctor(top), top) == [
        (
            "etc/containerd/conf.d/gvisor.toml",
            3,
            18,
            "SP801",
            "handler 'gvisor' runtime_type 'io.containerd.runsc.v1': no containerd-shim-runsc-v1 "
            f"in /, {SEARCHED}, /opt/containerd/bin (where containerd 2.1.4 looks, in that "
            "order): pods using handler 'gvisor' fail to start with `runtime "
            '"io.containerd.runsc.v1" binary not installed "containerd-shim-runsc-v1": file does '
            "not exist`",
        ),
        (
            "etc/containerd/config.toml",
            8,
            18,
            "SP803",
            "handler 'spin' runtime_type '/opt/spin/bin/containerd-shim-spin-v2': containerd "
            "2.1.4 runs /opt/spin/bin/containerd-shim-spin-v2 as root, but /opt/spin is writable "
            "by group: whoever can write there can replace what runs",
        ),
        (
            "etc/containerd/config.toml",
            11,
            28,
            "SP801",
            f"handler 'youki' options.BinaryName 'youki': no youki in {SEARCHED} (PATH, in that "
            "order); /usr/local/sbin/youki is there but not executable: pods using handler "
            "'youki' fail to start with `exec: \"youki\": executable file not found in $PATH`",
        ),
        (
            "etc/docker/daemon.json",
            4,
            24,
            "SP801",
            "Docker runtime 'nvidia' path 'nvidia-container-runtime': no "
            f"nvidia-container-runtime in {SEARCHED} (PATH, in that order): containers using "
            "Docker runtime 'nvidia' fail to start with `exec: \"nvidia-container-runtime\": "
            "executable file not found in $PATH`",
        ),
        (
            "etc/docker/daemon.json",
            6,
            24,
            "SP801",
            "Docker runtime 'sysbox' path '/usr/bin/sysbox-runc': /usr/bin/sysbox-runc leads to "
            "/opt/sysbox, which does not exist: containers using Docker runtime 'sysbox' fail to "
            "start with `fork/exec /usr/bin/sysbox-runc: no such file or directory`",
        ),
        (
            "etc/docker/daemon.json",
            7,
            24,
            "SP801",
            "Docker runtime 'hostsh' path '/usr/local/bin/hostsh': /usr/local/bin/hostsh leads "
            "to /bin, which does not exist: containers using Docker runtime 'hostsh' fail to "
            "start with `fork/exec /usr/local/bin/hostsh: no such file or directory`",
        ),
    ]


def test_nothing_is_said_once_every_binary_is_in_place(tmp_path: Path) -> None:
    """The same node repaired: kata through an absolute link (taken inside the root),
    wasmtime beside containerd's own executable (C2 step 7), the rest on PATH."""
    top = gpu_node(tmp_path / "node")
    nodes.build(
        top,
        [
            {"path": "usr/local/bin/containerd-shim-runsc-v1", **EXE},
            {"path": "usr/bin/nvidia-container-runtime", **EXE},
            {"path": "opt/sysbox/sysbox-runc", **EXE},
            {"path": "bin/sh", **EXE},
        ],
    )
    os.chmod(top / "opt/spin", 0o755)
    os.chmod(top / "usr/local/sbin/youki", 0o755)
    assert run_doctor(top) == []


def containerd_node(top: Path, config: str, *extra: dict[str, str]) -> Path:
    """containerd with its runc shim and runc in place, and ``config`` as config.toml."""
    return nodes.build(
        top,
        [
            {"path": "etc/containerd/config.toml", "content": config},
            {"path": "usr/bin/containerd", **EXE},
            {"path": "usr/bin/containerd-shim-runc-v2", **EXE},
            {"path": "usr/sbin/runc", **EXE},
            *extra,
        ],
    )


def test_containerd_1_x_replaces_the_cri_section_with_an_imported_one(tmp_path: Path) -> None:
    """containerd 1.x takes a plugin's whole section from the last file that has it: the
    kata handler of config.toml is gone, the drop-in's gvisor is what is checked."""
    config = (
        f'version = 2\nimports = ["conf.d/gvisor.toml"]\n{V2}.kata]\n'
        '  runtime_type = "io.containerd.kata.v2"\n'
    )
    top = containerd_node(
        tmp_path / "node",
        config,
        {"path": "etc/containerd/conf.d/gvisor.toml", "content": GVISOR_TOML},
    )
    on_17 = shown(run_doctor(top, containerd="1.7.24"), top)
    assert [row[:4] for row in on_17] == [
        ("etc/containerd/conf.d/gvisor.toml", 3, 18, "SP801"),
        ("etc/containerd/config.toml", 3, 49, "SP805"),
    ]
    assert on_17[1][4] == (
        "containerd 1.7.24 takes the CRI plugin's whole section from the last file loaded that "
        f"has one, {top}/etc/containerd/conf.d/gvisor.toml: this section is ignored, and with it "
        "handlers 'kata'; the default handler 'runc' is not defined in that section either, so "
        "the CRI plugin fails to load and no pod can start; containerd 2.0 merges the files, "
        "1.x needs the CRI section in one file"
    )
    on_2 = [(f.path.removeprefix(f"{top}/"), f.line) for f in run_doctor(top, containerd="2.0.2")]
    assert on_2 == [("etc/containerd/conf.d/gvisor.toml", 3), ("etc/containerd/config.toml", 4)]


def test_a_missing_import_stops_containerd(tmp_path: Path) -> None:
    top = containerd_node(
        tmp_path / "node", 'version = 2\nimports = ["/etc/containerd/extra.toml"]\n'
    )
    assert shown(run_doctor(top), top) == [
        (
            "etc/containerd/config.toml",
            2,
            12,
            "SP001",
            "imported file /etc/containerd/extra.toml does not exist: containerd does not start "
            "(open /etc/containerd/extra.toml: no such file or directory)",
        )
    ]


@pytest.mark.parametrize(
    ("containerd", "checked"),
    [
        ("1.6.20", "runtime_type"),
        ("1.6.21", "runtime_path"),
        ("1.7.0", "runtime_type"),
        ("1.7.1", "runtime_path"),
        ("2.0", "runtime_path"),
    ],
)
def test_runtime_path_replaces_the_shim_from_1_6_21_and_1_7_1(
    tmp_path: Path, containerd: str, checked: str
) -> None:
    """SPEC §6: 1.6.0-1.6.20 and 1.7.0 ignore runtime_path and run the runtime_type's shim."""
    config = (
        f'version = 2\n{V2}.kata]\n  runtime_type = "io.containerd.kata.v2"\n'
        '  runtime_path = "/opt/kata/bin/containerd-shim-kata-v2"\n'
    )
    top = containerd_node(tmp_path / "node", config)
    findings = run_doctor(top, containerd=containerd)
    assert [f.message.split(":")[0] for f in findings] == [
        f"handler 'kata' {checked} '"
        + (
            "io.containerd.kata.v2'"
            if checked == "runtime_type"
            else "/opt/kata/bin/containerd-shim-kata-v2'"
        )
    ]
    assert runtime_path_honoured(containerd) == (checked == "runtime_path")


def test_a_name_containerd_refuses_is_reported_in_its_words(tmp_path: Path) -> None:
    """C2 step 3: from 1.7 a '/' in a name is refused before any file is looked at."""
    config = f'version = 2\n{V2}.kata]\n  runtime_type = "opt/io.containerd.kata.v2"\n'
    top = containerd_node(tmp_path / "node", config)
    assert [f.message for f in run_doctor(top, containerd="1.7.24")] == [
        "handler 'kata' runtime_type 'opt/io.containerd.kata.v2': containerd 1.7.24 cannot "
        "resolve it to a binary: pods using handler 'kata' fail to start with `invalid runtime "
        "name opt/io.containerd.kata.v2, correct runtime name should be either format like "
        "`io.containerd.runc.v1` or a full path to the binary`"
    ]


def test_whatever_is_next_to_the_name_wins_even_a_directory(tmp_path: Path) -> None:
    """C2 step 6: for a plain name containerd first stats the binary in its working
    directory (/) and takes anything there; a directory then fails with permission denied."""
    config = f'version = 2\n{V2}.kata]\n  runtime_type = "io.containerd.kata.v2"\n'
    top = containerd_node(
        tmp_path / "node",
        config,
        {"path": "containerd-shim-kata-v2", "directory": True},
        {"path": "usr/bin/containerd-shim-kata-v2", **EXE},
    )
    assert [(f.rule, f.message) for f in run_doctor(top)] == [
        (
            "SP802",
            "handler 'kata' runtime_type 'io.containerd.kata.v2': containerd 2.1.4 runs "
            "/containerd-shim-kata-v2, which is a directory: pods using handler 'kata' fail to "
            "start (permission denied)",
        )
    ]


def test_a_link_loop_is_missing_not_a_hang(tmp_path: Path) -> None:
    config = f'version = 2\n{V2}.spin]\n  runtime_type = "/opt/spin/containerd-shim-spin-v2"\n'
    top = containerd_node(
        tmp_path / "node",
        config,
        {"path": "opt/spin/containerd-shim-spin-v2", "link": "loop"},
        {"path": "opt/spin/loop", "link": "containerd-shim-spin-v2"},
    )
    assert [f.message for f in run_doctor(top)] == [
        "handler 'spin' runtime_type '/opt/spin/containerd-shim-spin-v2': "
        "/opt/spin/containerd-shim-spin-v2 cannot be looked up (too many levels of symbolic "
        "links): pods using handler 'spin' fail to start with `invalid custom binary path: "
        "stat /opt/spin/containerd-shim-spin-v2: too many levels of symbolic links`"
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_binary_owned_by_another_user_or_writable_by_others(tmp_path: Path) -> None:
    config = (
        f'version = 2\n{V2}.kata]\n  runtime_type = "io.containerd.kata.v2"\n'
        f'{V2}.spin]\n  runtime_type = "io.containerd.spin.v2"\n'
    )
    top = containerd_node(
        tmp_path / "node",
        config,
        {"path": "usr/local/bin/containerd-shim-kata-v2", "mode": "0757"},
        {"path": "home/dev/bin/containerd-shim-spin-v2", **EXE},
        {
            "path": "usr/local/sbin/containerd-shim-spin-v2",
            "link": "/home/dev/bin/containerd-shim-spin-v2",
        },
    )
    os.chown(top / "home/dev", 1000, 1000)
    assert [f.message.split(" as root, but ")[1] for f in run_doctor(top)] == [
        "/usr/local/bin/containerd-shim-kata-v2 is writable by others: whoever can write there "
        "can replace what runs",
        "/home/dev is owned by uid 1000: whoever can write there can replace what runs",
    ]
    assert run_doctor(top)[1].message.startswith(
        "handler 'spin' runtime_type 'io.containerd.spin.v2': containerd 2.1.4 runs "
        "/home/dev/bin/containerd-shim-spin-v2 (through /usr/local/sbin/containerd-shim-spin-v2)"
    )


def test_the_owner_of_another_root_counts_as_root(tmp_path: Path) -> None:
    """An image unpacked without privileges: every file is its unpacker's."""
    fs = RootFS(str(nodes.build(tmp_path / "node", [{"path": "usr/bin/x", **EXE}])))
    assert fs.trusted == {0, os.getuid()}
    assert fs.unsafe(fs.lookup("/usr/bin/x")) == []


def test_nothing_under_another_root_is_ever_run(tmp_path: Path) -> None:
    """Without --containerd and --docker, only the live host's daemons are asked their
    version; a node under --root is read, never run."""
    marker = tmp_path / "ran"
    script = f"#!/bin/sh\ntouch {marker}\necho containerd v1.6.20\n"
    top = containerd_node(
        tmp_path / "node",
        "version = 2\n",
        {"path": "usr/local/bin/containerd", "content": script, "mode": "0755"},
        {"path": "usr/local/bin/dockerd", "content": script, "mode": "0755"},
    )
    doctor(Policy.default(), DoctorOptions(str(top)))
    assert not marker.exists()


@pytest.mark.parametrize(
    ("output", "version"),
    [
        (
            "containerd github.com/containerd/containerd v1.7.24 "
            "88bf19b2105c8b17560993bee28a01ddc2f97182\n",
            "1.7.24",
        ),
        ("containerd containerd.io 1.6.20 2806fc1057397dbaeefbea0e4e17bddfbd388f38\n", "1.6.20"),
        ("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1\n", "1.6.20"),
        ("Docker version 20.10.24+dfsg1, build 297e128\n", "20.10.24"),
        ("Docker version 28.5.2, build ecc6942\n", "28.5.2"),
        ("containerd: unknown flag\n", None),
    ],
)
def test_the_version_a_daemon_reports(output: str, version: str | None) -> None:
    assert version_in(output) == version


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


def test_cli_text_json_and_exit_status(tmp_path: Path) -> None:
    top = gpu_node(tmp_path / "node")
    code, text = cli("doctor", "--root", str(top), "--containerd", "2.1.4", "--docker", "25")
    assert code == 1
    assert text.splitlines()[0] == (
        f"{top}/etc/containerd/conf.d/gvisor.toml:3:18: error SP801 handler 'gvisor' "
        "runtime_type 'io.containerd.runsc.v1': no containerd-shim-runsc-v1 "
        f"in /, {SEARCHED}, /opt/containerd/bin (where containerd 2.1.4 looks, in that "
        "order): pods using handler 'gvisor' fail to start with `runtime "
        '"io.containerd.runsc.v1" binary not installed "containerd-shim-runsc-v1": file does '
        "not exist`"
    )
    assert text.splitlines()[-1] == "6 errors in 3 files"
    code, out = cli("doctor", "--root", str(top), "--containerd", "2.1.4", "--format", "json")
    report = json.loads(out)
    assert (code, report["files_checked"], len(report["findings"])) == (1, 3, 6)
    repaired = containerd_node(tmp_path / "ok", "version = 2\n")
    assert cli("doctor", "--root", str(repaired), "--containerd", "2.0") == (0, "")


def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("doctor", "--root", str(tmp_path / "absent"))[0] == 2
    assert capsys.readouterr().err == (
        f"shimpolicy: error: --root {tmp_path / 'absent'}: not a directory\n"
    )
    assert cli("doctor", "--root", str(tmp_path), "--containerd", "9.9")[0] == 2
    assert "unknown containerd version '9.9'" in capsys.readouterr().err


def test_manifests_tell_which_handlers_runtimeclasses_use(tmp_path: Path) -> None:
    top = gpu_node(tmp_path / "node")
    manifests = nodes.build(
        tmp_path / "cluster",
        [
            {
                "path": "runtimeclasses.yaml",
                "content": "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n"
                "  name: kata\nhandler: kata\n---\napiVersion: node.k8s.io/v1\n"
                "kind: RuntimeClass\nmetadata:\n  name: gvisor\nhandler: gvisor\n",
            }
        ],
    )
    notes = [f for f in run_doctor(top, manifests=(str(manifests),)) if f.rule == "SP804"]
    assert [(f.line, f.severity, f.message) for f in notes] == [
        (
            line,
            "info",
            f"handler '{name}' serves only pods whose RuntimeClass names it, and none of the 2 "
            "RuntimeClasses given does: nothing on this node uses it; add a RuntimeClass with "
            f"`handler: {name}`, or remove the handler",
        )
        for line, name in ((7, "spin"), (9, "youki"), (12, "wasmtime"))
    ]


DOCKER_UNIT = """\
[Unit]
Description=Docker Application Container Engine

[Service]
Type=notify
ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock
"""
DOCKER_DROP_IN = """\
[Service]
ExecStart=
ExecStart=/usr/bin/dockerd -H fd:// \\
    --add-runtime sysbox=/usr/bin/sysbox-runc --add-runtime=crun=crun \\
    --default-runtime=io.containerd.wasmtime.v1 --config-file /etc/docker/node.json
"""
CONTAINERD_UNIT = """\
[Service]
ExecStart=/opt/containerd/bin/containerd --config /etc/containerd/node.toml
WorkingDirectory=/var/lib/containerd
Environment="PATH=/opt/containerd/bin:/usr/bin"
"""


def test_the_daemons_units_and_drop_ins_are_read(tmp_path: Path) -> None:
    """dockerd's flags from the ExecStart= its drop-in leaves in force (--add-runtime,
    --default-runtime, --config-file); containerd's --config, working directory and PATH
    from its unit."""
    top = nodes.build(
        tmp_path / "node",
        [
            {"path": "lib/systemd/system/docker.service", "content": DOCKER_UNIT},
            {
                "path": "etc/systemd/system/docker.service.d/runtimes.conf",
                "content": DOCKER_DROP_IN,
            },
            {"path": "lib/systemd/system/containerd.service", "content": CONTAINERD_UNIT},
            {
                "path": "etc/docker/node.json",
                "content": '{"runtimes": {"gpu": {"path": "nvidia"}}}\n',
            },
            {
                "path": "etc/containerd/node.toml",
                "content": f'version = 2\n{V2}.kata]\n  runtime_type = "io.containerd.kata.v2"\n',
            },
            {"path": "usr/bin/dockerd", **EXE},
            {"path": "opt/containerd/bin/containerd", **EXE},
            {"path": "opt/containerd/bin/containerd-shim-runc-v2", **EXE},
            {"path": "opt/containerd/bin/runc", **EXE},
            {"path": "opt/containerd/bin/crun", **EXE},
            # Not on the unit's PATH: looked for in vain.
            {"path": "usr/local/bin/nvidia", **EXE},
            {"path": "usr/local/bin/containerd-shim-wasmtime-v1", **EXE},
            # Next to the name in containerd's working directory (C2 step 6).
            {"path": "var/lib/containerd/containerd-shim-kata-v2", **EXE},
        ],
    )
    assert [(p, line, col, rule) for p, line, col, rule, _ in shown(run_doctor(top), top)] == [
        ("etc/docker/node.json", 1, 31, "SP801"),
        ("etc/systemd/system/docker.service.d/runtimes.conf", 4, 19, "SP801"),
        ("etc/systemd/system/docker.service.d/runtimes.conf", 5, 23, "SP801"),
    ]
    messages = [f.message for f in run_doctor(top)]
    assert messages[0] == (
        "Docker runtime 'gpu' path 'nvidia': no nvidia in /opt/containerd/bin, /usr/bin (PATH, "
        "in that order): containers using Docker runtime 'gpu' fail to start with `exec: "
        '"nvidia": executable file not found in $PATH`'
    )
    assert messages[1] == (
        "Docker runtime 'sysbox' path '/usr/bin/sysbox-runc': /usr/bin/sysbox-runc does not "
        "exist: containers using Docker runtime 'sysbox' fail to start with `fork/exec "
        "/usr/bin/sysbox-runc: no such file or directory`"
    )
    assert messages[2] == (
        "Docker default-runtime 'io.containerd.wasmtime.v1': no containerd-shim-wasmtime-v1 in "
        "/var/lib/containerd, /opt/containerd/bin, /usr/bin (where containerd 2.1.4 looks, in "
        "that order): containers started without --runtime fail to start with `runtime "
        '"io.containerd.wasmtime.v1" binary not installed "containerd-shim-wasmtime-v1": file '
        "does not exist`"
    )


def test_without_a_config_the_builtin_handler_is_checked_at_the_unit(tmp_path: Path) -> None:
    """containerd with no config.toml has its built-in runc handler (C5): a missing runc
    shim is reported at the ExecStart= that starts containerd."""
    top = nodes.build(
        tmp_path / "node",
        [
            {
                "path": "lib/systemd/system/containerd.service",
                "content": "[Service]\nExecStart=/usr/bin/containerd\n",
            },
            {"path": "usr/bin/containerd", **EXE},
            {"path": "usr/sbin/runc", **EXE},
        ],
    )
    assert [(p, line, col, rule) for p, line, col, rule, _ in shown(run_doctor(top), top)] == [
        ("lib/systemd/system/containerd.service", 2, 1, "SP801")
    ]
    assert run_doctor(top)[0].message.startswith(
        "handler 'runc' runtime_type 'io.containerd.runc.v2': no containerd-shim-runc-v2 in /, "
    )


def test_a_masked_unit_is_not_read(tmp_path: Path) -> None:
    top = nodes.build(
        tmp_path / "node",
        [
            {"path": "lib/systemd/system/docker.service", "content": DOCKER_UNIT},
            {"path": "etc/systemd/system/docker.service", "link": "/dev/null"},
            {
                "path": "etc/systemd/system/docker.service.d/runtimes.conf",
                "content": DOCKER_DROP_IN,
            },
        ],
    )
    assert run_doctor(top) == []


def test_the_readme_example_prints_what_the_readme_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's doctor section runs on examples/node/ from the checkout's top."""
    node = ROOT / "examples" / "node"
    loose = [p for p in (node, *node.rglob("*")) if not p.is_symlink() and p.stat().st_mode & 0o022]
    if loose:  # git gives files the checkout's umask: 002 makes them group-writable
        pytest.skip(f"{loose[0]} is group- or other-writable here: check out with umask 022")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Check a node: `shimpolicy doctor`") :]
    block = section[section.index("```console\n") + 11 : section.index("\n```\n")]
    command, *expected = block.split("\n")
    assert command.startswith("$ shimpolicy doctor ")
    monkeypatch.chdir(ROOT)
    code, out = cli(*shlex.split(command)[2:])
    assert (code, out.splitlines()) == (1, expected)


@pytest.mark.parametrize(
    ("says", "applied"),
    [("v1.6.20", "1.6.20"), ("v1.7.99", "1.7"), ("2.9.1", "2")],
)
def test_the_live_daemon_is_asked_its_version(tmp_path: Path, says: str, applied: str) -> None:
    """On the live host the installed daemon says which rules apply; a release newer than
    any known is taken as its series."""
    exe = tmp_path / "containerd"
    exe.write_text(f"#!/bin/sh\necho containerd github.com/containerd/containerd {says} abc\n")
    exe.chmod(0o755)
    assert daemon_version(RootFS("/"), str(exe), None, containerd_series) == applied
    assert daemon_version(RootFS("/"), str(exe), "1.6.1", containerd_series) == "1.6.1"


def test_a_version_the_live_daemon_says_but_nobody_knows_is_a_usage_error(
    tmp_path: Path,
) -> None:
    exe = tmp_path / "dockerd"
    exe.write_text("#!/bin/sh\necho Docker version 31.0.0, build abc\n")
    exe.chmod(0o755)
    with pytest.raises(ValueError) as e:
        daemon_version(RootFS("/"), str(exe), None, docker_major)
    assert str(e.value) == (
        f"`{exe} --version` says 31.0.0, which is not a dockerd version shimpolicy knows: give "
        "--docker V"
    )


@pytest.mark.parametrize(
    ("manifest", "said"),
    [
        (
            "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: k\nhandler: kata\n",
            "and the one RuntimeClass given names another: nothing on this node uses it",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n",
            "and the manifests given define no RuntimeClass: nothing on this node uses it",
        ),
    ],
)
def test_unnamed_handlers_with_one_or_no_runtimeclass(
    tmp_path: Path, manifest: str, said: str
) -> None:
    config = f'version = 2\n{V2}.kata]\n  runtime_type = "io.containerd.runc.v2"\n'
    config += f'{V2}.spin]\n  runtime_type = "io.containerd.runc.v2"\n'
    top = containerd_node(tmp_path / "node", config)
    cluster = nodes.build(tmp_path / "cluster", [{"path": "k8s.yaml", "content": manifest}])
    notes = [f.message for f in run_doctor(top, manifests=(str(cluster),))]
    expected_handlers = ["spin"] if "one" in said else ["kata", "spin"]
    assert notes == [
        f"handler '{h}' serves only pods whose RuntimeClass names it, {said}; add a "
        f"RuntimeClass with `handler: {h}`, or remove the handler"
        for h in expected_handlers
    ]


def test_a_path_in_a_missing_directory_simply_does_not_exist(tmp_path: Path) -> None:
    """Only a path reached through a link "leads to" where the lookup stopped."""
    config = (
        f'version = 2\n{V2}.crun]\n  runtime_type = "io.containerd.runc.v2"\n'
        '  options = { BinaryName = "/usr/local/bin/crun" }\n'
    )
    top = containerd_node(tmp_path / "node", config)
    assert [f.message for f in run_doctor(top)] == [
        "handler 'crun' options.BinaryName '/usr/local/bin/crun': /usr/local/bin/crun does not "
        "exist: pods using handler 'crun' fail to start with `fork/exec /usr/local/bin/crun: no "
        "such file or directory`"
    ]


def test_a_lookup_records_every_directory_it_reads_links_included(tmp_path: Path) -> None:
    """SP803 judges these: the directories of the link and of its target alike."""
    fs = RootFS(
        str(
            nodes.build(
                tmp_path / "node",
                [
                    {"path": "opt/x/bin/tool", **EXE},
                    {"path": "usr/local/bin/tool", "link": "../../../opt/x/bin/tool"},
                ],
            )
        )
    )
    found = fs.lookup("/usr/local/bin/tool")
    assert (found.path, found.links, found.executable) == ("/opt/x/bin/tool", 1, True)
    assert found.dirs == (
        "/",
        "/usr",
        "/usr/local",
        "/usr/local/bin",
        "/opt",
        "/opt/x",
        "/opt/x/bin",
    )
    os.chmod(tmp_path / "node/usr/local/bin", 0o775)
    assert [(u.path, u.why) for u in fs.unsafe(found)] == [("/usr/local/bin", "writable by group")]
    assert fs.lookup("/../../opt/../opt/x/bin/tool").path == "/opt/x/bin/tool"
    assert fs.lookup("/etc/../opt/x/bin/tool").error == "no such file or directory"  # as Linux
