"""What a check needs while it runs: the policy, the versions, cross-file facts, and a
place to put findings."""

from __future__ import annotations

import re
from functools import cache

from .._typing import TYPE_CHECKING
from ..syntax import Span
from .finding import Finding, Location
from .rulebook import default_severity
from .source import SourceFile

if TYPE_CHECKING:
    from ..policy import Policy
    from ..policy.model import Context
    from .links import ClassDef, ContainerdConfig, Workload


# Values a template engine or CI system fills in later (SPEC §2 "Real-world shapes"):
# ${VAR}, ${{ inputs.x }}, {{ .x }}, $VAR, <PLACEHOLDER>, FILLED_BY_OPERATOR-style markers.
@cache
def _placeholders() -> re.Pattern[str]:
    return re.compile(r"\$\{\{.*?\}\}|\{\{.*?\}\}|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|<[A-Z_]+>")


def placeholder(value: str) -> str | None:
    """The first template placeholder in ``value``, if it has one."""
    if "$" not in value and "{" not in value and "<" not in value:  # most values: no regex
        return None
    m = _placeholders().search(value)
    return m.group() if m else None


class Facts:
    """What one run learns across files (SPEC D2, K3, K4): filled before any check runs."""

    # What collection fills in, and merge adds up; the rest is worked out from it.
    COLLECTED = (
        "daemon_json",
        "docker_runtimes",
        "containerd",
        "classes",
        "workloads",
        "manifests",
    )
    __slots__ = (*COLLECTED, "grouped", "link_groups")

    def __init__(self, *, manifests: list[str] | None = None) -> None:
        self.daemon_json: list[str] = []
        self.docker_runtimes: dict[str, Location] = {}
        # The ends of the links lint/links.py follows (K2-K4, C5), each with where it is
        # written.
        self.containerd: list[ContainerdConfig] = []
        self.classes: list[ClassDef] = []
        self.workloads: list[Workload] = []
        self.manifests: list[str] = manifests or []  # every Kubernetes manifest read
        # Worked out once every file is collected (lint/links.py): each directory's group,
        # and each group's RuntimeClasses and containerd configs.
        self.link_groups: dict[str, str] = {}
        self.grouped: dict[str, tuple[list[ClassDef], list[ContainerdConfig]]] | None = None

    def merge(self, other: Facts) -> None:
        """Add ``other``'s facts after this one's, as if its files were collected next:
        lists grow, and a key already known keeps its first value (collect's setdefault)."""
        for name in Facts.COLLECTED:
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, list):
                mine.extend(theirs)
            else:
                for key, value in theirs.items():
                    mine.setdefault(key, value)


class LintContext:
    """What a check needs: the policy, the run's facts, and where its findings go."""

    __slots__ = ("facts", "findings", "policy")

    def __init__(self, policy: Policy, facts: Facts) -> None:
        self.policy = policy
        self.facts = facts
        self.findings: list[Finding] = []

    @property
    def docker(self) -> str:
        return self.policy.docker

    @property
    def containerd(self) -> str:
        return self.policy.containerd

    @property
    def platform(self) -> str:
        return self.policy.platform

    def report(
        self,
        source: SourceFile,
        span: Span,
        rule: str,
        message: str,
        *,
        severity: str | None = None,
        related: tuple[Location, ...] = (),
    ) -> None:
        self.findings.append(
            Finding(
                source.path,
                span.line,
                span.column,
                span.end_line,
                span.end_column,
                rule,
                severity or default_severity(rule),
                message,
                related,
            )
        )

    def unresolved(
        self, source: SourceFile, span: Span, what: str, value: str, marker: str
    ) -> None:
        """SP003: a value a template or CI system fills in later (``marker`` is the part that
        says so); what it will be cannot be checked here."""
        message = f"{what} {value!r} is filled in later ({marker}); "
        self.report(source, span, "SP003", message + "its final value cannot be checked here")

    def check_name(
        self, source: SourceFile, span: Span, name: str, context: Context, what: str
    ) -> None:
        """Apply the policy to one runtime name found in a file (``what`` says where it was)."""
        marker = placeholder(name)
        if marker is not None:
            self.unresolved(source, span, what, name, marker)
            return
        decision = self.policy.decide(name, context=context)
        if decision.action == "allow":
            return
        severity = "warning" if decision.action == "warn" else None
        if severity is None:
            severity = (
                default_severity(decision.rule) if decision.rule.startswith("SP") else "error"
            )
        # Reasons usually quote the name already; say it once.
        subject = what if repr(name) in decision.reason else f"{what} {name!r}"
        self.report(source, span, decision.rule, f"{subject}: {decision.reason}", severity=severity)


def location(source: SourceFile, span: Span, message: str = "") -> Location:
    return Location(source.path, span.line, span.column, span.end_line, span.end_column, message)
