"""The policy layer: allow, warn or deny a runtime name, with the rule and the reason.

>>> from shimpolicy.policy import Policy
>>> d = Policy.default().decide("/usr/local/bin/x")
>>> d.action, d.rule
('deny', 'SP104')
"""

from __future__ import annotations

from .engine import Policy
from .model import ACTIONS, CONTEXTS, PLACEHOLDERS, Conditions, Decision, Match, PathIgnore, Rule
from .reading import PolicyError
from .render import default_policy_table, explain, render_policy

__all__ = [
    "ACTIONS",
    "CONTEXTS",
    "PLACEHOLDERS",
    "Conditions",
    "Decision",
    "Match",
    "PathIgnore",
    "Policy",
    "PolicyError",
    "Rule",
    "default_policy_table",
    "explain",
    "render_policy",
]
