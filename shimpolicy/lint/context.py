"""What a check needs while it runs: the policy, the versions, cross-file facts, and a
place to put findings."""

from __future__ import annotations

from .._typing import TYPE_CHECKING
from ..syntax import Span
from .facts import Facts, placeholder
from .finding import Finding, Fix, Location
from .rulebook import default_severity
from .source import SourceFile

if TYPE_CHECKING:
    from ..policy import Policy
    from ..policy.model import Context


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
        fix: Fix | None = None,
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
                fix,
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
        fix = None
        if decision.rule == "SP110" and "alias" in decision.name.notes:
            from ..policy.model import documented_name
            from .fixes import alias_fix

            fix = alias_fix(source, span, name, documented_name(decision.name))
        self.report(
            source, span, decision.rule, f"{subject}: {decision.reason}", severity=severity, fix=fix
        )


def location(source: SourceFile, span: Span, message: str = "") -> Location:
    return Location(source.path, span.line, span.column, span.end_line, span.end_column, message)
