"""A YAML reader that keeps the position of every key and value.

Compose files (SPEC D4), Kubernetes manifests (K1-K4) and policy files (5.3) are read
with it.  Documents are built from PyYAML's event stream, parsed by libyaml when PyYAML
has it.  Nothing is ever constructed, so a tag such as ``!!python/object/apply`` stays
inert: a scalar keeps its tag in ``Scalar.kind``.  PyYAML's composer is deliberately not
used: it recurses once per nesting level, in C with libyaml (``[`` repeated 100,000 times
crashes the interpreter with libyaml 0.2.5) and in Python without it (RecursionError after
a few hundred levels).  The parser itself is a state machine, so building the tree here,
iteratively, bounds the depth exactly and stops reading as soon as it is exceeded.

What SafeLoader would build is what the tree holds: plain scalars resolve the YAML 1.1
way (``yes`` is True, ``0x1F`` is 31, ``~`` is None; timestamps stay text), ``<<`` merge
keys are expanded (explicit keys win), and an alias yields the very node its anchor
names, so merged items and aliases keep the positions where they were written.  Two
differences: an anchor may be defined again (later aliases take the new one, as YAML 1.2
and Go's yaml.v3 say, where PyYAML refuses), and every alias counts the nodes it
repeats, so a document expanding to more than ``max_nodes`` (a "billion laughs") fails
at once instead of exhausting whoever walks it.

Positions follow :mod:`shimpolicy.syntax`, lines as YAML counts them (CR, LF, CRLF, NEL,
LS and PS end a line).  A collection's span ends where the parser saw it end: after the
bracket for flow style, at the next token for block style.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    ScalarEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.reader import Reader, ReaderError

from shimpolicy.syntax import Mapping, Node, Scalar, ScalarValue, Sequence, SyntaxProblem

from .._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = ["parse_yaml"]

_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = (
    yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
)

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
# SafeLoader's implicit resolvers, by first character.  The ``=`` value key is dropped:
# SafeLoader reads it as a plain string.
_RESOLVERS = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _VALUE]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2's booleans: only true and false.  YAML 1.1 also reads yes, no, on and off as
# booleans, so a policy's ``severity: {SP201: off}`` would arrive as False.
_BOOL = "tag:yaml.org,2002:bool"
_RESOLVERS_12 = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL]
    for first, resolvers in _RESOLVERS.items()
}
for _first in "tTfF":
    _RESOLVERS_12.setdefault(_first, []).insert(
        0, (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"))
    )
_Construct: TypeAlias = Callable[[SafeConstructor, ScalarNode], ScalarValue]
_CONSTRUCTORS: dict[str, _Construct] = {
    "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
    "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:int": SafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
}
_CONSTRUCTOR = SafeConstructor()
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"
_LIBYAML_MAX_DEPTH = 1000

_Mark: TypeAlias = "yaml.Mark | yaml._yaml.Mark | None"
# A defined anchor: its node, the nodes it holds counting itself, and its height
# (0 for a scalar, 1 + the tallest child for a collection).
_Anchored: TypeAlias = tuple[Node, int, int]
# Where a node is said to be should an event come without marks (neither loader does that).
_NO_MARK = yaml.Mark("", 0, 0, 0, None, 0)


class _Open(NamedTuple):
    """A collection whose end event has not come yet."""

    first: int  # where its children begin in the list of finished nodes
    start: _Mark
    anchor: str | None
    counted: int  # nodes counted in the document before this one
    deepest: int  # the deepest level reached before it began


def parse_yaml(
    text: str, *, max_depth: int = 512, max_nodes: int = 1_000_000, yaml12_booleans: bool = False
) -> list[Node]:
    """Read a YAML stream into one positioned tree per document.

    With ``yaml12_booleans`` only true and false are booleans (YAML 1.2), as a policy file
    reads them; linted files are read as their consumers' YAML 1.1 loaders read them.

    An empty document is ``Scalar(None)``; a stream without documents gives ``[]``.
    Raises SyntaxProblem, with the line and column of the fault, for anything that is not
    YAML, for collections nested more than ``max_depth`` deep (aliases included) and for
    a document that expands to more than ``max_nodes`` nodes through its aliases.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        loader = _LOADER(text)
    # PyYAML's reader checks the whole text here; libyaml cannot even be given a lone
    # surrogate.  Either way the first character YAML does not allow is reported.
    except (ReaderError, UnicodeEncodeError) as error:
        raise _unacceptable(text, error) from error
    try:
        resolvers = _RESOLVERS_12 if yaml12_booleans else _RESOLVERS
        return _documents(loader.get_event, max_depth, max_nodes, resolvers)
    except yaml.MarkedYAMLError as error:
        if error.problem == _LIBYAML_TOO_DEEP and max_depth <= _LIBYAML_MAX_DEPTH:
            # libyaml >= 0.2.6 scans ahead of the events and may reach its own limit first.
            too_deep = f"nesting deeper than {max_depth} levels"
            raise _problem(too_deep, error.problem_mark) from error
        raise _marked(error) from error
    except ReaderError as error:
        raise _unacceptable(text, error) from error
    except yaml.YAMLError as error:
        raise SyntaxProblem(str(error)) from error
    finally:
        loader.dispose()


def _documents(
    next_event: Callable[[], yaml.Event | None],
    max_depth: int,
    max_nodes: int,
    resolvers_by_first: dict[str, list[tuple[str, re.Pattern[str]]]],
) -> list[Node]:
    # This loop runs once per event of every file read, so the common cases are written
    # out here rather than called.  Finished nodes wait in one list: the documents read so
    # far, then the children of each open collection in turn, the innermost's last; a
    # collection takes its children off the end when it ends.
    nodes: list[Node] = []
    finished = nodes.append
    stack: list[_Open] = []
    # Open collections stand for themselves until they end: an alias to one is recursive.
    anchors: dict[str, _Open | _Anchored] = {}
    counted = 0
    # The deepest level reached since the innermost open anchored collection began, from
    # which its height follows when it ends.
    deepest = 0
    while True:
        event = next_event()
        node: Node
        if isinstance(event, ScalarEvent):
            text = event.value
            tag = event.tag
            if tag is None or tag == "!":
                tag = _STR
                if event.implicit[0]:  # plain: SafeLoader's resolver decides
                    resolvers = resolvers_by_first.get(text[:1])
                    if resolvers is not None:
                        for candidate, pattern in resolvers:
                            if pattern.match(text):
                                tag = candidate
                                break
            start, end = event.start_mark, event.end_mark
            if start is None or end is None:
                start = end = _NO_MARK
            line, column = start.line + 1, start.column + 1
            value: ScalarValue = text  # a string, or text kept with a tag SafeLoader lacks
            if tag is not _STR and tag in _CONSTRUCTORS:
                value = _construct(text, tag, line, column)
            node = Scalar(value, line, column, end.line + 1, end.column + 1, tag)
            counted += 1
            if event.anchor is not None:
                anchors[event.anchor] = (node, 1, 0)
        elif isinstance(event, CollectionStartEvent):
            depth = len(stack)
            if depth >= max_depth:
                raise _problem(f"nesting deeper than {max_depth} levels", event.start_mark)
            opened = _Open(len(nodes), event.start_mark, event.anchor, counted, deepest)
            if event.anchor is not None:
                anchors[event.anchor] = opened
                deepest = depth + 1
            elif depth >= deepest:
                deepest = depth + 1
            stack.append(opened)
            counted += 1
            continue
        elif isinstance(event, CollectionEndEvent):
            opened = stack.pop()
            children = nodes[opened.first :]
            del nodes[opened.first :]
            start, end = opened.start, event.end_mark
            if start is None or end is None:
                start = end = _NO_MARK
            line, column = start.line + 1, start.column + 1
            if isinstance(event, MappingEndEvent):
                node = Mapping(_items(children), line, column, end.line + 1, end.column + 1)
            else:
                node = Sequence(tuple(children), line, column, end.line + 1, end.column + 1)
            if opened.anchor is not None:
                if anchors.get(opened.anchor) is opened:
                    size = counted - opened.counted
                    anchors[opened.anchor] = (node, size, deepest - len(stack))
                deepest = max(deepest, opened.deepest)
        elif isinstance(event, AliasEvent):
            node, size, height = _alias(event, anchors)
            depth = len(stack) + height
            if depth > max_depth:
                raise _problem(f"nesting deeper than {max_depth} levels", event.start_mark)
            if depth > deepest:
                deepest = depth
            counted += size
        elif isinstance(event, DocumentStartEvent):
            anchors.clear()
            counted = 0
            continue
        elif event is None or isinstance(event, StreamEndEvent):
            return nodes
        else:  # stream start, document end
            continue
        if counted > max_nodes:
            raise _problem(
                f"document expands to more than {max_nodes} nodes (alias bomb?)",
                event.start_mark,
            )
        finished(node)


def _alias(event: AliasEvent, anchors: dict[str, _Open | _Anchored]) -> _Anchored:
    name = event.anchor or ""
    anchored = anchors.get(name)
    if anchored is None:
        raise _problem(f"found undefined alias '{name}'", event.start_mark)
    if isinstance(anchored, _Open):
        raise _problem(f"alias '{name}' refers to a collection that contains it", event.start_mark)
    return anchored


def _construct(text: str, tag: str, line: int, column: int) -> ScalarValue:
    """The value SafeLoader constructs from a scalar with a tag other than a string's."""
    try:
        return _CONSTRUCTORS[tag](_CONSTRUCTOR, ScalarNode(tag, text))
    # An explicit tag on text it cannot read (``!!int abc``), or an int too long for Python.
    except (ValueError, KeyError, IndexError) as error:
        shown = text if len(text) <= 32 else text[:29] + "..."
        raise SyntaxProblem(f"cannot read {shown!r} as {tag}", line, column) from error


def _items(children: list[Node]) -> tuple[tuple[Scalar, Node], ...]:
    """A mapping's key/value pairs, ``<<`` merge keys expanded as SafeLoader does."""
    keys: list[Scalar] = []
    for key in children[::2]:
        if not isinstance(key, Scalar) or key.kind == _MERGE:
            return _merged_items(children)
        keys.append(key)
    return tuple(zip(keys, children[1::2], strict=True))


def _merged_items(children: list[Node]) -> tuple[tuple[Scalar, Node], ...]:
    items: list[tuple[Scalar, Node]] = []
    merged: list[tuple[Scalar, Node]] = []
    for index in range(0, len(children), 2):
        key, value = children[index], children[index + 1]
        if not isinstance(key, Scalar):
            raise SyntaxProblem("mapping keys must be scalars", key.line, key.column)
        if key.kind == _MERGE:
            merged.extend(_merge(value))
        else:
            items.append((key, value))
    # Merged keys come first, each once, the first mapping merged winning; keys written
    # in this mapping override them, so those are dropped rather than seen as duplicates.
    written = {key.value for key, _ in items}
    chosen: dict[object, tuple[Scalar, Node]] = {}
    for key, value in merged:
        if key.value not in written:
            chosen[key.value] = (key, value)
    return (*chosen.values(), *items)


def _merge(value: Node) -> list[tuple[Scalar, Node]]:
    """The pairs that ``<<: value`` brings in, later ones winning (SafeLoader's order)."""
    if isinstance(value, Mapping):
        return list(value.items)
    if not isinstance(value, Sequence):
        raise SyntaxProblem(
            "expected a mapping or list of mappings for merging, but found scalar",
            value.line,
            value.column,
        )
    merged: list[tuple[Scalar, Node]] = []
    for item in reversed(value.items):
        if not isinstance(item, Mapping):
            found = "scalar" if isinstance(item, Scalar) else "sequence"
            raise SyntaxProblem(
                f"expected a mapping for merging, but found {found}",
                item.line,
                item.column,
            )
        merged.extend(item.items)
    return merged


def _problem(message: str, mark: _Mark) -> SyntaxProblem:
    if mark is None:
        return SyntaxProblem(message)
    return SyntaxProblem(message, mark.line + 1, mark.column + 1)


def _marked(error: yaml.MarkedYAMLError) -> SyntaxProblem:
    message = error.problem or error.context or "invalid YAML"
    if error.problem and error.context:
        where = error.context_mark
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        message = f"{message} ({error.context}{at})"
    return _problem(message, error.problem_mark or error.context_mark)


def _unacceptable(text: str, error: Exception) -> SyntaxProblem:
    """The first character YAML does not allow, reported as PyYAML's reader does."""
    found = Reader.NON_PRINTABLE.search(text)
    if found is None:
        return SyntaxProblem(str(error))
    line, start = 1, 0
    line_breaks = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # only for this error
    for line_break in line_breaks.finditer(text, 0, found.start()):
        line += 1
        start = line_break.end()
    return SyntaxProblem(
        f"unacceptable character #x{ord(found.group()):04x}: special characters are not allowed",
        line,
        found.start() - start + 1,
    )
