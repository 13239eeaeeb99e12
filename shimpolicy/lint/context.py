"""What a check needs while it runs: the policy, the versions, cross-file facts, and a
place to put findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from ..syntax import Span
from .finding import Finding, Location
from .rulebook import default_severity
from .source import SourceFile

if TYPE_CHECKING:
    from ..policy import Policy
    from .links import ClassDef, ContainerdConfig, Workload

# Values a template engine or CI system fills in later (SPEC §2 "Real-world shapes"):
# ${VAR}, ${{ inputs.x }}, {{ .x }}, $VAR, <PLACEHOLDER>, FILLED_BY_OPERATOR-style markers.
_PLACEHOLDER = re.compile(
    r"\$\{\{.*?\}\}|\{\{.*?\}\}|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|<[A-Z_]+>"
)


def placeholder(value: str) -> str | None:
    """The first template placeholder in ``value``, if it has one."""
    m = _PLACEHOLDER.search(value)
    return m.group() if m else None


@dataclass
class Facts:
    """What one run learns across files (SPEC D2, K3, K4): filled before any check runs."""

    daemon_json: list[str] = field(default_factory=list)
    docker_runtimes: dict[str, Location] = field(default_factory=dict)
    # The ends of the links lint/links.py follows (K2-K4, C5), each with where it is written.
    containerd: list[ContainerdConfig] = field(default_factory=list)
    classes: list[ClassDef] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)  # every Kubernetes manifest read
    link_groups: dict[str, str] = field(default_factory=dict)  # filled by links.group_of

    def merge(self, other: Facts) -> None:
        """Add ``other``'s facts after this one's, as if its files were collected next:
        lists grow, and a key already known keeps its first value (collect's setdefault)."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, list):
                mine.extend(theirs)
            else:
                for key, value in theirs.items():
                    mine.setdefault(key, value)


@dataclass
class LintContext:
    policy: Policy
    facts: Facts
    findings: list[Finding] = field(default_factory=list)

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
        self, source: SourceFile, span: Span, name: str, context: str, what: str
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
