"""deploy/: the container image definition and the Kubernetes manifests, validated offline
against Kubernetes' own schemas (every version kubernetes-validate carries) and checked
against each other and against what ``shimpolicy serve`` actually serves and decides."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest
import yaml

from shimpolicy._cmdline import build_parser
from shimpolicy.serve.admission import POD_SPEC_PATHS, admission_problems
from shimpolicy.serve.gate import load_gate
from shimpolicy.serve.records import Sources
from tests.conftest import ROOT

kv = pytest.importorskip(
    "kubernetes_validate", reason="needs kubernetes-validate: pip install -e '.[test]'"
)
from kubernetes_validate.utils import all_versions  # noqa: E402

DEPLOY = ROOT / "deploy"
MANIFESTS = DEPLOY / "kubernetes"

# Objects outside Kubernetes' own API: their schemas are not in kubernetes-validate.
CERT_MANAGER = "cert-manager.io/v1"


def _documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        docs.extend(d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d)
    return docs


DOCS = _documents()


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        d for d in DOCS if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    files = sorted(p.name for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(kustomization["resources"]) == files


# The oldest and the newest Kubernetes version whose schemas kubernetes-validate carries.
VERSIONS = sorted(all_versions(), key=lambda v: tuple(int(p) for p in v.split(".")))


@pytest.mark.parametrize("version", [VERSIONS[0], VERSIONS[-1]])
@pytest.mark.parametrize(
    "doc",
    [d for d in DOCS if d["apiVersion"] != CERT_MANAGER],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_manifest_is_valid_against_kubernetes_schemas(doc: dict[str, Any], version: str) -> None:
    # strict: a misspelt or misplaced field is an error, not silently dropped.
    try:
        kv.validate(doc, version, strict=True)
    except kv.ValidationError as e:
        pytest.fail(f"{doc['kind']} {doc['metadata']['name']} on Kubernetes {version}: {e.message}")


def test_cert_manager_objects_are_the_ones_cert_manager_defines() -> None:
    # Not in Kubernetes' schemas: checked by structure (cert-manager.io/v1 field names).
    kinds = sorted(
        (d["kind"], d["metadata"]["name"]) for d in DOCS if d["apiVersion"] == CERT_MANAGER
    )
    assert kinds == [
        ("Certificate", "shimpolicy-ca"),
        ("Certificate", "shimpolicy-serving"),
        ("Issuer", "shimpolicy-ca"),
        ("Issuer", "shimpolicy-selfsigned"),
    ]
    allowed_spec = {
        "Issuer": {"selfSigned", "ca"},
        "Certificate": {
            "isCA", "commonName", "secretName", "dnsNames", "duration", "renewBefore",
            "privateKey", "issuerRef",
        },
    }  # fmt: skip
    issuers = {d["metadata"]["name"]: d for d in DOCS if d["kind"] == "Issuer"}
    secrets = {d["spec"]["secretName"]: d for d in DOCS if d["kind"] == "Certificate"}
    for d in DOCS:
        if d["apiVersion"] != CERT_MANAGER:
            continue
        assert d["metadata"]["namespace"] == "shimpolicy"
        assert set(d["spec"]) <= allowed_spec[d["kind"]], d
        if d["kind"] == "Certificate":
            ref = d["spec"]["issuerRef"]
            assert ref["kind"] == "Issuer" and ref["name"] in issuers
            assert set(d["spec"]["privateKey"]) <= {"algorithm", "size", "rotationPolicy"}
        elif "ca" in d["spec"]:
            # A CA issuer signs with a certificate that is a CA.
            assert secrets[d["spec"]["ca"]["secretName"]]["spec"]["isCA"] is True


def test_deployment_runs_unprivileged_with_a_read_only_root() -> None:
    deployment = _one("Deployment")
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert set(container["resources"]) == {"requests", "limits"}
    assert "memory" in container["resources"]["limits"]
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert (get["path"], get["scheme"], get["port"]) == ("/healthz", "HTTPS", "https")


def test_pod_disruption_budget_keeps_a_replica() -> None:
    budget, deployment = _one("PodDisruptionBudget"), _one("Deployment")
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]
    assert 1 <= budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_the_pieces_point_at_each_other() -> None:
    deployment, service, webhook = (
        _one("Deployment"),
        _one("Service"),
        _one("ValidatingWebhookConfiguration"),
    )
    namespace = _one("Namespace")["metadata"]["name"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (port,) = container["ports"]
    (service_port,) = service["spec"]["ports"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service_port["targetPort"] == port["name"]
    # The server listens where the container port says.
    opts = build_parser("serve").parse_args(["serve", *container["args"]])
    assert opts.listen == f"tcp://0.0.0.0:{port['containerPort']}"
    # The TLS files come from the serving certificate's secret.
    serving = _one("Certificate", "shimpolicy-serving")
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    (tls,) = [v for v in pod["volumes"] if v["name"] == "tls"]
    assert tls["secret"]["secretName"] == serving["spec"]["secretName"]
    assert (opts.tls_cert, opts.tls_key) == (f"{mounts['tls']}/tls.crt", f"{mounts['tls']}/tls.key")
    (policy_volume,) = [v for v in pod["volumes"] if v["name"] == "policy"]
    policy_map = _one("ConfigMap", policy_volume["configMap"]["name"])
    assert opts.policy == f"{mounts['policy']}/{next(iter(policy_map['data']))}"
    # The webhook calls the Service, whose DNS name the certificate carries, and trusts
    # the CA that signed it.
    (hook,) = webhook["webhooks"]
    client = hook["clientConfig"]["service"]
    assert (client["namespace"], client["name"], client["port"], client["path"]) == (
        namespace,
        service["metadata"]["name"],
        service_port["port"],
        "/validate",
    )
    assert f"{client['name']}.{client['namespace']}.svc" in serving["spec"]["dnsNames"]
    annotation = webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    assert annotation == f"{namespace}/{serving['metadata']['name']}"
    for d in DOCS:
        if d["kind"] not in ("Namespace", "ValidatingWebhookConfiguration"):
            assert d["metadata"]["namespace"] == namespace, d["kind"]


def test_the_webhook_fails_closed_and_exempts_its_own_namespace() -> None:
    (hook,) = _one("ValidatingWebhookConfiguration")["webhooks"]
    assert hook["failurePolicy"] == "Fail"
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    (expression,) = hook["namespaceSelector"]["matchExpressions"]
    assert (expression["key"], expression["operator"]) == ("kubernetes.io/metadata.name", "NotIn")
    assert _one("Namespace")["metadata"]["name"] in expression["values"]


def _plural(kind: str) -> str:
    return kind.lower() + ("es" if kind.endswith("s") else "s")


def test_the_webhook_is_sent_exactly_what_serve_decides() -> None:
    """Every (group, resource) the rules send has a handler in serve, and everything serve
    decides is sent: a rule without a handler would be allowed unread, a handler without a
    rule never called."""
    (hook,) = _one("ValidatingWebhookConfiguration")["webhooks"]
    sent = {
        (group, resource)
        for rule in hook["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    decided = {(group, _plural(kind)) for group, kind in POD_SPEC_PATHS}
    decided.add(("node.k8s.io", "runtimeclasses"))
    assert sent == decided
    for rule in hook["rules"]:
        # DELETE and CONNECT carry no object to decide.
        assert rule["operations"] == ["CREATE", "UPDATE"]


def _kind_review(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    request = {
        "uid": "u",
        "kind": {"group": group, "version": "v1", "kind": kind},
        "operation": "CREATE",
        "object": obj,
    }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


@pytest.mark.parametrize(("group", "kind"), sorted(POD_SPEC_PATHS))
def test_every_workload_the_webhook_is_sent_is_decided(group: str, kind: str) -> None:
    # A runtimeClassName that is not a DNS-1123 subdomain is denied (K3) in every kind.
    obj: dict[str, Any] = {"runtimeClassName": "Kata_Runtime"}
    for step in reversed(POD_SPEC_PATHS[(group, kind)]):
        obj = {step: obj}
    problems = admission_problems(load_gate(Sources()), _kind_review(group, kind, obj)["request"])
    assert [(p.rule, p.deny) for p in problems] == [("SP503", True)]


# ---------------------------------------------------------------------- the image


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) per instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_image_runs_as_a_numeric_non_root_user() -> None:
    users = [args for op, args in _dockerfile() if op == "USER"]
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_image_installs_the_package_from_the_checkout() -> None:
    instructions = _dockerfile()
    copied = {src for op, args in instructions if op == "COPY" for src in shlex.split(args)[:-1]}
    # What setuptools builds from: pyproject.toml, the readme it names, the package and
    # every directory its package-dir maps a package to.
    pyproject = (ROOT / "pyproject.toml").read_text()
    package_dirs = set(re.findall(r'^"shimpolicy\.[\w.]+" = "([^"]+)"$', pyproject, re.M))
    assert package_dirs == {"rules"}
    assert {"pyproject.toml", "README.md", "shimpolicy", *package_dirs} <= copied
    assert any(op == "RUN" and args.startswith("pip install . ") for op, args in instructions)


def test_image_command_is_a_valid_serve_command_line() -> None:
    instructions = dict(_dockerfile())
    entrypoint, cmd = json.loads(instructions["ENTRYPOINT"]), json.loads(instructions["CMD"])
    assert entrypoint == ["shimpolicy", "serve"]
    opts = build_parser("serve").parse_args(["serve", *cmd])
    assert opts.listen == "tcp://0.0.0.0:8443"
    assert f"{8443}" in instructions["EXPOSE"]
    assert (opts.tls_cert, opts.tls_key) == ("/tls/tls.crt", "/tls/tls.key")
