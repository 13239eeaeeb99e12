"""An independent model of how containerd 2.x loads a config file's CRI runtime handlers.

Written from reading the tagged sources (v2.0.0, v2.0.2, v2.2.x, v2.3.4): the config loader
(cmd/containerd/server/config/config.go: ``LoadConfig`` / ``LoadConfigWithPlugins``,
``MigrateConfigTo`` and its ``migrations`` table, ``v1Migrate``), the server's plugin
migrations (cmd/containerd/server/server.go ``New``), the CRI runtime plugin's
``ConfigMigration`` (plugins/cri/runtime/plugin.go) and the plugin config decoding over the
defaults (``Config.Decode``).  It works on the plain data of the TOML file, as those
functions work on ``map[string]interface{}``, and shares no code with the linter, which
tests/lint/test_containerd2_model.py holds against it.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

GRPC_CRI = "io.containerd.grpc.v1.cri"
RUNTIME = "io.containerd.cri.v1.runtime"
# v1Migrate's table of short names (only the CRI one matters to handlers).
SHORT_NAMES = {"cri": GRPC_CRI, "linux": "io.containerd.runtime.v1.linux"}
# Top-level CRI keys the runtime plugin's migration leaves to other plugins (>= 2.0.2).
MOVED_ELSEWHERE = {
    "containerd",
    "sandbox_image",
    "registry",
    "image_decryption",
    "max_concurrent_downloads",
    "image_pull_progress_timeout",
    "image_pull_with_sync_fs",
    "stats_collect_period",
    "disable_tcp_service",
    "stream_server_address",
    "stream_server_port",
    "stream_idle_timeout",
    "enable_tls_streaming",
    "x509_key_pair_streaming",
}
MOVED_CONTAINERD = {"snapshotter", "disable_snapshot_annotations", "discard_unpacked_layers"}


class Panic(Exception):
    """A Go type assertion that fails: containerd exits with a panic."""


class Loaded(NamedTuple):
    refused: bool
    handlers: dict[str, str | None]  # name -> runtime_type
    default: str


def _rename_v1(plugins: dict[str, Any]) -> dict[str, Any]:
    renamed = {}
    for name, value in plugins.items():
        if "." not in name:
            name = SHORT_NAMES.get(name, "io.containerd.grpc.v1." + name)
        renamed[name] = value
    return renamed


def _runtime_migration(version: int, plugins: dict[str, Any], release: tuple[int, ...]) -> None:
    """The CRI runtime plugin's ConfigMigration for one config version."""
    target = 4 if release >= (2, 3, 0) else 3
    if version >= target or GRPC_CRI not in plugins:
        return
    src = plugins[GRPC_CRI]
    if not isinstance(src, dict):
        if release < (2, 0, 2):
            raise Panic("interface conversion")  # c.(map[string]interface{})
        return
    if release < (2, 0, 2):
        conf = src  # the old section, as it is, becomes the new one
    else:
        conf = plugins.get(RUNTIME)
        if not isinstance(conf, dict):
            conf = {}
        for key, value in src.items():
            if key not in MOVED_ELSEWHERE and key not in conf:
                conf[key] = value
        old = src.get("containerd")
        if isinstance(old, dict):
            new = conf.get("containerd")
            if not isinstance(new, dict):
                new = {}
            for key, value in old.items():
                if key not in MOVED_CONTAINERD and key not in new:
                    new[key] = value
            conf["containerd"] = new
    containerd = conf.get("containerd")
    if isinstance(containerd, dict) and "runtimes" in containerd:
        runtimes = containerd["runtimes"]
        if not isinstance(runtimes, dict):
            raise Panic("interface conversion")  # runtimesConf.(map[string]interface{})
        for value in runtimes.values():
            if not isinstance(value, dict):
                raise Panic("interface conversion")
            if "sandbox_mode" in value and "sandboxer" not in value:
                value["sandboxer"] = value["sandbox_mode"]
    plugins[RUNTIME] = conf


def load(doc: dict[str, Any], release: tuple[int, ...]) -> Loaded:
    """The handlers and default handler containerd ``release`` ends up with for ``doc``."""
    doc = copy.deepcopy(doc)
    version = doc.get("version", 0)
    newest = 4 if release >= (2, 3, 0) else 3
    if version > newest:
        return Loaded(True, {}, "")
    plugins = doc.get("plugins", {})
    try:
        if release < (2, 3, 0):
            # LoadConfig: version 0 and 1 files are brought to the server's version (3) by
            # the core migrations only; server.New then runs the plugin migrations from the
            # merged version, which a version 0/1 file no longer has.
            if version in (0, 1):
                for v in range(version, newest):
                    if v == 1:
                        plugins = _rename_v1(plugins)
                version = newest
            for v in range(version, newest):
                _runtime_migration(v, plugins, release)
        else:
            # LoadConfigWithPlugins: every file older than 4 is migrated one version at a
            # time, core migration (MigrateConfigTo(v+1)) then each plugin's.
            for v in range(version, newest):
                if v == 1:
                    plugins = _rename_v1(plugins)
                _runtime_migration(v, plugins, release)
    except Panic:
        return Loaded(True, {}, "")
    # Config.Decode: the plugin's section decoded over its defaults.
    runtimes: dict[str, dict[str, Any]] = {"runc": {"runtime_type": "io.containerd.runc.v2"}}
    default = "runc"
    section = plugins.get(RUNTIME)
    containerd = section.get("containerd") if isinstance(section, dict) else None
    if isinstance(containerd, dict):
        if "default_runtime_name" in containerd:
            default = containerd["default_runtime_name"]
        found = containerd.get("runtimes", {})
        if not isinstance(found, dict):
            return Loaded(True, {}, "")  # go-toml: cannot decode TOML string into a map
        for name, table in found.items():
            merged = dict(runtimes.get(name, {}))
            merged.update(table)
            runtimes[name] = merged
    return Loaded(False, {n: t.get("runtime_type") for n, t in runtimes.items()}, default)
