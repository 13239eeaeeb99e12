"""What one lint run learns across files, before any check runs (SPEC D2, K3, K4, C5).

``collect`` of each file type records here the ends of the links a later check follows:
the runtimes a daemon.json configures, and for Kubernetes and containerd files each
RuntimeClass (:class:`ClassDef`), each pod template (:class:`Workload`) and each
containerd config (:class:`ContainerdConfig`), each with where it is written.

Which files describe one cluster is not written anywhere.  Links are followed within a
*group*: Kubernetes manifests and containerd configs whose directories contain one
another, directly or through other such files (:func:`group_of`).  A cluster's tree
(``cluster/runtimeclasses.yaml``, ``cluster/apps/web.yaml``, ``cluster/node/config.toml``)
is one group; unrelated projects side by side (``a/pod.yaml`` and ``b/runtimeclass.yaml``,
with nothing linted in their common directory) are not taken to describe one cluster.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache

from .._typing import NamedTuple
from ..grammar.versions import containerd_series
from .cri_view import CriSection, CriView, cri_view
from .cri_view import HandlerDef as HandlerDef
from .finding import Location
from .scope import directory_of as _directory


# Values a template engine or CI system fills in later (SPEC §2 "Real-world shapes"):
# ${VAR}, ${{ inputs.x }}, {{ .x }}, $VAR, <PLACEHOLDER>, FILLED_BY_OPERATOR-style markers.
@cache
def _placeholders() -> re.Pattern[str]:
    return re.compile(r"\$\{\{.*?\}\}|\{\{.*?\}\}|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|<[A-Z_]+>")


def placeholder(value: str) -> str | None:
    """The first template placeholder in ``value``, if it has one."""
    if "$" not in value and "{" not in value and "<" not in value:  # most values: no regex
        return None
    m = _placeholders().search(value)
    return m.group() if m else None


class ContainerdConfig(NamedTuple):
    """What one containerd config defines for the CRI, before the version decides."""

    path: str
    at: Location  # the CRI ``runtimes`` table, or the CRI section, or the file's start
    version: int  # config version; 1 when no ``version`` key
    handlers: tuple[HandlerDef, ...]  # every handler of every CRI section
    defines_runtimes: bool  # a CRI section has a ``runtimes`` table
    default_name: str | None  # ``default_runtime_name`` as first written; None when not set
    legacy_default: HandlerDef | None  # 1.x ``default_runtime`` with a runtime_type
    imports: bool  # ``imports`` lists other files, which may define more handlers
    sections: tuple[CriSection, ...] = ()
    disabled_plugins: tuple[str, ...] = ()
    version_less: bool = False  # no ``version`` key
    cri: bool = False  # the file has a CRI plugin section (1.x: an import replaces it whole)
    node_path: str = ""  # where a file another one writes stands (SourceFile.node_path)

    @property
    def own_path(self) -> str:
        """The path containerd knows the file by, for ``imports``."""
        return self.node_path or self.path

    def cri_off(self, containerd: str) -> bool:
        """Whether ``disabled_plugins`` switches off the plugin that reads the CRI runtimes:
        ``cri`` in a version 1 file and ``io.containerd.grpc.v1.cri`` otherwise on 1.x,
        ``io.containerd.cri.v1.runtime`` on 2.x."""
        if containerd_series(containerd) == "2":
            return "io.containerd.cri.v1.runtime" in self.disabled_plugins
        wanted = "cri" if self.version <= 1 else "io.containerd.grpc.v1.cri"
        return wanted in self.disabled_plugins

    def view(self, containerd: str) -> CriView:
        """The CRI configuration the release ends up with (lint/cri_view.py)."""
        return cri_view(self.version, {s.plugin: s for s in self.sections}, containerd, self.at)

    def effective_handlers(self, containerd: str) -> dict[str, HandlerDef]:
        """The handlers containerd ends up with (C5; none when the CRI plugin is off)."""
        return {} if self.cri_off(containerd) else self.view(containerd).handlers

    def default_handler(self, containerd: str) -> str | None:
        """The handler pods without a RuntimeClass get (K4); None when a placeholder."""
        return self.view(containerd).default

    def merges(self, containerd: str) -> bool:
        """Whether 2.x rules apply: the file decoded over the built-in defaults."""
        return containerd_series(containerd) == "2"


class ClassDef(NamedTuple):
    """A RuntimeClass: its name and its handler (None when missing or a placeholder)."""

    name: str | None  # None when a placeholder
    at: Location
    handler: str | None
    handler_at: Location | None


class Workload(NamedTuple):
    """An object with a pod template, and the RuntimeClass it asks for (None: the default)."""

    kind: str
    name: str
    at: Location  # the runtimeClassName value, else the object's name
    runtime_class: str | None
    placeholder: bool = False  # runtimeClassName is filled in later

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


class Facts:
    """What one run learns across files (SPEC D2, K3, K4): filled before any check runs."""

    # What collection fills in, and merge adds up; the rest is worked out from it.
    COLLECTED = (
        "daemon_json",
        "docker_runtimes",
        "containerd",
        "classes",
        "workloads",
        "manifests",
    )
    __slots__ = (*COLLECTED, "grouped", "link_groups")

    def __init__(self, *, manifests: list[str] | None = None) -> None:
        self.daemon_json: list[str] = []
        self.docker_runtimes: dict[str, Location] = {}
        # The ends of the links lint/links.py follows (K2-K4, C5), each with where it is
        # written.
        self.containerd: list[ContainerdConfig] = []
        self.classes: list[ClassDef] = []
        self.workloads: list[Workload] = []
        self.manifests: list[str] = manifests or []  # every Kubernetes manifest read
        # Worked out once every file is collected (lint/links.py): each directory's group,
        # and each group's RuntimeClasses and containerd configs.
        self.link_groups: dict[str, str] = {}
        self.grouped: dict[str, tuple[list[ClassDef], list[ContainerdConfig]]] | None = None

    def merge(self, other: Facts) -> None:
        """Add ``other``'s facts after this one's, as if its files were collected next:
        lists grow, and a key already known keeps its first value (collect's setdefault)."""
        for name in Facts.COLLECTED:
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, list):
                mine.extend(theirs)
            else:
                for key, value in theirs.items():
                    mine.setdefault(key, value)


def group_of(facts: Facts, path: str) -> str:
    """The group a linted file belongs to, named by its top directory: manifests and
    containerd configs are grouped when one's directory contains another's, and the
    relation is followed through every such file of the run (computed once, after
    collection)."""
    if not facts.link_groups:
        present = {_directory(p) for p in (*facts.manifests, *(c.path for c in facts.containerd))}
        for directory in sorted(present, key=len):  # ancestors before their descendants
            above = _nearest(directory, present)
            facts.link_groups[directory] = directory if above is None else facts.link_groups[above]
    directory = _directory(path)
    if directory in facts.link_groups:
        return facts.link_groups[directory]
    above = _nearest(directory, facts.link_groups.keys())
    return directory if above is None else facts.link_groups[above]


def _nearest(directory: str, present: Collection[str]) -> str | None:
    """The closest directory above ``directory`` that holds a linted file, if any."""
    while directory:
        directory = _directory(directory)
        if directory in present:
            return directory
    return None


def classes_in_scope(facts: Facts, path: str) -> list[ClassDef]:
    return in_group(facts, group_of(facts, path))[0]


def configs_in_scope(facts: Facts, path: str) -> list[ContainerdConfig]:
    return in_group(facts, group_of(facts, path))[1]


def in_group(facts: Facts, group: str) -> tuple[list[ClassDef], list[ContainerdConfig]]:
    """The RuntimeClasses and containerd configs of one group, in file order (indexed once,
    after collection: every manifest asks, and a cluster tree may hold thousands)."""
    if facts.grouped is None:
        facts.grouped = {}
        for c in facts.classes:
            facts.grouped.setdefault(group_of(facts, c.at.path), ([], []))[0].append(c)
        for config in facts.containerd:
            facts.grouped.setdefault(group_of(facts, config.path), ([], []))[1].append(config)
    return facts.grouped.get(group, ([], []))
