"""Seeded generators of containerd ``config.toml`` and Docker ``daemon.json`` files.

They cover the runtime surface the linter claims to predict: config versions and layouts,
handlers and their fields, plugin-level keys, disabled and required plugins, values of the
wrong type, repeated keys, encodings, and dockerd's own keys. Each file carries the *class*
it was drawn from, so a differential run against the live daemons (``tests/live``) can
report its agreement class by class. The same seed always gives the same files.

    python -m fuzz.configs OUT [--seed S] [--containerd N] [--daemon-json N]

writes them under ``OUT/containerd/`` and ``OUT/daemon.json/`` with an index (``index.tsv``:
file, kind, class).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CRI_V2 = "io.containerd.grpc.v1.cri"
CRI_V3 = "io.containerd.cri.v1.runtime"
LEGACY = "io.containerd.runtime.v1.linux"


@dataclass(frozen=True)
class Generated:
    name: str  # a file name, unique within its kind
    kind: str  # "containerd" or "daemon.json"
    cls: str  # the class it was drawn from
    data: bytes


# --------------------------------------------------------------------------- containerd

RUNTIME_TYPES = (
    "io.containerd.runc.v2",
    "io.containerd.runc.v2",
    "io.containerd.kata.v2",
    "io.containerd.fake.v1",
    LEGACY,
    "",
    "/usr/bin/containerd-shim-runc-v2",
    "runc",
)
HANDLERS = ("runc", "kata", "gvisor", "fast", "io.containerd.kata.v2", "untrusted")


def _q(value: object) -> str:
    """A TOML value: strings quoted as basic strings (JSON's escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_q(v) for v in value) + "]"
    return str(value)


class _Toml:
    """A config.toml written table by table."""

    def __init__(self, version: int | str | None) -> None:
        self.lines: list[str] = [] if version is None else [f"version = {_q(version)}"]

    def key(self, key: str, value: object) -> None:
        self.lines.append(f"{key} = {_q(value)}")

    def table(self, name: str, **values: object) -> None:
        self.lines.append(f"\n[{name}]")
        for key, value in values.items():
            self.key(key, value)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _cri(version: int | None, rng: random.Random) -> str:
    """The CRI plugin's table name for a file of ``version`` (None: no version key)."""
    if version in (None, 1):
        return "plugins.cri"
    if version == 2:
        return f'plugins."{CRI_V2}"'
    return f'plugins."{CRI_V3}"' if rng.random() < 0.7 else f'plugins."{CRI_V2}"'


def _handler_fields(rng: random.Random) -> dict[str, object]:
    fields: dict[str, object] = {}
    if rng.random() < 0.85:
        fields["runtime_type"] = rng.choice(RUNTIME_TYPES)
    if rng.random() < 0.2:
        fields["runtime_path"] = rng.choice(
            ["/usr/bin/containerd-shim-other-v1", "containerd-shim-other-v1", ""]
        )
    if rng.random() < 0.15:
        fields["runtime_engine"] = rng.choice(["", "/usr/bin/runc"])
    if rng.random() < 0.1:
        fields["runtime_root"] = rng.choice(["", "/run/other"])
    if rng.random() < 0.2:
        fields["privileged_without_host_devices"] = rng.random() < 0.5
    return fields


def _handlers(doc: _Toml, cri: str, rng: random.Random, with_runc: float = 0.6) -> list[str]:
    names = rng.sample(HANDLERS, rng.randint(1, 3))
    if rng.random() < with_runc and "runc" not in names:
        names.append("runc")
    for name in names:
        key = f'"{name}"' if "." in name else name
        fields = _handler_fields(rng)
        doc.table(f"{cri}.containerd.runtimes.{key}", **fields)
        if rng.random() < 0.2:
            doc.table(
                f"{cri}.containerd.runtimes.{key}.options",
                BinaryName=rng.choice(["/usr/bin/runc", "runc", "/usr/bin/containerd-shim-x-v1"]),
            )
    return names


def _default_name(doc: _Toml, cri: str, names: list[str], rng: random.Random) -> None:
    roll = rng.random()
    if roll < 0.4:
        return
    value = rng.choice(names) if roll < 0.75 else rng.choice(["", "missing", "runc"])
    doc.table(f"{cri}.containerd", default_runtime_name=value)


def c_handlers(rng: random.Random) -> str:
    version = rng.choice([None, 1, 2, 2, 2])
    doc = _Toml(version)
    cri = _cri(version, rng)
    _default_name(doc, cri, _handlers(doc, cri, rng), rng)
    return doc.text()


def c_versions(rng: random.Random) -> str:
    """Versions 3 and 4, whose sections 1.6 cannot place, beside the old CRI section."""
    version = rng.choice([3, 4, 3])
    doc = _Toml(version)
    for cri in rng.sample([f'plugins."{CRI_V3}"', f'plugins."{CRI_V2}"'], rng.randint(1, 2)):
        _default_name(doc, cri, _handlers(doc, cri, rng), rng)
    return doc.text()


def c_legacy_tables(rng: random.Random) -> str:
    """1.x's default_runtime and untrusted_workload_runtime, effective or inert."""
    version = rng.choice([None, 2, 2])
    doc = _Toml(version)
    cri = _cri(version, rng)
    names = _handlers(doc, cri, rng, with_runc=0.8)
    for table in rng.sample(["untrusted_workload_runtime", "default_runtime"], rng.randint(1, 2)):
        doc.table(
            f"{cri}.containerd.{table}",
            runtime_type=rng.choice(["", "", "io.containerd.kata.v2", LEGACY]),
            runtime_engine=rng.choice(["", "", "/usr/bin/runc"]),
            runtime_root="",
        )
    if rng.random() < 0.5:
        doc.table(f"{cri}.containerd", default_runtime_name=rng.choice(["untrusted", *names]))
    return doc.text()


def c_plugin_keys(rng: random.Random) -> str:
    """systemd_cgroup and no_pivot, with the default runtime legacy or not."""
    version = rng.choice([None, 2, 2])
    doc = _Toml(version)
    cri = _cri(version, rng)
    if rng.random() < 0.5:
        doc.table(cri, systemd_cgroup=rng.random() < 0.7)
    else:
        doc.table(f"{cri}.containerd", no_pivot=rng.random() < 0.7)
    if rng.random() < 0.5:
        doc.table(
            f"{cri}.containerd.runtimes.runc",
            runtime_type=rng.choice([LEGACY, "io.containerd.runc.v2"]),
        )
    return doc.text()


def c_plugin_ids(rng: random.Random) -> str:
    """disabled_plugins / required_plugins and plugin keys, short and full ids."""
    version = rng.choice([None, 1, 2, 2])
    doc = _Toml(version)
    ids = ["cri", CRI_V2, "io.containerd.snapshotter.v1.btrfs", "btrfs", "zfs", "linux"]
    if rng.random() < 0.6:
        doc.key("disabled_plugins", rng.sample(ids, rng.randint(1, 2)))
    if rng.random() < 0.4:
        # Only plugins that load on any host: a snapshotter such as btrfs needs its filesystem.
        required = ["cri", CRI_V2, "io.containerd.runtime.v2.task", "linux"]
        doc.key("required_plugins", [rng.choice(required)])
    if rng.random() < 0.4:
        doc.table(
            f"plugins.{rng.choice(['cri', 'linux', 'cri.containerd'])}", snapshotter="overlayfs"
        )
    elif rng.random() < 0.5:
        cri = _cri(version, rng)
        _default_name(doc, cri, _handlers(doc, cri, rng), rng)
    return doc.text()


def c_wrong_types(rng: random.Random) -> str:
    version: int | str = rng.choice([2, 2, "2"])
    doc = _Toml(version)
    cri = f'plugins."{CRI_V2}"'
    choice = rng.randint(0, 4)
    if choice == 0:
        doc.table(f"{cri}.containerd", runtimes=rng.choice(["runc", 1, ["runc"]]))
    elif choice == 1:
        doc.table(f"{cri}.containerd.runtimes.runc", runtime_type=rng.choice([2, True, ["x"]]))
    elif choice == 2:
        doc.table(f"{cri}.containerd", default_runtime_name=rng.choice([1, False]))
    elif choice == 3:
        doc.table(f"{cri}.containerd.runtimes.runc", runtime_type="io.containerd.runc.v2")
        doc.lines.append(f"[{cri}.containerd.runtimes.runc.options]")
        doc.key("SystemdCgroup", rng.choice(["true", 1, True]))
    else:
        doc.key("disabled_plugins", rng.choice(["cri", 1]))
    return doc.text()


def c_duplicates(rng: random.Random) -> str:
    doc = _Toml(2)
    cri = f'plugins."{CRI_V2}"'
    doc.table(f"{cri}.containerd.runtimes.runc", runtime_type="io.containerd.runc.v2")
    if rng.random() < 0.5:
        doc.table(f"{cri}.containerd.runtimes.runc", runtime_type="io.containerd.kata.v2")
    else:
        doc.key("runtime_type", "io.containerd.kata.v2")
    return doc.text()


def c_encodings(rng: random.Random) -> str:
    return c_handlers(rng)  # the bytes are changed by _encode


def _encode(text: str, cls: str, rng: random.Random) -> bytes:
    if cls != "encodings":
        return text.encode()
    roll = rng.randint(0, 3)
    if roll == 0:
        return b"\xef\xbb\xbf" + text.encode()
    if roll == 1:
        return text.replace("\n", "\r\n").encode()
    if roll == 2:
        return b""
    return ("# caf\u00e9 \u2014 comment\n" + text).encode()


CONTAINERD_CLASSES: dict[str, Callable[[random.Random], str]] = {
    "handlers": c_handlers,
    "versions": c_versions,
    "legacy-tables": c_legacy_tables,
    "plugin-keys": c_plugin_keys,
    "plugin-ids": c_plugin_ids,
    "wrong-types": c_wrong_types,
    "duplicates": c_duplicates,
    "encodings": c_encodings,
}


def containerd_configs(seed: int, count: int) -> list[Generated]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        cls = rng.choice(list(CONTAINERD_CLASSES))
        text = CONTAINERD_CLASSES[cls](rng)
        out.append(Generated(f"{i:04d}-{cls}.toml", "containerd", cls, _encode(text, cls, rng)))
    return out


# --------------------------------------------------------------------------- daemon.json

RUNTIME_NAMES = ("crun", "kata", "runsc", "nvidia", "youki", "io.containerd.kata.v2")
ODD_NAMES = ("", ".", "..", "a/b", "/x", "a/", "./x", "Crun", "runc")
# Binaries that exist where the live suite runs its daemons (Debian's runc, and the fake
# binaries it puts first on their PATH): whether a runtime's binary is installed is the
# host's business, not the file's.
PATHS = ("/usr/sbin/runc", "runc", "crun", "/bin/true", "containerd-shim-kata-v2")
# Top-level keys that are safe to give the daemon under test (no flag of the harness, no
# side effect outside its scratch folder), with values it accepts.
SAFE_KEYS: dict[str, object] = {
    "debug": True,
    "log-level": "info",
    "experimental": False,
    "live-restore": False,
    "max-concurrent-downloads": 3,
    "shutdown-timeout": 15,
    "default-shm-size": "64M",
    "labels": ["a=b"],
    "log-opts": {"max-size": "10m"},
    "features": {"buildkit": True},
    "builder": {"gc": {"enabled": True}},
    "default-ulimits": {},
    "no-new-privileges": False,
}


def _entry(rng: random.Random) -> dict[str, object]:
    entry: dict[str, object] = {}
    roll = rng.random()
    if roll < 0.45 or roll > 0.9:
        entry["path"] = rng.choice(PATHS)
    if roll >= 0.45:
        entry["runtimeType"] = rng.choice(
            ["io.containerd.kata.v2", "io.containerd.runc.v2", "/opt/kata/shim"]
        )
    if rng.random() < 0.3:
        entry["runtimeArgs"] = rng.choice([[], ["--debug"], ["--platform=kvm", "--debug"]])
    if rng.random() < 0.2:
        entry["options"] = rng.choice(
            [{}, {"SystemdCgroup": True}, {"ConfigPath": "/etc/kata.toml"}]
        )
    if rng.random() < 0.1:
        entry[rng.choice(["args", "Path", "runtime-type", "shim"])] = rng.choice(["x", []])
    return entry


def _pairs(pairs: list[tuple[str, object]]) -> str:
    """A JSON object written from pairs, so that keys may repeat."""
    return "{" + ", ".join(f"{json.dumps(k)}: {_json(v)}" for k, v in pairs) + "}"


def _json(value: object) -> str:
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        return _pairs(value)  # a nested object given as pairs
    return json.dumps(value)


def d_runtimes(rng: random.Random) -> str:
    runtimes = {name: _entry(rng) for name in rng.sample(RUNTIME_NAMES, rng.randint(1, 3))}
    doc: dict[str, object] = {"runtimes": runtimes}
    if rng.random() < 0.3:
        doc["default-runtime"] = rng.choice(list(runtimes))
    return json.dumps(doc, indent=rng.choice([None, 2]))


def d_default_runtime(rng: random.Random) -> str:
    doc: dict[str, object] = {}
    if rng.random() < 0.5:
        doc["runtimes"] = {"crun": {"path": "/usr/bin/crun"}}
    # Not the legacy v1 runtime: whether dockerd 20.10 takes it as the default depends on
    # the host's cgroup version, not on the file.
    doc["default-runtime"] = rng.choice(
        ["runc", "crun", "io.containerd.runc.v2", "io.containerd.kata.v2", "nosuch",
         "/usr/bin/crun", "", "Runc"]
    )  # fmt: skip
    return json.dumps(doc)


def d_reserved(rng: random.Random) -> str:
    entry = rng.choice([{"path": "/usr/bin/runc"}, {"runtimeType": "io.containerd.runc.v2"}])
    return json.dumps({"runtimes": {rng.choice(["runc", "runc", "RUNC", "Runc"]): entry}})


def d_keys(rng: random.Random) -> str:
    pairs: list[tuple[str, object]] = [
        (k, SAFE_KEYS[k]) for k in rng.sample(list(SAFE_KEYS), rng.randint(1, 3))
    ]
    roll = rng.randint(0, 5)
    if roll == 0:
        pairs.append((rng.choice(["default_runtime", "Default-Runtime", "defaultRuntime"]), "runc"))
    elif roll == 1:
        pairs.append(("Runtimes", rng.choice([[], [("crun", {"path": "/usr/bin/crun"})]])))
    elif roll == 2:
        pairs.append(("proxies", [("http-proxy", "http://proxy:3128")]))
    elif roll == 3:
        pairs.append((rng.choice(["tls-settings", "extra"]), [("debug", True)]))
    elif roll == 4:
        pairs.append((rng.choice(["log_level", "Debug", "runtime", "cluster-store"]), "x"))
    elif rng.random() < 0.5:
        # An object under a key that is read as one value, or flattened.
        key = rng.choice(["labels", "exec-opts", "dns", "builder"])
        pairs.append((key, [("a", "b")]))
    else:
        # The last of repeated keys is the one dockerd checks.
        first, last = rng.sample([[("debug", True)], "x", True], 2)
        pairs += [("extra", first), ("extra", last)]
    return _pairs(pairs)


def d_wrong_types(rng: random.Random) -> str:
    roll = rng.randint(0, 6)
    if roll == 0:
        return json.dumps({"runtimes": rng.choice(["crun", ["crun"], 1])})
    if roll == 1:
        return json.dumps({"runtimes": {"crun": rng.choice(["/usr/bin/crun", ["x"], 1, True])}})
    if roll == 2:
        return json.dumps(
            {"runtimes": {"crun": {"path": rng.choice([1, True, ["/usr/bin/crun"]])}}}
        )
    if roll == 3:
        args = rng.choice(["--debug", 1, ["--debug", 2], {"a": 1}])
        return json.dumps({"runtimes": {"crun": {"path": "/usr/bin/crun", "runtimeArgs": args}}})
    if roll == 4:
        entry = {
            "path": "/usr/bin/crun",
            rng.choice(["runtimeType", "options"]): rng.choice([1, "x", []]),
        }
        return json.dumps({"runtimes": {"crun": entry}})
    if roll == 5:
        return json.dumps({"default-runtime": rng.choice([1, ["runc"], True])})
    return json.dumps({"runtimes": {"crun": None}, "default-runtime": None})


def d_duplicates(rng: random.Random) -> str:
    good: object = [("path", "/usr/bin/crun")]
    bad: object = rng.choice(["x", 1, [("path", 1)]])
    roll = rng.randint(0, 3)
    if roll == 0:
        first, second = rng.sample([good, bad], 2)
        return _pairs([("runtimes", [("crun", first), ("crun", second)])])
    if roll == 1:
        return _pairs([("runtimes", [("a", good)]), ("runtimes", [("b", good)])])
    if roll == 2:
        return _pairs([("default-runtime", rng.choice(["runc", 1])), ("default-runtime", "runc")])
    return _pairs(
        [("runtimes", [("crun", [("path", "/usr/bin/crun"), ("Path", rng.choice([1, "/bin/x"]))])])]
    )


def d_fields(rng: random.Random) -> str:
    """Runtime fields as Go matches them: any case, Unicode folding, null."""
    key = rng.choice(
        ["path", "PATH", "Path", "pAth", "runtimeArgs", "RUNTIMEARGS", "runtimeArg\u017f",
         "runtimeType", "RuntimeType", "options", "OPTIONS", "args"]
    )  # fmt: skip
    value = rng.choice(["/usr/bin/crun", None, 1, ["--debug"], {"SystemdCgroup": True}])
    entry: list[tuple[str, object]] = [(key, value)]
    if rng.random() < 0.5:
        entry.insert(0, ("path", "/usr/bin/crun"))
    return _pairs([("runtimes", [(rng.choice(RUNTIME_NAMES), entry)])])


def d_encodings(rng: random.Random) -> str:
    return rng.choice(["", "  \n", "null", "[]", '"x"', "1", "{}", '{"debug": true}\n'])


def d_names(rng: random.Random) -> str:
    entry: dict[str, object] = {"path": "/usr/bin/crun"}
    if rng.random() < 0.6:
        entry["runtimeArgs"] = rng.choice([["--debug"], []])
    return json.dumps({"runtimes": {rng.choice(ODD_NAMES): entry}})


DAEMON_JSON_CLASSES: dict[str, Callable[[random.Random], str]] = {
    "runtimes": d_runtimes,
    "default-runtime": d_default_runtime,
    "reserved": d_reserved,
    "keys": d_keys,
    "wrong-types": d_wrong_types,
    "duplicates": d_duplicates,
    "encodings": d_encodings,
    "names": d_names,
    "fields": d_fields,
}


def daemon_jsons(seed: int, count: int) -> list[Generated]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        cls = rng.choice(list(DAEMON_JSON_CLASSES))
        text = DAEMON_JSON_CLASSES[cls](rng)
        data = text.encode()
        if cls == "encodings" and rng.random() < 0.25:
            data = b"\xef\xbb\xbf" + data
        out.append(Generated(f"{i:04d}-{cls}.json", "daemon.json", cls, data))
    return out


def write(folder: Path, files: list[Generated]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in files:
        path = folder / item.name
        path.write_bytes(item.data)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--containerd", type=int, default=250, metavar="N")
    parser.add_argument("--daemon-json", type=int, default=250, metavar="N")
    args = parser.parse_args(argv)
    files = containerd_configs(args.seed, args.containerd) + daemon_jsons(
        args.seed, args.daemon_json
    )
    index = []
    for item in files:
        write(args.out / item.kind, [item])
        index.append(f"{item.kind}/{item.name}\t{item.kind}\t{item.cls}")
    (args.out / "index.tsv").write_text("\n".join(index) + "\n")
    print(f"{len(files)} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
