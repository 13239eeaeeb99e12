"""Validating a policy document and building a policy's parts from it.

The schema (``schema.json``) says what a policy file may contain; what a schema cannot
say (versions, unique rule ids, reason placeholders, conditions that can never hold) is
checked here.  Nothing in a bad policy is ever used: every problem raises ``PolicyError``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache

from .._typing import TYPE_CHECKING, NamedTuple
from ..grammar.versions import DEFAULT_CONTAINERD, DEFAULT_DOCKER, containerd_series, docker_major
from .model import (
    PLACEHOLDERS,
    Conditions,
    Match,
    PathIgnore,
    Rule,
    escape_braces,
    template_fields,
)
from .reading import DEFAULT_ORIGIN, Document, Key, PolicyError, show

if TYPE_CHECKING:
    from typing import Any

    import jsonschema

    from .model import Action


class Parts(NamedTuple):
    """Everything a Policy holds, validated."""

    containerd: str
    docker: str
    platform: str
    default_action: Action
    default_origin: str
    rules: tuple[Rule, ...]
    source: str
    severity: Mapping[str, str]
    exclude: tuple[str, ...]
    ignore: tuple[PathIgnore, ...]


# ---------------------------------------------------------------------------- validating


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of a policy file (draft 2020-12), shipped in the package."""
    import json

    result: dict[str, Any] = json.loads(_package_text("schema.json"))
    return result


def _package_text(name: str) -> str:
    # A plain file beside this module (importing importlib.resources would weigh on the
    # cold start of a one-file lint: bench/run.py); the package is always installed as files.
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, name), encoding="utf-8") as f:
        return f.read()


def validate(doc: Document) -> None:
    """Check a user's policy against the schema; raise for the first problem in the file."""
    import jsonschema  # only here: a run with the default policy never needs it

    if doc.data is None:
        raise doc.error((), "the policy is empty: it needs at least 'version: 1'")
    validator = jsonschema.Draft202012Validator(schema())
    problems = [_explain(e, doc) for e in validator.iter_errors(doc.data)]
    if problems:
        raise min(problems, key=_position)


def _explain(error: jsonschema.ValidationError, doc: Document) -> PolicyError:
    """One schema error as a message that names the key and the offending value."""
    from difflib import get_close_matches  # for "did you mean"; policy errors only

    if error.validator == "anyOf" and error.context:
        return _explain_alternatives(error, doc)
    key: Key = tuple(error.absolute_path)
    value: Any = error.instance
    expected: Any = error.validator_value
    properties: dict[str, Any] = error.schema.get("properties", {})  # type: ignore[union-attr]
    rule = error.validator
    if "propertyNames" in error.absolute_schema_path:
        return doc.error((*key, value), f"{show(value)} is not a rule id", at_key=True)
    if rule == "additionalProperties":
        extra = [k for k in value if k not in properties]
        k = min(extra, key=lambda k: doc.position((*key, k), at_key=True) or (0, 0))
        known = list(properties)
        hint = get_close_matches(str(k), known, n=1)
        suffix = f" (did you mean {hint[0]!r}?)" if hint else f" (expected {', '.join(known)})"
        return doc.error((*key, k), f"unknown key{suffix}", at_key=True)
    if rule == "required":
        missing = next(k for k in expected if k not in value)
        return doc.error(key, f"{show(missing)} is required")
    if rule == "enum":
        return doc.error(key, f"{show(value)} is not one of {', '.join(map(show, expected))}")
    if rule == "const":
        return doc.error(key, f"must be {show(expected)}, not {show(value)}")
    if rule == "type":
        quote = " (quote the version)" if key in (("containerd",), ("docker",)) else ""
        return doc.error(key, f"{show(value)} is not {_type_name(expected)}{quote}")
    if rule in ("minItems", "minLength"):
        return doc.error(key, "must not be empty")
    if rule == "pattern" and key and key[-1] == "id":
        allowed = "use letters, digits, '.', '_' and '-'"
        return doc.error(key, f"{show(value)} is not a rule id: {allowed}")
    return doc.error(key, error.message)


def _explain_alternatives(error: jsonschema.ValidationError, doc: Document) -> PolicyError:
    """Explain the alternative the value's type fits (``kind: bogus`` is a bad kind, not a
    bad list), its deepest problem first; when none fits, say what would."""
    fitting = [e for e in error.context if not _misfit(e)]
    if fitting:
        deepest = max(len(e.relative_path) for e in fitting)
        explained = (_explain(e, doc) for e in fitting if len(e.relative_path) == deepest)
        return min(explained, key=_position)
    expected = " or ".join(_expected(e) for e in error.context)
    return doc.error(tuple(error.absolute_path), f"{show(error.instance)} is not {expected}")


def _misfit(e: jsonschema.ValidationError) -> bool:
    """An alternative of an anyOf that the value's type cannot fit at all."""
    if e.relative_path:
        return False
    if e.validator == "type":
        return True
    values: Any = e.validator_value
    return e.validator == "enum" and not any(type(v) is type(e.instance) for v in values)


def _expected(e: jsonschema.ValidationError) -> str:
    values: Any = e.validator_value
    if e.validator == "enum":
        return "one of " + ", ".join(map(show, values))
    return _type_name(values)


def _position(e: PolicyError) -> tuple[int, int]:
    return e.line or 0, e.column or 0


def _type_name(expected: object) -> str:
    names = {"object": "a mapping", "array": "a list", "string": "a string", "boolean": "a boolean"}
    kinds = expected if isinstance(expected, list) else [expected]
    return " or ".join(names.get(str(t), str(t)) for t in kinds)


# ---------------------------------------------------------------------------- building


def build(doc: Document, *, trusted: bool = False) -> Parts:
    """A policy's parts from its document: schema first, then what a schema cannot say."""
    if not trusted:
        validate(doc)
    data = doc.data
    assert isinstance(data, dict)  # validated, or the trusted default policy
    base = default_parts() if not trusted and extends_default(data) else None
    containerd = _version(doc, "containerd", base.containerd if base else DEFAULT_CONTAINERD)
    docker = _version(doc, "docker", base.docker if base else DEFAULT_DOCKER)
    platform = str(data.get("platform", base.platform if base else "linux"))
    windows = platform == "windows"
    rules = _rules(doc, windows, base)
    if base is not None:
        rules += base.rules
    if "default" in data:  # one of the schema's actions
        default_action, default_origin = data["default"], doc.origin(("default",))
    elif base is not None:
        default_action, default_origin = base.default_action, base.default_origin
    else:
        default_action, default_origin = "deny", doc.path
    if not trusted:
        _known_rule_ids(doc, rules)
    return Parts(
        containerd=containerd,
        docker=docker,
        platform=platform,
        default_action=default_action,
        default_origin=default_origin,
        rules=rules,
        source=doc.path,
        severity=dict(data.get("severity", {})),
        exclude=tuple(data.get("exclude", ())),
        ignore=tuple(
            PathIgnore(_tuple(i["path"]), tuple(i["rules"]), i["reason"], doc.origin(("ignore", n)))
            for n, i in enumerate(data.get("ignore", ()))
        ),
    )


def extends_default(data: Mapping[str, Any]) -> bool:
    """Whether a policy builds on the default policy: when it says ``extends: default``, and
    when it has no ``rules`` of its own and does not say ``extends: none`` — a file that
    only tunes the linter (severities, excludes, ignores, versions) must not drop the
    default rules and deny every name in silence."""
    extends = data.get("extends")
    return extends == "default" or (extends is None and "rules" not in data)


def _known_rule_ids(doc: Document, rules: tuple[Rule, ...]) -> None:
    """``severity`` and ``ignore`` name rules that exist: the linter's, or the policy's
    own (whose ids its findings carry).  A misspelt id would silently change nothing."""
    from ..lint.rulebook import rule_ids  # the catalog of the linter's rules

    assert isinstance(doc.data, dict)
    known = rule_ids() | {r.id for r in rules}
    named: list[tuple[Key, str]] = [(("severity", k), k) for k in doc.data.get("severity", {})]
    for n, entry in enumerate(doc.data.get("ignore", ())):
        named += [(("ignore", n, "rules", m), r) for m, r in enumerate(entry["rules"])]
    for key, rule_id in named:
        if rule_id not in known:
            message = f"no rule has the id {rule_id!r} (`shimpolicy rule` lists the linter's rules)"
            raise doc.error(key, message, at_key=key[0] == "severity")


@lru_cache(maxsize=1)
def default_parts() -> Parts:
    """The embedded default policy (default.yaml): trusted, so not schema-validated at run
    time."""
    from .default_yaml import POLICY

    parts = build(Document(POLICY, DEFAULT_ORIGIN), trusted=True)
    return parts._replace(
        rules=tuple(r._replace(origin=DEFAULT_ORIGIN) for r in parts.rules),
        default_origin=DEFAULT_ORIGIN,
    )


def _version(doc: Document, key: str, default: str) -> str:
    assert isinstance(doc.data, dict)
    value = doc.data.get(key, default)
    try:
        containerd_series(value) if key == "containerd" else docker_major(value)
    except ValueError as e:
        raise doc.error((key,), str(e)) from None
    return str(value)


def _rules(doc: Document, windows: bool, base: Parts | None) -> tuple[Rule, ...]:
    assert isinstance(doc.data, dict)
    taken = {r.id: "the default policy" for r in base.rules} if base else {}
    rules: list[Rule] = []
    for n, item in enumerate(doc.data.get("rules", ())):
        key: Key = ("rules", n)
        rule_id = item["id"]
        if rule_id == "default":
            raise doc.error((*key, "id"), "'default' names the policy's default action")
        if rule_id in taken:
            raise doc.error(
                (*key, "id"), f"rule id {rule_id!r} is already used by {taken[rule_id]}"
            )
        line = doc.position(key)
        taken[rule_id] = doc.name(key) + (f" on line {line[0]}" if line else "")
        alternatives = tuple(
            _conditions(doc, key, m, windows) for m in _alternatives(item.get("match"))
        )
        match = Match(alternatives)
        written = item.get("reason")
        if written:
            templates = ((written, _fields(doc, (*key, "reason"), written)),) * len(alternatives)
        else:
            templates = tuple(
                (_generated(rule_id, a.describe()), frozenset()) for a in alternatives
            )
        rules.append(
            Rule(
                id=rule_id,
                action=item["action"],
                reason=written or _generated(rule_id, match.describe()),
                match=match,
                origin=doc.origin(key),
                name=item.get("name", ""),
                generated=not written,
                templates=templates,
            )
        )
    return tuple(rules)


def _generated(rule_id: str, description: str) -> str:
    return escape_braces(f"rule {rule_id!r} matched: {description}")


def _alternatives(match: object) -> Iterator[tuple[int | None, Mapping[str, Any]]]:
    if isinstance(match, list):
        yield from enumerate(match)
    else:
        yield None, match if isinstance(match, dict) else {}


def _conditions(
    doc: Document, rule: Key, alternative: tuple[int | None, Mapping[str, Any]], windows: bool
) -> Conditions:
    n, m = alternative
    key: Key = (*rule, "match") if n is None else (*rule, "match", n)
    c = Conditions(
        name=_tuple(m.get("name", ())),
        binary=_tuple(m.get("binary", ())),
        kind=_tuple(m.get("kind", ())),
        context=_tuple(m.get("context", ())),
        docker_permitted=m.get("docker_permitted"),
        known=m.get("known"),
        note=_tuple(m.get("note", ())),
        dir=_tuple(m.get("dir", ())),
    )
    _never(doc, key, c, isinstance(m.get("binary"), list), windows)
    return c


def _never(doc: Document, key: Key, c: Conditions, binary_list: bool, windows: bool) -> None:
    """Refuse conditions that can never hold: a rule that silently never fires."""
    kinds = set(c.kind)
    if c.binary and kinds and kinds <= {"invalid", "empty", "legacy-v1"}:
        raise doc.error((*key, "binary"), "can never match: names of these kinds have no binary")
    if c.dir and kinds and kinds <= {"shim", "empty", "legacy-v1"}:
        raise doc.error((*key, "dir"), "can never match: names of these kinds have no directory")
    if windows:  # any ASCII character before ':' makes a Windows path absolute
        return
    shim = "containerd-shim-"
    for n, glob in enumerate(c.binary):
        # On Linux a binary is C1's containerd-shim-<shim>-<version> or an absolute path.
        prefix = re.sub(r"[*?\[].*", "", glob, flags=re.DOTALL)
        if not (prefix.startswith(("/", shim)) or shim.startswith(prefix)):
            at: Key = (*key, "binary", n) if binary_list else (*key, "binary")
            raise doc.error(
                at, f"{glob!r} can never match: a binary is {shim}<shim>-<version> or a path"
            )


def _fields(doc: Document, key: Key, template: str) -> frozenset[str]:
    try:
        fields = template_fields(template)
    except ValueError as e:
        raise doc.error(key, f"{e} (write {{{{ and }}}} for literal braces)") from None
    unknown = sorted(fields - PLACEHOLDERS.keys())
    if unknown:
        raise doc.error(
            key, f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(PLACEHOLDERS)})"
        )
    return fields


def _tuple(value: object) -> tuple[Any, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)
