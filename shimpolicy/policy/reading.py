"""Reading policy files: YAML, or ``[tool.shimpolicy]`` in pyproject.toml (SPEC §5.3).

Every value keeps the line and column it was written at, so that a bad policy is refused
with a message naming the file, the line and the offending key or value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from types import MappingProxyType

from .._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ..syntax import Node

DEFAULT_ORIGIN = "default policy"
POLICY_FILES = (".shimpolicy.yaml", ".shimpolicy.yml")
PYPROJECT = "pyproject.toml"

# A policy file is a few dozen lines: these bound what a hostile one can make a reader do
# (its size, its nesting, and the values YAML aliases can multiply).
MAX_POLICY_BYTES = 1024 * 1024
MAX_DEPTH = 64
_MAX_VALUES = 100_000

Key = tuple[object, ...]  # a JSON path: mapping keys and list indexes
Position = tuple[int, int]  # 1-based line and column


class PolicyError(Exception):
    """A policy that cannot be used: unreadable, not YAML/TOML, or not a valid policy."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = [str(p) for p in (self.path, self.line, self.column) if p is not None]
        return ":".join([*where, " " + self.message]) if where else self.message


class Document(NamedTuple):
    """A policy's data and where each of its values was written."""

    data: object
    path: str  # as shown in messages: a file name, or from_dict's origin
    # key -> (position of the mapping key, position of the value); empty for a dict.
    positions: Mapping[Key, tuple[Position | None, Position]] = MappingProxyType({})
    label: str = ""  # prefix of every key path in messages ("tool.shimpolicy" in TOML)

    def error(self, key: Key, message: str, *, at_key: bool = False) -> PolicyError:
        line, column = self.position(key, at_key=at_key) or (None, None)
        shown = self.name(key)
        return PolicyError(f"{shown}: {message}" if shown else message, self.path, line, column)

    def position(self, key: Key, *, at_key: bool = False) -> Position | None:
        while key not in self.positions and key:
            key = key[:-1]
        if key not in self.positions:
            return None
        key_pos, value_pos = self.positions[key]
        return key_pos if at_key and key_pos else value_pos

    def name(self, key: Key) -> str:
        """``rules[0].action``: a key path as users write it."""
        out = self.label
        for part in key:
            if isinstance(part, int) and not isinstance(part, bool):
                out += f"[{part}]"
            elif isinstance(part, str) and re.fullmatch(r"[A-Za-z0-9_-]+", part):
                out += f".{part}" if out else part
            else:
                out += f"[{show(part)}]"
        return out

    def origin(self, key: Key) -> str:
        pos = self.position(key)
        return f"{self.path}:{pos[0]}" if pos else f"{self.path} ({self.name(key)})"


# ---------------------------------------------------------------------------- reading


def read_policy_file(path: str | os.PathLike[str]) -> Document:
    """A policy file: ``*.toml`` is read as pyproject.toml, anything else as YAML."""
    shown = os.fspath(path)
    text = _read_text(shown)
    if shown.endswith(".toml"):
        doc = _read_pyproject(text, shown)
        if doc is None:
            raise PolicyError("no [tool.shimpolicy] table", shown)
        return doc
    return _read_yaml(text, shown)


def find_policy(start: str | os.PathLike[str]) -> Document | None:
    """The policy that governs ``start``: see ``Policy.discover``."""
    here = os.path.abspath(start)
    if os.path.isfile(here):
        here = os.path.dirname(here)
    dirs = _up_to_repository_root(here)
    for d in dirs:
        found = [os.path.join(d, n) for n in POLICY_FILES if os.path.isfile(os.path.join(d, n))]
        if len(found) > 1:
            names = " and ".join(POLICY_FILES)
            raise PolicyError(f"both {names} exist: keep one", _shown(d))
        if found:
            return read_policy_file(_shown(found[0]))
    for d in dirs:
        candidate = os.path.join(d, PYPROJECT)
        if os.path.isfile(candidate):
            shown = _shown(candidate)
            text = _read_text(shown)
            # A pyproject.toml that never mentions us is not parsed (nor its errors ours).
            doc = _read_pyproject(text, shown) if "shimpolicy" in text else None
            if doc is not None:
                return doc
    return None


def _up_to_repository_root(start: str) -> list[str]:
    """``start`` and its parents, up to the first that holds ``.git`` (or the root)."""
    dirs = [start]
    while not os.path.exists(os.path.join(dirs[-1], ".git")):
        parent = os.path.dirname(dirs[-1])
        if parent == dirs[-1]:
            break
        dirs.append(parent)
    return dirs


def _shown(path: str) -> str:
    """A path as messages show it: relative to the working directory when inside it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _read_text(path: str) -> str:
    """The policy's text, read as the linter reads a file: a regular file only, of bounded
    size, strict UTF-8 (a leading BOM is dropped)."""
    from ..lint.source import ReadProblem, read_text

    try:
        return read_text(path, MAX_POLICY_BYTES).removeprefix("\ufeff")
    except ReadProblem as e:
        line, column = (e.line, e.column) if (e.line, e.column) != (1, 1) else (None, None)
        message = e.message.removeprefix("cannot read file: ")
        raise PolicyError(f"cannot read policy: {message}", path, line, column) from None


def _read_yaml(text: str, path: str) -> Document:
    """A YAML policy through the reader linted files go through (bounded depth and alias
    expansion, nothing constructed), with YAML 1.2 booleans: only true and false, so that
    ``severity: {SP201: off}`` stays the word that was written."""
    from ..syntax import SyntaxProblem
    from ..syntax.yaml import parse_yaml

    try:
        documents = parse_yaml(
            text, max_depth=MAX_DEPTH, max_nodes=_MAX_VALUES, yaml12_booleans=True
        )
    except SyntaxProblem as e:
        raise PolicyError(f"invalid YAML: {e.message}", path, e.line, e.column) from None
    if len(documents) > 1:
        extra = documents[1]
        message = "invalid YAML: a policy file holds one document, and this is a second"
        raise PolicyError(message, path, extra.line, extra.column)
    if not documents or _is_null(documents[0]):
        return Document(None, path, {(): (None, (1, 1))})
    positions: dict[Key, tuple[Position | None, Position]] = {}
    data = _from_yaml(documents[0], (), None, positions, path)
    return Document(data, path, positions)


def _is_null(node: Node) -> bool:
    from ..syntax import Scalar

    return isinstance(node, Scalar) and node.value is None


def _from_yaml(
    node: Node,
    key: Key,
    key_pos: Position | None,
    out: dict[Key, tuple[Position | None, Position]],
    path: str,
) -> object:
    """Plain data from a YAML tree, each value's position recorded under its key path.  A
    key written twice is refused: YAML keeps the last silently, hiding the first from
    review."""
    from ..syntax import Mapping as YamlMapping
    from ..syntax import Sequence as YamlSequence

    out[key] = (key_pos, _span(node))
    if isinstance(node, YamlMapping):
        data: dict[object, object] = {}
        first: dict[object, int] = {}
        for k, v in node.items:
            name = k.value
            if name in first:
                label = Document(None, path).name((*key, name))
                message = f"{label}: duplicate key (first written on line {first[name]})"
                raise PolicyError(message, path, k.line, k.column)
            first[name] = k.line
            data[name] = _from_yaml(v, (*key, name), _span(k), out, path)
        return data
    if isinstance(node, YamlSequence):
        return [_from_yaml(v, (*key, i), None, out, path) for i, v in enumerate(node.items)]
    return node.value


def _read_pyproject(text: str, path: str) -> Document | None:
    """``[tool.shimpolicy]`` of a pyproject.toml, or None when it has none."""
    from ..syntax import Mapping as TomlTable
    from ..syntax import SyntaxProblem
    from ..syntax.toml import parse_toml

    try:
        root = parse_toml(text)
    except SyntaxProblem as e:
        raise PolicyError(f"invalid TOML: {e.message}", path, e.line, e.column) from None
    tool = root.get("tool")
    table = tool.get("shimpolicy") if isinstance(tool, TomlTable) else None
    if table is None:
        return None
    positions: dict[Key, tuple[Position | None, Position]] = {}
    key = tool.key("shimpolicy") if isinstance(tool, TomlTable) else None
    data = _from_toml(table, (), _span(key) if key else None, positions)
    return Document(data, path, positions, label="tool.shimpolicy")


def _span(node: Node) -> Position:
    return node.span.line, node.span.column


def _from_toml(
    node: Node, key: Key, key_pos: Position | None, out: dict[Key, tuple[Position | None, Position]]
) -> object:
    from ..syntax import Mapping as TomlTable
    from ..syntax import Sequence as TomlArray

    out[key] = (key_pos, _span(node))
    if isinstance(node, TomlTable):
        return {k.value: _from_toml(v, (*key, k.value), _span(k), out) for k, v in node.pairs()}
    if isinstance(node, TomlArray):
        return [_from_toml(v, (*key, i), None, out) for i, v in enumerate(node.items)]
    return node.value


def plain(data: object) -> object:
    """Mappings as dicts and tuples as lists, as JSON Schema validation expects them."""
    if isinstance(data, Mapping):
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    return data


def show(value: object) -> str:
    """A value as messages quote it: strings in quotes, YAML spellings for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)
