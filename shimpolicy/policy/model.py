"""The values a policy is made of: conditions, rules, decisions and per-path ignores.

A rule's conditions are of two sorts.  Those on what a name *is* (its kind, the context,
Docker's verdict, whether its binary is a well-known shim, its notes) take few values
between them, so the policy works out once per combination which rules they leave in the
running (``Conditions.selects``).  Those on a name's text (the ``name``, ``binary`` and
``dir`` globs) are compiled, when a policy first needs them, into small predicates that
are called for each new name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase, translate
from functools import lru_cache

from .._typing import TYPE_CHECKING, NamedTuple
from ..display import display
from ..grammar.docker import unknown_runtime_message
from ..grammar.name import RuntimeName

if TYPE_CHECKING:
    from typing import Literal

    # Closed sets (SPEC §5.1), so that a type checker catches context="requets".
    Action = Literal["allow", "warn", "deny"]
    Context = Literal["request", "config"]

    from ..grammar.docker import Takes

ACTIONS = ("allow", "warn", "deny")
CONTEXTS = ("request", "config")

# What a reason template may interpolate, with the documentation `policy show` and the
# README give for each.
PLACEHOLDERS: Mapping[str, str] = {
    "name": "the runtime name (characters that do not print are escaped)",
    "kind": "what the name is to containerd: shim, path, relative, invalid, empty, legacy-v1",
    "binary": "the binary containerd would run (C1), or the path itself",
    "error": "containerd's own error for an invalid or empty name",
    "directory": "the directory part of a path (Go's filepath.Dir)",
    "context": "request or config",
    "docker_message": "Docker's error for a name it refuses (D1)",
    "shim": "the title of the well-known shim the binary belongs to",
    "documented": "the name that shim documents for this binary",
    "notes": "the name's notes, comma-separated",
    "containerd": "the policy's containerd version",
    "docker": "the policy's Docker version",
    "platform": "the policy's platform",
}

# A condition on a name's text: does it hold for this name?
Check = Callable[[RuntimeName], bool]


class Conditions(NamedTuple):
    """One mapping under ``match``: every key present must hold."""

    name: tuple[str, ...] = ()
    binary: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    docker_permitted: bool | None = None
    known: bool | None = None
    note: tuple[str, ...] = ()
    dir: tuple[str, ...] = ()

    def selects(
        self, kind: str, context: str, permitted: bool, known: bool, notes: frozenset[str]
    ) -> bool:
        """Whether the conditions on what a name is hold: all but the globs on its text."""
        return (
            (not self.context or context in self.context)
            and (not self.kind or kind in self.kind)
            and (self.docker_permitted is None or self.docker_permitted is permitted)
            and (self.known is None or self.known is known)
            and (not self.note or not notes.isdisjoint(self.note))
        )

    def compile(self, windows: bool) -> tuple[Check, ...]:
        """Predicates for the globs on a name's text that are present, cheapest first."""
        checks: list[Check] = []
        if self.name:
            names = _globs(self.name, fold=False)
            checks.append(lambda rn: names(rn.name) is not None)
        if self.binary:
            checks.append(_binary_check(self.binary, windows))
        if self.dir:
            dirs = _globs(_windows_dirs(self.dir) if windows else self.dir, fold=windows)
            checks.append(lambda rn: rn.directory is not None and bool(dirs(rn.directory)))
        return tuple(checks)

    def as_dict(self) -> dict[str, object]:
        """The keys present, in the documented order, as a policy file writes them."""
        out: dict[str, object] = {}
        for key in _KEYS:
            value = getattr(self, key)
            if value is None or value == ():
                continue
            out[key] = value[0] if isinstance(value, tuple) and len(value) == 1 else value
        return out

    def describe(self, code: Callable[[str], str] = str) -> str:
        """The conditions in words: ``kind is path and context is request``; ``code`` quotes
        each value (Markdown passes one that writes code spans)."""
        parts: list[str] = []
        for key, value in self.as_dict().items():
            if isinstance(value, bool):
                parts.append(_FLAGS[key][value])
                continue
            verb = _VERBS.get(key, "is")
            what = "directory" if key == "dir" else key
            if isinstance(value, tuple):
                parts.append(f"{what} {verb} one of {', '.join(code(v) for v in value)}")
            else:
                parts.append(f"{what} {verb} {code(str(value))}")
        return " and ".join(parts) or "any name"


_KEYS = ("name", "binary", "kind", "context", "docker_permitted", "known", "note", "dir")
_VERBS = {"name": "matches", "binary": "matches", "dir": "matches", "note": "has"}
_FLAGS = {
    "docker_permitted": ("Docker refuses it (D1)", "Docker accepts it (D1, D2)"),
    "known": ("the binary is not a well-known shim", "the binary is a well-known shim"),
}


def _globs(globs: tuple[str, ...], *, fold: bool) -> Callable[[str], re.Match[str] | None]:
    """One compiled regular expression for a list of fnmatch globs."""
    return re.compile("|".join(translate(g) for g in globs), re.IGNORECASE if fold else 0).match


def _windows_dirs(globs: tuple[str, ...]) -> tuple[str, ...]:
    # Go's filepath.Dir writes Windows directories with '\' only.
    return tuple(g.replace("/", "\\") for g in globs)


def _binary_check(globs: tuple[str, ...], windows: bool) -> Check:
    match = _globs(globs, fold=windows)
    if not windows:
        return lambda rn: rn.binary is not None and match(rn.binary) is not None

    # Windows file names are case-insensitive, and C1 appends ".exe": a glob written for
    # the Linux binary name must still match there.
    def check(rn: RuntimeName) -> bool:
        b = rn.binary
        if b is None:
            return False
        return match(b) is not None or (b[-4:].lower() == ".exe" and match(b[:-4]) is not None)

    return check


class Match(NamedTuple):
    """A rule's ``match``: alternatives, any of which may hold (one for a plain mapping)."""

    alternatives: tuple[Conditions, ...]

    def describe(self, code: Callable[[str], str] = str) -> str:
        return "; or ".join(c.describe(code) for c in self.alternatives)


class Rule(NamedTuple):
    """One policy rule.  ``reason`` is the template; a decision carries it filled in."""

    id: str
    action: Action
    reason: str
    match: Match
    origin: str  # "path:line" where the rule was written, or "default policy"
    name: str = ""  # a short human name, such as "path-in-request"
    generated: bool = False  # the reason was generated from the match, not written
    # Per alternative of the match: the reason template and the placeholders it uses (a
    # generated reason names the alternative that matched).  Made from the fields above, so
    # two rules equal in those are equal in this too.
    templates: tuple[tuple[str, frozenset[str]], ...] = ()

    def describe(self) -> str:
        """One line for listings: ``SP104 path-in-request: deny when kind is path and …``."""
        label = f"{self.id} {self.name}" if self.name else self.id
        return f"{label}: {self.action} when {self.match.describe()}"


def template_fields(template: str) -> frozenset[str]:
    """The placeholders a reason template uses; ``ValueError`` for a malformed one."""
    from string import Formatter  # only policy files need it, not deciding

    return frozenset(f for _, f, _, _ in Formatter().parse(template) if f is not None)


def escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class Settings(NamedTuple):
    """The versions a policy applies, which reasons may quote."""

    containerd: str
    docker: str
    platform: str


# A reason template filled in for one name (the context and the settings are fixed when it
# is made).
Fill = Callable[[RuntimeName], str]


@lru_cache(maxsize=1024)
def filler(template: str, fields: frozenset[str], context: str, settings: Settings) -> Fill:
    """How to fill in a reason template, which uses the placeholders ``fields``, for names
    decided in ``context`` under ``settings``.

    The template is read here, once, and what does not depend on the name (the context and
    the versions) written into its text: filling it in is then a join of that text and the
    name's values, where ``str.format_map`` would read it again for every new name.  A
    template whose placeholders convert or format their values (``{name!r}``) is left to
    ``format_map``.
    """
    from string import Formatter

    fixed = {
        "context": context,
        "containerd": settings.containerd,
        "docker": settings.docker,
        "platform": settings.platform,
    }
    values: list[Value] = []  # the placeholders that depend on the name
    texts = [""]  # the text before the first of them, and after each
    for text, placeholder, spec, conversion in Formatter().parse(template):
        if placeholder is not None and (spec or conversion):
            return _formatted(template, fields, fixed, settings)
        texts[-1] += text
        if placeholder is None:
            continue
        if placeholder in fixed:
            texts[-1] += fixed[placeholder]
        else:
            values.append(_VALUES[placeholder])
            texts.append("")
    head, steps = texts[0], tuple(zip(values, texts[1:], strict=True))
    if not steps:
        return lambda rn: head

    def fill(rn: RuntimeName) -> str:
        out = head
        for value, text in steps:
            out += value(rn, settings) + text
        return out

    return fill


def _formatted(
    template: str, fields: frozenset[str], fixed: dict[str, str], settings: Settings
) -> Fill:
    values = tuple((f, _VALUES[f]) for f in fields if f not in fixed)
    return lambda rn: template.format_map(
        {**fixed, **{f: value(rn, settings) for f, value in values}}
    )


def documented_name(rn: RuntimeName) -> str:
    """The documented runtime name that runs the same binary as ``rn`` (the globs, joined
    by "or", when no single name fits; "" for a name of no well-known shim)."""
    info = rn.shim_info
    return "" if info is None else _documented_as(info.names, rn.pieces[-2:])


@lru_cache(maxsize=1024)
def _documented_as(globs: tuple[str, ...], shim_and_version: tuple[str, ...]) -> str:
    # Names that run the same binary share their last two pieces: asked once per binary.
    for glob in globs:
        candidate = ".".join((*glob.split(".")[:-2], *shim_and_version))
        if fnmatchcase(candidate, glob):
            return candidate
    return " or ".join(globs)


def _shown(text: str | None) -> str:
    """``display``, for a value that may be missing."""
    return "" if text is None else display(text)


# A placeholder's value for a name (the Docker version is the policy's).
Value = Callable[[RuntimeName, Settings], str]

# The placeholders whose values depend on the name; ``filler`` writes in the others.
_VALUES: dict[str, Value] = {
    "name": lambda rn, s: _shown(rn.name),
    "kind": lambda rn, s: rn.kind,
    "binary": lambda rn, s: _shown(rn.binary),
    "error": lambda rn, s: _shown(rn.error),
    "directory": lambda rn, s: _shown(rn.directory),
    "docker_message": lambda rn, s: display(unknown_runtime_message(rn.name, s.docker)),
    "shim": lambda rn, s: rn.shim_info.title if rn.shim_info else "",
    "documented": lambda rn, s: documented_name(rn),
    "notes": lambda rn, s: ", ".join(sorted(rn.notes)),
}


class Decision(NamedTuple):
    """What a policy decided for one runtime name in one context."""

    action: Action
    rule: str  # the deciding rule's id, or "default" when no rule matched
    reason: str
    name: RuntimeName
    context: Context
    origin: str  # where the deciding rule (or default) was written
    # Whether Docker accepts the name chosen per container: the empty name, a stock or
    # configured runtime, or one D1 passes to containerd (the policy's Docker and platform).
    docker_permitted: bool
    # How: "default", "stock", "configured", "shim" or "refused" (grammar.docker_takes).
    docker_runtime: Takes


class PathIgnore(NamedTuple):
    """``ignore:`` entry: lint rules not reported for some paths, and why."""

    paths: tuple[str, ...]
    rules: tuple[str, ...]
    reason: str
    origin: str = ""
