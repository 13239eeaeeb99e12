"""The reference pages under docs/: one per rule and docs/semantics.md, generated from
rules/ and shimpolicy/semantics.py, in sync with them, and covering every C/D/K number a
rule or a message cites."""

from __future__ import annotations

import re

import pytest

from shimpolicy.lint.rulebook import catalog
from shimpolicy.rulesdoc import main, render_docs, render_rule_page
from shimpolicy.semantics import SEMANTICS, semantic
from tests.conftest import ROOT, RULES

DOCS = ROOT / "docs"


def test_docs_are_in_sync_with_the_rules() -> None:
    pages = render_docs()
    on_disk = {p.relative_to(DOCS).as_posix() for p in (DOCS / "rules").glob("*.md")}
    assert on_disk == {p for p in pages if p.startswith("rules/")}
    stale = [p for p, text in pages.items() if (DOCS / p).read_text(encoding="utf-8") != text]
    assert stale == [], "run `python -m shimpolicy.rulesdoc README.md docs`"
    assert main(["--check", str(DOCS)]) == 0


def test_every_rule_page_says_what_why_examples_and_fix() -> None:
    for doc in catalog().values():
        page = render_rule_page(doc)
        assert page.startswith(f"# {doc.id} {doc.name}\n"), doc.id
        headings = re.findall(r"(?m)^## (\w+)$", page)
        assert headings[:4] == ["What", "Why", "Examples", "Fix"], doc.id
        assert "\n### " in page[page.index("## Examples") : page.index("## Fix")], doc.id


def test_every_cited_number_is_explained() -> None:
    cited = {s.split()[0] for doc in catalog().values() for s in doc.spec}
    for path in RULES.glob("*.yaml"):
        cited |= set(re.findall(r"\b[CDK][0-9]+\b", path.read_text(encoding="utf-8")))
    for path in (ROOT / "shimpolicy").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        cited |= set(re.findall(r"\((?:SPEC )?([CDK][0-9]+)\b", text))
    assert sorted(c for c in cited if semantic(c) is None) == []
    assert len({s.id for s in SEMANTICS}) == len(SEMANTICS)


def test_semantics_page_links_each_number_to_the_rules_that_rest_on_it() -> None:
    page = render_docs()["semantics.md"]
    section = page[page.index("## C2\n") : page.index("## C3\n")]
    assert "[SP104](rules/SP104.md)" in section
    rule_page = render_docs()["rules/SP104.md"]
    assert "[C2](../semantics.md#c2)" in rule_page


def test_rule_command_names_the_semantics_a_user_can_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shimpolicy.cli import main
    from shimpolicy.rulesdoc import REPOSITORY

    assert main(["rule", "SP104"]) == 0
    out = capsys.readouterr().out
    assert f"Semantics: C2, D1 (explained in {REPOSITORY}/blob/main/docs/semantics.md)\n" in out
    assert "SPEC" not in out
