"""Fake nodes for ``shimpolicy doctor``: a directory tree taken as a node's ``/``.

``build`` makes one from items like the rule catalog's doctor examples: ``path`` (relative
to the node's root), and ``content`` (default: an empty shell script), ``mode`` (octal
text), ``directory`` (a directory rather than a file) or ``link`` (a symbolic link's
target, written as it is).  Every directory it creates is 0755, whatever the umask, so
that only what a test asks for is writable by others.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def build(top: Path, items: Iterable[Mapping[str, Any]]) -> Path:
    top.mkdir(parents=True, exist_ok=True)
    os.chmod(top, 0o755)
    for item in items:
        path = top / item["path"]
        _parents(top, path.parent)
        if "link" in item:
            path.symlink_to(item["link"])
            continue
        if item.get("directory"):
            path.mkdir(exist_ok=True)
            os.chmod(path, int(item.get("mode", "0755"), 8))
            continue
        path.write_text(item.get("content", "#!/bin/sh\nexit 0\n"), encoding="utf-8")
        os.chmod(path, int(item.get("mode", "0644"), 8))
    return top


def _parents(top: Path, directory: Path) -> None:
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for d in reversed(missing):
        d.mkdir()
        os.chmod(d, 0o755)
