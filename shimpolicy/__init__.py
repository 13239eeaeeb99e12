"""shimpolicy: validate container runtime names before they reach containerd or Docker.

>>> import shimpolicy
>>> shimpolicy.parse("io.containerd.kata.v2").binary
'containerd-shim-kata-v2'
"""

from __future__ import annotations

from .catalog import SHIMS, Shim
from .docker import docker_permits
from .name import KINDS, NOTES, Note, RuntimeName, parse

__version__ = "0.1.0"

__all__ = [
    "KINDS",
    "NOTES",
    "SHIMS",
    "Note",
    "RuntimeName",
    "Shim",
    "__version__",
    "docker_permits",
    "parse",
]
