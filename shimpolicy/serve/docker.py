"""Docker's access authorization plugin protocol (moby ``pkg/authorization``): which
Engine API requests can set a container's runtime, the runtime dockerd would take from
their bodies, and the plugin's answer.

A body is read exactly as dockerd's own decoder reads it (SPEC §6 "Docker's request
decoding", moby ``runconfig``), per Docker version:

- ``POST /containers/create`` decodes into ``ContainerConfigWrapper``.  From 20.10 to 26.1
  it embeds a deprecated ``*HostConfig`` at the top level: when ``HostConfig`` is absent
  or null, a top-level ``Runtime`` is the runtime; when both are present the inner one
  wins.  Docker 27.0 removed the embedded one (``container.CreateRequest``); for a target
  of 27 or later what 20.10 to 26.1 would take is checked as well, so that a daemon older
  than the policy's target is no way around the check.
- the legacy ``POST /containers/{name:.*}/start`` with a body (API < 1.24) decodes the
  same wrapper (``DecodeHostConfig``): a bare host configuration or ``{"HostConfig": …}``.
  Docker 25 refuses API < 1.24 unless ``DOCKER_MIN_API_VERSION`` allows it; 26 refuses
  any start body.  Such a body is read the same way whatever the target: a check costs
  nothing where dockerd refuses the request anyway.
- Go's ``encoding/json``: a member name matches a field exactly or else ignoring case, by
  Go's folding (``ſ`` U+017F stands for ``s``, the Kelvin sign for ``k``); a repeated
  member is applied again in order (an object merges into the one before, ``null`` resets
  a pointer such as ``HostConfig`` and leaves a string as it was); invalid UTF-8 becomes
  U+FFFD byte by byte; one JSON value is read: Docker 20.10 ignores what follows it,
  22.06 and later refuse anything after it but ``]`` or ``}`` (``dec.More()``).

Where dockerd's decoder fails on the runtime's path (not JSON, a ``HostConfig`` that is
no object, a ``Runtime`` that is no string) the request is denied, never guessed.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import posixpath
import re
from functools import cache
from urllib.parse import unquote, urlsplit

from .._typing import TYPE_CHECKING
from ..grammar.docker import go_fold
from ..grammar.versions import docker_major
from .records import FAIL_CLOSED, Answer, Problem

if TYPE_CHECKING:
    from typing import Any

    from .gate import Gate

# The Content-Type Docker's plugin client sends and expects (moby pkg/plugins/transport).
PLUGIN_MEDIA_TYPE = "application/vnd.docker.plugins.v1.2+json"

# Docker's router (gorilla/mux) matches the percent-decoded path, with an optional API
# version prefix ``/v{version:[0-9.]+}``.
_CREATE_PATH = re.compile(r"(?:/v[0-9.]+)?/containers/create")
# Before API 1.24 a start request could carry a new host configuration, runtime included.
# The route is ``/containers/{name:.*}/start``: a name may hold "/" (link aliases), but
# not a newline (Go's "." does not match one, nor does Python's).  Without a version
# prefix the request has the daemon's own API version, 1.24 or later: no body is read.
_START_PATH = re.compile(r"/v([0-9.]+)/containers/.+/start")
CREATE, LEGACY_START = "create", "legacy start"
# JSON's whitespace, the only characters Go's decoder skips around a value.
_WHITESPACE = " \t\r\n"


class Unreadable(Exception):
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
        names = body_runtimes(body, route, docker_major(gate.policy.docker))
    except Unreadable as e:
        return (Problem(FAIL_CLOSED, f"cannot check HostConfig.Runtime: {e}; denied", ""),)
    return tuple(p for name in names if (p := gate.runtime(name)) is not None)


def runtime_route(method: str, uri: str) -> str | None:
    """Can this Engine API request set a container's runtime?  CREATE for ``POST
    [/vX.Y]/containers/create``, LEGACY_START for ``POST /vX.Y/containers/{name}/start``
    with X.Y below 1.24 (``{name}`` may hold "/"), else None."""
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


def body_runtimes(body: object, route: str, docker: int) -> tuple[str, ...]:
    """The runtime dockerd (major version ``docker``) takes from an AuthZ request's
    ``RequestBody`` (base64 JSON) on ``route`` ("" when the body sets none: the daemon's
    default), and from Docker 27 on also the one Docker 20.10 to 26.1 would take.
    ``Unreadable`` where the decoder fails, or no body was forwarded."""
    if body is None or body == "":
        raise Unreadable("Docker sent no request body (it forwards only JSON bodies under 1 MiB)")
    if not isinstance(body, str):
        raise Unreadable("RequestBody is not a base64 string")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise Unreadable("RequestBody is not valid base64") from None
    runtimes = [decode_runtime(raw, route, docker)]
    if route == CREATE and docker >= 27:
        # The target is the policy's, and by default the newest Docker: a daemon older than
        # it would take a top-level Runtime that 27 ignores.  Checking that one too costs a
        # well-formed client nothing (none sends it) and closes the way around.
        runtimes.append(decode_runtime(raw, route, 26))
    return tuple(dict.fromkeys(runtimes))


def decode_runtime(raw: bytes, route: str, docker: int) -> str:
    """The runtime dockerd's decoder takes from a request body (see the module's notes)."""
    doc = _first_value(raw.decode("utf-8", "shimpolicy-go"), docker)
    if doc is None:  # null decodes into nothing: no host configuration
        return ""
    if not isinstance(doc, _Object):
        raise Unreadable("the request body is not a JSON object")
    embedded = route == LEGACY_START or docker < 27
    top, inner = "", None
    for key, value in doc:
        if _go_name(key, "HostConfig"):
            if value is None:
                inner = None  # null sets the pointer to nil
                continue
            if not isinstance(value, _Object):
                raise Unreadable("HostConfig is not a JSON object")
            inner = inner or ""  # a second object merges into the first
            for member, setting in value:
                if _go_name(member, "Runtime"):
                    inner = _runtime(setting, inner)
        elif embedded and _go_name(key, "Runtime"):
            top = _runtime(value, top)
    return top if inner is None else inner


def _runtime(setting: object, current: str) -> str:
    if setting is None:  # null leaves a string as it was
        return current
    if not isinstance(setting, str):
        raise Unreadable("HostConfig.Runtime is not a string")
    # Python keeps a lone surrogate escape (\ud800); Go's decoder makes it U+FFFD.
    return _lone_surrogate().sub("\ufffd", setting)


@cache
def _lone_surrogate() -> re.Pattern[str]:
    return re.compile("[\ud800-\udfff]")


def _go_name(key: str, field: str) -> bool:
    """Does a member name select a Go struct field?  Exactly, or else by Go's folding."""
    return key == field or go_fold(key) == go_fold(field)


def _first_value(text: str, docker: int) -> Any:
    """The first JSON value of a body, as Go's ``json.Decoder`` reads it."""
    start = len(text) - len(text.lstrip(_WHITESPACE))
    if start == len(text):
        raise Unreadable("the request body is empty")  # io.EOF
    try:
        doc, end = _decoder().raw_decode(text, start)
    except (ValueError, RecursionError) as e:
        raise Unreadable(f"the request body is not JSON ({e})") from None
    rest = text[end:].lstrip(_WHITESPACE)
    # 22.06+: dec.More() is true unless the next character ends an array or object.
    if docker >= 22 and rest and rest[0] not in "]}":
        raise Unreadable("the request body has content after its JSON value")
    return doc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@cache
def _decoder() -> json.JSONDecoder:
    """Python's JSON reader made as strict as Go's: no NaN or Infinity, and numbers not
    converted (Python limits how many digits an integer may have; Go does not)."""
    return json.JSONDecoder(
        object_pairs_hook=_Object,
        parse_constant=_refuse_constant,
        parse_int=_number,
        parse_float=_number,
    )


class _Number:
    """A JSON number, whose value nothing here needs."""


def _number(text: str) -> _Number:
    return _Number()


def _go_replace(error: UnicodeError) -> tuple[str, int]:
    """Go's decoder turns each byte of invalid UTF-8 into U+FFFD (Python's "replace"
    makes one of a truncated sequence)."""
    assert isinstance(error, UnicodeDecodeError)
    return "\ufffd" * (error.end - error.start), error.end


codecs.register_error("shimpolicy-go", _go_replace)


def _declared_length(headers: object) -> int:
    """The Content-Length dockerd saw, from the forwarded headers; -1 when unknown."""
    value = field(headers, "Content-Length") if isinstance(headers, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else -1
