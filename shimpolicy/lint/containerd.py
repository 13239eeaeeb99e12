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
import re

from .._typing import NamedTuple
from ..grammar.catalog import shim_for_binary
from ..grammar.name import parse
from ..grammar.versions import containerd_release, containerd_series
from ..syntax import Mapping, Node, Scalar, Sequence, Span
from ..syntax.toml import parse_toml
from .context import LintContext, location
from .facts import ContainerdConfig, Facts, HandlerDef, configs_in_scope, placeholder
from .filetype import FileType
from .finding import Location
from .kubernetes import handler_name_for, label_errors
from .links import toml_key
from .source import SourceFile

# C5: the CRI plugin's key in each config layout.
CRI_V1 = "cri"
CRI_V2 = "io.containerd.grpc.v1.cri"
CRI_V3 = "io.containerd.cri.v1.runtime"
CRI_PLUGINS = (CRI_V1, CRI_V2, CRI_V3)
LEGACY_V1 = "io.containerd.runtime.v1.linux"  # C4
RUNC_SHIMS = frozenset({"containerd-shim-runc-v1", "containerd-shim-runc-v2"})
# Keys containerd 2.0 dropped from the CRI runtime configuration; 2.x ignores them.
REMOVED_RUNTIME_KEYS = ("runtime_engine", "runtime_root")
REMOVED_TABLES = ("default_runtime", "untrusted_workload_runtime")
_FAILS_AT_START = "`container.Runtime.Name must be set: invalid argument`"


def load(source: SourceFile) -> Mapping:
    return parse_toml(source.text)


class _Section(NamedTuple):
    """One CRI plugin table that has a ``containerd`` table."""

    plugin: str
    key: Scalar  # the ``containerd`` key under the plugin
    table: Mapping  # the ``containerd`` table

    @property
    def header(self) -> str:
        name = self.plugin if self.plugin == CRI_V1 else f'"{self.plugin}"'
        return f"plugins.{name}.containerd"


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
            found.append(_Section(name, key, table))
    return found


def _text(node: Node | None) -> str | None:
    return node.value if isinstance(node, Scalar) and isinstance(node.value, str) else None


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
        _text(node),
        _at(source, node),
        runtime_path=_text(path),
        path_at=_at(source, path),
        binary_name=_text(binary),
        binary_at=_at(source, binary),
        sandboxer=_text(table.get("sandboxer")),
    )


def _at(source: SourceFile, node: Node | None) -> Location | None:
    return location(source, node.span) if node is not None else None


def _legacy_default(source: SourceFile, section: _Section) -> HandlerDef | None:
    """1.x ``default_runtime``, when it takes effect (a non-empty runtime_type)."""
    key, table = section.table.key("default_runtime"), section.table.get("default_runtime")
    if key is None or not isinstance(table, Mapping) or not _text(table.get("runtime_type")):
        return None
    return _handler(source, key, table)._replace(name="default")


def config_facts(doc: Mapping, source: SourceFile) -> ContainerdConfig:
    """What this file defines for the CRI, in the form links.py compares across files."""
    handlers: list[HandlerDef] = []
    at: Location | None = None
    defines = False
    default_name: str | None = None
    legacy: HandlerDef | None = None
    sections = _sections(doc)
    for section in sections:
        key, runtimes = _runtimes(section)
        if key is not None and runtimes is not None:
            defines = True
            at = at or location(source, key.span)
            handlers.extend(
                _handler(source, k, v) for k, v in runtimes.pairs() if isinstance(v, Mapping)
            )
        at = at or location(source, section.key.span)
        name = section.table.get("default_runtime_name")
        if default_name is None and name is not None:
            text = _text(name)
            default_name = "" if text is None or placeholder(text) else text
        legacy = legacy or _legacy_default(source, section)
    imports = doc.get("imports")
    return ContainerdConfig(
        path=source.path,
        at=at or location(source, source.whole()),
        version=_version(doc),
        handlers=tuple(handlers),
        defines_runtimes=defines,
        default_name=default_name,
        legacy_default=legacy,
        imports=isinstance(imports, Sequence) and bool(imports.items),
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
    )


def collect(doc: Mapping, source: SourceFile, facts: Facts) -> None:
    facts.containerd.append(config_facts(doc, source))


# -- checks -------------------------------------------------------------------------------


def check(doc: Mapping, source: SourceFile, ctx: LintContext) -> None:
    config = config_facts(doc, source)
    _check_version(doc, source, ctx)
    sections = _sections(doc)
    plugins = doc.get("plugins")
    has_v2 = isinstance(plugins, Mapping) and plugins.get(CRI_V2) is not None
    versionless = doc.get("version") is None
    for section in sections:
        if _check_layout(section, config.version, has_v2, versionless, source, ctx):
            _check_section(section, config, source, ctx)


def _minor(containerd: str) -> int | None:
    m = re.match(r"2\.(\d+)", containerd)
    return int(m.group(1)) if m else None


def _max_version(containerd: str) -> int:
    """The newest config version this containerd reads (RELEASES.md; C5)."""
    if containerd_series(containerd) != "2":
        return 2
    minor = _minor(containerd)
    return 3 if minor is not None and minor < 3 else 4  # version 4 came with 2.3


def _check_version(doc: Mapping, source: SourceFile, ctx: LintContext) -> None:
    node = doc.get("version")
    c = ctx.containerd
    if node is not None and not (isinstance(node, Scalar) and node.kind == "integer"):
        ctx.report(
            source,
            node.span,
            "SP408",
            f"`version` must be an integer such as `version = {_max_version(c)}`: containerd "
            "cannot decode this value and refuses to start",
        )
        return
    version = _version(doc)
    newest = _max_version(c)
    span = node.span if node is not None else source.whole()
    if version > newest:
        if containerd_series(c) != "2":
            detail = (
                f"containerd {c} reads config versions up to 2: from 1.6.32 and 1.7.17 it "
                f"refuses to start (`unsupported config version `{version}``), earlier "
                f"releases ignore the version-{version} plugin sections"
            )
        else:
            detail = (
                f"containerd {c} reads config versions up to {newest} and refuses to start: "
                f"`expected containerd config version equal to or less than `{newest}`, "
                f"got `{version}``"
            )
        ctx.report(source, span, "SP408", f"config version {version} is too new: {detail}")
        return
    which = (
        "no `version` key, so this is a version 1 config"
        if node is None
        else f"config version {version}"
    )
    if containerd_series(c) == "2" and version < 3:
        ctx.report(
            source,
            span,
            "SP407",
            f"{which}: containerd {c} converts it at every start (`Configuration migrated "
            f"from version {version}, use `containerd config migrate` to avoid migration`); "
            "`containerd config migrate` writes the version 3 equivalent",
        )
    elif version == 1:
        ctx.report(
            source,
            span,
            "SP407",
            f"{which}, which containerd {c} reads but deprecates; containerd 2.0 converts "
            "it at every start: write `version = 2` and the "
            f'`plugins."{CRI_V2}"` layout',
        )


def _check_layout(
    section: _Section,
    version: int,
    has_v2: bool,
    versionless: bool,
    source: SourceFile,
    ctx: LintContext,
) -> bool:
    """SP409: a CRI section the target containerd never reads for this config version.
    True when the section is read (and so worth checking further)."""
    c = ctx.containerd
    two = containerd_series(c) == "2"
    if version >= 3 and not two:
        return True  # SP408 already says containerd cannot read the file
    plugin = section.plugin
    if version >= 3:
        expected = CRI_V3
    elif not two:
        expected = CRI_V1 if version == 1 else CRI_V2
    elif plugin == CRI_V3 and has_v2:
        ctx.report(
            source,
            section.key.span,
            "SP409",
            f"`[{section.header}]` is ignored: converting this version {version} config, "
            f'containerd {c} replaces it with `[plugins."{CRI_V2}"]`; set `version = 3` and '
            "keep one of the two",
        )
        return False
    else:
        expected = CRI_V2 if plugin == CRI_V1 and version != 1 else plugin
    if plugin == expected:
        return True
    wanted = _Section(expected, section.key, section.table).header
    which = f"version {version} config" + (" (no `version` key)" if versionless else "")
    hint = "; add `version = 2` at the top" if version == 1 and expected == CRI_V1 else ""
    ctx.report(
        source,
        section.key.span,
        "SP409",
        f"`[{section.header}]` is ignored: containerd {c} reads the CRI runtimes of a "
        f"{which} from `[{wanted}]`{hint}",
    )
    return False


def _check_section(
    section: _Section, config: ContainerdConfig, source: SourceFile, ctx: LintContext
) -> None:
    merges = config.merges(ctx.containerd)
    runtimes_key, runtimes = _runtimes(section)
    default = config.default_handler(ctx.containerd)
    if runtimes is not None:
        for key, table in runtimes.pairs():
            if isinstance(table, Mapping):
                _check_handler(str(key.value), key, table, default, merges, source, ctx)
    for name in REMOVED_TABLES:
        _check_legacy_table(section, name, runtimes, merges, source, ctx)
    _check_default_name(section, config, runtimes_key, source, ctx)


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
    path_text = _text(path)
    if path is not None and path_text:
        # C5: sent as the shim path override and resolved through C2 like a runtime_type.
        ctx.check_name(source, path.span, path_text, "config", f"{what} runtime_path")
    _check_removed_keys(what, table, _text(table.get("runtime_type")), merges, source, ctx)
    options = table.get("options")
    binary = options.get("BinaryName") if isinstance(options, Mapping) else None
    binary_text = _text(binary)
    if binary is not None and binary_text and effective and _is_runc(effective, ctx):
        check_runc_binary(ctx, source, binary.span, binary_text, f"{what} options.BinaryName")


def _check_runtime_type(
    name: str, key: Scalar, table: Mapping, merges: bool, source: SourceFile, ctx: LintContext
) -> str | None:
    """SP401 and the policy on a handler's runtime_type; the type containerd ends up with."""
    what = f"handler '{name}'"
    node = table.get("runtime_type")
    runtime_type = _text(node)
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
        if not _text(node):
            continue  # unset or "" (as `containerd config default` writes): inert
        assert node is not None
        if merges:
            ctx.report(
                source,
                node.span,
                "SP406",
                f"{what}: `{key}` was removed in containerd 2.0, which ignores it; it only "
                f"ever applied to the legacy runtime {LEGACY_V1} — use the handler's "
                "`options` instead",
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
    runtime_type = _text(node)
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
    runtimes_key: Scalar | None,
    source: SourceFile,
    ctx: LintContext,
) -> None:
    c = ctx.containerd
    if not config.merges(c) and config.legacy_default is not None:
        return  # 1.x: an effective `default_runtime` replaces default_runtime_name
    node = section.table.get("default_runtime_name")
    handlers = config.effective_handlers(c)
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
                "define no `runc`: the CRI plugin fails to load and no pod can start (`no "
                "corresponding runtime configured in `containerd.runtimes` for `containerd` "
                '`default_runtime_name = "runc"``); set `default_runtime_name` to one of '
                f"{known}",
            )
        return
    name = _text(node)
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
            "(`no corresponding runtime configured in `containerd.runtimes` for `containerd` "
            f'`default_runtime_name = "{name}"``); define `runtimes.{toml_key(name)}` or name '
            f"one of {known}",
        )


def check_runc_binary(
    ctx: LintContext, source: SourceFile, span: Span, value: str, what: str
) -> None:
    """A runc-compatible binary (runc's ``options.BinaryName``, nerdctl's ``--runtime crun``).

    It is not a runtime name: the runc shim executes it as root, looking a bare name up
    on ``PATH``, so C1/C2 do not apply.  A path is judged by the policy in ``config``
    context (a path others can write to is refused); a relative path is resolved against
    the shim's working directory, the container's bundle.
    """
    marker = placeholder(value)
    if marker is not None:
        ctx.unresolved(source, span, what, value, marker)
        return
    base = value.rsplit("/", 1)[-1]
    if base.startswith("containerd-shim") or value.startswith("io.containerd."):
        shim = shim_for_binary(base)
        named = f" ({shim.title})" if shim else ""
        ctx.report(
            source,
            span,
            "SP411",
            f"{what} {value!r} names a containerd shim{named}, not a runc-compatible runtime: "
            "the runc shim would run it in place of runc and every container fails to start; "
            "make the shim the handler's runtime_type and drop BinaryName",
        )
    elif value.startswith("/"):
        ctx.check_name(source, span, value, "config", what)
    elif "/" in value:
        ctx.report(
            source,
            span,
            "SP412",
            f"{what} {value!r} is a relative path: the runc shim resolves it against its own "
            "working directory (the container's bundle directory), where it does not exist; "
            "use an absolute path, or a bare name looked up on PATH",
        )


TYPE = FileType("containerd", "containerd config.toml", load, collect, check)
