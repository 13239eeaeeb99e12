"""Rule documentation, rendered from ``rules/`` — for ``shimpolicy rule ID`` and for the
README's rule index (``python -m shimpolicy.rulesdoc README.md`` rewrites it;
``--check`` fails when it has drifted)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .lint.rulebook import RuleDoc, catalog

BEGIN = (
    "<!-- rule-index:begin (generated from rules/ by `python -m shimpolicy.rulesdoc README.md`) -->"
)
END = "<!-- rule-index:end -->"


def render_rule(doc: RuleDoc) -> str:
    lines = [
        f"{doc.id} {doc.name}: {doc.title}",
        "",
        f"Severity: {doc.severity}    Applies to: {doc.source}",
    ]
    if doc.spec:
        lines.append(f"SPEC: {', '.join(doc.spec)}")
    lines += ["", doc.rationale]
    for ex in doc.examples:
        # Lint examples expect a list of findings; policy examples expect an action.
        bad = ex.get("expect") != "allow" if "name" in ex else bool(ex.get("expect"))
        label = "Bad" if bad else "Good"
        lines += ["", f"{label}: {ex.get('description', '')}".rstrip()]
        if "content" in ex:
            lines.append(f"  ({ex.get('filename', '')})")
            lines += ["    " + line for line in str(ex["content"]).rstrip("\n").splitlines()]
        elif "name" in ex:
            context = ex.get("context", "request")
            lines.append(f"    {ex['name']!r} in {context} context -> {ex.get('expect')}")
    if doc.references:
        lines += ["", "References:"] + [f"  {r}" for r in doc.references]
    return "\n".join(lines) + "\n"


def render_index() -> str:
    rows = ["| Rule | Name | Severity | Applies to | What it catches |", "|---|---|---|---|---|"]
    for doc in catalog().values():
        title = doc.title.replace("|", "\\|")
        rows.append(f"| `{doc.id}` | `{doc.name}` | {doc.severity} | {doc.source} | {title} |")
    return "\n".join([BEGIN, "", *rows, "", END])


def splice(readme: str) -> str:
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError("README has no rule-index markers")
    return readme[:start] + render_index() + readme[end + len(END) :]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"] or ["README.md"]
    status = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = splice(text)
        if new == text:
            continue
        if check:
            print(f"{path}: rule index is out of date; run `python -m shimpolicy.rulesdoc {path}`")
            status = 1
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
    return status


if __name__ == "__main__":
    sys.exit(main())
