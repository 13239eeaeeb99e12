"""Parallel lint runs (``lint -j N``): the fork-and-pipe runner.

``jobs`` processes, this one and a forked worker for each other.  The files are cut into
contiguous chunks, several per process, and each process takes the next chunk not yet
taken whenever it is free, so that a slow part of the tree is shared out whatever the
tree's layout.  A process loads its chunks once (``load``: parse the chunk's files and
collect their cross-file facts, as a serial run would) and keeps what it loaded.  Every
process is then given the others' facts, still serialised, merges all of them in file
order (so the result is the same as a serial run's) and checks its own files (``check``).
One set of facts per chunk rather than per file keeps what crosses the pipes small.
Workers are forked, so what ``load`` and ``check`` use (the policy with its compiled
matchers, the options) is inherited, not pickled.

The engine hands in ``load`` and ``check``; this module knows nothing of file types.

Plain ``os.fork`` and pipes, not ``multiprocessing``: importing it and its shared counter's
``ctypes`` costs a tenth of a large run (``bench/run.py``, bulk lint with ``-j``).  The
chunks not yet taken are their numbers, one byte each, written to a pipe before any
process starts: a one-byte read is atomic, so every chunk goes to exactly one process,
with no lock.  Everything else crosses a pipe as a length-prefixed pickle.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from .._typing import TYPE_CHECKING
from .facts import Facts
from .finding import Finding

if TYPE_CHECKING:
    from typing import NoReturn, TypeVar

    Item = TypeVar("Item")  # what ``load`` makes of one file
    Candidate = TypeVar("Candidate")  # one file to load: the engine's (path, named)

# Smaller runs are not worth a fork: they are linted serially.
PARALLEL_MIN_FILES = 64
CHUNKS_PER_JOB = 16
MAX_CHUNKS = 256  # chunk numbers are one byte


def can_fork() -> bool:
    return hasattr(os, "fork")


def run_parallel(
    candidates: Sequence[Candidate],
    jobs: int,
    load: Callable[[Sequence[Candidate]], tuple[list[Item], Facts]],
    check: Callable[[Sequence[Item], Facts], list[Finding]],
) -> tuple[int, list[Finding]]:
    """The number of files loaded and every finding, over ``jobs`` processes: ``load``
    parses a chunk of files and collects their facts, ``check`` checks what was loaded
    with the facts of the whole run."""
    import pickle

    jobs = min(jobs, len(candidates))
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
                _worker(results_w, facts_r, chunks, queue, load, check)
            os.close(results_w)
            os.close(facts_r)
            workers.append((pid, results_r, facts_w))
        loaded, facts = _load_chunks(chunks, queue, load)
        collected = [pickle.dumps(facts), *(_receive(results) for _, results, _ in workers)]
        for n, (_, _, to_worker) in enumerate(workers, start=1):
            _send(to_worker, pickle.dumps([b for v, b in enumerate(collected) if v != n]))
        findings = check(loaded, _merged(facts, collected[1:]))
        files = len(loaded)
        for _, results, _ in workers:
            done, found = pickle.loads(_receive(results))
            files += done
            findings.extend(found)
        return files, findings
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
    chunks: list[Sequence[Candidate]],
    queue: int,
    load: Callable[[Sequence[Candidate]], tuple[list[Item], Facts]],
    check: Callable[[Sequence[Item], Facts], list[Finding]],
) -> NoReturn:
    """A forked worker's whole life.  It never returns into the parent's code: it ends the
    process, at once (freeing every parsed tree object by object would take as long as a
    tenth of the run, while the parent waits to reap it: ``bench/run.py``, -j rows)."""
    import pickle

    status = 1
    try:
        loaded, facts = _load_chunks(chunks, queue, load)
        _send(results, pickle.dumps(facts))
        blobs: list[bytes] = pickle.loads(_receive(others))
        found = check(loaded, _merged(facts, blobs))
        _send(results, pickle.dumps((len(loaded), found)))
        status = 0
    except KeyboardInterrupt:
        pass  # the parent has it too, and reports it
    except BaseException:
        import traceback

        traceback.print_exc()  # the parent only sees this worker end without an answer
    finally:
        os._exit(status)


def _load_chunks(
    chunks: list[Sequence[Candidate]],
    queue: int,
    load: Callable[[Sequence[Candidate]], tuple[list[Item], Facts]],
) -> tuple[list[Item], list[tuple[int, Facts]]]:
    """Load the next chunk not yet taken by any process, until none is left: what was
    loaded, and each chunk's facts with the chunk's number."""
    loaded: list[Item] = []
    facts: list[tuple[int, Facts]] = []
    while token := os.read(queue, 1):
        index = token[0]
        items, found = load(chunks[index])
        loaded.extend(items)
        facts.append((index, found))
    return loaded, facts


def _merged(own: list[tuple[int, Facts]], others: list[bytes]) -> Facts:
    """The facts of every chunk, this process's own and the other processes' (as they
    were sent, serialised), merged in file order."""
    import pickle

    parts = list(own)
    for blob in others:
        parts.extend(pickle.loads(blob))
    merged = Facts()
    for _, part in sorted(parts, key=lambda x: x[0]):
        merged.merge(part)
    return merged


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
