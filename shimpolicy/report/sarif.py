"""SARIF 2.1.0: one run, rules described from the catalog (or the policy that made them)."""

from __future__ import annotations

import hashlib
import json as _json
from collections.abc import Mapping
from urllib.parse import quote

from .. import __version__
from .._typing import TYPE_CHECKING
from ..display import display
from ..lint.engine import LintResult
from ..lint.finding import Finding, Fix, Location
from ..lint.rulebook import rule_doc
from ..rulesdoc import REPOSITORY, docs_url

if TYPE_CHECKING:
    from typing import Any

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT = "shimpolicyFinding/v1"  # the key names its version: a new recipe, a new key


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    region = {"startLine": line, "startColumn": column}
    if (end_line, end_column) > (line, column):
        region.update(endLine=end_line, endColumn=end_column)
    return region


def _artifact(path: str) -> dict[str, str]:
    """A path as a SARIF artifact location: a URI reference, percent-encoded; relative
    paths are relative to the source root, absolute ones are file URIs."""
    if path.startswith("/"):
        return {"uri": "file://" + quote(path)}
    return {"uri": quote(path), "uriBaseId": "%SRCROOT%"}


def _location(path: str, region: dict[str, int], message: str = "") -> dict[str, Any]:
    loc: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": _artifact(path), "region": region}
    }
    if message:
        loc["message"] = {"text": display(message)}
    return loc


def _rule(rule_id: str, findings: list[Finding]) -> dict[str, Any]:
    doc = rule_doc(rule_id)
    if doc is None:  # a rule from a user's policy file
        return {
            "id": rule_id,
            "name": rule_id,
            "shortDescription": {"text": f"Policy rule {rule_id}"},
            "fullDescription": {"text": display(findings[0].message)},
            "help": {
                "text": f"Decided by the policy rule '{rule_id}'; its reason is in the policy file."
            },
            "defaultConfiguration": {"level": _LEVEL[findings[0].severity]},
        }
    help_text = f"{doc.title}\n\n{doc.rationale}"
    properties: dict[str, Any] = {"tags": ["security", doc.source], "spec": list(doc.spec)}
    if doc.security_severity is not None:  # code scanning ranks these as security alerts
        properties["security-severity"] = doc.security_severity
    return {
        "id": doc.id,
        "name": doc.name,
        "shortDescription": {"text": doc.title},
        "fullDescription": {"text": doc.rationale.split("\n\n", 1)[0] or doc.title},
        "help": {"text": help_text, "markdown": help_text},
        "helpUri": docs_url(f"rules/{doc.id}.md"),
        "defaultConfiguration": {"level": _LEVEL.get(doc.severity, "error")},
        "properties": properties,
    }


def _fingerprint(f: Finding, seen: dict[tuple[str, str, str], int]) -> str:
    """The same finding's identity from one commit to the next: its rule, file and message
    (which names the offending value), and how many identical ones come before it in the
    file; never its line, which moves when lines are added above it."""
    key = (f.rule, f.path, f.message)
    seen[key] = seen.get(key, 0) + 1
    text = "\0".join((*key, str(seen[key])))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _related(related: tuple[Location, ...]) -> list[dict[str, Any]]:
    out = []
    for i, r in enumerate(related):
        loc = _location(r.path, _region(r.line, r.column, r.end_line, r.end_column), r.message)
        loc["id"] = i
        out.append(loc)
    return out


def _fix(path: str, fix: Fix) -> dict[str, Any]:
    """A finding's fix as SARIF's: its edits as replacements of one artifact.  Every
    region has its end, so an insertion is an empty region, never a whole line."""
    how = "safe" if fix.kind == "safe" else "unsafe: changes what the daemon does"
    return {
        "description": {"text": f"{display(fix.message)} ({how})"},
        "artifactChanges": [
            {
                "artifactLocation": _artifact(path),
                "replacements": [
                    {
                        "deletedRegion": {
                            "startLine": e.line,
                            "startColumn": e.column,
                            "endLine": e.end_line,
                            "endColumn": e.end_column,
                        },
                        "insertedContent": {"text": e.text},
                    }
                    for e in fix.edits
                ],
            }
        ],
        "properties": {"applicability": fix.kind},
    }


def write(
    result: LintResult, *, color: bool = False, sources: Mapping[str, str] | None = None
) -> str:
    by_rule: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append(f)
    rule_ids = sorted(by_rule)
    index = {r: i for i, r in enumerate(rule_ids)}
    results = []
    seen: dict[tuple[str, str, str], int] = {}
    for f in result.findings:
        res: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _LEVEL[f.severity],
            "message": {"text": display(f.message)},
            "locations": [_location(f.path, _region(f.line, f.column, f.end_line, f.end_column))],
            "partialFingerprints": {FINGERPRINT: _fingerprint(f, seen)},
        }
        if f.related:
            res["relatedLocations"] = _related(f.related)
        if f.fix is not None:
            res["fixes"] = [_fix(f.path, f.fix)]
        results.append(res)
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "shimpolicy",
                        "version": __version__,
                        "informationUri": REPOSITORY,
                        "rules": [_rule(r, by_rule[r]) for r in rule_ids],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return _json.dumps(doc, indent=2) + "\n"
