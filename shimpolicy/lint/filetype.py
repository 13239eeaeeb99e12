"""File types the linter reads, and how a file's type is told from its name and content."""

from __future__ import annotations

import re
from collections.abc import Callable

from .._typing import TYPE_CHECKING, NamedTuple
from .context import LintContext
from .facts import Facts
from .source import SourceFile

if TYPE_CHECKING:
    from typing import Any

    from .embedded import Embedded


class FileType(NamedTuple):
    """One file type: ``load`` parses (raising ``SyntaxProblem``), ``collect`` records
    cross-file facts, ``check`` reports findings.  ``comment`` starts an inline comment
    (``None`` where the syntax has none: JSON).  ``embedded`` lists the configuration files
    a file of this type writes (lint/embedded.py)."""

    name: str
    description: str
    load: Callable[[SourceFile], Any]
    collect: Callable[[Any, SourceFile, Facts], None]
    check: Callable[[Any, SourceFile, LintContext], None]
    comment: str | None = "#"
    embedded: Callable[[Any, SourceFile], list[Embedded]] | None = None


# The names Compose looks for, and its override files (``compose.<anything>.yaml``), on the
# file's base name: compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml,
# compose.*.yaml, compose.*.yml, docker-compose.*.yaml, docker-compose.*.yml.
COMPOSE_STEMS = ("compose", "docker-compose")
COMPOSE_EXTENSIONS = (".yaml", ".yml")


def is_compose_name(base: str) -> bool:
    """Whether a base name is one of Compose's (the globs above, without compiling them)."""
    for ext in COMPOSE_EXTENSIONS:
        if base.endswith(ext):
            stem = base[: -len(ext)]
            return stem in COMPOSE_STEMS or any(stem.startswith(s + ".") for s in COMPOSE_STEMS)
    return False


# What content tells a type (compiled on first use, by re's cache: most runs name their
# files well enough that these are never needed).
_SHEBANG = r"#![ \t]*(?:/usr)?(?:/local)?/bin/(?:env[ \t]+(?:-\S+[ \t]+)*)?(?:ba|da|k|z|)sh\b"
_COMPOSE_CONTENT = r"(?m)^services[ \t]*:"
_K8S_CONTENT = r"(?m)^kind[ \t]*:"
_K8S_API = r"(?m)^apiVersion[ \t]*:"
_K8S_JSON_KIND = r'"kind"\s*:\s*"[A-Za-z]'
_K8S_JSON_API = r'"apiVersion"\s*:\s*"[a-z0-9./-]*v[0-9]'
# cloud-init user data; a Jinja template says so on the line before.
_CLOUD_CONFIG = r"(?m)(?:## template:[^\n]*\n)?#cloud-config[ \t]*\r?$"
_CONTAINERD_CONTENT = r"(?m)^[ \t]*\[+[ \t]*plugins\b|io\.containerd\."


SHELL_EXTENSIONS = (".sh", ".bash", ".zsh")


def is_daemon_json_name(base: str) -> bool:
    """``daemon.json``, and the names it is kept under per host or environment:
    ``daemon.<anything>.json`` and ``<anything>.daemon.json``."""
    return base == "daemon.json" or (
        base.endswith(".json") and (base.startswith("daemon.") or base.endswith(".daemon.json"))
    )


def type_by_name(path: str) -> str | None:
    """A type decided by the path alone, or None when the content must decide."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    if is_daemon_json_name(base):
        return "daemon.json"
    if is_compose_name(base):
        return "compose"
    if "/.github/workflows/" in "/" + path.replace("\\", "/") and base.endswith((".yml", ".yaml")):
        return "workflow"
    if base.endswith(SHELL_EXTENSIONS):
        return "shell"
    if base.endswith(".service") or is_unit_drop_in(path):
        return "systemd"
    return None


def is_unit_drop_in(path: str) -> bool:
    """``<unit>.service.d/<name>.conf``: a drop-in systemd applies over a service unit."""
    parts = path.replace("\\", "/").rsplit("/", 2)
    return len(parts) >= 2 and parts[-2].endswith(".service.d") and parts[-1].endswith(".conf")


def may_have_type(path: str) -> bool:
    """Whether a walked file is worth reading to look at its content."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return base.endswith((".yaml", ".yml", ".toml", ".json")) or "." not in base


def type_by_content(path: str, text: str) -> str | None:
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    head = text[:4096]
    if (base.endswith((".yaml", ".yml")) or "." not in base) and re.match(_CLOUD_CONFIG, head):
        return "cloud-init"
    if base.endswith(".toml"):
        return "containerd" if re.search(_CONTAINERD_CONTENT, text) else None
    if base.endswith(".json"):  # a Kubernetes manifest written as JSON (kubectl takes them)
        if re.search(_K8S_JSON_KIND, head) and re.search(_K8S_JSON_API, head):
            return "kubernetes"
        return None
    if base.endswith((".yaml", ".yml")):
        if re.search(_K8S_CONTENT, text) and re.search(_K8S_API, text):
            return "kubernetes"
        if re.search(_COMPOSE_CONTENT, text):
            return "compose"
        return None
    if re.match(_SHEBANG, head):
        return "shell"
    return None
