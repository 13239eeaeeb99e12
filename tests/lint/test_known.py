"""``shimpolicy.lint.known``: the host's daemon.json and containerd config.toml, read as the
linter reads them, for the commands that take ``--daemon-config``/``--containerd-config``."""

from __future__ import annotations

from pathlib import Path

import pytest

from shimpolicy.lint.known import ConfigError, containerd_config, daemon_runtimes

V1 = '[plugins.cri.containerd.runtimes.kata]\nruntime_type = "io.containerd.kata.v2"\n'
V2 = """\
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]
  runtime_type = "io.containerd.kata.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.evil]
  runtime_type = "/tmp/containerd-shim-evil-v2"
"""
V3 = """\
version = 3
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.wasm]
runtime_type = "/opt/wasm/shim"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.empty]
"""


def _types(path: Path, containerd: str) -> dict[str, str | None]:
    handlers = containerd_config(str(path)).effective_handlers(containerd)
    return {name: h.runtime_type for name, h in handlers.items()}


@pytest.mark.parametrize(
    ("text", "containerd", "expected"),
    [
        # C5: containerd 1.x replaces the whole runtimes map with the file's: no runc.
        (V1, "1.7", {"kata": "io.containerd.kata.v2"}),
        (V2, "1.6", {"kata": "io.containerd.kata.v2", "evil": "/tmp/containerd-shim-evil-v2"}),
        # containerd 2.x decodes the file over its defaults: the built-in runc stays.
        (
            V2,
            "2.1",
            {
                "runc": "io.containerd.runc.v2",
                "kata": "io.containerd.kata.v2",
                "evil": "/tmp/containerd-shim-evil-v2",
            },
        ),
        (V3, "2.1", {"runc": "io.containerd.runc.v2", "wasm": "/opt/wasm/shim", "empty": None}),
        # No runtimes table at all: containerd's own runc, whatever the version.
        ("version = 2\n", "1.7", {"runc": "io.containerd.runc.v2"}),
    ],
)
def test_containerd_handlers_by_config_and_containerd_version(
    tmp_path: Path, text: str, containerd: str, expected: dict[str, str | None]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert _types(path, containerd) == expected


def test_containerd_imports_say_other_files_may_define_handlers(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n')
    config = containerd_config(str(path))
    assert (config.imports, config.path) == (True, str(path))
    path.write_text(V3)
    assert containerd_config(str(path)).imports is False


def test_unparsable_or_unreadable_files_are_errors_naming_the_place(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("version = [\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2:1: "):
        containerd_config(str(path))
    path.write_bytes(b"version = 2\n\xff\n")
    with pytest.raises(ConfigError) as e:
        containerd_config(str(path))
    assert str(e.value) == f"{path}: file is not valid UTF-8 (byte 0xff)"
    missing = tmp_path / "absent.json"
    with pytest.raises(ConfigError) as e:
        daemon_runtimes(str(missing))
    assert str(e.value) == f"{missing}: cannot read file: No such file or directory"
    daemon = tmp_path / "daemon.json"
    daemon.write_text('{"runtimes": [}')
    with pytest.raises(ConfigError, match=rf"^{daemon}:1:15: "):
        daemon_runtimes(str(daemon))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"runtimes": {"kata": {"runtimeType": "io.containerd.kata.v2"}}, "debug": true}',
            {"kata"},
        ),
        # Repeated runtimes objects merge; null empties what came before (Go's decoder).
        ('{"runtimes": {"a": {}}, "runtimes": {"b": {}}}', {"a", "b"}),
        ('{"runtimes": {"a": {}}, "runtimes": null, "runtimes": {"b": {}}}', {"b"}),
        # dockerd refuses a top-level key that is no option of its, "Runtimes" included
        # (lint says so): it configures nothing.
        ('{"Runtimes": {"kata": {"runtimeType": "io.containerd.kata.v2"}}}', set()),
        ('{"runtimes": "kata"}', set()),
        ("", set()),
    ],
)
def test_daemon_runtimes_as_dockerd_ends_up_with_them(
    tmp_path: Path, text: str, expected: set[str]
) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(text)
    assert daemon_runtimes(str(path)) == expected
