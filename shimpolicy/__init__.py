"""shimpolicy: validate container runtime names before they reach containerd or Docker.

>>> import shimpolicy
>>> shimpolicy.parse("io.containerd.kata.v2").binary
'containerd-shim-kata-v2'
"""

from __future__ import annotations

from ._typing import TYPE_CHECKING
from .grammar.catalog import SHIMS, Shim
from .grammar.docker import docker_permits, docker_takes
from .grammar.name import KINDS, NOTES, Note, RuntimeName, parse

if TYPE_CHECKING:
    from typing import Any

    from .policy import Decision, Policy, PolicyError

__version__ = "0.1.0"

# The policy layer is imported on first use: `import shimpolicy` stays cheap for callers
# that only parse names.
_LAZY = {"Policy", "Decision", "PolicyError"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import policy

        return getattr(policy, name)
    raise AttributeError(f"module 'shimpolicy' has no attribute {name!r}")


__all__ = [
    "KINDS",
    "NOTES",
    "SHIMS",
    "Decision",
    "Note",
    "Policy",
    "PolicyError",
    "RuntimeName",
    "Shim",
    "__version__",
    "docker_permits",
    "docker_takes",
    "parse",
]
