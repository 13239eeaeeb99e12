"""Docker's ``daemon.json``: the runtimes it configures and its default runtime (SPEC D2, D3).

dockerd decodes the file with Go's ``encoding/json`` into its configuration struct, and the
checks below follow that decoder rather than JSON in the abstract:

- keys inside a runtime entry match the struct's fields ignoring case, and keys that match
  no field are dropped without a word (D3);
- a repeated key is applied again, in order: a string or a list is replaced, an object is
  merged into the earlier one (so two top-level ``runtimes`` objects add up), and ``null``
  leaves a string as it was but empties a list or an object;
- a value of the wrong JSON type stops the daemon from starting.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from functools import cache
from itertools import pairwise

from .._typing import NamedTuple
from ..grammar.docker import (
    RESERVED,
    UNKNOWN_WINDOWS_RUNTIME,
    WINDOWS_RUNTIMES,
    docker_takes,
    go_fold,
    stock_runtimes,
    unknown_runtime_message,
    windows_ignores_names,
)
from ..grammar.name import parse
from ..grammar.versions import docker_major
from ..syntax import Mapping, Node, Scalar, Sequence, Span
from ..syntax.json import parse_json
from .context import LintContext, location
from .daemon_keys import accepted_keys, flat_keys
from .facts import Facts, placeholder
from .filetype import FileType
from .finding import Fix, Location
from .fixes import remove_member, rename
from .runc_binary import check_runc_binary
from .source import SourceFile

# The fields of moby's runtime entry (api/types/system.Runtime), by their folded JSON name.
_FIELDS = {
    "PATH": "path",
    "RUNTIMEARGS": "runtimeArgs",
    "RUNTIMETYPE": "runtimeType",
    "OPTIONS": "options",
}
# Real-world misspellings whose intent is plain (D3): nvidia-ctk writes "args".
_TYPOS = {
    "args": "runtimeArgs",
    "arguments": "runtimeArgs",
    "runtime-args": "runtimeArgs",
    "runtime_args": "runtimeArgs",
    "runtime-type": "runtimeType",
    "runtime_type": "runtimeType",
    "type": "runtimeType",
    "shim": "runtimeType",
}


@cache
def _shell_special() -> re.Pattern[str]:
    """Characters /bin/sh reads specially in the wrapper script dockerd writes for a path
    runtime with arguments: "#!/bin/sh\n<path> <args joined by spaces> $@\n" (D3)."""
    return re.compile(r"[\s;&|<>()$`\\\"'*?\[\]]|^[#~]")


_RUNC_OPTIONS_TYPE = "io.containerd.runc.v2"  # the only type given runc options (shimopts)


def _load(source: SourceFile) -> Node | None:
    # Docker 23 and later trim whitespace and treat an empty file as an empty configuration;
    # _check says what older ones do.
    if not source.text.strip():
        return None
    return parse_json(source.text)


# --------------------------------------------------------------------------- decoding


def _jtype(node: Node) -> str:
    """The JSON type of a value, named as Go's decoder names it in its errors."""
    if isinstance(node, Mapping):
        return "object"
    if isinstance(node, Sequence):
        return "array"
    value = node.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    return "number"


def _is_null(node: Node) -> bool:
    return isinstance(node, Scalar) and node.value is None


def _runtimes_objects(doc: Mapping) -> list[tuple[Scalar, Node]]:
    return [(k, v) for k, v in doc.items if k.value == "runtimes"]


def _effective_runtimes(doc: Mapping) -> dict[str, tuple[Scalar, Node]]:
    """The runtimes dockerd ends up with: every ``runtimes`` object merged in order, the
    last definition of a name winning, ``null`` emptying what came before."""
    entries: dict[str, tuple[Scalar, Node]] = {}
    for _, value in _runtimes_objects(doc):
        if _is_null(value):
            entries.clear()
        elif isinstance(value, Mapping):
            for key, entry in value.items:
                entries[str(key.value)] = (key, entry)
    return entries


class _Entry:
    """One runtime entry as Go decodes it: the last occurrence of each field that set it."""

    __slots__ = (
        "args",
        "binary",
        "broken",
        "key",
        "name",
        "occurrences",
        "options",
        "path",
        "runtime_type",
        "unknown",
    )

    def __init__(self, name: str, key: Scalar) -> None:
        self.name = name
        self.key = key
        self.path: tuple[Scalar, Scalar] | None = None  # (key, string value)
        self.runtime_type: tuple[Scalar, Scalar] | None = None
        self.args: tuple[Scalar, Sequence] | None = None
        self.options: Scalar | None = None  # key of the last "options" that left it non-empty
        self.binary: Node | None = None  # options.BinaryName, as the merged options have it
        self.occurrences: dict[str, list[Scalar]] = {}  # field -> keys
        self.unknown: list[tuple[Scalar, Node]] = []
        self.broken = False  # a value of the wrong type: dockerd does not start at all

    @property
    def path_value(self) -> str:
        return str(self.path[1].value) if self.path else ""

    @property
    def type_value(self) -> str:
        return str(self.runtime_type[1].value) if self.runtime_type else ""

    @property
    def arg_items(self) -> tuple[Node, ...]:
        return self.args[1].items if self.args else ()


# --------------------------------------------------------------------------- collect


def _collect(doc: Node | None, source: SourceFile, facts: Facts) -> None:
    """D2: names configured here are accepted by Docker without any other check."""
    facts.daemon_json.append(source.path)
    if not isinstance(doc, Mapping):
        return
    for name, (key, _) in _effective_runtimes(doc).items():
        facts.docker_runtimes.setdefault(name, location(source, key.span, "configured here"))


# --------------------------------------------------------------------------- check


def _check(doc: Node | None, source: SourceFile, ctx: LintContext) -> None:
    if docker_major(ctx.docker) < 23 and _unreadable_before_23(doc, source, ctx):
        return
    if doc is None or _is_null(doc):
        return  # null decodes to an empty configuration: dockerd starts
    if not isinstance(doc, Mapping):
        kind = _jtype(doc)
        ctx.report(
            source,
            doc.span,
            "SP213",
            f"daemon.json must be a JSON object, not {_a(kind)}: dockerd does not start "
            f"(json: cannot unmarshal {kind} into Go value of type map[string]interface {{}})",
        )
        return
    _Checker(doc, source, ctx).run()


def _unreadable_before_23(doc: Node | None, source: SourceFile, ctx: LintContext) -> bool:
    """Docker 20.10 and 22.06 decode the bytes as they are: a byte order mark or an empty
    file stops them (23.0 learnt to skip both). Whether that was reported."""
    if source.bom:
        why = "invalid character 'ï' looking for beginning of value"
        fix = "save the file as UTF-8 without a byte order mark"
    elif doc is None:
        why, fix = "EOF", "write {} for an empty configuration"
    else:
        return False
    what = "starts with a UTF-8 byte order mark" if source.bom else "is empty"
    ctx.report(
        source,
        source.whole(),
        "SP220",
        f'daemon.json {what}: Docker {ctx.docker} does not start ("unable to configure the '
        f'Docker daemon with file …: {why}"); {fix} (Docker 23 and later accept it)',
    )
    return True


class _Checker:
    def __init__(self, doc: Mapping, source: SourceFile, ctx: LintContext) -> None:
        self.doc, self.source, self.ctx = doc, source, ctx
        self.major = docker_major(ctx.docker)
        self.runtimes = _effective_runtimes(doc)

    def report(
        self,
        span: Span,
        rule: str,
        message: str,
        severity: str | None = None,
        related: Span | None = None,
        fix: Fix | None = None,
    ) -> None:
        extra = (location(self.source, related),) if related else ()
        self.ctx.report(self.source, span, rule, message, severity=severity, related=extra, fix=fix)

    def run(self) -> None:
        self.top_level_duplicates()
        self.default_runtime()
        if self.ctx.platform != "windows":
            self.unknown_top_level()
        if self.ctx.platform == "windows":
            for key, _ in _runtimes_objects(self.doc):
                self.report(
                    key.span,
                    "SP210",
                    'a Windows daemon has no "runtimes" setting: dockerd does not start '
                    "(\"the following directives don't match any configuration option: "
                    'runtimes")',
                )
            return
        self.runtime_objects()
        for name, (key, node) in self.runtimes.items():
            if name == RESERVED:
                # D3.1: dockerd stops at this, before looking at any entry.
                self.report(
                    key.span,
                    "SP201",
                    "runtime name 'runc' is reserved: Docker always provides `runc` itself "
                    "(the stock runc v2 shim); give this runtime another name",
                )
                continue
            entry = self.decode_entry(name, key, node)
            if entry is not None:
                self.check_entry(entry)

    # ---------------------------------------------------------------- top level

    def top_level_duplicates(self) -> None:
        for key in self.doc.duplicates():
            if key.value == "runtimes":
                again = _again(key, self.doc.items)
                self.report(
                    key.span,
                    "SP212",
                    f'duplicate key "runtimes" (again {again}): dockerd merges the '
                    "objects, a later runtime of the same name replacing an earlier one; "
                    "keep one object",
                )
            elif key.value == "default-runtime":
                again = _again(key, self.doc.items)
                self.report(
                    key.span,
                    "SP212",
                    f'duplicate key "default-runtime" (again {again}): only the last '
                    "value is used; keep one",
                )

    def unknown_top_level(self) -> None:
        """SP221: dockerd refuses keys that name none of its options, after flattening one
        level of objects (see daemon_keys)."""
        accepted, flat = accepted_keys(self.major), flat_keys(self.major)
        last = {str(k.value): (k, v) for k, v in self.doc.items}  # a map: the last one counts
        for name, (key, value) in last.items():
            if isinstance(value, Mapping) and name not in flat:
                for inner in dict.fromkeys(str(k.value) for k, _ in value.items):
                    if inner not in accepted:
                        self.report(
                            key.span,
                            "SP221",
                            f'"{name}" is not a daemon.json key, so dockerd reads the keys of its '
                            f'object as top-level keys, and "{inner}" is not one either: '
                            f"{self.refusal(inner)}{_suggest(name, accepted)}",
                        )
            elif name not in accepted:
                self.report(
                    key.span,
                    "SP221",
                    f'unknown key "{name}": {self.refusal(name)}{_suggest(name, accepted)}',
                )

    def refusal(self, key: str) -> str:
        return (
            f"Docker {self.ctx.docker} does not start (\"the following directives don't match "
            f'any configuration option: {key}")'
        )

    def default_runtime(self) -> None:
        values = [v for k, v in self.doc.items if k.value == "default-runtime" and not _is_null(v)]
        strings = [v for v in values if isinstance(v, Scalar) and isinstance(v.value, str)]
        for value in values:  # Go decodes every occurrence: any of the wrong type stops it
            if value not in strings:
                self.wrong_type(
                    value, '"default-runtime"', "a string", self.field("default-runtime")
                )
        if not values or values[-1] not in strings:
            return
        value = values[-1]  # null leaves a string as it was
        name = str(value.value)
        takes = docker_takes(
            name, self.ctx.docker, self.ctx.platform, self.runtimes, per_container=False
        )
        if takes == "configured" and self.major < 23:
            self.default_without_path(name, value)
        if takes in ("default", "configured"):
            return
        if placeholder(name) is not None:
            self.ctx.check_name(self.source, value.span, name, "request", "default-runtime")
            return
        if takes == "stock":
            return
        if takes == "refused":
            self.report(value.span, "SP202", self.missing_default_message(name))
            return
        # D3.2: an unconfigured default is passed to containerd like a per-container name.
        self.ctx.check_name(self.source, value.span, name, "request", "default-runtime")

    def default_without_path(self, name: str, value: Node) -> None:
        """SP223: Docker 20.10 and 22.06 look the default runtime's path up at start when it
        has runtimeArgs (for the wrapper script), and an empty path is never found. (23.0
        refuses any runtime with neither path nor runtimeType, D3.3.)"""
        key, node = self.runtimes[name]
        entry = _Reader(self.doc, self.source, self.major).decode_entry(name, key, node)
        if entry is None or entry.broken or not entry.arg_items or entry.path_value:
            return
        self.report(
            value.span,
            "SP223",
            f'the default runtime "{name}" has runtimeArgs but no "path": Docker '
            f'{self.ctx.docker} looks its path up at start and does not start ("failed to '
            "start daemon: couldn't create plugin manager: error while looking up the specified "
            'runtime path: exec: "": executable file not found in $PATH"); give it a "path" '
            "(a runc-compatible binary)",
            related=key.span,
        )

    def missing_default_message(self, name: str) -> str:
        if windows_ignores_names(self.ctx.docker, self.ctx.platform):
            refused = UNKNOWN_WINDOWS_RUNTIME.format(name)
            known = " and ".join(sorted(WINDOWS_RUNTIMES))
            return f"a Windows dockerd does not start ({refused}): its runtimes are {known}"
        head = f"specified default runtime '{name}' does not exist"
        stock = ", ".join(sorted(stock_runtimes(self.ctx.docker, self.ctx.platform)))
        if parse(name, self.ctx.containerd, self.ctx.platform).kind == "path":
            return (
                f"{head}: Docker never takes a path as the default runtime; define a runtime "
                f'under "runtimes" with "runtimeType": "{name}" (a shim) or "path": "{name}" '
                "(a runc-compatible binary) and name that runtime here"
            )
        why = unknown_runtime_message(name, self.ctx.docker)
        return (
            f'{head}: it is not a stock runtime ({stock}) and "runtimes" here does not define '
            f'it, and Docker {self.ctx.docker} would not pass it to containerd ("{why}"), so '
            "dockerd does not start"
        )

    def runtime_objects(self) -> None:
        occurrences: dict[str, list[Scalar]] = {}
        effective = {id(key) for key, _ in self.runtimes.values()}
        for _, value in _runtimes_objects(self.doc):
            if _is_null(value):
                occurrences.clear()
            elif isinstance(value, Mapping):
                for key, entry in value.items:
                    occurrences.setdefault(str(key.value), []).append(key)
                    if id(key) not in effective and key.value != RESERVED:
                        # Replaced later, but Go decodes it first: a wrong type still stops
                        # dockerd.
                        self.decode_entry(str(key.value), key, entry)
            else:
                self.wrong_type(value, '"runtimes"', "an object", self.field("runtimes", "map"))
        for name, keys in occurrences.items():
            for key, later in pairwise(keys):
                self.report(
                    key.span,
                    "SP212",
                    f'runtime "{name}" is defined again {_where(key, later)}: the later '
                    "definition replaces this one entirely; keep one",
                )

    def field(self, name: str, kind: str = "string") -> str:
        """Go's words for a field of the configuration, as its decoding errors name it:
        the struct holding the field, the JSON path to it (map keys left out), its type."""
        runtime = "system.Runtime" if self.major >= 25 else "types.Runtime"
        types = {
            "string": "string",
            "map": f"map[string]{runtime}",
            "runtime": runtime,
            "strings": "[]string",
            "options": "map[string]interface {}",
        }
        struct = "Runtime.runtimes" if name in _FIELDS.values() else "Config"
        return f"Go struct field {struct}.{name} of type {types[kind]}"

    def wrong_type(self, node: Node, where: str, expected: str, target: str) -> None:
        kind = _jtype(node)
        self.report(
            node.span,
            "SP213",
            f"{where} must be {expected}, not {_a(kind)}: dockerd does not start "
            f"(json: cannot unmarshal {kind} into {target})",
        )

    # ---------------------------------------------------------------- one runtime

    def decode_entry(self, name: str, key: Scalar, node: Node) -> _Entry | None:
        entry = _Entry(name, key)
        if _is_null(node):
            return entry  # decodes to an empty entry
        if not isinstance(node, Mapping):
            self.wrong_type(
                node, f'runtime "{name}"', "an object", self.field("runtimes", "runtime")
            )
            return None
        options: set[str] | None = None
        for k, v in node.items:
            fieldname = _FIELDS.get(go_fold(str(k.value)))
            if fieldname is None:
                entry.unknown.append((k, v))
                continue
            entry.occurrences.setdefault(fieldname, []).append(k)
            where = f'"{k.value}" of runtime "{name}"'
            if self.major < 24 and fieldname in ("runtimeType", "options"):
                continue  # not fields before Docker 24: never decoded, whatever their type
            if _is_null(v):
                # null empties a list or an object and leaves a string as it was.
                if fieldname == "options":
                    options = None
                    entry.binary = None
                elif fieldname == "runtimeArgs":
                    entry.args = None
            elif fieldname == "options":
                if isinstance(v, Mapping):
                    options = (options or set()) | {str(o.value) for o, _ in v.items}
                    entry.options = k
                    binary = v.get("BinaryName")
                    entry.binary = entry.binary if binary is None else binary
                    self.option_duplicates(name, v)
                else:
                    self.wrong_type(v, where, "an object", self.field("options", "options"))
                    entry.broken = True
            elif fieldname == "runtimeArgs":
                if isinstance(v, Sequence):
                    entry.args = (k, v)
                    where = f'an item of "{k.value}" in runtime "{name}"'
                    entry.broken |= self.check_arg_types(where, v)
                else:
                    self.wrong_type(
                        v, where, "an array of strings", self.field("runtimeArgs", "strings")
                    )
                    entry.broken = True
            elif not (isinstance(v, Scalar) and isinstance(v.value, str)):
                self.wrong_type(v, where, "a string", self.field(fieldname))
                entry.broken = True
            elif fieldname == "path":
                entry.path = (k, v)
            else:
                entry.runtime_type = (k, v)
        if not options:
            entry.options = None  # D3.5 and shimopts only look at a non-empty map
        return entry

    def check_arg_types(self, where: str, args: Sequence) -> bool:
        """Whether some item is not a string."""
        wrong = False
        for item in args.items:
            if not (_is_null(item) or (isinstance(item, Scalar) and isinstance(item.value, str))):
                self.wrong_type(item, where, "a string", self.field("runtimeArgs"))
                wrong = True
        return wrong

    def option_duplicates(self, name: str, options: Mapping) -> None:
        for key in options.duplicates():
            again = _again(key, options.items)
            self.report(
                key.span,
                "SP212",
                f'duplicate option "{key.value}" in runtime "{name}" (again {again}): '
                "only the last value is used; keep one",
            )

    def check_entry(self, entry: _Entry) -> None:
        self.entry_duplicates(entry)
        self.unknown_keys(entry)
        if entry.broken:
            return
        self.script_name(entry)
        if self.major < 24:
            self.before_docker_24(entry)
        else:
            self.runtime_settings(entry)
        self.path_checks(entry)

    def script_name(self, entry: _Entry) -> None:
        """SP222: up to Docker 24, a runtime with arguments gets a wrapper script written to
        <data-root>/gen-runtimes<N>/<name> (20.10 and 22.06 for any such runtime, 23 and 24
        for a path runtime), so a name that is not a plain file name stops dockerd."""
        if self.major > 24 or not entry.arg_items or (self.major >= 23 and not entry.path_value):
            return
        failure = _script_failure(entry.name)
        if failure is None:
            return
        self.report(
            entry.key.span,
            "SP222",
            f'runtime name "{entry.name}" is not a file name: dockerd writes a wrapper script '
            f"for a runtime with runtimeArgs to <data-root>/gen-runtimes<N>/<name>, so Docker "
            f'{self.ctx.docker} does not start ("failed to start daemon: {failure}"); '
            "give the runtime a plain name",
        )

    def entry_duplicates(self, entry: _Entry) -> None:
        for fieldname, keys in entry.occurrences.items():
            effect = (
                "dockerd merges the two objects"
                if fieldname == "options"
                else "the later one overrides this one"
            )
            for key, later in pairwise(keys):
                again = f"again {_where(key, later)}"
                if key.value != later.value:  # Go matches keys to fields ignoring case
                    again = f'again as "{later.value}" {_where(key, later)}, the same key to Docker'
                self.report(
                    key.span,
                    "SP212",
                    f'duplicate key "{key.value}" in runtime "{entry.name}" ({again}): {effect}; '
                    "keep one",
                )

    def unknown_keys(self, entry: _Entry) -> None:
        for key, value in entry.unknown:
            text = str(key.value)
            suggestion = _TYPOS.get(text.lower())
            if suggestion is None:
                import difflib  # only for a key that is misspelt

                close = difflib.get_close_matches(
                    text.lower(), [f.lower() for f in _FIELDS], 1, 0.6
                )
                suggestion = _FIELDS[close[0].upper()] if close else None
            hint = f'; did you mean "{suggestion}"?' if suggestion else ""
            # Removing a key Docker ignores changes nothing; renaming it makes Docker read it.
            fix = None
            if suggestion in entry.occurrences or _is_empty(value):
                fix = remove_member(self.source, key, value, f'"{text}"')
            elif suggestion:
                edit = rename(self.source, key.span, text, suggestion)
                fix = Fix("unsafe", f'rename to "{suggestion}"', (edit,)) if edit else None
            if suggestion in entry.occurrences:
                hint = f'; the entry sets "{suggestion}" already, so remove this key'
            known = "path, runtimeArgs, runtimeType and options"
            if _is_empty(value):
                self.report(
                    key.span,
                    "SP208",
                    f'unknown key "{text}" in runtime "{entry.name}": Docker ignores it (it is '
                    f"empty, so nothing is lost; a runtime entry takes {known}){hint}",
                    severity="info",
                    fix=fix,
                )
            else:
                self.report(
                    key.span,
                    "SP208",
                    f'unknown key "{text}" in runtime "{entry.name}": Docker ignores it, so this '
                    f"setting is silently dropped (a runtime entry takes {known}){hint}",
                    fix=fix,
                )

    def before_docker_24(self, entry: _Entry) -> None:
        """Docker 23 and older know only path and runtimeArgs (D3)."""
        version = self.ctx.docker
        for fieldname in ("runtimeType", "options"):
            for key in entry.occurrences.get(fieldname, ()):
                self.report(
                    key.span,
                    "SP214",
                    f'Docker {version} ignores "{key.value}" (runtimeType and options exist from '
                    f'Docker 24.0): runtime "{entry.name}" does not get this setting',
                )
        if not entry.path_value:
            self.report(
                entry.key.span,
                "SP203",
                f'runtime {entry.name}: no "path" configured; Docker {version} then runs this '
                "runtime with plain runc (the runc shim's default binary)",
                severity="warning",
            )

    def runtime_settings(self, entry: _Entry) -> None:
        if entry.runtime_type and entry.type_value:
            # D3.7: Docker hands runtimeType to containerd unchecked, as the administrator
            # wrote it, so the policy judges it in config context.
            self.ctx.check_name(
                self.source,
                entry.runtime_type[1].span,
                entry.type_value,
                "config",
                f"runtimes.{entry.name}.runtimeType",
            )
        binary = entry.binary
        value = binary.value if isinstance(binary, Scalar) else None
        if entry.type_value == _RUNC_OPTIONS_TYPE and isinstance(value, str) and value:
            # The runc shim's binary, judged as containerd's options.BinaryName is.
            what = f"runtimes.{entry.name}.options.BinaryName"
            assert binary is not None
            check_runc_binary(self.ctx, self.source, binary.span, value, what)
        problem = self.settings_problem(entry)
        if problem is not None:
            span, rule, message, related = problem
            self.report(span, rule, f"runtime {entry.name}: {message}", related=related)
        elif entry.runtime_type and entry.type_value == _RUNC_OPTIONS_TYPE and not entry.options:
            self.report(
                entry.runtime_type[1].span,
                "SP211",
                f'runtime "{entry.name}" uses {_RUNC_OPTIONS_TYPE} without "options": it does '
                "not get the options of Docker's stock runc runtime (SystemdCgroup follows the "
                "daemon's cgroup driver there), so its containers use runc's defaults; add "
                '"options" (for example {"SystemdCgroup": true}) if that matters',
            )

    @staticmethod
    def settings_problem(entry: _Entry) -> tuple[Span, str, str, Span | None] | None:
        """D3.3-D3.6 in dockerd's own order (it stops at the first): (where, rule, Docker's
        message with a hint, related place)."""
        path, runtime_type = entry.path if entry.path_value else None, entry.runtime_type
        if runtime_type and not entry.type_value:
            runtime_type = None
        if path is None and runtime_type is None:
            return (
                entry.key.span,
                "SP203",
                'either a runtimeType or a path must be configured (add "runtimeType" for a '
                'containerd shim, or "path" for a runc-compatible binary)',
                None,
            )
        if path is not None and runtime_type is not None:
            return (
                runtime_type[0].span,
                "SP204",
                "cannot configure both path and runtimeType for the same runtime (keep "
                '"runtimeType" for a containerd shim, "path" for a runc-compatible binary)',
                path[0].span,
            )
        if path is not None and entry.options is not None:
            return (
                entry.options.span,
                "SP205",
                "options cannot be used with a path runtime (options are for the shim a "
                '"runtimeType" names)',
                path[0].span,
            )
        if runtime_type is not None and entry.args and entry.arg_items:
            return (
                entry.args[0].span,
                "SP206",
                "args cannot be used with a runtimeType runtime (a shim takes its settings "
                'from "options")',
                runtime_type[0].span,
            )
        return None

    def path_checks(self, entry: _Entry) -> None:
        if entry.path is None or not entry.path_value or placeholder(entry.path_value):
            return
        node = entry.path[1]
        shim = _shim_name(entry.path_value, self.ctx.containerd, self.ctx.platform)
        if shim is not None:
            self.report(
                node.span,
                "SP207",
                f'path of runtime "{entry.name}" names a containerd shim ({shim[0]}), but "path" '
                "is a runc-compatible binary that Docker runs under its own runc shim; configure "
                f'the shim with "runtimeType": "{shim[1]}" instead',
            )
        else:
            # A runc-compatible binary, judged as containerd's options.BinaryName is; with
            # runtimeArgs dockerd's wrapper script runs it rather than the shim itself.
            what = f"runtimes.{entry.name}.path"
            executed = not entry.arg_items
            check_runc_binary(
                self.ctx, self.source, node.span, entry.path_value, what, executed=executed
            )
        if not entry.arg_items:
            return  # without arguments dockerd runs the path directly: no shell involved
        values = [("path", entry.path_value, node.span)]
        values += [
            ("runtimeArgs item", text, span) for text, span in _string_items(entry.arg_items)
        ]
        for what, text, span in values:
            special = _shell_special().search(text)
            if special is None or placeholder(text):
                continue
            self.report(
                span,
                "SP209",
                f'{what} {text!r} of runtime "{entry.name}" contains {_describe(special.group())}, '
                "which /bin/sh interprets: dockerd pastes path and runtimeArgs unquoted into a "
                "wrapper script (#!/bin/sh ... $@); use plain words only",
            )


def _script_failure(name: str) -> str | None:
    """What writing <data-root>/gen-runtimes<N>/<name> fails with (Go's filepath.Join
    cleans the joined path), or None when it is written."""
    folder = "/data-root/gen-runtimes<N>"
    script = posixpath.normpath(f"{folder}/{name}")
    shown = script.replace("/data-root", "<data-root>", 1)
    if script in (folder, "/data-root"):
        return f"open {shown}: is a directory"
    if script.startswith(folder + "/") and posixpath.dirname(script) != folder:
        return f"open {shown}: no such file or directory"
    return None


def _suggest(key: str, accepted: frozenset[str]) -> str:
    """A hint for a misspelt top-level key: keys are matched exactly, hyphens and all."""
    import difflib  # only for a key that is misspelt

    spelled = key.lower().replace("_", "-")
    if spelled in accepted:
        return f'; did you mean "{spelled}"?'
    close = difflib.get_close_matches(spelled, sorted(accepted), 1, 0.8)
    return f'; did you mean "{close[0]}"?' if close else ""


# --------------------------------------------------------------------------- settings


class DockerRuntime(NamedTuple):
    """One runtime a daemon.json configures, as dockerd decodes it (D3): a value and where
    it is written, for each setting that names a binary; None when not set."""

    name: str
    at: Location  # the runtime's key
    path: str | None = None
    path_at: Location | None = None
    runtime_type: str | None = None
    type_at: Location | None = None
    binary_name: str | None = None  # options.BinaryName: the runc shim's binary
    binary_at: Location | None = None
    wrapped: bool = False  # runtimeArgs given: dockerd runs path from a /bin/sh script


class DockerSettings(NamedTuple):
    """What a daemon.json says about runtimes (D2, D3)."""

    runtimes: tuple[DockerRuntime, ...] = ()
    default_runtime: str | None = None
    default_at: Location | None = None


def docker_settings(doc: Node | None, source: SourceFile, docker: str) -> DockerSettings:
    """The runtimes and the default runtime a daemon.json gives dockerd, decoded as the
    checks above decode them (the entries dockerd refuses to start with are left out: the
    linter reports them).  Docker before 24 knows neither runtimeType nor options."""
    if not isinstance(doc, Mapping):
        return DockerSettings()
    reader = _Reader(doc, source, docker_major(docker))
    found = []
    for name, (key, node) in reader.runtimes.items():
        entry = reader.decode_entry(name, key, node) if name != RESERVED else None
        if entry is None or entry.broken:
            continue
        modern = reader.major >= 24
        binary = entry.binary if modern else None
        found.append(
            DockerRuntime(
                name,
                location(source, key.span),
                entry.path_value or None,
                location(source, entry.path[1].span) if entry.path else None,
                (entry.type_value or None) if modern else None,
                location(source, entry.runtime_type[1].span)
                if entry.runtime_type and modern
                else None,
                _string(binary),
                location(source, binary.span) if binary is not None else None,
                bool(entry.arg_items),
            )
        )
    values = [v for k, v in doc.items if k.value == "default-runtime" and not _is_null(v)]
    default = values[-1] if values else None
    return DockerSettings(
        tuple(found),
        _string(default),
        location(source, default.span) if default is not None else None,
    )


class _Reader(_Checker):
    """The checker's decoding without its findings."""

    def __init__(self, doc: Mapping, source: SourceFile, major: int) -> None:
        self.doc, self.source, self.major = doc, source, major
        self.runtimes = _effective_runtimes(doc)

    def report(
        self,
        span: Span,
        rule: str,
        message: str,
        severity: str | None = None,
        related: Span | None = None,
        fix: Fix | None = None,
    ) -> None:
        return None


def _string(node: Node | None) -> str | None:
    return node.value if isinstance(node, Scalar) and isinstance(node.value, str) else None


def _again(key: Scalar, items: tuple[tuple[Scalar, Node], ...]) -> str:
    """Where ``key``'s name occurs next among ``items``."""
    later = [k for k, _ in items if k.value == key.value and k.span > key.span]
    return _where(key, later[0]) if later else ""


def _where(first: Scalar, later: Scalar) -> str:
    if later.span.line == first.span.line:
        return f"at column {later.span.column} of the same line"
    return f"on line {later.span.line}"


def _string_items(items: tuple[Node, ...]) -> Iterator[tuple[str, Span]]:
    for item in items:
        if isinstance(item, Scalar) and isinstance(item.value, str):
            yield item.value, item.span


def _shim_name(path: str, containerd: str, platform: str) -> tuple[str, str] | None:
    """(what it is, what to write as runtimeType) when a ``path`` value names a shim."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    if base.endswith(".exe"):
        base = base[:-4]
    if base.startswith("containerd-shim-"):
        pieces = base[len("containerd-shim-") :].rsplit("-", 1)
        if len(pieces) == 2 and all(pieces):
            return base, f"io.containerd.{pieces[0]}.{pieces[1]}"
        return base, path
    rn = parse(path, containerd, platform)
    if rn.kind == "shim" and "/" not in path and re.fullmatch(r"v[0-9]+", rn.version or ""):
        return f"the runtime name of {rn.binary}", path
    return None


def _is_empty(node: Node) -> bool:
    if isinstance(node, (Mapping, Sequence)):
        return not node.items
    return node.value in (None, "")


def _describe(char: str) -> str:
    names = {" ": "a space", "\t": "a tab", "\n": "a line break"}
    return names.get(char, f"whitespace (U+{ord(char):04X})" if char.isspace() else f"'{char}'")


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


TYPE = FileType("daemon.json", "Docker daemon.json", _load, _collect, _check, comment=None)
