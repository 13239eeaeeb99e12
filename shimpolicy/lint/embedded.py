"""Configuration files written by other files: the daemon.json a provisioning script writes
with ``cat > /etc/docker/daemon.json <<EOF``, the config.toml a workflow step pipes into
``sudo tee``, a cloud-init ``write_files`` entry, a ConfigMap's ``config.toml`` key.

The carrier's file type finds them (``FileType.embedded``); the engine reads each one with
the reader of its own type and checks it with that type's checks, as a file of its own
named ``<carrier>:<line>`` (the carrier's directory, so it belongs to the carrier's tree
for cross-file facts), and places every finding, and every location its facts record,
where the text is written in the carrier.

The type comes from the path the file is written to, as for a file on disk
(lint/filetype.py), with two additions for node paths: a ``.toml`` file under a
``containerd`` directory (``/etc/containerd/config.toml``, ``/etc/containerd/conf.d/*.toml``)
is a containerd config whatever it holds, and a file no name decides is told by its
content.  Shell scripts, units and workflows written this way are not read.

What cannot be read as the whole file is reported once, as information (SP003): text
appended to a file the carrier does not write itself (``>>``, ``tee -a``, cloud-init
``append: true``), text the shell builds at run time (``$(...)``, another command's output
through ``|``), and text with placeholders (``$VAR`` in an unquoted here-document,
``{{ ... }}``) that its reader cannot parse until they are filled in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._typing import NamedTuple
from ..syntax import Span
from ..syntax.shell import FileWrite, find_file_writes
from .facts import placeholder
from .filetype import type_by_content, type_by_name
from .finding import Location
from .workflow import Point, ScriptText

# The types a carrier may hold.
EMBEDDED_TYPES = frozenset({"daemon.json", "compose", "containerd", "kubernetes", "systemd"})


class Embedded(NamedTuple):
    """One file another file writes: where to, its text, and where each character of the
    text is written in the carrier."""

    target: str  # the path written to, as written (expansions kept)
    type: str  # the file type (EMBEDDED_TYPES)
    text: str
    where: ScriptText
    at: Span  # the path as written in the carrier
    placeholders: bool = False  # holds values filled in later ($VAR, {{ … }})
    note: str = ""  # when set, the text is not checked: this says why (SP003)


def embedded_type(target: str, text: str | None) -> str | None:
    """The type of a file written to ``target`` (None: not one of EMBEDDED_TYPES);
    ``text``: what is written, when known."""
    path = target.replace("\\", "/")
    kind = type_by_name(path)
    if kind is not None:
        return kind if kind in EMBEDDED_TYPES else None
    directories = path.split("/")[:-1]
    if path.endswith(".toml") and "containerd" in directories:
        return "containerd"
    if text is None:
        return None
    kind = type_by_content(path, text)
    return kind if kind in EMBEDDED_TYPES else None


def mapped(text: str, starts: Sequence[Point], ends: Sequence[Point], origin: Point) -> ScriptText:
    return ScriptText(text, tuple(starts), tuple(ends), origin)


def whole_value(text: str, at: Span) -> ScriptText:
    """A map for text that is not written character by character (base64, compressed):
    every position is the value as a whole."""
    start, end = (at.line, at.column), (at.end_line, at.end_column)
    return ScriptText(text, (start,) * len(text), (end,) * len(text), start)


def through(outer: ScriptText | None, point: Point) -> Point:
    """A point of text cut from a larger value (a script in a workflow step) as a point of
    the file."""
    return point if outer is None else outer.point(*point)


# What a file name with a type ends with (lint/filetype.py), as a quick test for text
# that names none: most scripts are then read no further.
_TYPED_ENDINGS = (".json", ".toml", ".yaml", ".yml", ".service", ".conf")


def may_write_config(script: str) -> bool:
    return any(ending in script for ending in _TYPED_ENDINGS)


def shell_files(script: str, outer: ScriptText | None = None) -> list[Embedded]:
    """The configuration files a shell script writes (``outer``: where the script is
    written, when it is a value in another file).

    A write that replaces a file starts it; appends to the same path (as written) that
    follow are part of it, so ``cat > f <<EOF`` then ``cat >> f <<EOF`` is checked as one
    file.  Appends with no such start are noted, as are writes whose text the script does
    not spell out."""
    if not may_write_config(script):
        return []
    files: list[list[FileWrite]] = []
    current: dict[str, list[FileWrite]] = {}
    for write in find_file_writes(script):
        if write.append and write.target.value in current:
            current[write.target.value].append(write)
            continue
        pieces = [write]
        current[write.target.value] = pieces
        files.append(pieces)
    out: list[Embedded] = []
    for pieces in files:
        first = pieces[0]
        target = first.target.value
        span = first.target.span
        at = Span(*through(outer, span[:2]), *through(outer, span[2:]))
        known = all(p.text is not None for p in pieces)
        text = "".join(p.text or "" for p in pieces)
        kind = embedded_type(target, text if known else None)
        if kind is None:
            continue
        starts = [through(outer, s) for p in pieces for s in p.starts]
        ends = [through(outer, e) for p in pieces for e in p.ends]
        where = mapped(text, starts, ends, starts[0] if starts else at[:2])
        note = ""
        if first.append:
            note = (
                f"{target} is appended to (`{first.command}`): the file's earlier content "
                "is not known here, so what it holds cannot be checked"
            )
        elif not known:
            how = "a command's output" if first.command == "tee" else f"`{first.command}`"
            note = (
                f"{target} is written from {how}, not spelled out here: what it holds "
                "cannot be checked"
            )
        elif any(p.substituted for p in pieces):
            note = (
                f"{target} is written with command substitutions ($(...) or backticks) "
                "the shell runs first: what it holds cannot be checked here"
            )
        # $VAR the shell fills in, or a template's placeholder ({{ .x }}, <NAME>).
        holds = any(p.expanded for p in pieces) or placeholder(text) is not None
        out.append(Embedded(target, kind, text, where, at, holds, note))
    return out


def placeholder_note(embedded: Embedded, description: str) -> str:
    """SP003's message for an embedded file with placeholders its reader cannot parse
    (``description``: its type's, "Docker daemon.json")."""
    return (
        f"{embedded.target} holds values filled in later that make it unreadable as a "
        f"{description} until then: its final content cannot be checked here"
    )


def relocate(value: object, move: Callable[[Location], Location]) -> object:
    """``value`` (facts: records, lists, dicts of them) with every Location moved."""
    if isinstance(value, Location):
        return move(value)
    if isinstance(value, tuple):
        items = [relocate(v, move) for v in value]
        make = getattr(value, "_make", None)  # a record: the same kind of record
        return make(items) if make is not None else tuple(items)
    if isinstance(value, list):
        return [relocate(v, move) for v in value]
    if isinstance(value, dict):
        return {k: relocate(v, move) for k, v in value.items()}
    return value
