"""Which CRI runtime handlers a containerd release ends up with for one config file
(SPEC C5 and §6 "containerd 2.x config migration").

A config file may hold the CRI plugin's settings in three sections: ``plugins.cri``
(version 1 names), ``plugins."io.containerd.grpc.v1.cri"`` (version 2) and
``plugins."io.containerd.cri.v1.runtime"`` (versions 3 and 4).  Which of them a release
reads, and how it combines them, depends on the file's ``version`` and on the release:

- 1.x reads the section of the file's version: ``cri`` for version 1,
  ``io.containerd.grpc.v1.cri`` for version 2 — and, on the releases that start with a newer
  version (up to 1.6.31 and 1.7.16), for versions 3 and 4 too.  It replaces its built-in
  ``runtimes`` with the file's, and adds ``default_runtime`` as ``default`` and an
  ``untrusted_workload_runtime`` as ``untrusted`` when their ``runtime_type`` is set.
- 2.0–2.2 upgrade a version 1 file to version 3 renaming plugins only, so its CRI section
  is never moved into ``io.containerd.cri.v1.runtime`` and is lost; a version 2 file's
  ``io.containerd.grpc.v1.cri`` section is moved there: on 2.0.0 and 2.0.1 it replaces the
  new section, from 2.0.2 the two are merged, the new section's keys winning (its
  ``runtimes`` table replaces the old one whole); a version 3 file is read as it is.
- 2.3 migrates every file older than version 4 the same merging way (version 1 files after
  renaming ``cri``), version 3 files included.
- 2.x decodes the result over its defaults: the built-in ``runc`` handler stays, and a
  ``runc`` table without a ``runtime_type`` keeps ``io.containerd.runc.v2``.
"""

from __future__ import annotations

from .._typing import NamedTuple
from ..grammar.versions import containerd_release
from .finding import Location

CRI_V1 = "cri"
CRI_V2 = "io.containerd.grpc.v1.cri"
CRI_V3 = "io.containerd.cri.v1.runtime"
BUILTIN_HANDLER = "runc"
BUILTIN_RUNTIME_TYPE = "io.containerd.runc.v2"


class HandlerDef(NamedTuple):
    """One ``runtimes.<name>`` table of a containerd config (or the built-in ``runc``)."""

    name: str
    at: Location  # the handler's key, or where the built-in one would be defined
    runtime_type: str | None  # None: not set in the file
    type_at: Location | None = None
    builtin: bool = False
    # C5: the shim path override, runc's binary (``options.BinaryName``) and, on 2.x, the
    # sandboxer; None when not set.
    runtime_path: str | None = None
    path_at: Location | None = None
    binary_name: str | None = None
    binary_at: Location | None = None
    sandboxer: str | None = None


class CriSection(NamedTuple):
    """What one CRI section of a file sets, as containerd merges it."""

    plugin: str  # CRI_V1, CRI_V2 or CRI_V3
    runtimes: tuple[HandlerDef, ...] | None  # None: no ``runtimes`` table
    default_name: str | None  # ``default_runtime_name``; None unset, "" empty or unresolved
    legacy_default: HandlerDef | None = None  # 1.x ``default_runtime`` with a runtime_type
    untrusted: HandlerDef | None = None  # 1.x ``untrusted_workload_runtime`` with a type


class CriView(NamedTuple):
    """The CRI runtime configuration a release ends up with."""

    handlers: dict[str, HandlerDef]
    default: str | None  # the handler of pods without a RuntimeClass; None: unresolved
    read: tuple[str, ...]  # the sections whose settings count, in merge order
    two: bool  # 2.x rules (decoded over the defaults)


def max_config_version(containerd: str) -> int:
    """The newest config version a release reads (RELEASES.md; C5)."""
    release = containerd_release(containerd)
    return 2 if release < (2, 0, 0) else 3 if release < (2, 3, 0) else 4


def refuses_newer_version(containerd: str) -> bool:
    """1.6.32 and 1.7.17 began refusing a config version newer than 2 (SPEC §6)."""
    release = containerd_release(containerd)
    return release >= (2, 0, 0) or release >= (1, 7, 17) or (1, 6, 32) <= release < (1, 7, 0)


def read_sections(version: int, present: set[str], containerd: str) -> tuple[str, ...]:
    """The CRI sections a release takes settings from, oldest first (a later one wins)."""
    release = containerd_release(containerd)
    if release < (2, 0, 0):
        wanted = CRI_V1 if version <= 1 else CRI_V2
        return (wanted,) if wanted in present else ()
    migrated = version < 4 if release >= (2, 3, 0) else version == 2
    old: str | None = None
    if migrated:
        if version <= 1 and CRI_V1 in present:
            old = CRI_V1  # renamed to io.containerd.grpc.v1.cri first
        elif CRI_V2 in present:
            old = CRI_V2
    if old is None:
        return (CRI_V3,) if CRI_V3 in present else ()
    if release < (2, 0, 2):
        return (old,)  # the moved section replaces the new one
    return (old, CRI_V3) if CRI_V3 in present else (old,)


def cri_view(
    version: int, sections: dict[str, CriSection], containerd: str, at: Location
) -> CriView:
    """The handlers and the default handler a release ends up with for one file."""
    read = read_sections(version, set(sections), containerd)
    two = containerd_release(containerd) >= (2, 0, 0)
    runtimes: tuple[HandlerDef, ...] | None = None
    default_name: str | None = None
    legacy: HandlerDef | None = None
    untrusted: HandlerDef | None = None
    for plugin in read:  # a later section's keys win, key by key
        section = sections[plugin]
        if section.runtimes is not None:
            runtimes = section.runtimes
        if section.default_name is not None:
            default_name = section.default_name
        legacy = section.legacy_default or legacy
        untrusted = section.untrusted or untrusted
    handlers: dict[str, HandlerDef] = {}
    builtin = HandlerDef(BUILTIN_HANDLER, at, BUILTIN_RUNTIME_TYPE, None, builtin=True)
    if two or runtimes is None:
        handlers[BUILTIN_HANDLER] = builtin
    for handler in runtimes or ():
        if two and handler.name == BUILTIN_HANDLER and handler.runtime_type is None:
            handler = HandlerDef(handler.name, handler.at, BUILTIN_RUNTIME_TYPE, None)
        handlers[handler.name] = handler
    default = BUILTIN_HANDLER if default_name is None else default_name or None
    if not two:
        if untrusted is not None and "untrusted" not in handlers:
            handlers["untrusted"] = untrusted._replace(name="untrusted")
        if legacy is not None:
            handlers["default"] = legacy._replace(name="default")
            default = "default"
    return CriView(handlers, default, read, two)
