"""Fixes (``lint --fix``): edits at the findings' own spans, proven by linting again.

The property tests take every fixable finding of the fixtures, the examples and the
real-world corpus: its fix alone leaves a text that parses to the same tree except at the
edited spans, and linting that text again no longer reports the finding."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from shimpolicy.lint.engine import DEFAULT_OPTIONS, file_types, lint_paths, lint_text
from shimpolicy.lint.filetype import type_by_content, type_by_name
from shimpolicy.lint.finding import Edit, Finding, Fix
from shimpolicy.lint.fixes import FixRefused, apply_edits, fix_text, same_except
from shimpolicy.lint.rulebook import catalog, rule_doc
from shimpolicy.lint.source import SourceFile
from shimpolicy.policy import Policy
from shimpolicy.syntax import Span
from tests.conftest import CORPUS, CORPUS2, FIXTURES, ROOT, policy

# Where fixable findings are looked for; a tree that is absent is skipped.
TREES = [FIXTURES, ROOT / "examples", CORPUS, CORPUS2]
# The settings the fixes are tried under: the default (containerd 2.x), and 1.7.
SETTINGS = [Policy.default(), policy(containerd="1.7")]


def _fixable() -> list[tuple[str, int, Finding]]:
    found = []
    for tree in TREES:
        if not tree.is_dir():
            continue
        for i, pol in enumerate(SETTINGS):
            for f in lint_paths([str(tree)], pol).findings:
                if f.fix is not None:
                    found.append((f"{f.path}:{f.line}:{f.column}:{f.rule}:{i}", i, f))
    return found


FIXABLE = _fixable()


def _tree(text: str, path: str) -> object:
    kind = type_by_name(path) or type_by_content(path, text)
    assert kind is not None
    return file_types()[kind].load(SourceFile.of(path, text, kind))


def test_the_fixtures_have_fixable_findings_of_both_kinds() -> None:
    kinds = Counter((f.rule, f.fix.kind) for _, _, f in FIXABLE if f.fix is not None)
    assert {
        ("SP110", "unsafe"),
        ("SP208", "safe"),
        ("SP208", "unsafe"),
        ("SP404", "unsafe"),
        ("SP406", "safe"),
    } <= set(kinds)


@pytest.mark.parametrize(("where", "setting", "finding"), FIXABLE, ids=[w for w, _, _ in FIXABLE])
def test_a_fix_changes_only_its_span_and_removes_its_finding(
    where: str, setting: int, finding: Finding
) -> None:
    pol = SETTINGS[setting]
    text = Path(finding.path).read_text(encoding="utf-8")
    assert finding.fix is not None
    fixed = apply_edits(text, finding.fix.edits)
    spans = [Span(e.line, e.column, e.end_line, e.end_column) for e in finding.fix.edits]
    assert fixed != text
    assert same_except(_tree(text, finding.path), _tree(fixed, finding.path), spans)
    before = Counter((f.rule, f.message) for f in lint_text(text, finding.path, pol).findings)
    after = Counter((f.rule, f.message) for f in lint_text(fixed, finding.path, pol).findings)
    assert after[(finding.rule, finding.message)] == before[(finding.rule, finding.message)] - 1
    assert "SP001" not in {rule for rule, _ in after}


@pytest.mark.parametrize("setting", range(len(SETTINGS)))
def test_safe_fixes_of_every_file_hold_together(setting: int) -> None:
    """What ``lint --fix`` does to each file: never refused on these trees."""
    pol = SETTINGS[setting]
    paths = {f.path for _, i, f in FIXABLE if i == setting and f.fix and f.fix.kind == "safe"}
    assert paths
    for path in sorted(paths):
        text = Path(path).read_text(encoding="utf-8")
        result = fix_text(text, path, pol, DEFAULT_OPTIONS)
        assert result.fixed and result.text != text, path
        left = lint_text(result.text, path, pol).findings
        assert not [f for f in left if f.fix is not None and f.fix.kind == "safe"], path


def test_every_fix_is_of_a_kind_its_rule_declares() -> None:
    for _, _, f in FIXABLE:
        doc = rule_doc(f.rule)
        assert doc is not None and doc.fix is not None, f.rule
        assert f.fix is not None and f.fix.kind in doc.fix.kinds, (f.rule, f.fix)


def test_the_rules_that_declare_fixes() -> None:
    declared = {doc.id: doc.fix.kinds for doc in catalog().values() if doc.fix is not None}
    assert declared == {
        "SP110": ("safe", "unsafe"),
        "SP208": ("safe", "unsafe"),
        "SP404": ("unsafe",),
        "SP406": ("safe",),
        "SP414": ("unsafe",),
    }


KATA = """{
  "runtimes": {
    "kata": {"runtimeType": "io.kata.kata-qemu.v2"}
  }
}
"""


def test_an_alias_is_renamed_between_its_quotes() -> None:
    [f] = lint_text(KATA, "daemon.json", Policy.default()).findings
    assert f.rule == "SP110"
    assert f.fix == Fix(
        "safe",
        "rename to io.containerd.kata-qemu.v2",
        (Edit(3, 30, 3, 50, "io.containerd.kata-qemu.v2"),),
    )
    fixed = fix_text(KATA, "daemon.json", Policy.default(), DEFAULT_OPTIONS)
    assert fixed.text == KATA.replace("io.kata.kata-qemu.v2", "io.containerd.kata-qemu.v2")
    assert fixed.fixed == (f,)


def test_an_alias_of_runc_is_an_unsafe_fix() -> None:
    """Docker gives its stock io.containerd.runc.v2 its own runc options (D2), and
    containerd decodes runc options only under that exact name."""
    text = "services:\n  app:\n    image: x\n    runtime: com.example.runc.v2\n"
    [f] = lint_text(text, "compose.yaml", Policy.default()).findings
    assert f.fix == Fix(
        "unsafe", "rename to io.containerd.runc.v2", (Edit(4, 14, 4, 33, "io.containerd.runc.v2"),)
    )
    assert fix_text(text, "compose.yaml", Policy.default(), DEFAULT_OPTIONS).text == text
    unsafe = fix_text(text, "compose.yaml", Policy.default(), DEFAULT_OPTIONS, unsafe=True)
    assert unsafe.text == text.replace("com.example.runc.v2", "io.containerd.runc.v2")


def test_an_alias_written_with_an_escape_has_no_fix() -> None:
    text = KATA.replace("io.kata", "io.k\\u0061ta")
    [f] = lint_text(text, "daemon.json", Policy.default()).findings
    assert (f.rule, f.fix) == ("SP110", None)


def test_a_fix_that_brings_a_new_finding_is_refused() -> None:
    text = '{"runtimes": {"r": {"runtimeType": "com.example.runc.v2"}}}\n'
    result = fix_text(text, "daemon.json", Policy.default(), DEFAULT_OPTIONS, unsafe=True)
    assert (result.text, result.fixed) == (text, ())
    [(finding, why)] = result.refused
    assert finding.rule == "SP110"
    assert why.startswith(
        'the fixed file has a finding the original did not: SP211 runtime "r" uses '
        'io.containerd.runc.v2 without "options"'
    )


def test_overlapping_edits_are_refused() -> None:
    with pytest.raises(FixRefused) as e:
        apply_edits("abcdef\n", [Edit(1, 1, 1, 4, "x"), Edit(1, 3, 1, 5, "y")])
    assert str(e.value) == "two fixes edit the same text"
    assert apply_edits("abcdef\n", [Edit(1, 5, 1, 6, "y"), Edit(1, 1, 1, 4, "x")]) == "xdyf\n"


def test_an_ignored_key_on_containerd_2_is_removed_with_its_line() -> None:
    text = (
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '  runtime_type = "io.containerd.runc.v2"\n  runtime_root = "/run/x"  \n'
        "  # kept\n"
    )
    [f] = [f for f in lint_text(text, "config.toml", Policy.default()).findings if f.fix]
    assert f.rule == "SP406"
    assert f.fix == Fix("safe", "remove `runtime_root`, which is ignored", (Edit(4, 1, 5, 1, ""),))
    fixed = fix_text(text, "config.toml", Policy.default(), DEFAULT_OPTIONS).text
    assert fixed == text.replace('  runtime_root = "/run/x"  \n', "")
    # Sharing its line with a comment: no fix (the comment would go too).
    commented = text.replace('"/run/x"  ', '"/run/x"  # why')
    found = lint_text(commented, "config.toml", Policy.default()).findings
    assert [(f.rule, f.fix) for f in found] == [("SP407", None), ("SP406", None)]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            '{"runtimes": {"n": {"args": [], "path": "/bin/n"}}}\n',
            '{"runtimes": {"n": {"path": "/bin/n"}}}\n',
        ),
        (
            '{"runtimes": {"n": {"path": "/bin/n", "args": []}}}\n',
            '{"runtimes": {"n": {"path": "/bin/n"}}}\n',
        ),
        (
            '{\n  "runtimes": {\n    "n": {\n      "args": [],\n'
            '      "path": "/bin/n"\n    }\n  }\n}\n',
            '{\n  "runtimes": {\n    "n": {\n      "path": "/bin/n"\n    }\n  }\n}\n',
        ),
    ],
)
def test_an_empty_unknown_key_is_removed_with_one_comma(before: str, after: str) -> None:
    [f] = lint_text(before, "daemon.json", Policy.default()).findings
    assert (f.rule, f.fix and f.fix.kind) == ("SP208", "safe")
    assert fix_text(before, "daemon.json", Policy.default(), DEFAULT_OPTIONS).text == after


def test_a_misspelt_field_is_renamed_only_as_an_unsafe_fix() -> None:
    text = '{"runtimes": {"n": {"path": "/bin/n", "args": ["--debug"]}}}\n'
    [f] = lint_text(text, "daemon.json", Policy.default()).findings
    assert f.fix == Fix("unsafe", 'rename to "runtimeArgs"', (Edit(1, 40, 1, 44, "runtimeArgs"),))
    assert fix_text(text, "daemon.json", Policy.default(), DEFAULT_OPTIONS).text == text
    fixed = fix_text(text, "daemon.json", Policy.default(), DEFAULT_OPTIONS, unsafe=True).text
    assert fixed == text.replace('"args"', '"runtimeArgs"')


def test_same_except_tells_an_edit_from_any_other_change() -> None:
    old = _tree('{"a": "x", "b": "y"}', "daemon.json")
    new = _tree('{"a": "z", "b": "y"}', "daemon.json")
    assert same_except(old, new, [Span(1, 7, 1, 10)])
    assert not same_except(old, new, [Span(1, 17, 1, 20)])
    fewer = _tree('{"b": "y"}', "daemon.json")
    assert same_except(old, fewer, [Span(1, 2, 1, 12)])
    assert not same_except(old, fewer, [Span(1, 7, 1, 10)])


def test_keys_that_stop_containerd_1_x_are_removed_only_as_unsafe_fixes() -> None:
    """Removed, the CRI plugin loads where it failed to (SP404, SP414): what runs changes."""
    text = (
        'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  systemd_cgroup = true\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '  runtime_type = "io.containerd.runc.v2"\n  runtime_engine = "/usr/local/bin/runc"\n'
    )
    pol = policy(containerd="1.7")
    found = lint_text(text, "config.toml", pol).findings
    assert [(f.rule, f.fix) for f in found] == [
        (
            "SP414",
            Fix(
                "unsafe", "remove `systemd_cgroup` (the CRI plugin loads)", (Edit(3, 1, 4, 1, ""),)
            ),
        ),
        (
            "SP404",
            Fix(
                "unsafe", "remove `runtime_engine` (the CRI plugin loads)", (Edit(6, 1, 7, 1, ""),)
            ),
        ),
    ]
    assert fix_text(text, "config.toml", pol, DEFAULT_OPTIONS).text == text
    fixed = fix_text(text, "config.toml", pol, DEFAULT_OPTIONS, unsafe=True)
    assert fixed.text == text.replace("  systemd_cgroup = true\n", "").replace(
        '  runtime_engine = "/usr/local/bin/runc"\n', ""
    )
    assert lint_text(fixed.text, "config.toml", pol).findings == ()


def test_a_fix_is_never_made_on_text_changed_since_it_was_linted() -> None:
    [f] = lint_text(KATA, "daemon.json", Policy.default()).findings
    changed = KATA.replace("io.kata.kata-qemu.v2", "io.kata.kata-clh.v2")
    result = fix_text(changed, "daemon.json", Policy.default(), DEFAULT_OPTIONS, findings=[f])
    assert result == (changed, (), ((f, "the file changed since it was linted"),))
