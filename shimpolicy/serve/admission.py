"""A Kubernetes validating admission webhook: an ``AdmissionReview``
(``admission.k8s.io/v1``) in, its verdict out, for RuntimeClass objects (K1, K2, K4) and
the ``runtimeClassName`` of pods and pod templates (K3)."""

from __future__ import annotations

from .._typing import TYPE_CHECKING
from ..lint.kubernetes import POD_SPEC_GROUPS, POD_SPECS
from .records import Answer, Problem

if TYPE_CHECKING:
    from typing import Any

    from .gate import Gate

ADMISSION_API = "admission.k8s.io/v1"

# K3: the kinds lint reads pod specs from, by (API group, kind), at lint's paths.
POD_SPEC_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    (POD_SPEC_GROUPS[kind], kind): path for kind, path in POD_SPECS.items()
}


def validate(gate: Gate, review: dict[str, Any]) -> Answer:
    """``/validate``: the AdmissionReview answering ``review``, or a 400 for a review
    that is not one."""
    request = review.get("request")
    uid = request.get("uid") if isinstance(request, dict) else None
    if review.get("apiVersion") != ADMISSION_API or review.get("kind") != "AdmissionReview":
        return Answer(400, {"error": f"expected an {ADMISSION_API} AdmissionReview"}, (), {})
    if not isinstance(request, dict) or not isinstance(uid, str):
        return Answer(400, {"error": "the AdmissionReview has no request.uid"}, (), {})
    problems = admission_problems(gate, request)
    denials = [p.message for p in problems if p.deny]
    response: dict[str, object] = {"uid": uid, "allowed": not denials}
    if denials:
        response["status"] = {"code": 403, "message": "; ".join(denials)}
    warnings = [p.message for p in problems if not p.deny]
    if warnings:
        response["warnings"] = warnings
    doc: dict[str, object] = {
        "apiVersion": ADMISSION_API,
        "kind": "AdmissionReview",
        "response": response,
    }
    return Answer(200, doc, problems, _context(request))


def admission_problems(gate: Gate, request: dict[str, Any]) -> tuple[Problem, ...]:
    """Problems with the object of one AdmissionReview request."""
    obj = request.get("object")
    if not isinstance(obj, dict):  # DELETE and CONNECT carry none
        return ()
    gvk = request.get("kind")
    group, kind = (gvk.get("group", ""), gvk.get("kind")) if isinstance(gvk, dict) else ("", None)
    if (group, kind) == ("node.k8s.io", "RuntimeClass"):
        return gate.runtime_class(obj)
    path = POD_SPEC_PATHS.get((group, kind)) if isinstance(kind, str) else None
    if path is None:
        return ()
    # K3: the pod spec's ``runtimeClassName``, when the object has one.
    spec: Any = obj
    for step in path:
        spec = spec.get(step) if isinstance(spec, dict) else None
    value = spec.get("runtimeClassName") if isinstance(spec, dict) else None
    if value is None:
        return ()
    return gate.runtime_class_name(f"{kind} {'.'.join((*path, 'runtimeClassName'))}", value)


def _context(request: dict[str, Any]) -> dict[str, object]:
    """What a log line says about the object a review was for."""
    gvk = request.get("kind")
    user = request.get("userInfo")
    return {
        "uid": request.get("uid"),
        "operation": request.get("operation"),
        "kind": gvk.get("kind") if isinstance(gvk, dict) else None,
        "namespace": request.get("namespace"),
        "name": request.get("name"),
        "user": user.get("username") if isinstance(user, dict) else None,
    }
