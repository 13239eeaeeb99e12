"""containerd's load-time refusals and its 2.x migration, release by release (SPEC §6).

Each test names where the fact comes from: "live" = observed on containerd 1.6.20 or on 2.x
built from its tag (SPEC §6), "src" = read in the upstream tag named.
"""

from __future__ import annotations

from pathlib import Path

from shimpolicy.lint.engine import lint_paths, lint_text
from tests.conftest import policy


def lint(text: str, containerd: str) -> list[tuple[int, int, str, str]]:
    result = lint_text(text, "config.toml", policy(containerd=containerd))
    return [(f.line, f.column, f.rule, f.message) for f in result.findings if f.rule != "SP407"]


def rules(text: str, containerd: str) -> list[str]:
    return [rule for _, _, rule, _ in lint(text, containerd)]


V2 = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'
RUNC_V2 = (
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
    '  runtime_type = "io.containerd.runc.v2"\n'
)


def test_systemd_cgroup_fails_the_1x_cri_plugin_and_is_ignored_by_2x() -> None:
    # live 1.6.20; src v1.6.20 pkg/cri/config/config.go ValidatePluginConfig.
    text = V2 + "  systemd_cgroup = true\n" + RUNC_V2
    assert lint(text, "1.6.20") == [
        (
            3,
            20,
            "SP414",
            "`systemd_cgroup = true` but the default handler is not "
            "io.containerd.runtime.v1.linux: the CRI plugin of containerd 1.6.20 fails to load "
            "and no pod can start (`` `systemd_cgroup` only works for runtime "
            "io.containerd.runtime.v1.linux ``); set `SystemdCgroup = true` in the runc "
            "handler's `options` instead",
        )
    ]
    assert rules(text, "2.0.0") == ["SP406"]  # live 2.x: "Ignoring unknown key in TOML"
    legacy = text.replace("io.containerd.runc.v2", "io.containerd.runtime.v1.linux")
    assert "SP414" not in rules(legacy, "1.6.20")


def test_no_pivot_fails_the_1x_cri_plugin() -> None:
    # live 1.6.20.
    text = V2 + '[plugins."io.containerd.grpc.v1.cri".containerd]\n  no_pivot = true\n' + RUNC_V2
    assert rules(text, "1.6.20") == ["SP414"]
    assert "`` `no_pivot` only works for runtime" in lint(text, "1.7")[0][3]


def test_short_plugin_keys_stop_1x_in_a_version_2_file_but_not_2x() -> None:
    # live 1.6.20 (ValidateV2, src v1.6.20 services/server/config/config.go); live 2.0.0-2.3.4.
    text = (
        "version = 2\n"
        'disabled_plugins = ["cri", "io.containerd.internal.v1.opt"]\n'
        'required_plugins = ["io.containerd.grpc.v1.cri"]\n'
        "[plugins.linux]\n"
        '  runtime = "runc"\n' + RUNC_V2
    )
    assert lint(text, "1.6.20") == [
        (
            2,
            21,
            "SP413",
            'containerd 1.6.20 does not start: `invalid disabled plugin URI "cri" expect '
            "io.containerd.x.vx`; a version 2 config names plugins by their full id "
            "(`io.containerd.grpc.v1.cri`, not `cri`)",
        ),
        (
            4,
            10,
            "SP413",
            'containerd 1.6.20 does not start: `invalid plugin key URI "linux" expect '
            "io.containerd.x.vx`; a version 2 config names plugins by their full id "
            "(`io.containerd.runtime.v1.linux`)",
        ),
    ]
    # 2.x: the short key is ignored, but an entry without a dot still stops it.
    assert lint(text, "2.0.0") == [
        (
            2,
            21,
            "SP413",
            'containerd 2.0.0 does not start: `invalid disabled plugin URI "cri" expect '
            "io.containerd.x.vx`; name the plugin by its full id (`io.containerd.grpc.v1.cri`)",
        )
    ]


def test_a_full_id_in_a_version_1_files_required_plugins_stops_1x() -> None:
    # live 1.6.20: a version 1 file names plugins by short id (src v1.6.20 server.go).
    text = 'required_plugins = ["io.containerd.grpc.v1.cri"]\n[plugins.cri.containerd]\n'
    assert lint(text, "1.6.20") == [
        (
            1,
            21,
            "SP413",
            "containerd 1.6.20 does not start: `required plugin [io.containerd.grpc.v1.cri] not "
            "included`: a version 1 config names plugins by their short id (`cri`)",
        )
    ]
    assert lint(text.replace("io.containerd.grpc.v1.cri", "cri", 1), "1.6.20") == []


def test_version_2_is_never_advised_to_a_file_with_short_keys() -> None:
    # SPEC §6: `version = 2` would make [plugins.cri] / "cri" fatal on 1.x.
    text = (
        'disabled_plugins = ["aufs"]\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '  runtime_type = "io.containerd.runc.v2"\n'
    )
    (message,) = [m for _, _, rule, m in lint(text, "1.6.20") if rule == "SP409"]
    assert "version = 2" not in message
    (message,) = [m for _, _, r, m in lint(text.split("\n", 1)[1], "1.6.20") if r == "SP409"]
    assert message.endswith("add `version = 2` at the top")


def test_a_disabled_cri_plugin_cannot_fail() -> None:
    # live 1.6.20: the CRI plugin is not loaded, so its settings are never validated.
    text = (
        'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd]\n  default_runtime_name = "missing"\n'
    )
    assert rules(text, "1.6.20") == []
    assert rules(text.replace('["io.containerd.grpc.v1.cri"]', "[]"), "1.6.20") == ["SP403"]
    v1 = 'disabled_plugins = ["cri"]\n[plugins.cri.containerd]\n  default_runtime_name = "x"\n'
    assert rules(v1, "1.6.20") == []


def test_untrusted_workload_runtime_creates_the_untrusted_handler() -> None:
    # live 1.6.20; src v1.6.20 pkg/cri/config/config.go.
    text = (
        V2 + '[plugins."io.containerd.grpc.v1.cri".containerd]\n'
        '  default_runtime_name = "untrusted"\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.untrusted_workload_runtime]\n'
        '  runtime_type = "io.containerd.runsc.v1"\n'
    )
    assert rules(text, "1.6.20") == []
    assert rules(text.replace("io.containerd.runsc.v1", ""), "1.6.20") == ["SP403"]


def test_wrong_types_stop_containerd_with_go_tomls_text() -> None:
    # live 1.6.20 (go-toml v1) and 2.0.0-2.3.4 (go-toml v2; the runtimes panic).
    typed = V2 + RUNC_V2.replace('"io.containerd.runc.v2"', "2")
    assert lint(typed, "1.6.20") == [
        (
            4,
            18,
            "SP415",
            "`runtime_type` must be a string, not an integer: containerd 1.6.20 cannot decode it "
            "and does not start (go-toml: `Can't convert … to string`)",
        )
    ]
    assert lint(typed, "2.0.0")[0][3].endswith(
        "(`toml: cannot decode TOML integer into struct field config.Runtime.Type of type string`)"
    )
    runtimes = V2 + '[plugins."io.containerd.grpc.v1.cri".containerd]\n  runtimes = "runc"\n'
    assert lint(runtimes, "2.3")[0][3] == (
        "`runtimes` must be a table, not a string: containerd 2.3 cannot decode it and does not "
        "start (it panics migrating the CRI settings: `interface conversion: interface {} is "
        "string, not map[string]interface {}`)"
    )


def test_duplicated_tables_stop_containerd() -> None:
    # src go-toml v1 parser.go ("duplicated tables"), go-toml v2 tracker ("already exists").
    text = "version = 2\n[plugins.x]\n[plugins.x]\n"
    result = lint_text(text, "config.toml", policy(containerd="1.6.20"))
    (finding,) = result.findings
    assert (finding.rule, finding.message) == (
        "SP001",
        "cannot parse containerd config.toml: table 'plugins.x' is already defined at line 2; "
        "containerd cannot parse it either and does not start (1.x: `duplicated tables`; 2.x: "
        "`toml: table … already exists`)",
    )


def test_a_newer_config_version_starts_1_6_0_to_1_6_31() -> None:
    # live 1.6.20; src v1.6.32/v1.7.17 services/server/config/config.go.
    text = 'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd]\n'
    severities = {
        v: [f.severity for f in lint_text(text, "config.toml", policy(containerd=v)).findings]
        for v in ("1.6.20", "1.6.31", "1.6.32", "1.7.16", "1.7.17")
    }
    assert severities == {
        "1.6.20": ["warning", "warning"],
        "1.6.31": ["warning", "warning"],
        "1.6.32": ["error"],
        "1.7.16": ["warning", "warning"],
        "1.7.17": ["error"],
    }


def test_default_runtime_name_is_quoted_with_containerds_unclosed_backtick() -> None:
    # src v2.3.4 internal/cri/config/config.go (the format string has no closing backtick).
    text = V2 + '[plugins."io.containerd.grpc.v1.cri".containerd]\n  default_runtime_name = "k"\n'
    (message,) = [m for _, _, rule, m in lint(text, "1.6.20") if rule == "SP403"]
    assert (
        "(containerd: no corresponding runtime configured in `containerd.runtimes` for "
        '`containerd` `default_runtime_name = "k");' in message
    )


def test_handler_fields_the_2x_cri_plugin_refuses() -> None:
    # src v2.3.4 internal/cri/config/config.go ValidateRuntimeConfig.
    text = (
        "version = 3\n"
        '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]\n'
        '  io_type = "pipe"\n'
        "  privileged_without_host_devices_all_devices_allowed = true\n"
        "  cgroup_writable = true\n"
    )
    assert [(r, m.split(": ", 1)[0]) for _, _, r, m in lint(text, "2.3")] == [
        ("SP416", "handler 'runc'"),
        ("SP416", "handler 'runc'"),
        ("SP416", "handler 'runc'"),
    ]
    assert rules(text, "2.0.0") == ["SP416", "SP416"]  # cgroup_writable came with 2.1
    assert rules(text.replace("version = 3", "version = 2"), "1.6.20") == ["SP409"]


def test_runtime_path_is_ignored_before_1_6_21_and_on_1_7_0() -> None:
    # live 1.6.20 (the runtime_type's shim ran).
    text = V2 + RUNC_V2 + '  runtime_path = "/usr/local/bin/containerd-shim-runc-v2"\n'
    for containerd, expected in (("1.6.20", ["SP418"]), ("1.6.21", []), ("1.7.0", ["SP418"])):
        assert rules(text, containerd) == expected, containerd
    assert (
        "is ignored by containerd 1.6.20 (honoured from 1.6.21 and 1.7.1)"
        in (lint(text, "1.6.20")[0][3])
    )


def test_version_less_files_lose_their_cri_settings_on_2_0_to_2_2() -> None:
    # live 2.0.0-2.2.7 ("Ignoring unknown key in TOML"); src v2.3.4 migrates from version 0.
    text = (
        "[plugins.cri.containerd]\n  default_runtime_name = 'kata'\n"
        "[plugins.cri.containerd.runtimes.kata]\n  runtime_type = 'io.containerd.kata.v2'\n"
    )
    assert rules(text, "2.0.0") == ["SP409"]
    assert rules(text, "2.2") == ["SP409"]
    assert rules(text, "2.3") == []


def test_a_runtime_class_whose_handler_vanishes_makes_the_ignored_section_an_error() -> None:
    # SPEC §6: "an error where a handler the cluster uses vanishes".
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from shimpolicy.lint.engine import lint_paths

    with TemporaryDirectory() as tmp:
        Path(tmp, "config.toml").write_text(
            "[plugins.cri.containerd.runtimes.kata]\n  runtime_type = 'io.containerd.kata.v2'\n"
        )
        Path(tmp, "rc.yaml").write_text(
            "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: kata\n"
            "handler: kata\n"
        )
        found = lint_paths([tmp], policy(containerd="2.0.0")).findings
    assert [(f.rule, f.severity) for f in found if f.path.endswith("config.toml")] == [
        ("SP409", "error")
    ]
    assert any(f.rule == "SP702" for f in found)


def test_a_drop_in_newer_than_its_root(tmp_path: Path) -> None:
    # src v2.3.4 LoadConfigWithPlugins (refused; a version-less root sets no limit);
    # SPEC §6: 2.0-2.2 take the higher version and do not migrate the root.
    root = tmp_path / "config.toml"
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "kata.toml").write_text(
        "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kata]\n"
        "  runtime_type = 'io.containerd.kata.v2'\n"
    )
    root.write_text("version = 2\nimports = ['conf.d/*.toml']\n" + RUNC_V2)

    def found(containerd: str) -> list[tuple[str, str]]:
        result = lint_paths([str(tmp_path)], policy(containerd=containerd))
        return [(f.rule, f.severity) for f in result.findings if f.rule == "SP419"]

    assert found("2.3") == []  # a relative pattern is matched against containerd's cwd
    root.write_text(f"version = 2\nimports = ['{tmp_path.as_posix()}/conf.d/*.toml']\n" + RUNC_V2)
    assert found("2.3") == [("SP419", "error")]
    assert found("2.2") == [("SP419", "warning")]
    root.write_text(f"imports = ['{tmp_path.as_posix()}/conf.d/*.toml']\n" + RUNC_V2)
    assert found("2.3") == []


def test_wrong_types_of_the_servers_own_keys_stop_containerd() -> None:
    # live 1.6.20 and 2.x (go-toml): the file is decoded into the server configuration first.
    text = (
        'version = 2\ndisabled_plugins = "cri"\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
    )
    assert lint(text, "2.0.0") == [
        (
            2,
            20,
            "SP415",
            "`disabled_plugins` must be an array of strings, not a string: containerd 2.0.0 "
            "cannot decode it and does not start (`toml: cannot decode TOML string into struct "
            "field config.Config.DisabledPlugins of type []string`)",
        )
    ]
    assert rules(text.replace('"cri"', '["io.containerd.internal.v1.opt", 2]'), "1.6.20") == [
        "SP415"
    ]


def test_a_shim_sandbox_takes_its_shim_from_runtime_type_only() -> None:
    # SPEC §6: for `sandboxer = "shim"` sandboxes 2.x ignores runtime_path.
    text = (
        "version = 3\n"
        '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata]\n'
        '  runtime_type = "io.containerd.kata.v2"\n'
        '  runtime_path = "/opt/kata/bin/containerd-shim-kata-v2"\n'
        '  sandboxer = "shim"\n'
    )
    assert rules(text, "2.3") == ["SP418"]
    assert rules(text.replace('"shim"', '"podsandbox"'), "2.3") == []


def test_plugin_level_keys_count_without_a_containerd_table() -> None:
    # live 1.6.20: `[plugins."io.containerd.grpc.v1.cri"] systemd_cgroup = true` alone fails
    # the CRI plugin (the built-in default handler is io.containerd.runc.v2).
    assert rules(V2 + "  systemd_cgroup = true\n", "1.6.20") == ["SP414"]
    assert rules("[plugins.cri]\n  systemd_cgroup = true\n", "1.6.20") == ["SP414"]
    array = 'version = 2\n[[plugins."io.containerd.grpc.v1.cri".containerd]]\n'
    assert lint(array, "1.6.20") == [
        (
            2,
            1,
            "SP415",
            "`containerd` must be a table, not an array: containerd 1.6.20 cannot decode it and "
            "does not start (go-toml: `Can't convert … to config.ContainerdConfig`)",
        )
    ]


def test_a_short_cri_key_in_a_version_2_file_loses_its_handlers_on_2x() -> None:
    # live 2.0.0-2.3.4: the table is not renamed in a version 2 file, so it is ignored.
    text = "version = 2\n[plugins.cri.containerd.runtimes.kata]\n  runtime_type = 'x.kata.v2'\n"
    assert lint(text, "2.0.0") == [
        (
            2,
            14,
            "SP409",
            "`[plugins.cri.containerd]` is ignored: containerd 2.0.0 reads no `cri` plugin in a "
            "version 2 config, only full plugin ids",
        )
    ]
    assert rules(text, "1.6.20") == ["SP413"]  # 1.x exits instead
