"""containerd's ``config.toml`` (SPEC C5): the CRI runtime handlers and the names in them.

Every layout is read: version 1 (``[plugins.cri]``), version 2
(``[plugins."io.containerd.grpc.v1.cri"]``) and versions 3 and 4
(``[plugins."io.containerd.cri.v1.runtime"]``).  Which of them containerd actually reads
depends on the file's ``version`` and on the containerd version the policy targets, and so
does the meaning of a handler table: containerd 2.x decodes the file over its defaults (the
built-in ``runc`` handler stays), containerd 1.x replaces the whole ``runtimes`` map with
the file's and starts every handler from nothing.

Everything here is written by the host administrator, so runtime names are judged in the
policy's ``config`` context (SPEC §2 "Who chooses the name").
"""

from __future__ import annotations

import posixpath
from fnmatch import fnmatchcase

from .._typing import NamedTuple
from ..grammar.name import parse
from ..grammar.versions import containerd_release, containerd_series
from ..syntax import Mapping, Node, Scalar, Sequence, Span, SyntaxProblem, text_of
from ..syntax.toml import parse_toml
from .context import LintContext, location
from .cri_view import (
    CRI_V1,
    CRI_V2,
    CRI_V3,
    CriSection,
    CriView,
    HandlerDef,
    max_config_version,
    refuses_newer_version,
)
from .facts import ContainerdConfig, Facts, classes_in_scope, configs_in_scope, placeholder
from .filetype import FileType
from .finding import Location
from .fixes import remove_entry, remove_ignored
from .kubernetes import handler_name_for, label_errors
from .links import toml_key
from .runc_binary import check_runc_binary
from .source import SourceFile

# C5: the CRI plugin's key in each config layout.
CRI_PLUGINS = (CRI_V1, CRI_V2, CRI_V3)
LEGACY_V1 = "io.containerd.runtime.v1.linux"  # C4
RUNC_SHIMS = frozenset({"containerd-shim-runc-v1", "containerd-shim-runc-v2"})
# Keys containerd 2.0 dropped from the CRI runtime configuration; 2.x ignores them.
REMOVED_RUNTIME_KEYS = ("runtime_engine", "runtime_root")
REMOVED_TABLES = ("default_runtime", "untrusted_workload_runtime")
_FAILS_AT_START = "`container.Runtime.Name must be set: invalid argument`"
# containerd's TOML readers on a file they cannot parse: go-toml v1 (1.x) and v2 (2.x).
_TOML_REFUSALS = (
    ("is already defined at line", "`duplicated tables`", "`toml: table … already exists`"),
    (
        "is already defined as",
        "`The following key was defined twice: …`",
        "`toml: key … is already defined`",
    ),
)


def load(source: SourceFile) -> Mapping:
    try:
        return parse_toml(source.text)
    except SyntaxProblem as e:
        # containerd cannot read what this reader cannot: it does not start.
        said = next(
            (f" (1.x: {v1}; 2.x: {v2})" for k, v1, v2 in _TOML_REFUSALS if k in e.message), ""
        )
        raise SyntaxProblem(
            f"{e.message}; containerd cannot parse it either and does not start{said}",
            e.line,
            e.column,
        ) from None


class _Section(NamedTuple):
    """One CRI plugin table that has a ``containerd`` table."""

    plugin: str
    key: Scalar  # the ``containerd`` key under the plugin (else the plugin's own key)
    table: Mapping  # the ``containerd`` table (empty when there is none)
    plugin_table: Mapping  # the plugin's own table
    has_containerd: bool = True

    @property
    def header(self) -> str:
        return _header(self.plugin) + ".containerd"


def _header(plugin: str) -> str:
    return f"plugins.{plugin}" if plugin == CRI_V1 else f'plugins."{plugin}"'


def _sections(doc: Mapping) -> list[_Section]:
    plugins = doc.get("plugins")
    if not isinstance(plugins, Mapping):
        return []
    found = []
    for name in CRI_PLUGINS:
        plugin = plugins.get(name)
        if not isinstance(plugin, Mapping):
            continue
        key, table = plugin.key("containerd"), plugin.get("containerd")
        if key is not None and isinstance(table, Mapping):
            found.append(_Section(name, key, table, plugin))
        else:  # plugin-level keys only (systemd_cgroup), or a `containerd` of another type
            own = plugins.key(name)
            assert own is not None
            empty = Mapping((), plugin.line, plugin.column, plugin.end_line, plugin.end_column)
            found.append(_Section(name, own, empty, plugin, has_containerd=False))
    return found


def _version(doc: Mapping) -> int:
    """The config version containerd reads (C5): no ``version`` key means 1."""
    node = doc.get("version")
    if isinstance(node, Scalar) and node.kind == "integer" and isinstance(node.value, int):
        return max(node.value, 1)
    return 1 if node is None else 2  # not an integer: reported; read as the common case


def _runtimes(section: _Section) -> tuple[Scalar | None, Mapping | None]:
    node = section.table.get("runtimes")
    return section.table.key("runtimes"), node if isinstance(node, Mapping) else None


def _handler(source: SourceFile, key: Scalar, table: Mapping) -> HandlerDef:
    node = table.get("runtime_type")
    path = table.get("runtime_path")
    options = table.get("options")
    binary = options.get("BinaryName") if isinstance(options, Mapping) else None
    return HandlerDef(
        str(key.value),
        location(source, key.span),
        text_of(node),
        _at(source, node),
        runtime_path=text_of(path),
        path_at=_at(source, path),
        binary_name=text_of(binary),
        binary_at=_at(source, binary),
        sandboxer=text_of(table.get("sandboxer")),
    )


def _at(source: SourceFile, node: Node | None) -> Location | None:
    return location(source, node.span) if node is not None else None


def _effective_table(source: SourceFile, section: _Section, name: str) -> HandlerDef | None:
    """1.x ``default_runtime`` / ``untrusted_workload_runtime``, when it takes effect (a
    non-empty runtime_type)."""
    key, table = section.table.key(name), section.table.get(name)
    if key is None or not isinstance(table, Mapping) or not text_of(table.get("runtime_type")):
        return None
    return _handler(source, key, table)


def _strings(doc: Mapping, key: str) -> list[Scalar]:
    node = doc.get(key)
    if not isinstance(node, Sequence):
        return []
    return [n for n in node.items if isinstance(n, Scalar) and isinstance(n.value, str)]


def config_facts(doc: Mapping, source: SourceFile) -> ContainerdConfig:
    """What this file defines for the CRI, in the form links.py compares across files."""
    handlers: list[HandlerDef] = []
    cri_sections: list[CriSection] = []
    at: Location | None = None
    defines = False
    first_default: str | None = None
    legacy: HandlerDef | None = None
    sections = _sections(doc)
    for section in sections:
        key, runtimes = _runtimes(section)
        found: tuple[HandlerDef, ...] | None = None
        if key is not None and runtimes is not None:
            defines = True
            at = at or location(source, key.span)
            found = tuple(
                _handler(source, k, v) for k, v in runtimes.pairs() if isinstance(v, Mapping)
            )
            handlers.extend(found)
        if section.has_containerd:
            at = at or location(source, section.key.span)
        name = section.table.get("default_runtime_name")
        default_name: str | None = None
        if name is not None:
            text = text_of(name)
            default_name = "" if text is None or placeholder(text) else text
            first_default = default_name if first_default is None else first_default
        default = _effective_table(source, section, "default_runtime")
        legacy = legacy or (default._replace(name="default") if default else None)
        untrusted = _effective_table(source, section, "untrusted_workload_runtime")
        cri_sections.append(CriSection(section.plugin, found, default_name, default, untrusted))
    imports = doc.get("imports")
    return ContainerdConfig(
        path=source.path,
        node_path=source.node_path,
        at=at or location(source, source.whole()),
        version=_version(doc),
        handlers=tuple(handlers),
        defines_runtimes=defines,
        default_name=first_default,
        legacy_default=legacy,
        imports=isinstance(imports, Sequence) and bool(imports.items),
        sections=tuple(cri_sections),
        disabled_plugins=tuple(str(n.value) for n in _strings(doc, "disabled_plugins")),
        version_less=doc.get("version") is None,
        cri=bool(sections),
    )


def runtime_path_honoured(containerd: str) -> bool:
    """SPEC §6: ``runtime_path`` replaces the runtime_type's shim from 1.6.21 and 1.7.1;
    1.6.0-1.6.20 and 1.7.0 ignore it (the runtime_type's shim runs)."""
    release = containerd_release(containerd)
    return release >= (1, 7, 1) or (1, 6, 21) <= release < (1, 7, 0)


def imports(doc: Mapping, source: SourceFile) -> list[tuple[str, Location]]:
    """The ``imports`` entries of a config, as written, each with where it is."""
    node = doc.get("imports")
    if not isinstance(node, Sequence):
        return []
    return [
        (item.value, location(source, item.span))
        for item in node.items
        if isinstance(item, Scalar) and isinstance(item.value, str)
    ]


def import_target(importer: str, entry: str) -> tuple[str, bool]:
    """Where containerd looks for one ``imports`` entry of the file at ``importer``:
    (path, False), or (pattern, True) for an entry with a ``*``.  A pattern is matched as
    written (a relative one against containerd's working directory); a path is cleaned and,
    when relative, taken from the importing file's directory."""
    if "*" in entry:
        return entry, True
    path = posixpath.normpath(entry)
    if not path.startswith("/"):
        path = posixpath.join(posixpath.dirname(importer), path)
    return path, False


def merge_imports(configs: list[ContainerdConfig], containerd: str) -> ContainerdConfig:
    """The CRI configuration containerd ends up with from a file and the files it imports,
    in the order it loads them (the file first, then each import, breadth first).

    containerd 1.x replaces a plugin's whole section with the last loaded file's; 2.x
    merges the tables, a later file's value winning key by key."""
    if not configs[0].merges(containerd):
        with_cri = [c for c in configs if c.cri]
        return with_cri[-1] if with_cri else configs[0]
    handlers: dict[str, HandlerDef] = {}
    for config in configs:
        for h in config.handlers:
            old = handlers.get(h.name)
            if old is not None:
                h = h._replace(
                    **{
                        f: getattr(old, f)
                        for f in HandlerDef._fields
                        if getattr(h, f) is None and f != "builtin"
                    }
                )
            handlers[h.name] = h
    names = [c.default_name for c in configs if c.default_name is not None]
    first = configs[0]
    return first._replace(
        version=max(c.version for c in configs),
        handlers=tuple(handlers.values()),
        defines_runtimes=any(c.defines_runtimes for c in configs),
        default_name=names[-1] if names else None,
        imports=False,
        cri=any(c.cri for c in configs),
        sections=_merge_sections([s for c in configs for s in c.sections]),
    )


def _merge_sections(sections: list[CriSection]) -> tuple[CriSection, ...]:
    """2.x merges the same plugin's tables from several files, a later value winning key by
    key (a handler's fields one by one)."""
    merged: dict[str, CriSection] = {}
    for section in sections:
        old = merged.get(section.plugin)
        if old is None:
            merged[section.plugin] = section
            continue
        runtimes = {h.name: h for h in old.runtimes or ()}
        for h in section.runtimes or ():
            before = runtimes.get(h.name)
            if before is not None:
                h = h._replace(
                    **{
                        f: getattr(before, f)
                        for f in HandlerDef._fields
                        if getattr(h, f) is None and f != "builtin"
                    }
                )
            runtimes[h.name] = h
        merged[section.plugin] = CriSection(
            section.plugin,
            tuple(runtimes.values())
            if old.runtimes is not None or section.runtimes is not None
            else None,
            section.default_name if section.default_name is not None else old.default_name,
            section.legacy_default or old.legacy_default,
            section.untrusted or old.untrusted,
        )
    return tuple(merged.values())


def collect(doc: Mapping, source: SourceFile, facts: Facts) -> None:
    facts.containerd.append(config_facts(doc, source))


# -- checks -------------------------------------------------------------------------------


def check(doc: Mapping, source: SourceFile, ctx: LintContext) -> None:
    config = config_facts(doc, source)
    if not _check_version(doc, source, ctx) or not _check_top_types(doc, source, ctx):
        return  # containerd refuses the file before reading any plugin
    short = _check_plugin_ids(doc, config, source, ctx)
    _check_drop_in_versions(doc, config, source, ctx)
    if config.cri_off(ctx.containerd):
        return  # the CRI plugin is not loaded: its settings cannot fail anything
    view = config.view(ctx.containerd)
    read = {s.plugin: s for s in _sections(doc) if s.plugin in view.read}
    for section in _sections(doc):
        if section.plugin not in read:
            _report_ignored(section, config, view, short, source, ctx)
    replaced = [p for p in view.read if read[p].table.get("runtimes") is not None]
    for plugin in replaced[:-1]:
        _report_replaced(read[plugin], read[replaced[-1]], source, ctx)
    # 2.0.2+ merge key by key: what a later section sets, an earlier one's never reaches
    # containerd (its `runtimes` included, whole).
    hidden: dict[str, set[str]] = {}
    later: set[str] = set()
    for plugin in reversed(view.read):
        hidden[plugin] = set(later)
        later |= {str(k.value) for k, _ in read[plugin].table.items}
    for plugin in view.read:
        _check_section(read[plugin], config, view, hidden[plugin], source, ctx)


def _check_version(doc: Mapping, source: SourceFile, ctx: LintContext) -> bool:
    """SP408 and SP407; False when containerd refuses the file for its version."""
    node = doc.get("version")
    c = ctx.containerd
    newest = max_config_version(c)
    if node is not None and not (isinstance(node, Scalar) and node.kind == "integer"):
        ctx.report(
            source,
            node.span,
            "SP408",
            f"`version` must be an integer such as `version = {newest}`: containerd "
            "cannot decode this value and refuses to start",
        )
        return False
    version = _version(doc)
    span = node.span if node is not None else source.whole()
    two = containerd_series(c) == "2"
    if version > newest:
        if not two and not refuses_newer_version(c):
            ctx.report(
                source,
                span,
                "SP408",
                f"config version {version} is newer than containerd {c} reads (2): it starts, "
                f"ignores the plugin sections it cannot place, and still reads "
                f'`[plugins."{CRI_V2}"]` with its own rules; from 1.6.32 and 1.7.17 it '
                f"refuses to start (`unsupported config version `{version}``)",
                severity="warning",
            )
            return True
        detail = (
            f"`unsupported config version `{version}``"
            if not two
            else f"`expected containerd config version equal to or less than `{newest}`, "
            f"got `{version}``"
        )
        ctx.report(
            source,
            span,
            "SP408",
            f"config version {version} is too new: containerd {c} reads config versions up "
            f"to {newest} and refuses to start ({detail})",
        )
        return False
    which = (
        "no `version` key, so this is a version 1 config"
        if node is None
        else f"config version {version}"
    )
    if two and version < newest and (version == 2 or containerd_release(c) >= (2, 3, 0)):
        ctx.report(
            source,
            span,
            "SP407",
            f"{which}: containerd {c} converts it at every start (`Configuration migrated "
            f"from version {version if node is not None else 0}, use `containerd config "
            "migrate` to avoid migration`); `containerd config migrate` writes the version "
            f"{newest} equivalent",
        )
    elif version == 1 and not two:
        ctx.report(
            source,
            span,
            "SP407",
            f"{which}, which containerd {c} reads but deprecates; containerd 2.0 to 2.2 drop "
            "its CRI settings when they upgrade it",
        )
    return True


# Top-level keys containerd decodes into its server configuration (src v2.3.4
# cmd/containerd/server/config/config.go Config): key -> (Go field, Go type, TOML kinds).
_TOP_FIELDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "imports": ("Imports", "[]string", ("array",)),
    "disabled_plugins": ("DisabledPlugins", "[]string", ("array",)),
    "required_plugins": ("RequiredPlugins", "[]string", ("array",)),
    "plugins": ("Plugins", "map[string]interface {}", ("table",)),
    "root": ("Root", "string", ("string",)),
    "state": ("State", "string", ("string",)),
}


def _check_top_types(doc: Mapping, source: SourceFile, ctx: LintContext) -> bool:
    """SP415 for the server configuration's own keys; False when containerd exits."""
    c = ctx.containerd
    ok = True
    for key, node in doc.items:
        field = _TOP_FIELDS.get(str(key.value))
        if field is None:
            continue
        kind = _toml_kind(node)
        bad = (
            [n for n in node.items if _toml_kind(n) != "string"]
            if isinstance(node, Sequence)
            else []
        )
        if kind in field[2] and not bad:
            continue
        if bad:
            node, kind = bad[0], _toml_kind(bad[0])
        if bad:
            said = "its TOML reader cannot decode an element that is not a string"
        elif containerd_series(c) != "2":
            said = f"go-toml: `Can't convert … to {field[1]}`"
        else:
            said = (
                f"`toml: cannot decode TOML {kind} into struct field config.Config.{field[0]} "
                f"of type {field[1]}`"
            )
        want = (
            "a table"
            if field[1].startswith("map")
            else ("an array of strings" if field[1] == "[]string" else "a string")
        )
        ctx.report(
            source,
            node.span,
            "SP415",
            f"`{key.value}` must be {want}, not {_a(kind)}: containerd {c} cannot decode it "
            f"and does not start ({said})",
        )
        ok = False
    return ok


def _check_plugin_ids(
    doc: Mapping, config: ContainerdConfig, source: SourceFile, ctx: LintContext
) -> bool:
    """SP413: plugin ids containerd refuses when it loads the file.  True when the file has
    short plugin keys or short ``disabled_plugins``/``required_plugins`` entries (which
    ``version = 2`` would make fatal on 1.x)."""
    c = ctx.containerd
    two = containerd_series(c) == "2"
    version = config.version
    plugins = doc.get("plugins")
    keys = [k for k, _ in plugins.items] if isinstance(plugins, Mapping) else []
    short_keys = [k for k in keys if len(str(k.value).split(".")) < 4]
    lists = {name: _strings(doc, name) for name in ("disabled_plugins", "required_plugins")}
    short_entries = [n for v in lists.values() for n in v if len(str(n.value).split(".")) < 4]
    fails = f"containerd {c} does not start"
    if not two and version >= 2:
        # 1.x ValidateV2: every id needs at least four dot-separated parts.
        for name, entries in lists.items():
            what = "disabled" if name == "disabled_plugins" else "required"
            for n in entries:
                if len(str(n.value).split(".")) < 4:
                    ctx.report(
                        source,
                        n.span,
                        "SP413",
                        f'{fails}: `invalid {what} plugin URI "{n.value}" expect '
                        f"io.containerd.x.vx`; a version {version} config names plugins by "
                        "their full id (`io.containerd.grpc.v1.cri`, not `cri`)",
                    )
        for k in short_keys:
            ctx.report(
                source,
                k.span,
                "SP413",
                f'{fails}: `invalid plugin key URI "{k.value}" expect io.containerd.x.vx`; '
                f"a version {version} config names plugins by their full id "
                f"(`{_full_id(str(k.value))}`)",
            )
    elif two and version >= 2:
        for name, entries in lists.items():
            what = "disabled" if name == "disabled_plugins" else "required"
            for n in entries:
                if "." not in str(n.value):
                    ctx.report(
                        source,
                        n.span,
                        "SP413",
                        f'{fails}: `invalid {what} plugin URI "{n.value}" expect '
                        f"io.containerd.x.vx`; name the plugin by its full id "
                        f"(`{_full_id(str(n.value))}`)",
                    )
    elif not two and version == 1:
        # 1.x matches a version 1 file's required plugins against short ids.
        for n in lists["required_plugins"]:
            if "." in str(n.value):
                ctx.report(
                    source,
                    n.span,
                    "SP413",
                    f"{fails}: `required plugin [{n.value}] not included`: a version 1 config "
                    "names plugins by their short id (`cri`)",
                )
    return bool(short_keys or short_entries)


def _check_drop_in_versions(
    doc: Mapping, config: ContainerdConfig, source: SourceFile, ctx: LintContext
) -> None:
    """SP419: an imported file (linted in the same run) of a higher config version than
    the file importing it.  2.3 refuses it (src v2.3.4 LoadConfigWithPlugins; a
    version-less root sets no limit); 2.0-2.2 take the higher version for the merged
    config, so the importing file's plugin settings are not migrated."""
    c = ctx.containerd
    release = containerd_release(c)
    if release < (2, 0, 0):
        return
    root = 0 if config.version_less else config.version
    for entry, at in imports(doc, source):
        target, pattern = import_target(source.own_path, entry)
        for other in ctx.facts.containerd:
            where = other.own_path
            matched = fnmatchcase(where, target) if pattern else where == target
            drop_in = 0 if other.version_less else other.version
            if not matched or other.path == source.path or drop_in <= root:
                continue
            span = Span(at.line, at.column, at.end_line, at.end_column)
            if release >= (2, 3, 0):
                if root == 0:
                    continue
                ctx.report(
                    source,
                    span,
                    "SP419",
                    f"{other.path} has config version {drop_in}, higher than this file's "
                    f"{root}: containerd {c} does not start (`drop-in config version {drop_in} "
                    f"higher than root config version {root}`); give both the same version",
                )
            elif root == 2 and any(s.plugin == CRI_V2 for s in config.sections):
                ctx.report(
                    source,
                    span,
                    "SP419",
                    f"{other.path} has config version {drop_in}, higher than this file's "
                    f"{root}: containerd {c} takes version {drop_in} for the merged config and "
                    f'does not migrate this file, so its `[plugins."{CRI_V2}"]` settings are '
                    "ignored; give both the same version",
                    severity="warning",
                )


_CORE_PLUGINS = {
    "cri": CRI_V2,
    "cgroups": "io.containerd.monitor.v1.cgroups",
    "linux": "io.containerd.runtime.v1.linux",
    "scheduler": "io.containerd.gc.v1.scheduler",
    "bolt": "io.containerd.metadata.v1.bolt",
    "task": "io.containerd.runtime.v2.task",
    "opt": "io.containerd.internal.v1.opt",
    "restart": "io.containerd.internal.v1.restart",
    "overlayfs": "io.containerd.snapshotter.v1.overlayfs",
    "native": "io.containerd.snapshotter.v1.native",
    "devmapper": "io.containerd.snapshotter.v1.devmapper",
    "zfs": "io.containerd.snapshotter.v1.zfs",
    "btrfs": "io.containerd.snapshotter.v1.btrfs",
    "aufs": "io.containerd.snapshotter.v1.aufs",
}


def _full_id(short: str) -> str:
    """The full id containerd 2.x gives a version 1 plugin name (``cri`` → grpc.v1.cri)."""
    return _CORE_PLUGINS.get(short, f"io.containerd.grpc.v1.{short}")


def _report_ignored(
    section: _Section,
    config: ContainerdConfig,
    view: CriView,
    short: bool,
    source: SourceFile,
    ctx: LintContext,
) -> None:
    """SP409: a CRI section the target never reads for this config version."""
    if not section.has_containerd:
        return  # no runtimes to lose
    c = ctx.containerd
    version = config.version
    plugin = section.plugin
    two = view.two
    if not two and version >= 2 and plugin == CRI_V1:
        return  # a short plugin key: SP413, containerd does not start
    which = f"version {version} config" + (" (no `version` key)" if config.version_less else "")
    read = view.read[-1] if view.read else None
    if not two:
        wanted = _header(CRI_V1 if version <= 1 else CRI_V2) + ".containerd"
        hint = ""
        if version <= 1 and plugin == CRI_V2 and not short:
            hint = "; add `version = 2` at the top"
        why = f"containerd {c} reads the CRI runtimes of a {which} from `[{wanted}]`{hint}"
        if plugin == CRI_V3:
            why = (
                f"containerd {c} never reads a version 3 section (`{_header(CRI_V3)}` came "
                "with 2.0)"
            )
    elif version <= 1 and plugin in (CRI_V1, CRI_V2):
        why = (
            f"containerd {c} upgrades a {which} without moving its CRI settings (2.3 does); "
            f"write them under `[{_header(CRI_V3)}.containerd]` with `version = 3`"
        )
    elif plugin == CRI_V3 and read is not None:
        why = (
            f"converting this {which}, containerd {c} replaces it with `[{_header(read)}]` "
            "(2.0.2 and later merge the two); set `version = 3` and keep one of the two"
        )
    elif plugin == CRI_V1:
        why = f"containerd {c} reads no `cri` plugin in a {which}, only full plugin ids"
    else:
        why = (
            f"containerd {c} does not migrate a {which}: it reads only "
            f"`[{_header(CRI_V3)}.containerd]`"
            + ("" if version != 3 else " (2.3 and later migrate version 3 files)")
        )
    _, runtimes = _runtimes(section)
    used = sorted(
        cls.handler
        for cls in classes_in_scope(ctx.facts, source.path)
        if cls.handler is not None
        and runtimes is not None
        and runtimes.get(cls.handler)
        and cls.handler not in view.handlers
    )
    lost = f"; RuntimeClass handler(s) {', '.join(map(repr, used))} will not exist" if used else ""
    ctx.report(
        source,
        section.key.span,
        "SP409",
        f"`[{section.header}]` is ignored: {why}{lost}",
        severity="error" if used else None,
    )


def _report_replaced(old: _Section, new: _Section, source: SourceFile, ctx: LintContext) -> None:
    key, kept = old.table.key("runtimes"), new.table.key("runtimes")
    if key is None or kept is None:
        return
    ctx.report(
        source,
        key.span,
        "SP409",
        f"`[{old.header}.runtimes]` is replaced: containerd {ctx.containerd} merges "
        f"`[{_header(old.plugin)}]` into `[{_header(new.plugin)}]` and keeps the newer "
        "section's `runtimes` table whole, so only its handlers exist",
        related=(location(source, kept.span, "the runtimes kept"),),
    )


def _check_section(
    section: _Section,
    config: ContainerdConfig,
    view: CriView,
    hidden: set[str],
    source: SourceFile,
    ctx: LintContext,
) -> None:
    merges = view.two
    containerd = section.plugin_table.get("containerd")
    if not section.has_containerd and containerd is not None:
        _type_error(
            containerd.span,
            containerd,
            "containerd",
            ("PluginConfig.ContainerdConfig", "config.ContainerdConfig"),
            view,
            section,
            source,
            ctx,
        )
    _check_types(section, view, hidden, source, ctx)
    runtimes_key, runtimes = _runtimes(section)
    default = view.default
    if runtimes is not None and "runtimes" not in hidden:
        for key, table in runtimes.pairs():
            if isinstance(table, Mapping):
                _check_handler(str(key.value), key, table, default, merges, source, ctx)
                _check_handler_fields(str(key.value), table, source, ctx)
    for name in REMOVED_TABLES:
        _check_legacy_table(section, name, runtimes, merges, source, ctx)
    _check_plugin_options(section, view, source, ctx)
    # The default is checked once, where it is decided: the last section read that sets
    # `default_runtime_name`, or else the last section read.
    setting = [
        s.plugin for s in config.sections if s.plugin in view.read and s.default_name is not None
    ]
    if section.plugin == (setting[-1] if setting else view.read[-1]):
        _check_default_name(section, config, view, runtimes_key, source, ctx)


# Go types of the CRI runtime fields containerd decodes (internal/cri/config, pkg/cri/config):
# TOML key -> (Go struct field, Go type, TOML kinds that decode).
_Field = tuple[str, str, tuple[str, ...]]
_STRING: tuple[str, ...] = ("string",)
_BOOL: tuple[str, ...] = ("boolean",)
_HANDLER_FIELDS: dict[str, _Field] = {
    "runtime_type": ("Type", "string", _STRING),
    "runtime_path": ("Path", "string", _STRING),
    "runtime_engine": ("Engine", "string", _STRING),
    "runtime_root": ("Root", "string", _STRING),
    "base_runtime_spec": ("BaseRuntimeSpec", "string", _STRING),
    "cni_conf_dir": ("NetworkPluginConfDir", "string", _STRING),
    "snapshotter": ("Snapshotter", "string", _STRING),
    "sandboxer": ("Sandboxer", "string", _STRING),
    "io_type": ("IOType", "string", _STRING),
    "privileged_without_host_devices": ("PrivilegedWithoutHostDevices", "bool", _BOOL),
    "privileged_without_host_devices_all_devices_allowed": (
        "PrivilegedWithoutHostDevicesAllDevicesAllowed",
        "bool",
        _BOOL,
    ),
    "cgroup_writable": ("CgroupWritable", "bool", _BOOL),
    "cni_max_conf_num": ("NetworkPluginMaxConfNum", "int", ("integer",)),
    "options": ("Options", "map[string]interface {}", ("table",)),
}
_CONTAINERD_FIELDS: dict[str, _Field] = {
    "default_runtime_name": ("DefaultRuntimeName", "string", _STRING),
    "runtimes": ("Runtimes", "map[string]config.Runtime", ("table",)),
    "no_pivot": ("NoPivot", "bool", _BOOL),
}


def _toml_kind(node: Node) -> str:
    if isinstance(node, Mapping):
        return "table"
    if isinstance(node, Sequence):
        return "array"
    if isinstance(node, Scalar):
        if isinstance(node.value, bool):
            return "boolean"
        if isinstance(node.value, str):
            return "string"
        if isinstance(node.value, int):
            return "integer"
        if isinstance(node.value, float):
            return "float"
        return "datetime"
    return "value"


def _check_types(
    section: _Section, view: CriView, hidden: set[str], source: SourceFile, ctx: LintContext
) -> None:
    """SP415: a value containerd cannot decode into its CRI configuration: it exits.
    ``hidden``: keys of the ``containerd`` table a later section replaces."""
    tables: list[tuple[Mapping, dict[str, _Field], str]] = [
        (section.table, _CONTAINERD_FIELDS, "ContainerdConfig")
    ]
    runtimes = section.table.get("runtimes")
    if isinstance(runtimes, Mapping) and "runtimes" not in hidden:
        for key, table in runtimes.pairs():
            if isinstance(table, Mapping):
                tables.append((table, _HANDLER_FIELDS, "Runtime"))
            else:
                _type_error(
                    key.span,
                    table,
                    "runtimes." + str(key.value),
                    ("Runtime", "config.Runtime"),
                    view,
                    section,
                    source,
                    ctx,
                )
    for table, fields, struct in tables:
        for key, node in table.items:
            field = fields.get(str(key.value))
            if table is section.table and str(key.value) in hidden:
                continue
            if field is None or _toml_kind(node) in field[2]:
                continue
            _type_error(
                node.span,
                node,
                str(key.value),
                (f"{struct}.{field[0]}", field[1]),
                view,
                section,
                source,
                ctx,
            )


def _type_error(
    span: Span,
    node: Node,
    key: str,
    field: tuple[str, str],
    view: CriView,
    section: _Section,
    source: SourceFile,
    ctx: LintContext,
) -> None:
    kind = _toml_kind(node)
    c = ctx.containerd
    if not view.two:
        said = f"go-toml: `Can't convert … to {field[1]}`"
    elif key == "runtimes" and view.read != (CRI_V3,):
        said = (
            f"it panics migrating the CRI settings: `interface conversion: interface {{}} is "
            f"{_go_value(kind)}, not map[string]interface {{}}`"
        )
    else:
        said = (
            f"`toml: cannot decode TOML {kind} into struct field config.{field[0]} of type "
            f"{field[1]}`"
        )
    want = "a table" if field[1].startswith(("map", "config.")) else f"a {field[1]}"
    ctx.report(
        source,
        span,
        "SP415",
        f"`{key}` must be {want}, not {_a(kind)}: containerd {c} cannot decode it and does "
        f"not start ({said})",
    )


def _go_value(kind: str) -> str:
    return {"string": "string", "integer": "int64", "float": "float64", "boolean": "bool"}.get(
        kind, "[]interface {}"
    )


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _check_handler_fields(name: str, table: Mapping, source: SourceFile, ctx: LintContext) -> None:
    """SP416: handler fields the CRI plugin refuses when it loads (src v2.3.4
    internal/cri/config/config.go; v1.7 pkg/cri/config/config.go)."""
    c = ctx.containerd
    release = containerd_release(c)
    fails = f"the CRI plugin of containerd {c} fails to load and no pod can start"
    allowed = table.get("privileged_without_host_devices_all_devices_allowed")
    privileged = table.get("privileged_without_host_devices")
    if (
        release >= (1, 7, 0)
        and isinstance(allowed, Scalar)
        and allowed.value is True
        and not (isinstance(privileged, Scalar) and privileged.value is True)
    ):
        ctx.report(
            source,
            allowed.span,
            "SP416",
            f"handler '{name}': {fails} (`` `privileged_without_host_devices_all_devices_allowed` "
            "requires `privileged_without_host_devices` to be enabled ``); set "
            "`privileged_without_host_devices = true` too, or remove this key",
        )
    if release < (2, 0, 0):
        return
    io_type = table.get("io_type")
    if isinstance(io_type, Scalar) and io_type.value not in ("", "fifo", "streaming"):
        ctx.report(
            source,
            io_type.span,
            "SP416",
            f"handler '{name}': `io_type` is {io_type.value!r}: {fails} (`` `io_type` can only "
            'be `streaming` or `named_pipe` ``; the values it takes are "fifo", the default, '
            'and "streaming")',
        )
    writable = table.get("cgroup_writable")
    if release >= (2, 1, 0) and isinstance(writable, Scalar) and writable.value is True:
        ctx.report(
            source,
            writable.span,
            "SP416",
            f"handler '{name}': on a host with cgroup v1 {fails} (`runtime {name}: "
            "`cgroup_writable` is only supported on cgroup v2`); containerd only accepts it on "
            "cgroup v2 hosts",
            severity="warning",
        )


def _check_plugin_options(
    section: _Section, view: CriView, source: SourceFile, ctx: LintContext
) -> None:
    """SP414: 1.x ``systemd_cgroup`` and ``no_pivot`` only work with the legacy runtime as
    the default; 2.x ignores both (SP406)."""
    c = ctx.containerd
    for name, table in (("systemd_cgroup", section.plugin_table), ("no_pivot", section.table)):
        node = table.get(name)
        if not (isinstance(node, Scalar) and node.value is True):
            continue
        if view.two:
            key = table.key(name)
            ctx.report(
                source,
                node.span,
                "SP406",
                f"`{name}` was removed in containerd 2.0, which ignores it (`Ignoring unknown key "
                "in TOML for plugin`)"
                + (
                    "; set `SystemdCgroup = true` in the runc handler's `options` instead"
                    if name == "systemd_cgroup"
                    else ""
                ),
                fix=None if key is None else remove_ignored(source, key, node, f"`{name}`"),
            )
            continue
        default = view.handlers.get(view.default or "")
        if default is not None and default.runtime_type == LEGACY_V1:
            continue
        instead = (
            "set `SystemdCgroup = true` in the runc handler's `options` instead"
            if name == "systemd_cgroup"
            else "remove it (runc's `NoPivotRoot` option does this for io.containerd.runc.v2)"
        )
        ctx.report(
            source,
            node.span,
            "SP414",
            f"`{name} = true` but the default handler is not {LEGACY_V1}: the CRI plugin of "
            f"containerd {c} fails to load and no pod can start (`` `{name}` only works for "
            f"runtime {LEGACY_V1} ``); {instead}",
            # Removed, the plugin loads: what runs changes, so only when asked.
            fix=remove_entry(
                source, table.key(name), node, "unsafe", f"remove `{name}` (the CRI plugin loads)"
            ),
        )


def _check_handler(
    name: str,
    key: Scalar,
    table: Mapping,
    default: str | None,
    merges: bool,
    source: SourceFile,
    ctx: LintContext,
) -> None:
    what = f"handler '{name}'"
    if name != default and label_errors(name):
        ctx.report(
            source,
            key.span,
            "SP410",
            f"{what} cannot be named by a Kubernetes RuntimeClass, whose handler must be a "
            f"DNS-1123 label ({label_errors(name)[0]}): only CRI clients that pass the name "
            "verbatim can use it; rename the table to a label such as "
            f"`runtimes.{handler_name_for(name, ctx)}` (the runtime_type, not the handler's "
            "name, chooses the shim)",
        )
    effective = _check_runtime_type(name, key, table, merges, source, ctx)
    path = table.get("runtime_path")
    path_text = text_of(path)
    release = containerd_release(ctx.containerd)
    if path is not None and path_text and (release < (1, 6, 21) or release == (1, 7, 0)):
        # SPEC §6 (live 1.6.20): ignored until 1.6.21 and 1.7.1; the runtime_type's shim runs.
        ctx.report(
            source,
            path.span,
            "SP418",
            f"{what} `runtime_path` is ignored by containerd {ctx.containerd} (honoured from "
            "1.6.21 and 1.7.1): the shim of `runtime_type` runs instead; upgrade containerd, "
            "or make the path the handler's `runtime_type`",
        )
    elif (
        path is not None
        and path_text
        and release >= (2, 0, 0)
        and text_of(table.get("sandboxer")) == "shim"
    ):
        # SPEC §6: a `sandboxer = "shim"` sandbox takes its shim from runtime_type only.
        ctx.report(
            source,
            path.span,
            "SP418",
            f'{what} `runtime_path` is ignored for its sandboxes: with `sandboxer = "shim"` '
            f"containerd {ctx.containerd} starts the shim of `runtime_type`; make the path the "
            "handler's `runtime_type`",
        )
    elif path is not None and path_text:
        # C5: sent as the shim path override and resolved through C2 like a runtime_type.
        ctx.check_name(source, path.span, path_text, "config", f"{what} runtime_path")
    _check_removed_keys(what, table, text_of(table.get("runtime_type")), merges, source, ctx)
    options = table.get("options")
    binary = options.get("BinaryName") if isinstance(options, Mapping) else None
    binary_text = text_of(binary)
    if binary is not None and binary_text and effective and _is_runc(effective, ctx):
        check_runc_binary(ctx, source, binary.span, binary_text, f"{what} options.BinaryName")


def _check_runtime_type(
    name: str, key: Scalar, table: Mapping, merges: bool, source: SourceFile, ctx: LintContext
) -> str | None:
    """SP401 and the policy on a handler's runtime_type; the type containerd ends up with."""
    what = f"handler '{name}'"
    node = table.get("runtime_type")
    runtime_type = text_of(node)
    if node is None:
        if merges and name == "runc":
            return "io.containerd.runc.v2"  # containerd 2.x keeps the built-in type
        if _typed_elsewhere(name, source, ctx):
            return None
        builtin = (
            f"; containerd {ctx.containerd} replaces its built-in handlers with this file's "
            "`runtimes`, so `runc` gets no type of its own either"
            if name == "runc"
            else ""
        )
        ctx.report(
            source,
            key.span,
            "SP401",
            f"{what} sets no `runtime_type`: containerd loads the config, but every pod "
            f"using this handler fails with {_FAILS_AT_START}; add "
            f'`runtime_type = "io.containerd.runc.v2"` (or the shim this handler is for)'
            f"{builtin}",
        )
    elif runtime_type == "":
        ctx.report(
            source,
            node.span,
            "SP401",
            f"{what} has an empty `runtime_type`: containerd loads the config, but every pod "
            f"using this handler fails with {_FAILS_AT_START}; set it to the handler's shim, "
            'e.g. "io.containerd.runc.v2"',
        )
    elif runtime_type is not None:
        ctx.check_name(source, node.span, runtime_type, "config", f"{what} runtime_type")
    return runtime_type


def _typed_elsewhere(name: str, source: SourceFile, ctx: LintContext) -> bool:
    """Whether another containerd config beside this one (a drop-in, or the file that
    imports this one) gives the handler its runtime_type: containerd 2.x merges them."""
    return any(
        h.name == name and h.runtime_type
        for c in configs_in_scope(ctx.facts, source.path)
        if c.path != source.path
        for h in c.handlers
    )


def _is_runc(runtime_type: str, ctx: LintContext) -> bool:
    binary = parse(runtime_type, ctx.containerd, ctx.platform).binary or ""
    return binary.rsplit("/", 1)[-1].removesuffix(".exe") in RUNC_SHIMS


def _check_removed_keys(
    what: str,
    table: Mapping,
    runtime_type: str | None,
    merges: bool,
    source: SourceFile,
    ctx: LintContext,
) -> None:
    """``runtime_engine``/``runtime_root``: 1.x rejects them without the v1 runtime; 2.x
    ignores them."""
    for key in REMOVED_RUNTIME_KEYS:
        node = table.get(key)
        if not text_of(node):
            continue  # unset or "" (as `containerd config default` writes): inert
        assert node is not None
        written = table.key(key)
        if merges:
            ctx.report(
                source,
                node.span,
                "SP406",
                f"{what}: `{key}` was removed in containerd 2.0, which ignores it; it only "
                f"ever applied to the legacy runtime {LEGACY_V1} — use the handler's "
                "`options` instead",
                fix=None if written is None else remove_ignored(source, written, node, f"`{key}`"),
            )
        elif runtime_type != LEGACY_V1:
            ctx.report(
                source,
                node.span,
                "SP404",
                f"{what}: `{key}` is set but runtime_type is not {LEGACY_V1}: containerd "
                f"{ctx.containerd} fails to load the CRI plugin with "
                f"`` `{key}` only works for runtime {LEGACY_V1} ``; remove it (use the "
                "handler's `options`)",
                fix=remove_entry(
                    source, written, node, "unsafe", f"remove `{key}` (the CRI plugin loads)"
                ),
            )


def _check_legacy_table(
    section: _Section,
    name: str,
    runtimes: Mapping | None,
    merges: bool,
    source: SourceFile,
    ctx: LintContext,
) -> None:
    """1.x ``default_runtime`` / ``untrusted_workload_runtime``: inert unless their
    runtime_type is set (``containerd config default`` writes them empty)."""
    key, table = section.table.key(name), section.table.get(name)
    if key is None or not isinstance(table, Mapping):
        return
    node = table.get("runtime_type")
    runtime_type = text_of(node)
    if not runtime_type:
        return
    assert node is not None
    if merges:
        instead = (
            "pods without a RuntimeClass get `default_runtime_name`'s handler instead; define "
            "the runtime under `runtimes` and name it in `default_runtime_name`"
            if name == "default_runtime"
            else "define a `runtimes.untrusted` handler instead"
        )
        ctx.report(
            source,
            key.span,
            "SP406",
            f"`{name}` was removed in containerd 2.0, which ignores it (and its runtime_type "
            f"'{runtime_type}'): {instead}",
        )
        return
    ctx.check_name(source, node.span, runtime_type, "config", f"`{name}` runtime_type")
    _check_removed_keys(f"`{name}`", table, runtime_type, merges, source, ctx)
    untrusted = runtimes.key("untrusted") if runtimes is not None else None
    if name == "untrusted_workload_runtime" and untrusted is not None:
        ctx.report(
            source,
            key.span,
            "SP405",
            f"`{name}` and `runtimes.untrusted` both define the untrusted handler: containerd "
            f"{ctx.containerd} fails to load the CRI plugin with `conflicting definitions: "
            f'configuration includes both `{name}` and `runtimes["untrusted"]``; keep only '
            "`runtimes.untrusted`",
            related=(location(source, untrusted.span, "runtimes.untrusted"),),
        )


def _check_default_name(
    section: _Section,
    config: ContainerdConfig,
    view: CriView,
    runtimes_key: Scalar | None,
    source: SourceFile,
    ctx: LintContext,
) -> None:
    c = ctx.containerd
    if not view.two and "default" in view.handlers and view.default == "default":
        return  # 1.x: an effective `default_runtime` replaces default_runtime_name
    node = section.table.get("default_runtime_name")
    handlers = view.handlers
    known = ", ".join(f"'{h}'" for h in sorted(handlers)) or "none"
    fails = f"the CRI plugin of containerd {c} fails to load and no pod can start"
    if node is None:
        if runtimes_key is not None and "runc" not in handlers and not config.imports:
            ctx.report(
                source,
                runtimes_key.span,
                "SP403",
                '`default_runtime_name` is not set, so it is "runc", but containerd '
                f"{c} replaces its built-in handlers with this file's `runtimes`, which "
                f"define no `runc`: {fails} (containerd: no corresponding runtime configured "
                'in `containerd.runtimes` for `containerd` `default_runtime_name = "runc"); '
                f"set `default_runtime_name` to one of {known}",
            )
        return
    name = text_of(node)
    if name is None:
        return
    marker = placeholder(name)
    if marker is not None:
        ctx.unresolved(source, node.span, "`default_runtime_name`", name, marker)
    elif name == "":
        ctx.report(
            source,
            node.span,
            "SP402",
            f"`default_runtime_name` is empty: {fails} (`` `default_runtime_name` is empty ``); "
            f"name one of the handlers: {known}",
        )
    elif name not in handlers and not config.imports:
        ctx.report(
            source,
            node.span,
            "SP403",
            f'`default_runtime_name = "{name}"` names no handler of this config: {fails} '
            "(containerd: no corresponding runtime configured in `containerd.runtimes` for "
            f'`containerd` `default_runtime_name = "{name}"); define `runtimes.{toml_key(name)}` '
            f"or name one of {known}",
        )


TYPE = FileType("containerd", "containerd config.toml", load, collect, check)
