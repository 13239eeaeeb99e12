"""Inline suppressions in YAML, TOML and shell: scope, reasons, unused ones, and the
per-path ignores and severities of a policy file."""

from __future__ import annotations

from shimpolicy.lint.engine import LintOptions, lint_text
from shimpolicy.policy import Policy

POLICY = Policy.default()
COMPOSE = """\
services:
  a:
    image: x
    runtime: com.example.runc.v2{a}
{own}  b:
    image: x
    runtime: com.example.runc.v2
"""


def found(
    text: str, filename: str, policy: Policy = POLICY, **options: bool
) -> list[tuple[int, str, str]]:
    result = lint_text(text, filename, policy, LintOptions(**options))
    return [(f.line, f.rule, f.severity) for f in result.findings]


def test_trailing_comment_covers_its_own_line() -> None:
    text = COMPOSE.format(a="  # shimpolicy: ignore[SP110] -- our mirror", own="")
    assert found(text, "compose.yaml") == [(7, "SP110", "warning")]


def test_comment_alone_on_a_line_covers_the_next_code_line() -> None:
    text = COMPOSE.format(a="", own="    # shimpolicy: ignore[SP110] -- b is ours\n\n    # more\n")
    # The next code line is `b:` (line 8), not b's runtime (line 10): nothing to cover there.
    assert found(text, "compose.yaml") == [
        (4, "SP110", "warning"),
        (5, "SP004", "warning"),
        (10, "SP110", "warning"),
    ]


def test_suppression_by_rule_name() -> None:
    text = COMPOSE.format(a="  # shimpolicy: ignore[alias-of-known-shim] -- ok", own="")
    assert found(text, "compose.yaml") == [(7, "SP110", "warning")]


def test_file_scope() -> None:
    text = "# shimpolicy: ignore-file[SP110] -- legacy stack\n" + COMPOSE.format(a="", own="")
    assert found(text, "compose.yaml") == []


def test_a_reason_is_required() -> None:
    text = COMPOSE.format(a="  # shimpolicy: ignore[SP110]", own="")
    assert found(text, "compose.yaml") == [
        (4, "SP110", "warning"),
        (4, "SP005", "error"),
        (7, "SP110", "warning"),
    ]


def test_unused_suppression_is_reported() -> None:
    text = COMPOSE.format(a="  # shimpolicy: ignore[SP104] -- not this one", own="")
    assert found(text, "compose.yaml") == [
        (4, "SP110", "warning"),
        (4, "SP004", "warning"),
        (7, "SP110", "warning"),
    ]


def test_no_inline_ignores_disregards_them_all() -> None:
    text = COMPOSE.format(a="  # shimpolicy: ignore[SP110] -- our mirror", own="")
    assert found(text, "compose.yaml", inline_ignores=False) == [
        (4, "SP110", "warning"),
        (7, "SP110", "warning"),
    ]


def test_toml_comment() -> None:
    text = (
        'version = 4\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.x]\n'
        '  runtime_type = "/tmp/containerd-shim-x-v1"  # shimpolicy: ignore[SP106] -- CI only\n'
    )
    assert found(text, "config.toml") == []
    assert found(text.replace("  # shimpolicy", "  # nothing"), "config.toml") == [
        (3, "SP106", "error")
    ]


def test_shell_comment() -> None:
    text = (
        "#!/bin/sh\n# shimpolicy: ignore[SP104] -- a throwaway VM\n"
        "ctr run --runtime /opt/x/containerd-shim-x-v1 img id\n"
    )
    assert found(text, "run.sh") == []


def test_json_has_no_comments_but_the_policy_can_ignore_paths() -> None:
    text = '{"runtimes": {"runc": {"path": "/usr/bin/runc"}}}'
    assert found(text, "legacy/daemon.json") == [(1, "SP201", "error")]
    policy = Policy.from_dict(
        {
            "version": 1,
            "extends": "default",
            "ignore": [{"path": "legacy/*", "rules": ["SP201"], "reason": "retired hosts"}],
        }
    )
    assert found(text, "legacy/daemon.json", policy) == []
    assert found(text, "current/daemon.json", policy) == [(1, "SP201", "error")]


def test_policy_severity_overrides() -> None:
    text = COMPOSE.format(a="", own="")
    policy = Policy.from_dict({"version": 1, "extends": "default", "severity": {"SP110": "error"}})
    assert found(text, "compose.yaml", policy) == [(4, "SP110", "error"), (7, "SP110", "error")]
    off = Policy.from_dict({"version": 1, "extends": "default", "severity": {"SP110": "off"}})
    assert found(text, "compose.yaml", off) == []
