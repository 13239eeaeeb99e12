"""Running the linter: walk, read, parse once, collect cross-file facts, check, filter."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from fnmatch import fnmatchcase

from .._lazy import LazyRegistry
from .._typing import TYPE_CHECKING, NamedTuple
from ..syntax import SyntaxProblem
from .context import Facts, LintContext
from .filetype import FileType, may_have_type, type_by_content, type_by_name
from .finding import Finding
from .source import DEFAULT_MAX_BYTES, ReadProblem, SourceFile, decode, read_text
from .suppress import apply_suppressions

if TYPE_CHECKING:
    from typing import Any, NoReturn

    from ..policy import Policy

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


DEFAULT_OPTIONS = LintOptions()


class LintResult(NamedTuple):
    files_checked: int
    findings: tuple[Finding, ...]


class _Loaded(NamedTuple):
    source: SourceFile
    kind: FileType
    doc: Any = None
    problem: Finding | None = None


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
    exclude = tuple(options.exclude) + tuple(policy.exclude)
    tops = [os.fspath(p) for p in paths] or ["."]
    outside: list[str] = []
    candidates = list(walk(tops, exclude, outside))
    named = set(tops)
    links = [f for p in outside if (f := _outside_link(p, options, p in named)) is not None]
    result = _lint_candidates(candidates, policy, options)
    if not links:
        return result
    found = [*result.findings, *_policy_filters(links, policy)]
    return LintResult(result.files_checked + len(links), tuple(sorted(found)))


def _lint_candidates(
    candidates: list[tuple[str, bool]], policy: Policy, options: LintOptions
) -> LintResult:
    # Every parsed tree lives until the run ends and none makes a reference cycle, so the
    # cyclic collector would only walk them again and again (a sixth of a large run) to
    # free nothing; reference counting still frees whatever is dropped.  A worker forked
    # meanwhile inherits the setting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if options.jobs > 1 and len(candidates) >= PARALLEL_MIN_FILES and _can_fork():
            return _run_parallel(candidates, policy, options)
        types = file_types()
        loaded = [
            item
            for path, named in candidates
            if (item := _load_path(path, named, types, options)) is not None
        ]
        return _run(loaded, policy, options)
    finally:
        if collecting:  # (a concurrent run may have found it off: that one leaves it be)
            gc.enable()


def lint_text(
    text: str, filename: str, policy: Policy, options: LintOptions = DEFAULT_OPTIONS
) -> LintResult:
    """Lint one document given as text (stdin, tests, the library)."""
    types = file_types()
    kind = options.file_type or type_by_name(filename) or type_by_content(filename, text)
    if kind is None:  # given to be linted: an error, never a silent pass
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
            if not named:
                return None
            return _Loaded(
                SourceFile.of(shown, text, "unknown"), _UNKNOWN, problem=unknown_type(shown)
            )
    return _parse(SourceFile.of(shown, text, kind), types[kind])


def _parse(source: SourceFile, kind: FileType) -> _Loaded:
    try:
        return _Loaded(source, kind, kind.load(source))
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


def _run(loaded: list[_Loaded], policy: Policy, options: LintOptions) -> LintResult:
    facts = _collect(loaded)
    findings = [f for item in loaded for f in _check(item, policy, options, facts)]
    return _finish(len(loaded), findings, policy)


def _collect(loaded: Sequence[_Loaded]) -> Facts:
    facts = Facts()
    for item in loaded:
        if item.problem is None:
            item.kind.collect(item.doc, item.source, facts)
    return facts


def _check(item: _Loaded, policy: Policy, options: LintOptions, facts: Facts) -> list[Finding]:
    if item.problem is not None:
        return [item.problem]
    ctx = LintContext(policy, facts)
    item.kind.check(item.doc, item.source, ctx)
    found = ctx.findings
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


# Parallel runs: ``jobs`` processes, this one and a forked worker for each other.  The
# files are cut into contiguous chunks, several per process, and each process takes the
# next chunk not yet taken whenever it is free, so that a slow part of the tree is shared
# out whatever the tree's layout.  A process parses its chunks once and keeps the trees,
# and collects each chunk's cross-file facts as a serial run would.  Every process is then
# given the others' facts, still serialised, merges all of them in file order (so the
# result is the same as a serial run's) and checks its own files.  One set of facts per
# chunk rather than per file keeps what crosses the pipes small.  Workers are forked, so
# the policy (compiled matchers and all) and the chunks are inherited, not pickled.
#
# Plain os.fork and pipes, not multiprocessing: importing it and its shared counter's
# ctypes takes 15 ms, a tenth of a large run.  The chunks not yet taken are their numbers,
# one byte each, written to a pipe before any process starts: a one-byte read is atomic,
# so every chunk goes to exactly one process, with no lock.  Everything else crosses a
# pipe as a length-prefixed pickle.
PARALLEL_MIN_FILES = 64
CHUNKS_PER_JOB = 16
MAX_CHUNKS = 256  # chunk numbers are one byte

_Chunk = list[tuple[str, bool]]  # (path, named) in file order
_ChunkFacts = list[tuple[int, Facts]]  # (chunk index, the chunk's facts)


def _can_fork() -> bool:
    return hasattr(os, "fork")


def _run_parallel(
    candidates: list[tuple[str, bool]], policy: Policy, options: LintOptions
) -> LintResult:
    import pickle

    jobs = min(options.jobs, len(candidates))
    count = min(jobs * CHUNKS_PER_JOB, MAX_CHUNKS)
    size = -(-len(candidates) // count)  # rounded up
    chunks = [candidates[i : i + size] for i in range(0, len(candidates), size)]
    queue, fill = os.pipe()
    _write_all(fill, bytes(range(len(chunks))))
    os.close(fill)  # so that an empty queue reads as its end
    workers: list[tuple[int, int, int]] = []  # (pid, results from it, facts to it)
    try:
        for _ in range(jobs - 1):
            results_r, results_w = os.pipe()
            facts_r, facts_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                # Only this worker's own ends stay open here, so that a pipe whose worker
                # has died reads as ended, not as a worker still to answer.
                for fd in (results_r, facts_w, *(fd for w in workers for fd in w[1:])):
                    os.close(fd)
                _worker(results_w, facts_r, chunks, queue, policy, options)
            os.close(results_w)
            os.close(facts_r)
            workers.append((pid, results_r, facts_w))
        loaded, facts = _load_chunks(chunks, queue, options)
        collected = [pickle.dumps(facts), *(_receive(results) for _, results, _ in workers)]
        for n, (_, _, to_worker) in enumerate(workers, start=1):
            _send(to_worker, pickle.dumps([b for v, b in enumerate(collected) if v != n]))
        findings = _check_chunks(loaded, facts, collected[1:], policy, options)
        files = len(loaded)
        for _, results, _ in workers:
            done, found = pickle.loads(_receive(results))
            files += done
            findings.extend(found)
        return _finish(files, findings, policy)
    except BaseException:
        import signal
        from contextlib import suppress

        for pid, _, _ in workers:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        raise
    finally:
        os.close(queue)
        for pid, results, to_worker in workers:
            os.close(results)
            os.close(to_worker)
            os.waitpid(pid, 0)


def _worker(
    results: int,
    others: int,
    chunks: list[_Chunk],
    queue: int,
    policy: Policy,
    options: LintOptions,
) -> NoReturn:
    """A forked worker's whole life.  It never returns into the parent's code: it ends the
    process, at once (freeing every parsed tree object by object would take as long as a
    tenth of the run, while the parent waits to reap it)."""
    import pickle

    status = 1
    try:
        loaded, facts = _load_chunks(chunks, queue, options)
        _send(results, pickle.dumps(facts))
        blobs: list[bytes] = pickle.loads(_receive(others))
        found = _check_chunks(loaded, facts, blobs, policy, options)
        _send(results, pickle.dumps((len(loaded), found)))
        status = 0
    except KeyboardInterrupt:
        pass  # the parent has it too, and reports it
    except BaseException:
        import traceback

        traceback.print_exc()  # the parent only sees this worker end without an answer
    finally:
        os._exit(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _send(fd: int, data: bytes) -> None:
    try:
        _write_all(fd, len(data).to_bytes(8, "big") + data)
    except BrokenPipeError:  # not the CLI's own output closed early: an error, not a pass
        raise RuntimeError("a lint process ended before it was sent all it needed") from None


def _receive(fd: int) -> bytes:
    return _read_exactly(fd, int.from_bytes(_read_exactly(fd, 8), "big"))


def _read_exactly(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            raise RuntimeError("a lint worker process ended without its results")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _load_chunks(
    chunks: list[_Chunk], queue: int, options: LintOptions
) -> tuple[list[_Loaded], _ChunkFacts]:
    """Parse the next chunk not yet taken by any process, until none is left."""
    types = file_types()
    loaded: list[_Loaded] = []
    facts: _ChunkFacts = []
    while token := os.read(queue, 1):
        index = token[0]
        items = [
            item
            for path, named in chunks[index]
            if (item := _load_path(path, named, types, options)) is not None
        ]
        loaded.extend(items)
        facts.append((index, _collect(items)))
    return loaded, facts


def _check_chunks(
    loaded: list[_Loaded],
    facts: _ChunkFacts,
    others: list[bytes],
    policy: Policy,
    options: LintOptions,
) -> list[Finding]:
    """Check one process's files with the facts of every chunk: its own, and the other
    processes' (as they were sent, serialised), merged in file order."""
    import pickle

    parts = list(facts)
    for blob in others:
        parts.extend(pickle.loads(blob))
    merged = Facts()
    for _, part in sorted(parts, key=lambda x: x[0]):
        merged.merge(part)
    return [f for item in loaded for f in _check(item, policy, options, merged)]


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
            f = Finding(
                f.path,
                f.line,
                f.column,
                f.end_line,
                f.end_column,
                f.rule,
                severity,
                f.message,
                f.related,
            )
        out.append(f)
    return out


def _no_load(source: SourceFile) -> None:
    return None


def _no_collect(doc: object, source: SourceFile, facts: Facts) -> None:
    return None


def _no_check(doc: object, source: SourceFile, ctx: LintContext) -> None:
    return None


_UNKNOWN = FileType("unknown", "file", _no_load, _no_collect, _no_check, None)
