"""Compose files: ``services.<name>.runtime``, a runtime name chosen per container (SPEC D4).

Compose interpolates every string before it validates the file, so a ``runtime`` is
checked as each value it can end up with: ``${VAR:-default}`` is checked as its default,
``${VAR:+alternative}`` as its alternative, and a variable with no default is a value
filled in later (SP003).  The interpolation below follows compose-go's ``template``
package, including its error for a malformed ``${``.
"""

from __future__ import annotations

import re
from functools import cache

from .._typing import NamedTuple
from ..syntax import Mapping, Node, Scalar, Sequence, Span
from ..syntax.yaml import parse_yaml
from .context import LintContext
from .docker_names import check_docker_runtime
from .facts import Facts
from .filetype import FileType
from .source import SourceFile


@cache
def _yaml12_not_string() -> re.Pattern[str]:
    """What Go's yaml.v3 (compose-go's reader, YAML 1.2) resolves a plain scalar to other
    than a string; PyYAML's YAML 1.1 also reads yes/no/on/off and 1:20 as non-strings."""
    return re.compile(
        r"|~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
        r"|[-+]?(?:[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+)"
        r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    )


# Stack files: `docker stack deploy` reads Compose v3 and has no `runtime` key.  Their
# names, case aside: *stack*.yml and *stack*.yaml.
_STACK_EXTENSIONS = (".yml", ".yaml")


def _load(source: SourceFile) -> list[Node]:
    return parse_yaml(source.text)


def _collect(docs: list[Node], source: SourceFile, facts: Facts) -> None:
    """Compose files hold no facts other files need."""


# --------------------------------------------------------------------------- interpolation

_MAX_OUTCOMES = 64  # values are combined per variable; a pathological string stops here


@cache
def _variable() -> re.Pattern[str]:
    return re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")


@cache
def _operator() -> re.Pattern[str]:
    return re.compile(r":?[-+?]")


# One piece of an interpolated value: literal text with the offset in the scalar's value
# it was copied from, or None for a variable's value, which cannot be known here.
Piece = tuple[str, int] | None
Outcome = tuple[Piece, ...]


class Malformed(NamedTuple):
    """A ``${`` compose-go cannot read ("invalid interpolation format"), at ``offset``."""

    offset: int


class _Stop(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


def interpolations(value: str) -> list[Outcome] | Malformed:
    """Every value Compose can make of ``value``, as pieces, or where it refuses it."""
    if "$" not in value:  # most values: the value itself
        return [((value, 0),)] if value else [()]
    try:
        return _interpolate(value, 0, len(value))
    except _Stop as stop:
        return Malformed(stop.offset)


def _interpolate(s: str, start: int, end: int) -> list[Outcome]:
    outcomes: list[Outcome] = [()]
    run = i = start  # run: where the current stretch of literal text began
    while (dollar := s.find("$", i, end)) >= 0:
        step = _substitution(s, dollar, end)
        if step is None:
            i = dollar + 1  # a '$' that starts nothing is literal text
            continue
        alternatives, i = step
        if run < dollar:
            outcomes = _product(outcomes, [((s[run:dollar], run),)])
        outcomes = _product(outcomes, alternatives)
        run = i
    if run < end:
        outcomes = _product(outcomes, [((s[run:end], run),)])
    return outcomes


def _product(outcomes: list[Outcome], alternatives: list[Outcome]) -> list[Outcome]:
    return [a + b for a in outcomes for b in alternatives][:_MAX_OUTCOMES]


def _substitution(s: str, dollar: int, end: int) -> tuple[list[Outcome], int] | None:
    """What the ``$`` at ``dollar`` stands for, and the offset after it; None for a
    literal ``$``."""
    after = dollar + 1
    if after < end and s[after] == "$":  # $$ is a literal $
        return [(("$", after),)], after + 1
    named = _variable().match(s, after, end)
    if named:  # $VAR
        return [(None,)], named.end()
    if after >= end or s[after] != "{":
        return None
    name = _variable().match(s, dollar + 2, end)
    if name is None:
        raise _Stop(dollar)
    if name.end() < end and s[name.end()] == "}":  # ${VAR}
        return [(None,)], name.end() + 1
    operator = _operator().match(s, name.end(), end)
    if operator is None:
        raise _Stop(dollar)
    # compose-go's pattern ends at the last '}' of the line ((.*) is greedy, '.' stops at
    # a line break), then cuts at the first '}' that balances the braces opened so far.
    line_end = s.find("\n", operator.end(), end)
    last = s.rfind("}", operator.end(), end if line_end < 0 else line_end)
    if last < 0:
        raise _Stop(dollar)
    close = _closing_brace(s, dollar, last + 1)
    if close < 0:
        close = last
    inner = _interpolate(s, operator.end(), close)
    op = operator.group()
    if op in (":-", "-"):
        return inner, close + 1  # the default; the variable's own value is not known here
    if op in (":+", "+"):
        return [*inner, ()], close + 1  # the alternative when set, else the empty value
    return [(None,)], close + 1  # ${VAR?error}: the variable's value, or Compose stops


def _closing_brace(s: str, start: int, end: int) -> int:
    """compose-go's getFirstBraceClosingIndex on ``s[start:end]``, as an offset in ``s``."""
    depth = 0
    i = start
    # Only braces count, so go from one to the next rather than through every character.
    while True:
        opening, closing = s.find("{", i, end), s.find("}", i, end)
        if closing < 0 and opening < 0:
            return -1
        if closing >= 0 and (opening < 0 or closing < opening):
            depth -= 1
            if depth == 0:
                return closing
            i = closing + 1
        else:
            depth += 1
            i = opening + 2  # Go's loop steps over the character after a '{' too


# --------------------------------------------------------------------------- checks


class _Use:
    """One place `runtime` is written, and the services that take it from there."""

    __slots__ = ("key", "services", "value")

    def __init__(self, key: Scalar, value: Node) -> None:
        self.key = key
        self.value = value
        self.services: list[str] = []

    @property
    def path(self) -> str:
        return f"services.{self.services[0]}.runtime"

    @property
    def what(self) -> str:
        if len(self.services) == 1:
            return self.path
        shown = self.services if len(self.services) <= 5 else self.services[:4]
        rest = len(self.services) - len(shown)
        names = ", ".join(shown[:-1]) + " and " + shown[-1] if rest == 0 else ", ".join(shown)
        more = f" and {rest} more" if rest else ""
        return f"runtime shared by services {names}{more}"


def _uses(docs: list[Node], source: SourceFile, ctx: LintContext) -> list[_Use]:
    """Every distinct `runtime` setting: a setting merged into several services from an
    anchor is one setting, written once."""
    # By the nodes themselves: a setting merged or aliased into several services is the
    # very same key and value wherever it is taken.
    uses: dict[tuple[int, int], _Use] = {}
    for doc in docs:
        if not isinstance(doc, Mapping):
            if not _is_null(doc):
                ctx.report(
                    source,
                    doc.span,
                    "SP302",
                    f"the top level must be a mapping, not {_kind(doc)}: Compose refuses the "
                    'file ("Top-level object must be a mapping")',
                )
            continue
        services = doc.get("services")
        if services is None or _is_null(services):
            continue
        if not isinstance(services, Mapping):
            ctx.report(
                source,
                services.span,
                "SP302",
                f"services must be a mapping, not {_kind(services)}: Compose refuses the file",
            )
            continue
        for name, service in services.pairs():
            if not isinstance(service, Mapping):
                # An empty service, or `!reset` in an override file, is not refused.
                reset = isinstance(service, Scalar) and service.kind == "!reset"
                if not _is_null(service) and not reset:
                    ctx.report(
                        source,
                        service.span,
                        "SP302",
                        f"services.{_key_text(name, source)} must be a mapping, not "
                        f"{_kind(service)}: Compose refuses the file",
                    )
                continue
            key, value = service.key("runtime"), service.get("runtime")
            if key is None or value is None:
                continue
            use = uses.get((id(key), id(value)))
            if use is None:
                use = uses[id(key), id(value)] = _Use(key, value)
            use.services.append(_key_text(name, source))
    return list(uses.values())


def _check(docs: list[Node], source: SourceFile, ctx: LintContext) -> None:
    stack = _stack_file(source.path, docs)
    for use in _uses(docs, source, ctx):
        if stack is not None:
            ctx.report(
                source,
                use.key.span,
                "SP303",
                f'`docker stack deploy` rejects `runtime` ("services.{use.services[0]} Additional '
                f'property runtime is not allowed") and this looks like a stack file ({stack}); '
                "only `docker compose` honours it",
            )
        _check_value(use, source, ctx)


def _check_value(use: _Use, source: SourceFile, ctx: LintContext) -> None:
    node = use.value
    if isinstance(node, Scalar) and node.kind == "!reset":
        return  # an override file removing the setting
    text = _string(node, source)
    if text is None:
        # An empty value has an empty span: point at its key instead.
        empty = (node.line, node.column) == (node.end_line, node.end_column)
        ctx.report(
            source,
            use.key.span if empty else node.span,
            "SP302",
            f"{use.path} must be a string, not {_kind(node)}: Compose refuses the file; write "
            "one runtime name",
        )
        return
    assert isinstance(node, Scalar)
    outcomes = interpolations(text)
    if isinstance(outcomes, Malformed):
        start = _column_of(node, source, outcomes.offset, 2)
        ctx.report(
            source,
            start or node.span,
            "SP304",
            f"invalid interpolation format for {use.path}: {text!r}; Compose refuses the file "
            '("You may need to escape any $ with another $")',
        )
        return
    seen: set[tuple[str, Span]] = set()
    unresolved = False
    whole = node.span
    for outcome in outcomes:
        if None in outcome:
            unresolved = True
            continue
        name = "".join(piece[0] for piece in outcome if piece is not None)
        span = whole
        # A default or an alternative is pointed at exactly where the scalar allows it.
        piece = outcome[0] if len(outcome) == 1 else None
        if piece is not None and len(name) < len(text):
            span = _column_of(node, source, piece[1], len(name)) or whole
        if (name, span) not in seen:
            seen.add((name, span))
            _check_name(name, span, use, source, ctx)
    if unresolved:
        ctx.check_name(source, whole, text, "request", use.what)


def _check_name(name: str, span: Span, use: _Use, source: SourceFile, ctx: LintContext) -> None:
    check_docker_runtime(ctx, source, span, name, use.what, "SP301")


def _stack_file(path: str, docs: list[Node]) -> str | None:
    """Why this looks like a file for `docker stack deploy`, or None.  Deliberately narrow:
    a name that says so, or Compose v3 with swarm placement constraints."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    name = base.lower()
    if any(name.endswith(e) and "stack" in name[: -len(e)] for e in _STACK_EXTENSIONS):
        return f"its name is {base}"
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        version, services = doc.get("version"), doc.get("services")
        if not (isinstance(version, Scalar) and str(version.value).startswith("3")):
            continue
        if not isinstance(services, Mapping):
            continue
        for _, service in services.pairs():
            deploy = service.get("deploy") if isinstance(service, Mapping) else None
            if isinstance(deploy, Mapping) and deploy.get("placement") is not None:
                return f"version {version.value} with deploy.placement, which only swarm honours"
    return None


def _string(node: Node, source: SourceFile) -> str | None:
    """The string Compose sees, or None when the value is not one.  compose-go reads YAML
    1.2, where ``yes`` or ``1:20`` are strings; the tree resolves plain scalars the YAML 1.1
    way, so such a scalar is read back from the source."""
    if not isinstance(node, Scalar):
        return None
    if isinstance(node.value, str):
        return node.value
    text = _source_text(node, source)
    # Only an untagged plain scalar is read back: quoted, tagged or anchored ones are not
    # re-resolved by yaml.v3 either.
    if (
        text is None
        or text.startswith(("'", '"', "!", "&"))
        or _yaml12_not_string().fullmatch(text)
    ):
        return None
    return text


def _key_text(key: Scalar, source: SourceFile) -> str:
    """A mapping key as written (YAML 1.1 reads ``true:`` as a boolean)."""
    if isinstance(key.value, str):
        return key.value
    text = _source_text(key, source)
    return str(key.value) if text is None else text


def _source_text(node: Scalar, source: SourceFile) -> str | None:
    if node.line != node.end_line:
        return None
    return source.line_text(node.line)[node.column - 1 : node.end_column - 1]


def _column_of(node: Scalar, source: SourceFile, offset: int, length: int) -> Span | None:
    """Where characters ``offset``.. of the scalar's value are in the file, when the scalar
    is written on one line without escapes (plain, or quoted without escape sequences)."""
    text = _source_text(node, source)
    value = node.value
    if text is None or not isinstance(value, str):
        return None
    if text == value:
        base = node.column
    elif len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and text[1:-1] == value:
        base = node.column + 1
    else:
        return None
    return Span(node.line, base + offset, node.line, base + offset + length)


def _is_null(node: Node) -> bool:
    return isinstance(node, Scalar) and node.value is None


def _kind(node: Node) -> str:
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, Sequence):
        return "a list"
    value = node.value
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number" if isinstance(value, (int, float)) else f"a value tagged {node.kind}"


TYPE = FileType("compose", "Compose file", _load, _collect, _check)
