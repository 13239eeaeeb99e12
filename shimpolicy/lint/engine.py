"""Running the linter: walk, read, parse once, collect cross-file facts, check, filter."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from fnmatch import fnmatchcase

from .._lazy import LazyRegistry
from .._typing import TYPE_CHECKING, NamedTuple
from ..syntax import SyntaxProblem
from .context import LintContext
from .facts import Facts
from .filetype import FileType, may_have_type, type_by_content, type_by_name
from .finding import Finding, Location
from .parallel import PARALLEL_MIN_FILES, can_fork, run_parallel
from .rulebook import default_severity
from .source import DEFAULT_MAX_BYTES, ReadProblem, SourceFile, decode, read_text
from .suppress import apply_suppressions

if TYPE_CHECKING:
    from typing import Any

    from ..policy import Policy
    from .embedded import Embedded

# Directories never walked into: version control, dependencies, vendored trees, caches.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "vendor",
        "third_party",
        ".venv",
        "venv",
        ".tox",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".terraform",
    }
)


class LintOptions(NamedTuple):
    exclude: tuple[str, ...] = ()
    file_type: str | None = None  # --type: force one type for every file
    inline_ignores: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    jobs: int = 1  # worker processes for lint_paths
    # Pass over a named file whose type cannot be told, as a walk does (SP006 otherwise):
    # for hooks that hand over every file whose name might be configuration.
    skip_unknown: bool = False


DEFAULT_OPTIONS = LintOptions()


class LintResult(NamedTuple):
    files_checked: int
    findings: tuple[Finding, ...]


class _Loaded(NamedTuple):
    source: SourceFile
    kind: FileType
    doc: Any = None
    problem: Finding | None = None
    inner: tuple[_Inner, ...] = ()  # the configuration files this one writes


class _Inner(NamedTuple):
    """A file another one writes (lint/embedded.py): read as a file of its own, named
    ``<carrier>:<line>``; ``carrier`` is the carrier's path."""

    item: _Loaded
    embedded: Embedded
    carrier: str

    def move(self, loc: Location) -> Location:
        """A location in the embedded file as a location in the carrier."""
        if loc.path != self.item.source.path:
            return loc
        span = self.embedded.where.span(loc.span)
        return Location(self.carrier, *span, loc.message)

    def finding(self, f: Finding) -> Finding:
        """A finding of the embedded file as one of the carrier.  Its fix, if any, is not
        kept: text written inside a here-document or a YAML string is escaped as the
        carrier escapes it, which an edit of the embedded text does not know."""
        related = tuple(self.move(r) for r in f.related)
        if f.path != self.item.source.path:
            return f._replace(related=related)
        at = self.move(Location(f.path, f.line, f.column, f.end_line, f.end_column))
        return Finding(at.path, *at.span, f.rule, f.severity, f.message, related)


# Checks by file type, imported when a file of that type is first met: linting one
# Compose file never pays for the TOML or shell readers.
_TYPES: LazyRegistry[FileType] = LazyRegistry(
    __package__,
    {
        "daemon.json": "daemon_json",
        "compose": "compose",
        "containerd": "containerd",
        "kubernetes": "kubernetes",
        "shell": "shell",
        "systemd": "systemd",
        "workflow": "workflow",
        "cloud-init": "cloud_init",
    },
    "TYPE",
)


def file_types() -> dict[str, FileType]:
    return _TYPES


def _excluded(path: str, patterns: Sequence[str]) -> bool:
    p = path.replace("\\", "/").removeprefix("./")
    base = p.rsplit("/", 1)[-1]
    return any(
        fnmatchcase(p, g) or fnmatchcase(base, g) or fnmatchcase(p, g.rstrip("/") + "/*")
        for g in patterns
    )


def walk(
    paths: Iterable[str], exclude: Sequence[str], outside: list[str] | None = None
) -> Iterator[tuple[str, bool]]:
    """(path, named) for every candidate file; ``named`` when given on the command line.
    Symbolic links to directories are not followed (no loops); only names are listed here.

    With ``outside``, a symbolic link to a file outside the linted roots (the directories
    given, and the working directory for files given by name) is put there instead: a tree
    must not make the linter read, and echo, a file it does not hold."""
    paths = list(paths)
    roots = _roots(paths) if outside is not None else ()
    for top in paths:
        if os.path.isdir(top):
            stack = [top]
            while stack:
                d = stack.pop()
                try:
                    entries = sorted(os.scandir(d), key=lambda e: e.name)
                except OSError:
                    continue
                subdirs = []
                for e in entries:
                    if exclude and _excluded(_display(e.path), exclude):
                        continue
                    try:
                        if e.is_dir(follow_symlinks=False):
                            if e.name not in SKIP_DIRS:
                                subdirs.append(e.path)
                        elif e.is_file():  # a link to a regular file is read; FIFOs never
                            if outside is not None and e.is_symlink() and _leaves(e.path, roots):
                                outside.append(e.path)
                            else:
                                yield e.path, False
                    except OSError:
                        continue
                stack.extend(reversed(subdirs))
        elif not _excluded(_display(top), exclude):
            if outside is not None and os.path.islink(top) and _leaves(top, roots):
                outside.append(top)
            else:
                yield top, True


def _roots(paths: list[str]) -> tuple[str, ...]:
    """The real directories a run may read files from."""
    roots = {os.path.realpath(p) for p in paths if os.path.isdir(p)}
    if any(not os.path.isdir(p) for p in paths):
        roots.add(os.path.realpath("."))
    return tuple(roots)


def _leaves(link: str, roots: tuple[str, ...]) -> bool:
    """Whether a symbolic link leads to a file outside every root."""
    target = os.path.realpath(link)
    return not any(target == r or target.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _outside_link(path: str, options: LintOptions, named: bool) -> Finding | None:
    """SP002 for a symbolic link that leads outside the linted roots: never read, so none of
    what it leads to can reach any report."""
    if not (named or options.file_type or type_by_name(path) or may_have_type(path)):
        return None
    message = (
        "not read: a symbolic link to a file outside the linted paths (what a tree links to "
        "elsewhere is not its own configuration); lint the file where it lives"
    )
    return Finding(_display(path), 1, 1, 1, 1, "SP002", "warning", message)


def _display(path: str) -> str:
    p = path.replace(os.sep, "/")
    return p[2:] if p.startswith("./") else p


def lint_paths(
    paths: Sequence[str | os.PathLike[str]], policy: Policy, options: LintOptions = DEFAULT_OPTIONS
) -> LintResult:
    """Lint the files and directory trees ``paths`` (the working directory when empty)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        # A string is a sequence too: taken as one, "/srv" would be the paths "/", "s", …
        kind = type(paths).__name__
        raise TypeError(
            f"lint_paths takes a list of paths, not a {kind}: write lint_paths([path], policy)"
        )
    tops = [os.fspath(p) for p in paths]
    outside: list[str] = []
    candidates = _candidates(tops, policy, options, outside)
    # Links that lead outside the linted paths: reported, never read.
    links = [f for p in outside if (f := _outside_link(p, options, p in tops)) is not None]
    if options.jobs > 1 and len(candidates) >= PARALLEL_MIN_FILES and can_fork():

        def load(chunk: Sequence[tuple[str, bool]]) -> tuple[list[_Loaded], Facts]:
            items = _load_all(chunk, options)
            return items, _collect(items)

        def check(items: Sequence[_Loaded], facts: Facts) -> list[Finding]:
            return _check_all(items, facts, policy, options)

        files, findings = run_parallel(candidates, options.jobs, load, check)
        return _finish(files + len(links), findings + links, policy)
    loaded = _load_all(candidates, options)
    findings = _check_all(loaded, _collect(loaded), policy, options)
    return _finish(len(loaded) + len(links), findings + links, policy)


def collect_facts(
    paths: Sequence[str], policy: Policy, options: LintOptions = DEFAULT_OPTIONS
) -> Facts:
    """What the files under ``paths``, read as ``lint_paths`` reads them, say across
    files (``shimpolicy graph``), without checking them."""
    return _collect(_load_all(_candidates(paths, policy, options), options))


def _candidates(
    paths: Sequence[str], policy: Policy, options: LintOptions, outside: list[str] | None = None
) -> list[tuple[str, bool]]:
    """The files to read; links that lead outside the paths go to ``outside`` (never read,
    whether or not the caller reports them)."""
    exclude = tuple(options.exclude) + tuple(policy.exclude)
    return list(walk(paths or ["."], exclude, [] if outside is None else outside))


def _load_all(candidates: Iterable[tuple[str, bool]], options: LintOptions) -> list[_Loaded]:
    types = file_types()
    return [
        item
        for path, named in candidates
        if (item := _load_path(path, named, types, options)) is not None
    ]


def lint_text(
    text: str, filename: str, policy: Policy, options: LintOptions = DEFAULT_OPTIONS
) -> LintResult:
    """Lint one document given as text (stdin, tests, the library)."""
    types = file_types()
    kind = options.file_type or type_by_name(filename) or type_by_content(filename, text)
    if kind is None:  # given to be linted: an error, never a silent pass
        if options.skip_unknown:
            return LintResult(0, ())
        return LintResult(1, (unknown_type(_display(filename)),))
    item = _parse(SourceFile.of(_display(filename), text, kind), types[kind])
    return _run([item], policy, options)


UNKNOWN_TYPE = (
    "cannot tell this file's type from its name or content; give it with --type "
    "(daemon.json, compose, containerd, kubernetes, shell, workflow)"
)


def unknown_type(path: str) -> Finding:
    """SP006: a file given by name (or on stdin) whose type cannot be told.  A walked file
    of no known type is passed over: a tree holds many files that are not configuration."""
    return Finding(path, 1, 1, 1, 1, "SP006", "error", UNKNOWN_TYPE)


def lint_bytes(
    data: bytes, filename: str, policy: Policy, options: LintOptions = DEFAULT_OPTIONS
) -> LintResult:
    """Lint one document given as bytes (stdin): the same checks as a file on disk."""
    try:
        if len(data) > options.max_bytes:
            limit = options.max_bytes
            raise ReadProblem(f"input is larger than the {limit}-byte limit; not read")
        text = decode(data)
    except ReadProblem as e:
        path = _display(filename)
        return LintResult(
            1, (Finding(path, e.line, e.column, e.line, e.column, "SP001", "error", e.message),)
        )
    return lint_text(text, filename, policy, options)


def load_source(source: SourceFile) -> tuple[Any, Finding | None]:
    """Parse a file read elsewhere (``shimpolicy doctor`` reads a node's files itself):
    its tree, or the finding that says why it cannot be parsed."""
    item = _parse(source, file_types()[source.type])
    return item.doc, item.problem


def finish(files: int, findings: list[Finding], policy: Policy) -> LintResult:
    """A run's result from its findings: the policy's severities and ignores applied,
    sorted."""
    return _finish(files, findings, policy)


def _load_path(
    path: str, named: bool, types: dict[str, FileType], options: LintOptions
) -> _Loaded | None:
    shown = _display(path)
    kind = options.file_type or type_by_name(path)
    if kind is None and not (named or may_have_type(path)):
        return None
    try:
        text = read_text(path, options.max_bytes)
    except ReadProblem as e:
        if kind is None and not named:
            return None
        source = SourceFile.of(shown, "", kind or "unknown")
        return _Loaded(
            source,
            types.get(kind or "", _UNKNOWN),
            problem=Finding(shown, e.line, e.column, e.line, e.column, "SP001", "error", e.message),
        )
    if kind is None:
        kind = type_by_content(path, text)
        if kind is None:
            if not named or options.skip_unknown:
                return None
            return _Loaded(
                SourceFile.of(shown, text, "unknown"), _UNKNOWN, problem=unknown_type(shown)
            )
    return _parse(SourceFile.of(shown, text, kind), types[kind])


def _parse(source: SourceFile, kind: FileType, carrier: bool = True) -> _Loaded:
    """The file read; ``carrier``: with the files it writes (one level: an embedded file's
    own embedded files are not read)."""
    try:
        doc = kind.load(source)
        if carrier and kind.embedded is not None:
            return _Loaded(source, kind, doc, inner=_embedded(kind.embedded(doc, source), source))
        return _Loaded(source, kind, doc)
    except SyntaxProblem as e:
        f = Finding(
            source.path,
            e.line,
            e.column,
            e.line,
            e.column,
            "SP001",
            "error",
            f"cannot parse {kind.description}: {e.message}",
        )
        return _Loaded(source, kind, problem=f)
    except RecursionError:
        f = Finding(
            source.path,
            1,
            1,
            1,
            1,
            "SP001",
            "error",
            f"cannot parse {kind.description}: nesting too deep",
        )
        return _Loaded(source, kind, problem=f)


def _embedded(found: Sequence[Embedded], carrier: SourceFile) -> tuple[_Inner, ...]:
    if not found:
        return ()
    from .embedded import placeholder_note

    types = file_types()
    out = []
    for e in found:
        line = e.where.starts[0][0] if e.where.starts else e.at.line
        source = SourceFile.of(f"{carrier.path}:{line}", e.text, e.type)._replace(
            node_path=e.target
        )
        kind = types[e.type]
        note = e.note
        item = _Loaded(source, kind) if note else _parse(source, kind, carrier=False)
        if item.problem is not None and item.problem.rule == "SP001" and e.placeholders:
            note = placeholder_note(e, kind.description)
        if note:
            at = e.at
            info = Finding(carrier.path, *at, "SP003", default_severity("SP003"), note)
            item = item._replace(problem=info)
        out.append(_Inner(item, e, carrier.path))
    return tuple(out)


def _run(loaded: list[_Loaded], policy: Policy, options: LintOptions) -> LintResult:
    findings = _check_all(loaded, _collect(loaded), policy, options)
    return _finish(len(loaded), findings, policy)


def _collect(loaded: Sequence[_Loaded]) -> Facts:
    facts = Facts()
    for item in loaded:
        if item.problem is None:
            item.kind.collect(item.doc, item.source, facts)
        for inner in item.inner:
            if inner.item.problem is None:
                from .embedded import relocate

                own = Facts()
                inner.item.kind.collect(inner.item.doc, inner.item.source, own)
                for name in Facts.COLLECTED:
                    setattr(own, name, relocate(getattr(own, name), inner.move))
                facts.merge(own)
    return facts


def _check_all(
    items: Sequence[_Loaded], facts: Facts, policy: Policy, options: LintOptions
) -> list[Finding]:
    return [f for item in items for f in _check(item, policy, options, facts)]


def _check(item: _Loaded, policy: Policy, options: LintOptions, facts: Facts) -> list[Finding]:
    if item.problem is not None:
        return [item.problem]
    ctx = LintContext(policy, facts)
    item.kind.check(item.doc, item.source, ctx)
    found = ctx.findings
    for inner in item.inner:
        if inner.item.problem is not None:
            found.append(inner.finding(inner.item.problem))
            continue
        own = LintContext(policy, facts)
        inner.item.kind.check(inner.item.doc, inner.item.source, own)
        found.extend(inner.finding(f) for f in own.findings)
    # The carrier's suppressions cover the lines of the files it writes.
    if options.inline_ignores:
        found, problems = apply_suppressions(item.source, item.kind.comment, found)
        for span, rule, message in problems:
            ctx.findings = []
            ctx.report(item.source, span, rule, message)
            found.extend(ctx.findings)
    return found


def _finish(files: int, findings: list[Finding], policy: Policy) -> LintResult:
    findings = _policy_filters(findings, policy)
    findings.sort()
    return LintResult(files, tuple(findings))


def _policy_filters(findings: list[Finding], policy: Policy) -> list[Finding]:
    """Per-rule severities and per-path ignores from the policy file."""
    out = []
    for f in findings:
        if any(f.rule in ig.rules and _excluded(f.path, ig.paths) for ig in policy.ignore):
            continue
        severity = policy.severity.get(f.rule)
        if severity == "off":
            continue
        if severity is not None and severity != f.severity:
            f = f._replace(severity=severity)
        out.append(f)
    return out


def _no_load(source: SourceFile) -> None:
    return None


def _no_collect(doc: object, source: SourceFile, facts: Facts) -> None:
    return None


def _no_check(doc: object, source: SourceFile, ctx: LintContext) -> None:
    return None


_UNKNOWN = FileType("unknown", "file", _no_load, _no_collect, _no_check, None)
