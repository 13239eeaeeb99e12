"""An OCI image built offline from the static busybox: the CRI plugin's pause image and a
small image for Docker, so nothing is ever pulled."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static
# containerd 1.6's default sandbox image, and the image Docker's tests run.
PAUSE = "registry.k8s.io/pause:3.6"
BUSYBOX_IMAGE = "live.local/busybox:1"


Entry = tuple[tarfile.TarInfo, bytes | None]


def _tar(entries: list[Entry]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _entry(name: str, kind: bytes, data: bytes | None = None, link: str = "") -> Entry:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.linkname = kind, 0o755, 0, link
    info.size = len(data) if data is not None else 0
    return info, data


def rootfs() -> bytes:
    """A root filesystem with busybox as /bin/sh, sleep, true."""
    busybox = BUSYBOX.read_bytes()
    entries = [_entry(d, tarfile.DIRTYPE) for d in ("bin", "dev", "etc", "proc", "sys", "tmp")]
    entries.append(_entry("bin/busybox", tarfile.REGTYPE, busybox))
    for tool in ("sh", "sleep", "true"):
        entries.append(_entry(f"bin/{tool}", tarfile.SYMTYPE, link="busybox"))
    return _tar(entries)


def oci_archive(names: list[str], layer: bytes) -> bytes:
    """An OCI image layout tar (what ``ctr image import`` reads) naming ``names``."""
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict[str, object]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    layer_ref = blob(layer)
    manifests = []
    for name in names:
        config = {"Entrypoint": ["/bin/sleep", "1000000"], "Env": ["PATH=/bin"]}
        image = {
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer_ref["digest"]]},
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                **blob(json.dumps(image).encode()),
            },
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer_ref}],
        }
        manifests.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **blob(json.dumps(manifest).encode()),
                "annotations": {"io.containerd.image.name": name},
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        )
    index = json.dumps({"schemaVersion": 2, "manifests": manifests}).encode()
    entries = [
        _entry("oci-layout", tarfile.REGTYPE, b'{"imageLayoutVersion":"1.0.0"}'),
        _entry("index.json", tarfile.REGTYPE, index),
    ]
    entries += [
        _entry(f"blobs/sha256/{d.split(':')[1]}", tarfile.REGTYPE, b) for d, b in blobs.items()
    ]
    return _tar(entries)
