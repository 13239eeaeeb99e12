"""dockerd's runtime flags in systemd units and scripts (SPEC §6 "dockerd command-line
flags"; moby v28.5.2 opts/runtime.go)."""

from __future__ import annotations

from shimpolicy.lint.engine import lint_text
from shimpolicy.lint.source import SourceFile
from shimpolicy.lint.systemd import dockerd_flags, service
from shimpolicy.policy import Policy
from shimpolicy.syntax import Span
from shimpolicy.syntax.systemd import read_unit, split_command


def findings(text: str, name: str = "docker.service", **settings: str) -> list[tuple[str, str]]:
    policy = Policy.from_dict({"version": 1, "extends": "default", **settings})
    found = lint_text(text, name, policy).findings
    return [(f"{f.line}:{f.column}", f"{f.rule} {f.message}") for f in found]


def test_unit_lines_are_read_as_systemd_reads_them() -> None:
    text = (
        "# comment\n"
        "[Service]\n"
        "  ExecStart = /usr/bin/dockerd \\\n"
        "; a comment inside the continuation\n"
        "    --add-runtime 'a b=/x'   \n"
        "Type=notify\n"
    )
    entries = read_unit(text)
    assert [(e.section, e.key, e.value) for e in entries] == [
        ("Service", "ExecStart", "/usr/bin/dockerd      --add-runtime 'a b=/x'"),
        ("Service", "Type", "notify"),
    ]
    words = split_command(entries[0])
    assert [(w.value, w.literal) for w in words] == [
        ("/usr/bin/dockerd", True),
        ("--add-runtime", True),
        ("a b=/x", True),
    ]
    assert (words[2].start, words[2].end) == (text.index("'a b"), text.index("/x'") + 3)


def test_escapes_prefixes_variables_and_specifiers() -> None:
    (entry,) = read_unit('[Service]\nExecStart=-/usr/bin/dockerd "a\\x41" $OPTS ${X}y %i 100%%\n')
    assert [(w.value, w.literal) for w in split_command(entry)] == [
        ("/usr/bin/dockerd", True),
        ("aA", True),
        ("$OPTS", False),
        ("${X}y", False),
        ("%i", False),
        ("100%", True),
    ]


def test_add_runtime_refusals_quote_dockerd() -> None:
    unit = (
        "[Service]\n"
        "ExecStart=/usr/bin/dockerd --add-runtime crun --add-runtime= --add-runtime runc=/r\n"
        "  --add-runtime a=/usr/bin/crun --add-runtime A=/usr/bin/youki\n"
    )
    got = findings(unit.replace("\n  ", " \\\n  "))
    assert got == [
        (
            "2:42",
            "SP215 `dockerd --add-runtime crun`: dockerd does not start (`invalid runtime "
            "argument: crun`); write NAME=PATH, PATH a runc-compatible binary",
        ),
        (
            "2:61",
            "SP215 `dockerd --add-runtime `: dockerd does not start (`invalid runtime "
            "argument: `); write NAME=PATH, PATH a runc-compatible binary",
        ),
        (
            "2:76",
            "SP215 `dockerd --add-runtime runc=/r`: dockerd does not start (`runtime name "
            "'runc' is reserved`): Docker always provides `runc` itself; give this runtime "
            "another name",
        ),
        (
            "3:47",
            "SP215 `dockerd --add-runtime A=/usr/bin/youki`: dockerd does not start (`runtime "
            "'a' was already defined`): dockerd lower-cases the name, and an earlier "
            "--add-runtime defines it",
        ),
    ]


def test_added_runtimes_configure_the_default_and_docker_run() -> None:
    unit = (
        "[Service]\nExecStart=/usr/bin/dockerd --add-runtime Crun=/usr/bin/crun "
        "--default-runtime crun\n"
    )
    assert [rule.split()[0] for _, rule in findings(unit)] == ["SP216"]
    assert findings("[Service]\nExecStart=/usr/bin/dockerd --default-runtime=nvidia\n") == [
        (
            "2:46",
            "SP202 `dockerd --default-runtime nvidia`: specified default runtime 'nvidia' does "
            "not exist: no --add-runtime or linted daemon.json defines it and Docker 29 would "
            'not pass it to containerd ("unknown or invalid runtime name: nvidia"), so dockerd '
            "does not start unless the daemon.json it reads defines it",
        )
    ]


def test_windows_has_no_add_runtime_and_refuses_an_unknown_default() -> None:
    unit = (
        "[Service]\n"
        "ExecStart=dockerd --add-runtime crun=/c --default-runtime io.containerd.kata.v2\n"
    )
    assert findings(unit, platform="windows", docker="28") == [
        (
            "2:19",
            "SP215 `dockerd --add-runtime`: a Windows dockerd has no --add-runtime flag and "
            "does not start (`unknown flag: --add-runtime`)",
        ),
        (
            "2:59",
            "SP202 `dockerd --default-runtime io.containerd.kata.v2`: a Windows dockerd does "
            "not start (`unknown windows runtime io.containerd.kata.v2`); its runtimes are "
            "io.containerd.runhcs.v1 and com.docker.hcsshim.v1",
        ),
    ]


def test_a_drop_in_must_clear_execstart_first() -> None:
    text = "[Service]\nExecStart=/usr/bin/dockerd\n"
    assert [r.split()[0] for _, r in findings(text, "docker.service.d/x.conf")] == ["SP217"]
    assert findings(text, "docker.service") == []
    assert findings("[Service]\nExecStart=\n" + text[10:], "docker.service.d/x.conf") == []
    oneshot = "[Service]\nType=oneshot\nExecStart=/usr/bin/dockerd\nExecStart=/bin/true\n"
    assert findings(oneshot) == []


def test_dockerd_flags_of_a_unit_and_its_drop_ins() -> None:
    unit = "[Service]\nExecStart=/usr/bin/dockerd --add-runtime a=/a\n"
    drop_in = "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --default-runtime=b\n"
    other = "[Service]\nExecStart=\nExecStart=/bin/other\n"
    unit_file = SourceFile.of("docker.service", unit, "systemd")
    drop_in_file, other_file = (
        SourceFile.of(f"docker.service.d/{n}.conf", t, "systemd")
        for n, t in (("10", drop_in), ("20", other))
    )
    (flag,) = dockerd_flags([unit_file, drop_in_file])
    assert (flag.option, flag.value, flag.span) == ("--default-runtime", "b", Span(3, 46, 3, 47))
    assert [f.value for f in dockerd_flags([unit_file])] == ["a=/a"]
    assert dockerd_flags([unit_file, other_file]) == []
    # An ExecStart= outside [Service] is not a command systemd runs.
    misplaced = SourceFile.of(
        "docker.service", "[Unit]\nExecStart=/usr/bin/dockerd -D\n", "systemd"
    )
    assert dockerd_flags([misplaced]) == []


def test_shell_scripts_read_dockerd_flags_too() -> None:
    script = (
        "#!/bin/sh\nsudo dockerd --add-runtime=crun=/usr/bin/crun &\ndocker run --runtime crun x\n"
    )
    assert findings(script, "start.sh") == []
    assert findings("dockerd --add-runtime runc=/usr/bin/runc\n", "start.sh")[0][0] == "1:23"


def test_the_service_a_unit_and_its_drop_ins_leave_in_force() -> None:
    """The last ExecStart= after the last empty one, with its words positioned in its own
    file; WorkingDirectory= and Environment=PATH as the last assignments set them."""
    unit = SourceFile.of(
        "containerd.service",
        "[Service]\nExecStart=/usr/bin/containerd\nWorkingDirectory=/srv\n",
        "systemd",
    )
    drop_in = SourceFile.of(
        "containerd.service.d/10-env.conf",
        "[Service]\nExecStart=\nExecStart=/opt/bin/containerd -c /etc/c.toml\n"
        'WorkingDirectory=-~\nEnvironment="PATH=/opt/bin:/usr/bin" FOO=1\n',
        "systemd",
    )
    found = service([unit, drop_in])
    assert found is not None
    assert found.source is drop_in
    assert [(w.value, w.span) for w in found.words] == [
        ("/opt/bin/containerd", Span(3, 11, 3, 30)),
        ("-c", Span(3, 31, 3, 33)),
        ("/etc/c.toml", Span(3, 34, 3, 45)),
    ]
    assert (found.working_directory, found.path) == ("/root", ("/opt/bin", "/usr/bin"))
    cleared = SourceFile.of("x.conf", "[Service]\nExecStart=\n", "systemd")
    assert service([unit, cleared]) is None


def test_windows_up_to_28_ignores_per_container_names_and_29_reads_them() -> None:
    # SPEC §6 "Docker on Windows" (src v28.5.2 daemon/daemon_windows.go).
    script = "docker run --runtime io.containerd.kata.v2 img\n"
    got = findings(script, "run.sh", platform="windows", docker="28")
    assert got == [
        (
            "1:22",
            "SP218 `docker run --runtime` 'io.containerd.kata.v2' is ignored: a Windows daemon "
            "of Docker 28 never reads a per-container runtime name and runs every container "
            "with its own runtime (runhcs); remove it, or set the daemon's default-runtime",
        )
    ]
    assert "SP218" not in [r.split()[0] for _, r in findings(script, "run.sh", platform="windows")]
    daemon = '{"default-runtime": "io.containerd.kata.v2"}'
    assert findings(daemon, "daemon.json", platform="windows", docker="28") == [
        (
            "1:21",
            "SP202 a Windows dockerd does not start (unknown windows runtime "
            "io.containerd.kata.v2): its runtimes are com.docker.hcsshim.v1 and "
            "io.containerd.runhcs.v1",
        )
    ]
