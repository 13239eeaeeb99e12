"""Which linted files are taken to describe one host: directories that contain one another."""

from __future__ import annotations


def same_tree(a: str, b: str) -> bool:
    """Whether two linted files are taken to configure one host: the directory of one
    contains the directory of the other, or they share one (for daemon.json beside a
    script or a Compose file; Kubernetes links use ``links.group_of``)."""
    da, db = directory_of(a), directory_of(b)
    return da == db or da == "" or db == "" or db.startswith(da + "/") or da.startswith(db + "/")


def directory_of(path: str) -> str:
    head, sep, _ = path.rpartition("/")
    return head if sep else ""
