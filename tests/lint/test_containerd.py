"""Linting containerd's config.toml (SPEC C5): every layout, every rule, exact positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from shimpolicy.lint.containerd import TYPE, config_facts, import_target, merge_imports
from shimpolicy.lint.engine import lint_paths, lint_text
from shimpolicy.lint.facts import ContainerdConfig
from shimpolicy.lint.finding import Location
from shimpolicy.lint.source import SourceFile
from shimpolicy.policy import Policy
from tests import conftest
from tests.conftest import CORPUS, Row, needs_corpus, policy
from tests.conftest import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "containerd"


def rows(path: Path, pol: Policy | None = None) -> list[Row]:
    """conftest.rows, for containerd 2.0 unless ``pol`` says otherwise."""
    return conftest.rows(path, pol or policy(containerd="2.0"))


def where(text: str, containerd: str = "2.0") -> list[tuple[int, int, str]]:
    """(line, column, rule) of every finding for a config.toml given as text."""
    result = lint_text(text, "config.toml", policy(containerd=containerd))
    return [(f.line, f.column, f.rule) for f in result.findings]


MIGRATED_1 = (
    "no `version` key, so this is a version 1 config: containerd 2.3 converts it at every "
    "start (`Configuration migrated from version 0, use `containerd config migrate` to "
    "avoid migration`); `containerd config migrate` writes the version 4 equivalent"
)
MIGRATED_2 = (
    "config version 2: containerd 2.0 converts it at every start (`Configuration migrated "
    "from version 2, use `containerd config migrate` to avoid migration`); `containerd "
    "config migrate` writes the version 3 equivalent"
)
SCRATCH = (
    "handler 'scratch' runtime_type: containerd would execute "
    "'/tmp/containerd-shim-scratch-v1' as root from '/tmp', a directory other users can "
    "write to; install the shim in a directory only root can write, such as /usr/local/bin"
)
HALF = (
    "handler 'half' sets no `runtime_type`: containerd loads the config, but every pod "
    "using this handler fails with `container.Runtime.Name must be set: invalid argument`; "
    'add `runtime_type = "io.containerd.runc.v2"` (or the shim this handler is for)'
)


# -- the three layouts ----------------------------------------------------------------


def test_version_1_layout_is_read_from_plugins_cri() -> None:
    # SPEC §6: containerd 2.3 migrates a version-less file (src v2.3.4 LoadConfigWithPlugins).
    assert rows(FIXTURES / "layouts" / "v1", policy(containerd="2.3")) == [
        (1, 1, 1, 1, "SP407", "info", MIGRATED_1),
        (17, 18, 17, 51, "SP106", "error", SCRATCH),
        (19, 34, 19, 38, "SP401", "error", HALF),
    ]


def test_version_1_layout_loses_its_cri_settings_on_containerd_2_0_to_2_2() -> None:
    # SPEC §6 (live 2.0.0-2.2.7): a version-less file is upgraded to version 3 without the
    # plugin migrations, so `[plugins.cri]` is never read.
    for containerd in ("2.0.0", "2.2"):
        found = rows(FIXTURES / "layouts" / "v1", policy(containerd=containerd))
        assert found == [
            (
                2,
                14,
                2,
                24,
                "SP409",
                "warning",
                f"`[plugins.cri.containerd]` is ignored: containerd {containerd} upgrades a "
                "version 1 config (no `version` key) without moving its CRI settings (2.3 "
                'does); write them under `[plugins."io.containerd.cri.v1.runtime".containerd]` '
                "with `version = 3`",
            )
        ]


def test_version_2_layout_is_read_from_the_grpc_cri_plugin() -> None:
    assert rows(FIXTURES / "layouts" / "v2") == [
        (2, 11, 2, 12, "SP407", "info", MIGRATED_2),
        (19, 18, 19, 51, "SP106", "error", SCRATCH),
        (21, 58, 21, 62, "SP401", "error", HALF),
    ]


def test_version_3_layout_is_read_from_the_cri_runtime_plugin() -> None:
    assert rows(FIXTURES / "layouts" / "v3") == [
        (19, 18, 19, 51, "SP106", "error", SCRATCH),
        (21, 61, 21, 65, "SP401", "error", HALF),
    ]


def test_version_3_is_too_new_for_containerd_1_7() -> None:
    assert rows(FIXTURES / "layouts" / "v3", policy(containerd="1.7"))[0] == (
        2,
        11,
        2,
        12,
        "SP408",
        "error",
        "config version 3 is too new: containerd 1.7 reads config versions up to 2 and "
        "refuses to start (`unsupported config version `3``)",
    )


def test_version_3_starts_containerd_1_6_20_which_still_reads_the_version_2_section() -> None:
    # SPEC §6 (live 1.6.20): refused from 1.6.32 only; the grpc section is read by 1.x rules.
    text = (
        "version = 3\n"
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '  runtime_type = "io.containerd.runc.v2"\n'
        '  runtime_engine = "/usr/bin/runc"\n'
        '[plugins."io.containerd.cri.v1.runtime".containerd]\n'
        '  default_runtime_name = "missing"\n'
    )
    assert where(text, "1.6.20") == [(1, 11, "SP408"), (4, 20, "SP404"), (5, 41, "SP409")]
    assert where(text, "1.6.32") == [(1, 11, "SP408")]


def test_version_1_is_deprecated_but_read_by_containerd_1_7() -> None:
    assert rows(FIXTURES / "layouts" / "v1", policy(containerd="1.7"))[0] == (
        1,
        1,
        1,
        1,
        "SP407",
        "info",
        "no `version` key, so this is a version 1 config, which containerd 1.7 reads but "
        "deprecates; containerd 2.0 to 2.2 drop its CRI settings when they upgrade it",
    )


def test_version_2_needs_no_conversion_on_containerd_1_7() -> None:
    found = rows(FIXTURES / "layouts" / "v2", policy(containerd="1.7"))
    assert [r[4] for r in found] == ["SP106", "SP401"]


# -- positions --------------------------------------------------------------------------


def test_positions_of_dotted_quoted_inline_and_multiline_values() -> None:
    writable = (
        "a directory other users can write to; install the shim in a directory only root can "
        "write, such as /usr/local/bin"
    )
    assert rows(FIXTURES / "positions.toml") == [
        (
            5,
            25,
            5,
            38,
            "SP106",
            "error",
            f"handler 'dotted' runtime_type: containerd would execute '/tmp/dotted' as root from "
            f"'/tmp', {writable}",
        ),
        (
            6,
            3,
            6,
            16,
            "SP410",
            "warning",
            "handler 'quoted.name' cannot be named by a Kubernetes RuntimeClass, whose handler "
            "must be a DNS-1123 label (must not contain dots): only CRI clients that pass the "
            "name verbatim can use it; rename the table to a label such as `runtimes.quoted` "
            "(the runtime_type, not the handler's name, chooses the shim)",
        ),
        (
            6,
            32,
            6,
            49,
            "SP106",
            "error",
            "handler 'quoted.name' runtime_type: containerd would execute '/var/tmp/quoted' as "
            f"root from '/var/tmp', {writable}",
        ),
        (
            7,
            79,
            7,
            94,
            "SP106",
            "error",
            "handler 'inline' options.BinaryName: containerd would execute '/home/me/crun' as "
            f"root from '/home/me', {writable}",
        ),
        (
            11,
            18,
            12,
            24,
            "SP106",
            "error",
            "handler 'multi' runtime_type: containerd would execute '/run/user/1000/multi' as "
            f"root from '/run/user/1000', {writable}",
        ),
        (
            13,
            18,
            13,
            33,
            "SP106",
            "error",
            "handler 'multi' runtime_path: containerd would execute '/tmp/path' as root from "
            f"'/tmp', {writable}",
        ),
    ]


# -- what needs no finding --------------------------------------------------------------


def test_a_default_dump_is_clean_apart_from_its_version() -> None:
    # Inert default_runtime / untrusted_workload_runtime tables, empty runtime_engine and
    # runtime_root, BinaryName = "", and the v1 runtime plugin's own `runtime = "runc"`.
    assert rows(FIXTURES / "default-dump.toml", policy(containerd="1.7")) == []
    assert [r[4] for r in rows(FIXTURES / "default-dump.toml")] == ["SP407"]


def test_an_administrators_absolute_shim_path_is_allowed() -> None:
    text = (
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.spin-v1]\n'
        'runtime_type = "/opt/kwasm/bin/containerd-shim-spin-v1"\n'
    )
    assert where(text, "2.3") == [(1, 1, "SP407")]


def test_runc_binary_on_path_is_not_judged_as_a_runtime_name() -> None:
    text = (
        "version = 3\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.nvidia]\n"
        "  runtime_type = 'io.containerd.runc.v2'\n"
        "  options = { BinaryName = 'nvidia-container-runtime' }\n"
    )
    assert where(text) == []


def test_binary_name_of_a_non_runc_shim_is_not_checked() -> None:
    # Kata's v2 shim has no use for BinaryName; what is written there is not executed.
    text = (
        "version = 3\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kata]\n"
        "  runtime_type = 'io.containerd.kata.v2'\n"
        "  options = { BinaryName = 'kata/runtime' }\n"
    )
    assert where(text) == []


def test_files_without_a_cri_section_have_nothing_to_check() -> None:
    text = 'version = 3\n[plugins."io.containerd.grpc.v1.cri"]\n  disable_tcp_service = true\n'
    assert where(text) == []


# -- the rules, one by one --------------------------------------------------------------


def test_placeholders_are_unresolvable_values() -> None:
    assert rows(FIXTURES / "placeholders.toml", policy(containerd="1.7")) == [
        (
            4,
            26,
            4,
            38,
            "SP003",
            "info",
            "`default_runtime_name` '${RUNTIME}' is filled in later (${RUNTIME}); its final "
            "value cannot be checked here",
        ),
        (
            7,
            18,
            7,
            35,
            "SP003",
            "info",
            "handler 'runc' runtime_type '${RUNTIME_TYPE}' is filled in later (${RUNTIME_TYPE}); "
            "its final value cannot be checked here",
        ),
        (
            10,
            18,
            10,
            38,
            "SP003",
            "info",
            "handler 'nvidia' runtime_type '{{ .RuntimeType }}' is filled in later "
            "({{ .RuntimeType }}); its final value cannot be checked here",
        ),
        (
            17,
            18,
            17,
            32,
            "SP003",
            "info",
            "handler 'crun' options.BinaryName '${CRUN_PATH}' is filled in later (${CRUN_PATH}); "
            "its final value cannot be checked here",
        ),
    ]


def test_legacy_settings_on_containerd_1_7() -> None:
    assert rows(FIXTURES / "legacy.toml", policy(containerd="1.7")) == [
        (
            8,
            18,
            8,
            50,
            "SP108",
            "warning",
            "`default_runtime` runtime_type: 'io.containerd.runtime.v1.linux' is the legacy v1 "
            "runtime: deprecated, and removed in containerd 2.0, where the name resolves to the "
            "missing binary containerd-shim-v1-linux (C4); use io.containerd.runc.v2, and keep "
            "a custom runc binary (runtime_engine) as the handler's options.BinaryName",
        ),
        (
            11,
            49,
            11,
            75,
            "SP405",
            "error",
            "`untrusted_workload_runtime` and `runtimes.untrusted` both define the untrusted "
            "handler: containerd 1.7 fails to load the CRI plugin with `conflicting definitions: "
            "configuration includes both `untrusted_workload_runtime` and "
            '`runtimes["untrusted"]``; keep only `runtimes.untrusted`',
        ),
        (
            19,
            18,
            19,
            40,
            "SP404",
            "error",
            "handler 'runc': `runtime_root` is set but runtime_type is not "
            "io.containerd.runtime.v1.linux: containerd 1.7 fails to load the CRI plugin with "
            "`` `runtime_root` only works for runtime io.containerd.runtime.v1.linux ``; remove "
            "it (use the handler's `options`)",
        ),
    ]


def test_the_untrusted_conflict_points_at_the_other_definition() -> None:
    result = lint_paths([str(FIXTURES / "legacy.toml")], policy(containerd="1.7"))
    (conflict,) = [f for f in result.findings if f.rule == "SP405"]
    assert conflict.related == (
        Location(str(FIXTURES / "legacy.toml"), 14, 58, 14, 67, "runtimes.untrusted"),
    )


def test_legacy_settings_are_ignored_by_containerd_2() -> None:
    assert rows(FIXTURES / "legacy.toml") == [
        (2, 11, 2, 12, "SP407", "info", MIGRATED_2),
        (
            7,
            49,
            7,
            64,
            "SP406",
            "warning",
            "`default_runtime` was removed in containerd 2.0, which ignores it (and its "
            "runtime_type 'io.containerd.runtime.v1.linux'): pods without a RuntimeClass get "
            "`default_runtime_name`'s handler instead; define the runtime under `runtimes` and "
            "name it in `default_runtime_name`",
        ),
        (
            11,
            49,
            11,
            75,
            "SP406",
            "warning",
            "`untrusted_workload_runtime` was removed in containerd 2.0, which ignores it (and "
            "its runtime_type 'io.containerd.runsc.v1'): define a `runtimes.untrusted` handler "
            "instead",
        ),
        (
            19,
            18,
            19,
            40,
            "SP406",
            "warning",
            "handler 'runc': `runtime_root` was removed in containerd 2.0, which ignores it; it "
            "only ever applied to the legacy runtime io.containerd.runtime.v1.linux — use the "
            "handler's `options` instead",
        ),
    ]


def test_runtime_engine_is_accepted_with_the_legacy_runtime_on_1_7() -> None:
    text = (
        "version = 2\n"
        '[plugins."io.containerd.grpc.v1.cri".containerd]\n'
        '  default_runtime_name = "v1"\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.v1]\n'
        '  runtime_type = "io.containerd.runtime.v1.linux"\n'
        '  runtime_engine = "/usr/bin/runc"\n'
    )
    assert where(text, "1.7") == [(5, 18, "SP108")]


def test_empty_default_runtime_name() -> None:
    text = (
        "version = 2\n"
        '[plugins."io.containerd.grpc.v1.cri".containerd]\n'
        '  default_runtime_name = ""\n'
    )
    assert rows_of(text, "1.7") == [
        (
            3,
            26,
            "SP402",
            "`default_runtime_name` is empty: the CRI plugin of containerd 1.7 fails to load and "
            "no pod can start (`` `default_runtime_name` is empty ``); name one of the handlers: "
            "'runc'",
        ),
    ]


def test_an_effective_default_runtime_replaces_default_runtime_name_on_1_7() -> None:
    text = (
        "[plugins.cri.containerd]\n"
        '  default_runtime_name = ""\n'
        "[plugins.cri.containerd.default_runtime]\n"
        '  runtime_type = "io.containerd.runc.v2"\n'
    )
    assert where(text, "1.7") == [(1, 1, "SP407")]


def test_default_runtime_name_naming_no_handler() -> None:
    text = (
        "version = 3\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd]\n"
        "  default_runtime_name = 'kata'\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.gvisor]\n"
        "  runtime_type = 'io.containerd.runsc.v1'\n"
    )
    assert rows_of(text) == [
        (
            3,
            26,
            "SP403",
            '`default_runtime_name = "kata"` names no handler of this config: the CRI plugin of '
            "containerd 2.0 fails to load and no pod can start (containerd: no corresponding "
            "runtime configured in `containerd.runtimes` for `containerd` `default_runtime_name "
            "= \"kata\"); define `runtimes.kata` or name one of 'gvisor', 'runc'",
        ),
    ]


def test_containerd_1_7_replaces_the_builtin_runc_with_the_files_runtimes() -> None:
    text = (
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.spin-v1]\n'
        'runtime_type = "/opt/kwasm/bin/containerd-shim-spin-v1"\n'
    )
    # containerd 1.7 reads a file without `version` from [plugins.cri] only.
    assert rows_of(text, "1.7") == [
        (
            1,
            1,
            "SP407",
            "no `version` key, so this is a version 1 config, which containerd 1.7 reads but "
            "deprecates; containerd 2.0 to 2.2 drop its CRI settings when they upgrade it",
        ),
        (
            1,
            38,
            "SP409",
            '`[plugins."io.containerd.grpc.v1.cri".containerd]` is ignored: containerd 1.7 '
            "reads the CRI runtimes of a version 1 config (no `version` key) from "
            "`[plugins.cri.containerd]`; add `version = 2` at the top",
        ),
    ]
    # Read (with `version = 2`), its `runtimes` replace the built-in `runc`.
    assert rows_of("version = 2\n" + text, "1.7") == [
        (
            2,
            49,
            "SP403",
            '`default_runtime_name` is not set, so it is "runc", but containerd 1.7 replaces its '
            "built-in handlers with this file's `runtimes`, which define no `runc`: the CRI "
            "plugin of containerd 1.7 fails to load and no pod can start (containerd: no "
            "corresponding runtime configured in `containerd.runtimes` for `containerd` "
            "`default_runtime_name = \"runc\"); set `default_runtime_name` to one of 'spin-v1'",
        ),
    ]


def test_imports_may_define_the_default_handler() -> None:
    text = (
        "version = 3\n"
        "imports = ['/etc/containerd/conf.d/*.toml']\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd]\n"
        "  default_runtime_name = 'kata'\n"
    )
    assert where(text) == []


def test_a_drop_in_gets_the_runtime_type_from_the_config_beside_it(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "config.toml").write_text(
        "version = 3\nimports = ['conf.d/*.toml']\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kata]\n"
        "  runtime_type = 'io.containerd.kata.v2'\n"
    )
    (tmp_path / "conf.d" / "kata.toml").write_text(
        "version = 3\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kata.options]\n"
        "  ConfigPath = '/opt/kata/configuration.toml'\n"
    )
    assert lint_paths([str(tmp_path)], policy(containerd="2.0")).findings == ()


def test_version_must_be_an_integer() -> None:
    text = 'version = "2"\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
    assert rows_of(text) == [
        (
            1,
            11,
            "SP408",
            "`version` must be an integer such as `version = 3`: containerd cannot decode this "
            "value and refuses to start",
        ),
    ]


@pytest.mark.parametrize(
    ("containerd", "expected"),
    [("2.0", [(1, 11, "SP408")]), ("2.2", [(1, 11, "SP408")]), ("2.3", []), ("2.x", [])],
)
def test_version_4_needs_containerd_2_3(
    containerd: str, expected: list[tuple[int, int, str]]
) -> None:
    text = "version = 4\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\n"
    assert where(text, containerd) == expected


def test_version_2_section_in_a_version_3_file_is_ignored() -> None:
    text = (
        "version = 3\n"
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
        '  runtime_type = "io.containerd.kata.v2"\n'
    )
    assert rows_of(text) == [
        (
            2,
            38,
            "SP409",
            '`[plugins."io.containerd.grpc.v1.cri".containerd]` is ignored: containerd 2.0 does '
            "not migrate a version 3 config: it reads only "
            '`[plugins."io.containerd.cri.v1.runtime".containerd]` (2.3 and later migrate '
            "version 3 files)",
        ),
    ]
    # SPEC §6: from 2.3 (config version 4) a version 3 file is migrated, its old section
    # merged in (src v2.3.4 plugins/cri/runtime/plugin.go configMigration).
    assert rows_of(text, "2.3") == [
        (
            1,
            11,
            "SP407",
            "config version 3: containerd 2.3 converts it at every start (`Configuration "
            "migrated from version 3, use `containerd config migrate` to avoid migration`); "
            "`containerd config migrate` writes the version 4 equivalent",
        )
    ]


def test_version_2_file_with_both_cri_sections_loses_the_version_3_one() -> None:
    # SPEC §6: 2.0.0 and 2.0.1 replace the new section with the migrated old one.
    text = (
        "version = 2\n"
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '  runtime_type = "io.containerd.runc.v2"\n'
        '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata]\n'
        '  runtime_type = "io.containerd.kata.v2"\n'
    )
    assert rows_of(text, "2.0.1")[1:] == [
        (
            4,
            41,
            "SP409",
            '`[plugins."io.containerd.cri.v1.runtime".containerd]` is ignored: converting this '
            "version 2 config, containerd 2.0.1 replaces it with "
            '`[plugins."io.containerd.grpc.v1.cri"]` (2.0.2 and later merge the two); set '
            "`version = 3` and keep one of the two",
        ),
    ]


def test_version_2_file_with_both_cri_sections_merges_them_from_2_0_2() -> None:
    # SPEC §6 (src v2.0.2 plugins/cri/runtime/plugin.go migrateConfig): the new section's
    # keys win; its `runtimes` table replaces the old one whole.
    text = (
        "version = 2\n"
        '[plugins."io.containerd.grpc.v1.cri".containerd]\n'
        '  default_runtime_name = "kata"\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gvisor]\n'
        '  runtime_type = "io.containerd.runsc.v1"\n'
        '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata]\n'
        '  runtime_type = "io.containerd.kata.v2"\n'
    )
    assert rows_of(text, "2.0.2")[1:] == [
        (
            4,
            49,
            "SP409",
            '`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes]` is replaced: '
            'containerd 2.0.2 merges `[plugins."io.containerd.grpc.v1.cri"]` into '
            '`[plugins."io.containerd.cri.v1.runtime"]` and keeps the newer section\'s '
            "`runtimes` table whole, so only its handlers exist",
        )
    ]
    # On 2.0.1 the old section wins whole: `kata` does not exist.
    assert [r[2] for r in rows_of(text, "2.0.1")] == ["SP407", "SP403", "SP409"]


def test_handler_named_like_a_shim_is_unreachable_from_kubernetes() -> None:
    text = (
        "version = 3\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd]\n"
        "  default_runtime_name = 'io.containerd.runc.v2'\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.'io.containerd.runc.v2']\n"
        "  runtime_type = 'io.containerd.runc.v2'\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.'io.containerd.kata.v2']\n"
        "  runtime_type = 'io.containerd.kata.v2'\n"
    )
    # The default handler is reachable: pods without a RuntimeClass get it.
    assert rows_of(text) == [
        (
            6,
            61,
            "SP410",
            "handler 'io.containerd.kata.v2' cannot be named by a Kubernetes RuntimeClass, whose "
            "handler must be a DNS-1123 label (must not contain dots): only CRI clients that pass "
            "the name verbatim can use it; rename the table to a label such as `runtimes.kata` "
            "(the runtime_type, not the handler's name, chooses the shim)",
        ),
    ]


def test_binary_name_that_is_a_shim() -> None:
    text = (
        "version = 3\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.gvisor]\n"
        "  runtime_type = 'io.containerd.runc.v2'\n"
        "  options.BinaryName = 'io.containerd.runsc.v1'\n"
    )
    assert rows_of(text) == [
        (
            4,
            24,
            "SP411",
            "handler 'gvisor' options.BinaryName 'io.containerd.runsc.v1' names a containerd "
            "shim, not a runc-compatible runtime: the runc shim would run it in place of runc "
            "and every container fails to start; make the shim the handler's runtime_type and "
            "drop BinaryName",
        ),
    ]


def test_binary_name_relative_path() -> None:
    text = (
        "version = 3\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\n"
        "  options.BinaryName = './runc'\n"
    )
    # containerd 2.x keeps the built-in type of `runc`: BinaryName belongs to runc v2.
    assert rows_of(text) == [
        (
            3,
            24,
            "SP412",
            "handler 'runc' options.BinaryName './runc' is a relative path: the runc shim "
            "resolves it against its own working directory (the container's bundle directory), "
            "where it does not exist, so every container using it fails to start (fork/exec "
            "./runc: no such file or directory); use an absolute path, or a bare name looked up "
            "on PATH",
        ),
    ]


def rows_of(text: str, containerd: str = "2.0") -> list[tuple[int, int, str, str]]:
    result = lint_text(text, "config.toml", policy(containerd=containerd))
    return [(f.line, f.column, f.rule, f.message) for f in result.findings]


# -- never a crash ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "plugins = 1\n",
        "[plugins]\ncri = 'x'\n",
        "[plugins.cri]\ncontainerd = []\n",
        "[plugins.cri.containerd]\nruntimes = 'x'\ndefault_runtime_name = 3\n",
        "[plugins.cri.containerd.runtimes]\nkata = 1\nrunc = { runtime_type = 2 }\n",
        "[plugins.cri.containerd.untrusted_workload_runtime]\nruntime_type = []\n",
        "version = -3\n[plugins.cri.containerd.runtimes.x]\nruntime_type = 'a.b'\n",
        "[[plugins.cri.containerd.runtimes]]\n",
    ],
)
def test_odd_shapes_are_read_without_error(text: str) -> None:
    lint_text(text, "config.toml", policy(containerd="2.0"))
    lint_text(text, "config.toml", policy(containerd="1.6"))


def test_unparsable_toml_is_a_parse_error() -> None:
    assert where("[plugins.cri\n") == [(1, 13, "SP001")]


# -- the real-world corpus --------------------------------------------------------------


@needs_corpus
def test_realworld_containerd_configs() -> None:
    result = lint_paths([str(CORPUS / "containerd")], Policy.default())
    found = [
        (f.path.split("/containerd/", 1)[1], f.line, f.column, f.rule, f.severity)
        for f in result.findings
    ]
    assert found == [
        ("containerd-default-1.7/config.toml", 9, 11, "SP407", "info"),
        ("docker-setup-runtimes/config.toml", 1, 1, "SP407", "info"),
        ("eks-nodeadm-neuron-v2/config.toml", 3, 11, "SP407", "info"),
        # containerd 2.3 migrates version 3 files too (SPEC §6).
        ("eks-nodeadm-nvidia-v3/config.toml", 1, 11, "SP407", "info"),
        ("jessfraz-dotfiles-v1/config.toml", 1, 1, "SP407", "info"),
        # default_runtime with the legacy v1 runtime: containerd 2.0 ignores it.
        ("jessfraz-dotfiles-v1/config.toml", 38, 31, "SP406", "warning"),
        ("kthw/config.toml", 1, 11, "SP407", "info"),
        ("microk8s-template/config.toml", 2, 11, "SP407", "info"),
        ("microk8s-template/config.toml", 46, 28, "SP003", "info"),
        ("microk8s-template/config.toml", 53, 22, "SP003", "info"),
        ("microk8s-template/config.toml", 57, 22, "SP003", "info"),
        ("nvidia-toolkit-test-v2/config.toml", 7, 11, "SP407", "info"),
        # io.containerd.runc.v1: containerd 2.0 no longer ships its shim (the policy warns).
        ("nvidia-toolkit-test-v2/config.toml", 81, 26, "SP109", "warning"),
        ("rancher-desktop-k3s/config.toml", 1, 11, "SP407", "info"),
        ("rcm-kwasm-shim-path/config.toml", 1, 1, "SP407", "info"),
    ]
    assert result.files_checked == 10


@needs_corpus
def test_realworld_containerd_configs_for_containerd_1_7() -> None:
    result = lint_paths([str(CORPUS / "containerd")], policy(containerd="1.7"))
    found = [
        (f.path.split("/containerd/", 1)[1], f.line, f.column, f.rule)
        for f in result.findings
        if f.severity != "info"
    ]
    assert found == [
        # Without `version = 2`, containerd 1.7 never reads these sections.
        ("docker-setup-runtimes/config.toml", 1, 38, "SP409"),
        # containerd 1.7 cannot read a version 3 file.
        ("eks-nodeadm-nvidia-v3/config.toml", 1, 11, "SP408"),
        # The legacy v1 runtime is deprecated in 1.7 (the policy warns).
        ("jessfraz-dotfiles-v1/config.toml", 39, 24, "SP108"),
        ("nvidia-toolkit-test-v2/config.toml", 81, 26, "SP109"),
        ("rcm-kwasm-shim-path/config.toml", 20, 38, "SP409"),
    ]


@pytest.mark.parametrize(
    ("entry", "target"),
    [
        ("conf.d/kata.toml", ("/etc/containerd/conf.d/kata.toml", False)),
        ("/etc/containerd/../x.toml", ("/etc/x.toml", False)),
        ("conf.d/*.toml", ("conf.d/*.toml", True)),  # globbed as written, from containerd's cwd
    ],
)
def test_where_containerd_looks_for_an_import(entry: str, target: tuple[str, bool]) -> None:
    assert import_target("/etc/containerd/config.toml", entry) == target


def _config(text: str, path: str) -> ContainerdConfig:
    source = SourceFile.of(path, text, "containerd")
    return config_facts(TYPE.load(source), source)


def test_imports_merge_key_by_key_on_2_x_and_replace_the_section_on_1_x() -> None:
    header = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes'
    main = _config(
        f'version = 2\n{header}.kata]\n  runtime_type = "io.containerd.kata.v2"\n'
        '  runtime_path = "/opt/kata/shim"\n',
        "config.toml",
    )
    drop_in = _config(
        f'version = 2\n{header}.kata]\n  runtime_type = "io.containerd.kata-qemu.v2"\n',
        "conf.d/kata.toml",
    )
    merged = merge_imports([main, drop_in], "2.0.2").effective_handlers("2.0.2")["kata"]
    assert (merged.runtime_type, merged.runtime_path) == (
        "io.containerd.kata-qemu.v2",
        "/opt/kata/shim",
    )
    assert merge_imports([main, drop_in], "1.7.24") is drop_in
