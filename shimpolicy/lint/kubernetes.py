"""Kubernetes manifests (SPEC §3): RuntimeClasses and the pod templates that name them.

A RuntimeClass's ``metadata.name`` must be a DNS-1123 subdomain (K1) and its ``handler``
a DNS-1123 label (K2); a pod template's ``runtimeClassName`` must be a subdomain (K3).
The messages quote the API server's validation (k8s.io/apimachinery
``IsDNS1123Label``/``IsDNS1123Subdomain``).

A handler is not a runtime name: it names a ``runtimes.<handler>`` table of containerd's
config (K4), whose ``runtime_type`` is the runtime name.  So the policy is not applied to
the handler itself; when a containerd config is linted beside the manifest, the link is
followed to that runtime_type (lint/links.py, SP702/SP703).

Files with Helm template syntax are not YAML until rendered: they are skipped (SP002).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from .._typing import TYPE_CHECKING, NamedTuple
from ..grammar.name import parse
from ..syntax import Mapping, Node, Sequence, Span, node_at, text_of
from ..syntax.yaml import parse_yaml
from .context import LintContext, location
from .facts import ClassDef, Facts, Workload, placeholder
from .filetype import FileType
from .links import check_class_link, check_workload_link
from .source import SourceFile

if TYPE_CHECKING:
    from .embedded import Embedded

# k8s.io/apimachinery/pkg/util/validation: the formats and messages, verbatim.
_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + "(\\." + _LABEL_FMT + ")*"
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_LABEL_FMT}')"
)
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_SUBDOMAIN_FMT}')"
)

# Where each workload kind keeps its pod spec (K3).
POD_SPECS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# The API group of each of those kinds ("": the core group), for an admission request.
POD_SPEC_GROUPS: dict[str, str] = {
    "Pod": "",
    "PodTemplate": "",
    "ReplicationController": "",
    "Deployment": "apps",
    "StatefulSet": "apps",
    "DaemonSet": "apps",
    "ReplicaSet": "apps",
    "Job": "batch",
    "CronJob": "batch",
}
# node.k8s.io/v1alpha1 kept the handler elsewhere and was removed in Kubernetes 1.22.
RUNTIMECLASS_APIS = ("node.k8s.io/v1", "node.k8s.io/v1beta1")


class _Patterns(NamedTuple):
    label: re.Pattern[str]
    subdomain: re.Pattern[str]
    # A value tooling fills in later, such as FILLED_BY_OPERATOR (a valid name is lower
    # case, so it cannot be meant literally).
    marker: re.Pattern[str]


@cache
def _patterns() -> _Patterns:
    marker = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
    return _Patterns(re.compile(_LABEL_FMT), re.compile(_SUBDOMAIN_FMT), marker)


def label_errors(value: str) -> list[str]:
    """K2: Kubernetes' ``IsDNS1123Label`` messages for ``value`` (empty when valid)."""
    errors = []
    if len(value.encode("utf-8")) > 63:
        errors.append("must be no more than 63 characters")
    patterns = _patterns()
    if not patterns.label.fullmatch(value):
        dots = patterns.subdomain.fullmatch(value)
        errors.append("must not contain dots" if dots else LABEL_MESSAGE)
    return errors


def subdomain_errors(value: str) -> list[str]:
    """K1/K3: Kubernetes' ``IsDNS1123Subdomain`` messages for ``value``."""
    errors = []
    if len(value.encode("utf-8")) > 253:
        errors.append("must be no more than 253 characters")
    if not _patterns().subdomain.fullmatch(value):
        errors.append(SUBDOMAIN_MESSAGE)
    return errors


def fill_in_marker(value: str) -> str | None:
    """The placeholder in a name that tooling fills in later, if it is one."""
    marker = placeholder(value)
    if marker is None and _patterns().marker.fullmatch(value):
        marker = value
    return marker


# -- loading ------------------------------------------------------------------------------


class HelmTemplate(NamedTuple):
    """A manifest with template syntax: not YAML until rendered."""

    span: Span


def load(source: SourceFile) -> list[Node] | HelmTemplate:
    span = template_syntax(source.text)
    if span is not None:
        return HelmTemplate(span)
    return parse_yaml(source.text)


def template_syntax(text: str) -> Span | None:
    """Where the first ``{{`` outside a YAML comment is, if there is one."""
    if "{{" not in text:
        return None
    for number, line in enumerate(text.split("\n"), start=1):
        at = line.find("{{")
        if at >= 0 and at < _comment_start(line):
            return Span(number, at + 1, number, at + 3)
    return None


def _comment_start(line: str) -> int:
    """Index of the ``#`` starting a comment on this line (len(line) if none); quotes on
    the line are followed, quotes spanning lines are not."""
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"" and (i == 0 or line[i - 1] in " \t:-[{,"):
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return i
        i += 1
    return len(line)


# -- the objects --------------------------------------------------------------------------


def objects(docs: list[Node]) -> Iterator[Mapping]:
    """Every object of a manifest: documents, and the items of ``List`` kinds."""
    pending = [d for d in reversed(docs) if isinstance(d, Mapping)]
    while pending:
        obj = pending.pop()
        items = obj.get("items")
        kind = text_of(obj.get("kind")) or ""
        if kind.endswith("List") and isinstance(items, Sequence):
            pending.extend(i for i in reversed(items.items) if isinstance(i, Mapping))
        else:
            yield obj


def _is_runtime_class(obj: Mapping) -> bool:
    return (
        text_of(obj.get("kind")) == "RuntimeClass"
        and text_of(obj.get("apiVersion")) in RUNTIMECLASS_APIS
    )


def _object_span(obj: Mapping) -> Span:
    name = node_at(obj, "metadata", "name")
    kind = obj.get("kind")
    return (name or kind or obj).span


def class_def(obj: Mapping, source: SourceFile) -> ClassDef:
    name_node = node_at(obj, "metadata", "name")
    name = text_of(name_node)
    handler_node = obj.get("handler")
    handler = text_of(handler_node)
    return ClassDef(
        name=None if name is None or fill_in_marker(name) else name,
        at=location(source, _object_span(obj)),
        handler=None if handler is None or fill_in_marker(handler) else handler,
        handler_at=location(source, handler_node.span) if handler_node is not None else None,
    )


def workload(obj: Mapping, source: SourceFile) -> Workload | None:
    kind = text_of(obj.get("kind"))
    path = POD_SPECS.get(kind or "")
    if kind is None or path is None:
        return None
    name = text_of(node_at(obj, "metadata", "name")) or text_of(
        node_at(obj, "metadata", "generateName")
    )
    node = node_at(obj, *path, "runtimeClassName")
    wanted = text_of(node)
    span = node.span if node is not None and wanted is not None else _object_span(obj)
    return Workload(
        kind=kind,
        name=name or "(unnamed)",
        at=location(source, span),
        runtime_class=wanted,
        placeholder=wanted is not None and fill_in_marker(wanted) is not None,
    )


def collect(doc: list[Node] | HelmTemplate, source: SourceFile, facts: Facts) -> None:
    if isinstance(doc, HelmTemplate):
        return
    facts.manifests.append(source.path)
    for obj in objects(doc):
        if _is_runtime_class(obj):
            cls = class_def(obj, source)
            facts.classes.append(cls)
        else:
            found = workload(obj, source)
            if found is not None:
                facts.workloads.append(found)


# -- checks -------------------------------------------------------------------------------


def check(doc: list[Node] | HelmTemplate, source: SourceFile, ctx: LintContext) -> None:
    if isinstance(doc, HelmTemplate):
        ctx.report(
            source,
            doc.span,
            "SP002",
            "skipped: Helm template (`{{` outside a comment); lint the output of "
            "`helm template` instead",
        )
        return
    for obj in objects(doc):
        if _is_runtime_class(obj):
            _check_runtime_class(obj, source, ctx)
            continue
        found = workload(obj, source)
        if found is not None:
            _check_workload(obj, found, source, ctx)


def _check_runtime_class(obj: Mapping, source: SourceFile, ctx: LintContext) -> None:
    name_node = node_at(obj, "metadata", "name")
    name = text_of(name_node)
    label = f"RuntimeClass {name!r}" if name else "A RuntimeClass without a name"
    errors = subdomain_errors(name) if name is not None else []
    if (
        name_node is not None
        and name is not None
        and not _filled_in_later(ctx, source, name_node.span, "RuntimeClass name", name)
        and errors
    ):
        ctx.report(
            source,
            name_node.span,
            "SP501",
            f"RuntimeClass name {name!r} is not a DNS-1123 subdomain, so the API "
            f"server rejects the object: {_invalid('metadata.name', name, errors)}",
        )
    handler_node = obj.get("handler")
    handler = text_of(handler_node)
    if handler_node is None or handler is None:
        ctx.report(
            source,
            (handler_node or name_node or obj).span,
            "SP502",
            f"{label} has no handler, so the API server rejects it "
            f"({_invalid('handler', '', label_errors(''))}); set `handler` to the name of a "
            "runtime in containerd's config (`runtimes.<handler>`)",
        )
        return
    if _filled_in_later(ctx, source, handler_node.span, f"{label} handler", handler):
        return
    errors = label_errors(handler)
    if errors:
        ctx.report(
            source,
            handler_node.span,
            "SP502",
            f"{label} handler {handler!r} is not a DNS-1123 label, so the API server rejects "
            f"the object: {_invalid('handler', handler, errors)}{_handler_hint(handler, ctx)}",
        )
        return
    check_class_link(ctx, source, class_def(obj, source))


def _handler_hint(handler: str, ctx: LintContext) -> str:
    rn = parse(handler, ctx.containerd, ctx.platform)
    if rn.kind != "shim":
        return ""
    table = handler_name_for(handler, ctx)
    return (
        "; a handler names a runtime table in containerd's config, not a shim: call the "
        f'table `runtimes.{table}`, set its runtime_type = "{handler}", and use '
        f"handler: {table}"
    )


def handler_name_for(name: str, ctx: LintContext) -> str:
    """A DNS-1123 label to suggest for a handler called ``name``: the shim's own piece of
    a shim name (``io.containerd.kata.v2``: ``kata``), else ``name`` made a label."""
    rn = parse(name, ctx.containerd, ctx.platform)
    base = rn.shim if rn.kind == "shim" and rn.shim else name
    label = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:63].strip("-")
    return label or "runtime"


def _check_workload(obj: Mapping, found: Workload, source: SourceFile, ctx: LintContext) -> None:
    node = node_at(obj, *POD_SPECS[found.kind], "runtimeClassName")
    wanted = found.runtime_class
    if node is None or wanted is None:
        return
    what = f"{found.label} runtimeClassName"
    if _filled_in_later(ctx, source, node.span, what, wanted):
        return
    errors = subdomain_errors(wanted)
    if errors:
        field = ".".join((*POD_SPECS[found.kind], "runtimeClassName"))
        ctx.report(
            source,
            node.span,
            "SP503",
            f"{what} {wanted!r} is not a DNS-1123 subdomain, so the API server rejects the "
            f"object: {_invalid(field, wanted, errors)}",
        )
        return
    check_workload_link(ctx, source, found)


def _filled_in_later(
    ctx: LintContext, source: SourceFile, span: Span, what: str, value: str
) -> bool:
    marker = fill_in_marker(value)
    if marker is None:
        return False
    which = "a placeholder" if placeholder(value) is None else f"filled in later ({marker})"
    ctx.report(
        source,
        span,
        "SP003",
        f"{what} {value!r} is {which}; its final value cannot be checked here",
    )
    return True


def _invalid(field: str, value: str, errors: list[str]) -> str:
    """The API server's words (field.Invalid), one per message."""
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    return "; ".join(f'`{field}: Invalid value: "{quoted}": {e}`' for e in errors)


def embedded(doc: list[Node] | HelmTemplate, source: SourceFile) -> list[Embedded]:
    """Files the ConfigMaps and Secrets of the manifest carry (lint/configmaps.py)."""
    if isinstance(doc, HelmTemplate) or (
        "ConfigMap" not in source.text and "Secret" not in source.text
    ):
        return []
    from .configmaps import carried_files

    return carried_files(list(objects(doc)), POD_SPECS, source)


TYPE = FileType("kubernetes", "Kubernetes manifest", load, collect, check, embedded=embedded)
