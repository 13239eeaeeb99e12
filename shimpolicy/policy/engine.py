"""``Policy``: an ordered list of rules deciding allow / warn / deny for runtime names."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from .._typing import TYPE_CHECKING, NamedTuple

# The unchecked forms of parse and docker_takes: a policy reads its versions and
# platform once, not for every name it decides.
from ..display import display
from ..grammar.docker import _takes
from ..grammar.name import RuntimeName, _parse, not_a_name
from ..grammar.versions import containerd_series, docker_major, platform_name
from .building import Parts, build, default_parts
from .model import (
    CONTEXTS,
    Check,
    Conditions,
    Decision,
    Fill,
    PathIgnore,
    Rule,
    Settings,
    filler,
)
from .reading import Document, find_policy, plain, read_policy_file

if TYPE_CHECKING:
    from collections.abc import Collection
    from typing import Any, NoReturn

    from ..grammar.versions import ContainerdSeries, Platform
    from .model import Action, Context

# Decisions are remembered per name in each context, up to this many bytes (an estimate:
# a decision holds its name several times over, in the RuntimeName's fields); when one
# context's cache is full it is dropped wholesale, which bounds memory without the
# bookkeeping of an LRU on the hot path.  16 MiB holds some 16,000 ordinary names.
CACHE_BYTES = 16 << 20
ENTRY_OVERHEAD = 1024  # bytes a decision costs besides its name (measured: 800-900)
# No path longer than PATH_MAX (4096 bytes, Linux) can be executed, so no runtime name
# longer than that can ever run: such a name is denied without a rule and never cached
# (a client could otherwise fill memory with megabyte names).
PATH_MAX = 4096
NAME_TOO_LONG = "name-too-long"

# What a name is, as far as the conditions other than globs can tell: kind, context,
# Docker's verdict, whether the binary is a well-known shim, notes.  Few names differ here
# (notes are usually none), so the rules each combination leaves are worked out once.
Traits = tuple[str, str, bool, bool, frozenset[str]]
TRAITS_CACHE_SIZE = 4096


class Policy:
    """An immutable, thread-safe policy.  Build one with ``default``, ``load``,
    ``from_dict`` or ``discover``.

    ``decide`` never raises for a ``str`` name and does no I/O.  Decisions are cached in a
    plain dict: a lookup is atomic and takes no lock; only a new name's insertion does,
    to keep the cache's size in bytes.
    """

    __slots__ = (
        "_by_id",
        "_cache_bytes",
        "_cache_lock",
        "_candidates",
        "_decisions",
        "_docker_major",
        "_platform",
        "_series",
        "_settings",
        "containerd",
        "default_action",
        "default_origin",
        "docker",
        "exclude",
        "ignore",
        "platform",
        "rules",
        "severity",
        "source",
    )

    containerd: str
    docker: str
    platform: str
    default_action: Action
    default_origin: str  # where the default action was written
    rules: tuple[Rule, ...]  # effective: the file's rules, then those it extends
    source: str  # the policy file's path, or "default policy"
    severity: Mapping[str, str]  # lint rule id -> error | warning | info | off
    exclude: tuple[str, ...]  # path globs the linter skips
    ignore: tuple[PathIgnore, ...]  # lint rules not reported for some paths
    _settings: Settings
    _by_id: dict[str, Rule]
    _decisions: dict[str, dict[str, Decision]]  # context -> name -> decision
    _cache_bytes: dict[str, int]  # context -> the estimated size of its decisions
    _cache_lock: threading.Lock
    _candidates: dict[Traits, tuple[_Candidate, ...]]
    _series: ContainerdSeries
    _platform: Platform
    _docker_major: int

    def __init__(self, parts: Parts) -> None:
        init = object.__setattr__
        init(self, "containerd", parts.containerd)
        init(self, "docker", parts.docker)
        init(self, "platform", parts.platform)
        init(self, "default_action", parts.default_action)
        init(self, "default_origin", parts.default_origin)
        init(self, "rules", parts.rules)
        init(self, "source", parts.source)
        init(self, "severity", MappingProxyType(dict(parts.severity)))
        init(self, "exclude", parts.exclude)
        init(self, "ignore", parts.ignore)
        init(self, "_settings", Settings(parts.containerd, parts.docker, parts.platform))
        init(self, "_by_id", {r.id: r for r in parts.rules})
        init(self, "_decisions", {c: {} for c in CONTEXTS})
        init(self, "_cache_bytes", dict.fromkeys(CONTEXTS, 0))
        init(self, "_cache_lock", threading.Lock())
        init(self, "_candidates", {})
        init(self, "_series", containerd_series(parts.containerd))
        init(self, "_platform", platform_name(parts.platform))
        init(self, "_docker_major", docker_major(parts.docker))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Policy is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Policy is immutable: cannot delete {name!r}")

    def __repr__(self) -> str:
        return (
            f"<Policy from {self.source}: {len(self.rules)} rules, default {self.default_action}>"
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def default(cls) -> Policy:
        """The embedded default policy (SPEC §5.3)."""
        return _default_policy()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Policy:
        """A policy file: YAML, or ``[tool.shimpolicy]`` of a ``*.toml`` file."""
        return cls(build(read_policy_file(path)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str = "<dict>") -> Policy:
        """A policy given as data (a policy file's content); ``origin`` names it in messages."""
        return cls(build(Document(plain(data), origin)))

    @classmethod
    def discover(cls, start: str | os.PathLike[str] = ".") -> Policy:
        """The policy for ``start``: the nearest ``.shimpolicy.yaml`` (or ``.yml``) in it or a
        parent up to the repository root (the first directory holding ``.git``), else the
        nearest ``pyproject.toml`` there with a ``[tool.shimpolicy]`` table, else the default.
        """
        doc = find_policy(start)
        return cls.default() if doc is None else cls(build(doc))

    def with_settings(
        self,
        *,
        containerd: str | None = None,
        docker: str | None = None,
        platform: str | None = None,
    ) -> Policy:
        """This policy applied to other versions or another platform (command-line flags
        override the file's).  An unknown version or platform is a ``ValueError``."""
        containerd = containerd or self.containerd
        docker = docker or self.docker
        platform = platform or self.platform
        containerd_series(containerd)  # each raises ValueError for what it does not know
        docker_major(docker)
        platform_name(platform)
        parts = Parts(
            containerd=containerd,
            docker=docker,
            platform=platform,
            default_action=self.default_action,
            default_origin=self.default_origin,
            rules=self.rules,
            source=self.source,
            severity=self.severity,
            exclude=self.exclude,
            ignore=self.ignore,
        )
        return Policy(parts)

    # ------------------------------------------------------------------ deciding

    def decide(self, name: str, context: Context = "request") -> Decision:
        """Allow, warn or deny ``name`` chosen in ``context`` ("request" or "config").

        Never raises for a ``str`` name; another type is a ``TypeError``, an unknown
        context a ``ValueError``."""
        decisions = self._decisions.get(context)
        decision = decisions.get(name) if decisions is not None else None
        if decision is None:
            decision = self._decide(name, context, decisions)
        return decision

    def _decide(self, name: str, context: Context, cache: dict[str, Decision] | None) -> Decision:
        """Decide a name not decided before, and remember the decision in ``cache``, the
        context's (``None`` for an unknown context)."""
        if not isinstance(name, str):
            raise not_a_name(name)
        if cache is None:
            raise ValueError(f"unknown context {context!r}: expected request or config")
        size = len(name) if name.isascii() else len(name.encode("utf-8", "surrogatepass"))
        if size > PATH_MAX:
            return self._too_long(name, size, context)
        rn = _parse(name, self._series, self._platform)
        # What Docker does with the name per container, unconfigured: the default, a stock
        # runtime (D2) or one D1 passes to containerd is accepted (a Windows daemon up to 28
        # ignores every name: it runs none of them).
        takes = _takes(name, self._docker_major, self._platform == "windows", ())
        permitted = takes not in ("refused", "ignored")
        chosen = self._first_match(rn, context, permitted)
        if chosen is None:
            action, rule_id, origin = self.default_action, "default", self.default_origin
            reason = f"no rule matched; the policy's default action is {action}"
        else:
            rule = chosen.rule
            action, rule_id, origin, reason = rule.action, rule.id, rule.origin, chosen.fill(rn)
        decision = Decision(
            action=action,
            rule=rule_id,
            reason=reason,
            name=rn,
            context=context,
            origin=origin,
            docker_permitted=permitted,
            docker_runtime=takes,
        )
        cost = ENTRY_OVERHEAD + 4 * size
        with self._cache_lock:  # only new names come here
            if self._cache_bytes[context] + cost > CACHE_BYTES:
                cache.clear()
                self._cache_bytes[context] = 0
            cache[name] = decision
            self._cache_bytes[context] += cost
        return decision

    def _too_long(self, name: str, size: int, context: Context) -> Decision:
        """The denial of a name longer than PATH_MAX: made for each request, never kept."""
        rn = _parse(name, self._series, self._platform)
        takes = _takes(name, self._docker_major, self._platform == "windows", ())
        reason = (
            f"the name is {size} bytes long, longer than any path containerd could "
            f"execute (PATH_MAX, {PATH_MAX} bytes)"
        )
        return Decision(
            action="deny",
            rule=NAME_TOO_LONG,
            reason=reason,
            name=rn,
            context=context,
            origin="shimpolicy",
            docker_permitted=takes != "refused",
            docker_runtime=takes,
        )

    def decide_for_docker(
        self, name: str, runtimes: Mapping[str, str] | Collection[str] = ()
    ) -> Decision:
        """Allow, warn or deny ``name`` chosen per container for Docker (``docker run
        --runtime``, Compose ``runtime``, ``HostConfig.Runtime``), as dockerd takes it: the
        empty name is the daemon's default runtime, a stock runtime (D2) Docker's own and a
        name its daemon.json configures (``runtimes``: names, or names mapped to where each
        is written) the administrator's; neither is checked beyond what dockerd checks.
        Any other name is decided in ``request`` context."""
        if not isinstance(name, str):
            raise not_a_name(name)
        windows = self._platform == "windows"
        takes = _takes(name, self._docker_major, windows, runtimes)
        if takes not in ("default", "stock", "configured", "ignored"):
            return self.decide(name, "request")
        shown, docker = display(name), f"Docker {self.docker} on {self.platform}"
        rn = _parse(name, self._series, self._platform)
        if takes == "ignored":
            reason = (
                f"a Windows daemon of Docker {self.docker} never reads a per-container runtime "
                "name and runs every container with its own runtime (runhcs)"
            )
            return Decision(
                action="warn",
                rule="SP218",
                reason=reason,
                name=rn,
                context="request",
                origin=docker,
                docker_permitted=False,
                docker_runtime=takes,
            )
        if takes == "default":
            origin = docker
            reason = "the empty runtime selects the daemon's default runtime (default-runtime)"
        elif takes == "stock":
            origin = f"{docker} (D2)"
            reason = (
                f"'{shown}' is a stock runtime of {docker} (D2): dockerd runs it itself, with "
                "its own settings, and never hands the name to containerd"
            )
        else:
            where = runtimes.get(name) if isinstance(runtimes, Mapping) else None
            origin = where if isinstance(where, str) else "daemon.json"
            reason = (
                f"'{shown}' is configured in daemon.json's \"runtimes\" (D2): the administrator "
                "set it up, and dockerd takes it as written"
            )
        return Decision(
            action="allow",
            rule=f"docker-{takes}",
            reason=reason,
            name=rn,
            context="request",
            origin=origin,
            docker_permitted=True,
            docker_runtime=takes,
        )

    def _first_match(self, rn: RuntimeName, context: str, permitted: bool) -> _Candidate | None:
        """The first rule alternative that matches (any of a rule's alternatives may)."""
        traits = (rn.kind, context, permitted, rn.shim_info is not None, rn.notes)
        candidates = self._candidates.get(traits)
        if candidates is None:
            candidates = _candidates(self.rules, traits, self._settings)
            if len(self._candidates) >= TRAITS_CACHE_SIZE:
                self._candidates.clear()
            self._candidates[traits] = candidates
        for candidate in candidates:
            for check in candidate.checks:  # the globs: all must hold
                if not check(rn):
                    break
            else:
                return candidate
        return None

    def rule(self, rule_id: str) -> Rule | None:
        """The effective rule with this id."""
        return self._by_id.get(rule_id)


class _Candidate(NamedTuple):
    """A rule alternative that a name's traits leave in the running."""

    rule: Rule
    checks: tuple[Check, ...]  # the globs still to check on the name's text
    fill: Fill  # the reason


def _candidates(
    rules: tuple[Rule, ...], traits: Traits, settings: Settings
) -> tuple[_Candidate, ...]:
    """The alternatives whose conditions other than globs hold for these traits, in policy
    order, up to the first with no glob to check: that one always matches, so none after
    it is ever reached."""
    windows = settings.platform == "windows"
    context = traits[1]
    found: list[_Candidate] = []
    for rule in rules:
        for conditions, template in zip(rule.match.alternatives, rule.templates, strict=True):
            if conditions.selects(*traits):
                checks = _checks(conditions, windows)
                found.append(_Candidate(rule, checks, filler(*template, context, settings)))
                if not checks:
                    return tuple(found)
    return tuple(found)


@lru_cache(maxsize=1024)
def _checks(conditions: Conditions, windows: bool) -> tuple[Check, ...]:
    """The globs of an alternative, compiled the first time a name's traits select it."""
    return conditions.compile(windows)


@lru_cache(maxsize=1)
def _default_policy() -> Policy:
    return Policy(default_parts())
