"""Reading policy files: YAML, or ``[tool.shimpolicy]`` in pyproject.toml (SPEC §5.3).

Every value keeps the line and column it was written at, so that a bad policy is refused
with a message naming the file, the line and the offending key or value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from .._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import yaml

    from ..syntax import Node

DEFAULT_ORIGIN = "default policy"
POLICY_FILES = (".shimpolicy.yaml", ".shimpolicy.yml")
PYPROJECT = "pyproject.toml"

# A policy file is a few dozen lines; this bounds the work YAML aliases can multiply.
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
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise PolicyError(f"cannot read policy: not UTF-8 ({e.reason})", path) from None
    except OSError as e:
        raise PolicyError(f"cannot read policy: {e.strerror or e}", path) from None


def _read_yaml(text: str, path: str) -> Document:
    import yaml

    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(None, path, {(): (None, (1, 1))})
        _check_duplicate_keys(node, loader, path)
        data = loader.construct_document(node)
        positions: dict[Key, tuple[Position | None, Position]] = {}
        _record(node, (), None, loader, positions, set(), path)
        return Document(data, path, positions)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "cannot be read"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise PolicyError(f"invalid YAML: {problem}", path, line, column) from None
    except yaml.YAMLError as e:
        raise PolicyError(f"invalid YAML: {e}", path) from None
    except RecursionError:
        raise PolicyError("invalid YAML: nested too deeply", path) from None
    finally:
        loader.dispose()


@lru_cache(maxsize=1)
def _loader() -> type[yaml.SafeLoader]:
    """PyYAML's safe loader with YAML 1.2 booleans: only true and false.

    YAML 1.1 also reads yes, no, on and off as booleans, so ``severity: {SP201: off}``
    would arrive as ``False``; here they stay the words that were written.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    bool_tag = "tag:yaml.org,2002:bool"
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


def _mark(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _check_duplicate_keys(node: yaml.Node, loader: yaml.SafeLoader, path: str) -> None:
    """A key written twice: YAML keeps the last silently, hiding the first from review."""
    import yaml

    problems: list[PolicyError] = []
    todo: list[tuple[yaml.Node, Key]] = [(node, ())]
    seen: set[int] = set()
    while todo:
        n, key = todo.pop()
        if id(n) in seen:  # an alias: checked where its anchor is
            continue
        seen.add(id(n))
        if isinstance(n, yaml.SequenceNode):
            todo.extend((v, (*key, i)) for i, v in enumerate(n.value))
        if not isinstance(n, yaml.MappingNode):
            continue
        first: dict[object, int] = {}
        for k, v in n.value:
            if not isinstance(k, yaml.ScalarNode) or k.tag == "tag:yaml.org,2002:merge":
                todo.append((v, key))
                continue
            value = loader.construct_object(k)
            todo.append((v, (*key, value)))
            if value in first:
                label = Document(None, path).name((*key, value))
                message = f"{label}: duplicate key (first written on line {first[value]})"
                problems.append(PolicyError(message, path, *_mark(k)))
            else:
                first[value] = _mark(k)[0]
    if problems:
        raise min(problems, key=lambda p: (p.line or 0, p.column or 0))


def _record(
    node: yaml.Node,
    key: Key,
    key_pos: Position | None,
    loader: yaml.SafeLoader,
    out: dict[Key, tuple[Position | None, Position]],
    active: set[int],
    path: str,
) -> None:
    import yaml

    if id(node) in active:
        raise PolicyError("invalid YAML: an alias refers to itself", path, *_mark(node))
    if len(out) >= _MAX_VALUES:
        raise PolicyError(f"too many values (more than {_MAX_VALUES})", path)
    out[key] = (key_pos, _mark(node))
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:  # merge keys (<<) are already flattened into these
            _record(v, (*key, loader.construct_object(k)), _mark(k), loader, out, active, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _record(v, (*key, i), None, loader, out, active, path)
    active.discard(id(node))


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
