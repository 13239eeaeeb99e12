"""``shimpolicy serve``: the policy as a Docker authorization plugin and a Kubernetes
validating admission webhook, on one unix socket or TCP port (optionally TLS).

- ``POST /Plugin.Activate``, ``/AuthZPlugin.AuthZReq``, ``/AuthZPlugin.AuthZRes``: Docker's
  access authorization plugin protocol (moby ``pkg/authorization``).  A request that can
  set a container's runtime (a create, or before API 1.24 a start with a host
  configuration) is decided on the runtime dockerd's own decoder takes from its body
  (``docker``), in ``request`` context, failing closed when the body cannot be read;
  every other request is allowed.
- ``POST /validate``: an ``AdmissionReview`` (``admission.k8s.io/v1``) for RuntimeClass
  objects (K1, K2, and with a containerd config, read as ``lint`` reads it, K4 and the
  policy on the handler's ``runtime_type`` in ``config`` context) and
  ``runtimeClassName`` in pods and pod templates (K3).
- ``GET /healthz`` and ``GET /metrics`` (Prometheus text format).

Standard library only: HTTP/1.1 keep-alive on an asyncio event loop, with deadlines for
each request's head and body, a connection cap and bounded memory (``http``); one JSON log
line per denial on stderr.  SIGHUP reloads the inputs (keeping the old ones when the new
ones are invalid); SIGTERM finishes the requests in flight and removes the unix socket.

Rooms: ``main`` (options, start, signals), ``http`` (the server), ``docker`` (AuthZ
routes and bodies), ``admission`` (AdmissionReview in and out), ``gate`` (one decision
per request), ``ops`` (metrics, JSON log, reload) and, under them all, ``records``.
"""

from __future__ import annotations

from .main import serve_main

__all__ = ["serve_main"]
