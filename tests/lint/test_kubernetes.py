"""Linting Kubernetes manifests (SPEC K1-K3): RuntimeClasses and pod templates."""

from __future__ import annotations

import pytest

from shimpolicy.lint.engine import lint_paths, lint_text
from shimpolicy.lint.kubernetes import label_errors, subdomain_errors, template_syntax
from shimpolicy.policy import Policy
from shimpolicy.syntax import Span
from tests.conftest import CORPUS, needs_corpus, rows
from tests.conftest import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "kubernetes"

LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    "regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


# -- Kubernetes' own validation, reproduced -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("kata", []),
        ("kata-qemu-2", []),
        ("0", []),
        ("a" * 63, []),
        ("a" * 64, ["must be no more than 63 characters"]),
        ("io.containerd.kata.v2", ["must not contain dots"]),
        ("Kata", [LABEL]),
        ("-kata", [LABEL]),
        ("kata-", [LABEL]),
        ("", [LABEL]),
        ("kata\n", [LABEL]),
        ("ｋata", [LABEL]),
        ("a." * 40 + "a", ["must be no more than 63 characters", "must not contain dots"]),
    ],
)
def test_handler_label_validation_matches_kubernetes(value: str, errors: list[str]) -> None:
    assert label_errors(value) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("kata", []),
        ("kata.qemu", []),
        ("io.containerd.kata.v2", []),
        ("a" * 253, []),
        ("a" * 254, ["must be no more than 253 characters"]),
        ("Kata", [SUBDOMAIN]),
        ("kata..qemu", [SUBDOMAIN]),
        ("kata_qemu", [SUBDOMAIN]),
        ("kata.", [SUBDOMAIN]),
    ],
)
def test_name_subdomain_validation_matches_kubernetes(value: str, errors: list[str]) -> None:
    assert subdomain_errors(value) == errors


# -- RuntimeClasses ------------------------------------------------------------------------


def test_runtimeclass_names_and_handlers() -> None:
    assert rows(FIXTURES / "runtimeclasses.yaml") == [
        (
            17,
            9,
            17,
            16,
            "SP501",
            "error",
            "RuntimeClass name 'Kata_FC' is not a DNS-1123 subdomain, so the API server rejects "
            f'the object: `metadata.name: Invalid value: "Kata_FC": {SUBDOMAIN}`',
        ),
        (
            18,
            10,
            18,
            34,
            "SP502",
            "error",
            "RuntimeClass 'Kata_FC' handler 'io.containerd.kata-fc.v2' is not a DNS-1123 label, "
            "so the API server rejects the object: `handler: Invalid value: "
            '"io.containerd.kata-fc.v2": must not contain dots`; a handler names a runtime table '
            "in containerd's config, not a shim: call the table `runtimes.kata-fc`, set its "
            'runtime_type = "io.containerd.kata-fc.v2", and use handler: kata-fc',
        ),
        (
            24,
            10,
            24,
            76,
            "SP502",
            "error",
            "RuntimeClass 'wasm' handler "
            "'a-handler-name-that-goes-on-and-on-and-on-for-more-than-63-chars' is not a "
            "DNS-1123 label, so the API server rejects the object: `handler: Invalid value: "
            '"a-handler-name-that-goes-on-and-on-and-on-for-more-than-63-chars": must be no more '
            "than 63 characters`",
        ),
        (
            29,
            9,
            29,
            18,
            "SP502",
            "error",
            "RuntimeClass 'nohandler' has no handler, so the API server rejects it (`handler: "
            f'Invalid value: "": {LABEL}`); set `handler` to the name of a runtime in '
            "containerd's config (`runtimes.<handler>`)",
        ),
        (
            34,
            9,
            34,
            29,
            "SP003",
            "info",
            "RuntimeClass name 'FILLED_BY_OPERATOR' is a placeholder; its final value cannot be "
            "checked here",
        ),
        (
            35,
            10,
            35,
            30,
            "SP003",
            "info",
            "RuntimeClass 'FILLED_BY_OPERATOR' handler 'FILLED_BY_OPERATOR' is a placeholder; its "
            "final value cannot be checked here",
        ),
    ]


def test_runtimeclass_of_a_removed_api_version_is_not_read() -> None:
    text = (
        "apiVersion: node.k8s.io/v1alpha1\nkind: RuntimeClass\nmetadata:\n  name: x\n"
        "spec:\n  runtimeHandler: io.containerd.kata.v2\n"
    )
    assert lint_text(text, "rc.yaml", Policy.default()).findings == ()


# -- pod templates -------------------------------------------------------------------------


def test_runtime_class_names_in_every_kind_of_pod_template() -> None:
    assert rows(FIXTURES / "workloads.yaml") == [
        (
            26,
            29,
            26,
            33,
            "SP503",
            "error",
            "CronJob/nightly runtimeClassName 'Kata' is not a DNS-1123 subdomain, so the API "
            "server rejects the object: `spec.jobTemplate.spec.template.spec.runtimeClassName: "
            f'Invalid value: "Kata": {SUBDOMAIN}`',
        ),
        (
            40,
            29,
            40,
            40,
            "SP503",
            "error",
            "StatefulSet/db runtimeClassName 'kata_qemu' is not a DNS-1123 subdomain, so the API "
            "server rejects the object: `spec.template.spec.runtimeClassName: Invalid value: "
            f'"kata_qemu": {SUBDOMAIN}`',
        ),
        (
            49,
            29,
            49,
            45,
            "SP003",
            "info",
            "DaemonSet/agent runtimeClassName '${RUNTIME_CLASS}' is filled in later "
            "(${RUNTIME_CLASS}); its final value cannot be checked here",
        ),
    ]


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("Pod", "spec"),
        ("PodTemplate", "template.spec"),
        ("Deployment", "spec.template.spec"),
        ("ReplicaSet", "spec.template.spec"),
        ("ReplicationController", "spec.template.spec"),
        ("Job", "spec.template.spec"),
    ],
)
def test_each_workload_kind_keeps_its_pod_spec_where_kubernetes_does(kind: str, path: str) -> None:
    body, indent = "", 0
    for part in path.split("."):
        body += " " * indent + f"{part}:\n"
        indent += 2
    body += " " * indent + "runtimeClassName: Bad\n"
    text = f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: w\n{body}"
    (finding,) = lint_text(text, "w.yaml", Policy.default()).findings
    assert (finding.rule, finding.line, finding.column) == (
        "SP503",
        4 + len(path.split(".")) + 1,
        indent + 19,
    )
    assert f"`{path}.runtimeClassName: Invalid value" in finding.message


# -- Helm templates ------------------------------------------------------------------------


def test_helm_templates_are_skipped_not_misparsed() -> None:
    assert rows(FIXTURES / "chart") == [
        (
            5,
            9,
            5,
            11,
            "SP002",
            "info",
            "skipped: Helm template (`{{` outside a comment); lint the output of `helm template` "
            "instead",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("a: 1\n", None),
        ("# {{ x }}\na: 1\n", None),
        ("a: 1  # {{ x }}\n", None),
        ("a: '#' {{ x }}\n", Span(1, 8, 1, 10)),
        ('a: "# {{ x }}"\n', Span(1, 7, 1, 9)),
        ("a: b#{{ x }}\n", Span(1, 6, 1, 8)),
        ("{{- if .Values.enabled }}\n", Span(1, 1, 1, 3)),
    ],
)
def test_template_syntax_outside_comments(text: str, span: Span | None) -> None:
    assert template_syntax(text) == span


# -- the real-world corpus -----------------------------------------------------------------


@needs_corpus
def test_realworld_manifests() -> None:
    result = lint_paths([str(CORPUS / "k8s")], Policy.default())
    found = [
        (f.path.split("/k8s/", 1)[1], f.line, f.column, f.rule, f.severity) for f in result.findings
    ]
    # The GPU operator fills in its RuntimeClass's name and handler itself.
    assert found == [
        ("gpu-operator-runtimeclass/0200_runtime_class.yaml", 2, 10, "SP003", "info"),
        ("gpu-operator-runtimeclass/0200_runtime_class.yaml", 7, 9, "SP003", "info"),
    ]
    assert result.files_checked == 7
