"""Files a Kubernetes ConfigMap (``data``) or Secret (``stringData``) carries for a node
installer: a ``config.toml`` for containerd, a ``daemon.json`` (lint/embedded.py).

A key is checked as the file a pod of the same manifest mounts it as (a volume of the
ConfigMap or Secret, a container's ``volumeMounts`` entry with its ``mountPath``, its
``subPath`` and the volume's ``items``), else as a file named by the key itself, whose
content then decides a ``.toml`` file's type.  Each value is placed character by
character where it is written.  Helm templates are not read (lint/kubernetes.py).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from .._typing import NamedTuple
from ..syntax import Mapping, Node, Scalar, Sequence, node_at, text_of
from .embedded import Embedded, embedded_type
from .facts import placeholder
from .source import SourceFile
from .workflow import ScriptText, yaml_lines

# Where each carrier kind keeps its files as text, and what its volumes call it.
_CARRIERS = {
    "ConfigMap": ("data", "configMap", "name"),
    "Secret": ("stringData", "secret", "secretName"),
}


def carried_files(
    objects: list[Mapping], pod_specs: dict[str, tuple[str, ...]], source: SourceFile
) -> list[Embedded]:
    """The files the ConfigMaps and Secrets among ``objects`` carry (``pod_specs``: where
    each workload kind keeps its pod spec)."""
    mounts: _Mounts | None = None
    lines: list[str] | None = None
    out: list[Embedded] = []
    for obj in objects:
        kind = text_of(obj.get("kind"))
        if kind not in _CARRIERS or text_of(obj.get("apiVersion")) != "v1":
            continue
        field = _CARRIERS[kind][0]
        name = text_of(node_at(obj, "metadata", "name")) or ""
        data = obj.get(field)
        if not isinstance(data, Mapping):
            continue
        for key, value in data.pairs():
            if not isinstance(key.value, str) or not isinstance(value, Scalar):
                continue
            if not isinstance(value.value, str):
                continue
            if mounts is None:
                mounts = _mounts(objects, pod_specs)
            target = mounts.target(kind, name, key.value)
            found = embedded_type(target, value.value)
            if found is None:
                continue
            if lines is None:
                lines = yaml_lines(source.text)
            where = ScriptText.of(lines, value, key.column - 1)
            holds = placeholder(value.value) is not None
            out.append(Embedded(target, found, value.value, where, key.span, holds))
    return out


class _Mounts(NamedTuple):
    files: dict[tuple[str, str, str], str]  # (carrier kind, name, key) -> the file's path
    directories: dict[tuple[str, str], str]  # (carrier kind, name) -> where all keys are

    def target(self, kind: str, name: str, key: str) -> str:
        """Where a container sees the key (the key itself when no container mounts it)."""
        found = self.files.get((kind, name, key))
        if found is not None:
            return found
        directory = self.directories.get((kind, name))
        return posixpath.join(directory, key) if directory else key


def _mounts(objects: Iterable[Mapping], pod_specs: dict[str, tuple[str, ...]]) -> _Mounts:
    """Where the containers of ``objects`` mount ConfigMap and Secret keys."""
    mounts = _Mounts({}, {})
    for obj in objects:
        path = pod_specs.get(text_of(obj.get("kind")) or "")
        spec = node_at(obj, *path) if path is not None else None
        if not isinstance(spec, Mapping):
            continue
        volumes: dict[str, tuple[str, str, dict[str, str] | None]] = {}
        for volume in _items(spec.get("volumes")):
            for kind, (_, field, name_key) in _CARRIERS.items():
                source = volume.get(field)
                if not isinstance(source, Mapping):
                    continue
                listed = _items(source.get("items"))
                items = {text_of(i.get("key")) or "": text_of(i.get("path")) or "" for i in listed}
                volume_name = text_of(volume.get("name")) or ""
                carrier = text_of(source.get(name_key)) or ""
                volumes[volume_name] = (kind, carrier, items if listed else None)
        for group in ("initContainers", "containers"):
            for container in _items(spec.get(group)):
                for mount in _items(container.get("volumeMounts")):
                    found = volumes.get(text_of(mount.get("name")) or "")
                    at = text_of(mount.get("mountPath"))
                    if found is None or not at:
                        continue
                    kind, name, listed_items = found
                    sub = text_of(mount.get("subPath"))
                    if sub:  # one file of the volume, mounted as the file ``at``
                        pairs = (listed_items or {}).items()
                        key = next((k for k, p in pairs if p == sub), sub)
                        mounts.files.setdefault((kind, name, key), at)
                    elif listed_items is None:
                        mounts.directories.setdefault((kind, name), at)
                    else:
                        for key, file in listed_items.items():
                            mounts.files.setdefault((kind, name, key), posixpath.join(at, file))
    return mounts


def _items(node: Node | None) -> list[Mapping]:
    return [i for i in node.items if isinstance(i, Mapping)] if isinstance(node, Sequence) else []
