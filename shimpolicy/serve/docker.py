"""Docker's access authorization plugin protocol (moby ``pkg/authorization``): which
Engine API requests can set a container's runtime, the runtimes their bodies carry, and
the plugin's answer."""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
from urllib.parse import unquote, urlsplit

from .._typing import TYPE_CHECKING
from .records import FAIL_CLOSED, Answer, Problem

if TYPE_CHECKING:
    from typing import Any

    from .gate import Gate

# The Content-Type Docker's plugin client sends and expects (moby pkg/plugins/transport).
PLUGIN_MEDIA_TYPE = "application/vnd.docker.plugins.v1.2+json"

# Docker's router (gorilla/mux) matches the percent-decoded path, with an optional API
# version prefix.
_CREATE_PATH = re.compile(r"(?:/v[0-9.]+)?/containers/create")
# Before API 1.24 a start request could carry a new host configuration, runtime included
# (dockerd 23 and 24 still serve those API versions).
_START_PATH = re.compile(r"/v([0-9.]+)/containers/[^/]+/start")
CREATE, LEGACY_START = "create", "legacy start"


class _Unreadable(Exception):
    """A request whose runtime cannot be known: denied, never guessed (fail closed)."""


class _Object(list[tuple[str, "Any"]]):
    """A JSON object as all its members in document order, duplicate keys kept."""


def field(envelope: dict[str, Any], name: str) -> Any:
    """A member of Docker's AuthZ request: Go's JSON field names match case-insensitively
    (the documentation spells ``RequestURI``, the daemon sends ``RequestUri``)."""
    if name in envelope:
        return envelope[name]
    folded = name.casefold()
    return next((v for k, v in envelope.items() if k.casefold() == folded), None)


def authz_request(gate: Gate, envelope: dict[str, Any]) -> Answer:
    """``/AuthZPlugin.AuthZReq``: allow or deny one Engine API request."""
    method, uri = field(envelope, "RequestMethod"), field(envelope, "RequestUri")
    if not isinstance(method, str) or not isinstance(uri, str):
        # Docker takes any answer but 200 as the plugin failing, and denies.
        error = "RequestMethod and RequestUri must be strings"
        return Answer(400, {"Allow": False, "Msg": error, "Err": error}, (), {})
    body, headers = field(envelope, "RequestBody"), field(envelope, "RequestHeaders")
    problems = request_problems(gate, method, uri, body, headers)
    context = {"method": method, "uri": uri, "user": field(envelope, "User")}
    denials = [p.message for p in problems if p.deny]
    doc: dict[str, object] = {"Allow": not denials}
    if denials:
        doc["Msg"] = "; ".join(denials)
    return Answer(200, doc, problems, context)


def request_problems(
    gate: Gate, method: str, uri: str, body: object, headers: object
) -> tuple[Problem, ...]:
    """Problems with one Engine API request (dockerd's AuthZReq fields): only one that
    can set a runtime can have any."""
    route = runtime_route(method, uri)
    if route is None:
        return ()
    # dockerd decodes a start body only when it declares more than 7 bytes (or its
    # length is unknown): a shorter one sets nothing.
    if route == LEGACY_START and not body and 0 <= _declared_length(headers) <= 7:
        return ()
    try:
        names = runtimes_in_body(body, route)
    except _Unreadable as e:
        return (Problem(FAIL_CLOSED, f"cannot check HostConfig.Runtime: {e}; denied", ""),)
    return tuple(p for name in names if (p := gate.runtime(name)) is not None)


def runtime_route(method: str, uri: str) -> str | None:
    """Can this Engine API request set a container's runtime?  CREATE for ``POST
    [/vX.Y]/containers/create``, LEGACY_START for ``POST /vX.Y/containers/ID/start`` with
    X.Y below 1.24, else None."""
    if method.upper() != "POST":
        return None
    # Go's server also accepts the absolute form ``http://host/path`` and routes its path.
    path = uri.partition("?")[0] if uri.startswith("/") else urlsplit(uri).path
    # Every spelling the router would serve, or redirect to, as this path counts: repeated
    # slashes (normpath keeps a leading "//"), "." and ".." segments, a trailing slash.
    path = posixpath.normpath("/" + unquote(path).lstrip("/")) if path else ""
    if _CREATE_PATH.fullmatch(path):
        return CREATE
    start = _START_PATH.fullmatch(path)
    return LEGACY_START if start and _api_older(start.group(1), "1.24") else None


def _api_older(version: str, than: str) -> bool:
    """Docker's ``versions.LessThan``: dotted numbers, a missing or bad part counting 0."""
    a, b = version.split("."), than.split(".")
    width = max(len(a), len(b))
    a, b = a + [""] * (width - len(a)), b + [""] * (width - len(b))
    return [int(p) if p.isdigit() else 0 for p in a] < [int(p) if p.isdigit() else 0 for p in b]


def runtimes_in_body(body: object, route: str) -> list[str]:
    """Every value Docker could take as ``HostConfig.Runtime`` from a request's
    ``RequestBody`` (base64 JSON): a create wraps the host configuration in
    ``HostConfig``, a legacy start sends it bare.  Go's decoder matches member names
    case-insensitively and lets a later duplicate override or merge into an earlier one,
    so every candidate is returned and each must pass.  ``_Unreadable`` when the body
    cannot be read."""
    if body is None or body == "":
        raise _Unreadable("Docker sent no request body (it forwards only JSON bodies under 1 MiB)")
    if not isinstance(body, str):
        raise _Unreadable("RequestBody is not a base64 string")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise _Unreadable("RequestBody is not valid base64") from None
    try:
        # Go replaces invalid UTF-8 with U+FFFD rather than failing; so do we.
        doc = json.loads(raw.decode("utf-8", "replace"), object_pairs_hook=_Object)
    except (ValueError, RecursionError) as e:
        raise _Unreadable(f"the request body is not JSON ({e})") from None
    if not isinstance(doc, _Object):
        raise _Unreadable("the request body is not a JSON object")
    hosts = [doc] if route == LEGACY_START else [v for k, v in doc if k.casefold() == "hostconfig"]
    names: list[str] = []
    for host in hosts:
        if host is None:
            continue  # Go leaves a field unchanged for null
        if not isinstance(host, _Object):
            raise _Unreadable("HostConfig is not a JSON object")
        for member, value in host:
            if member.casefold() != "runtime" or value is None:
                continue
            if not isinstance(value, str):
                raise _Unreadable("HostConfig.Runtime is not a string")
            names.append(value)
    return names


def _declared_length(headers: object) -> int:
    """The Content-Length dockerd saw, from the forwarded headers; -1 when unknown."""
    value = field(headers, "Content-Length") if isinstance(headers, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else -1
