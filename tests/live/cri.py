"""The few CRI calls the live suite makes, over grpcio without generated code.

The messages are written by hand in protobuf's wire format; their field numbers are those of
Kubernetes' CRI ``runtime.v1`` API (``k8s.io/cri-api/pkg/apis/runtime/v1/api.proto``):

    RunPodSandboxRequest   config = 1 (PodSandboxConfig), runtime_handler = 2
    PodSandboxConfig       metadata = 1, log_directory = 3, linux = 8
    PodSandboxMetadata     name = 1, uid = 2, namespace = 3
    LinuxPodSandboxConfig  security_context = 2
    LinuxSandboxSecurityContext  namespace_options = 1
    NamespaceOption        network = 1 (NamespaceMode: NODE = 2)
    RunPodSandboxResponse  pod_sandbox_id = 1
    Stop/RemovePodSandboxRequest  pod_sandbox_id = 1
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

SERVICE = "/runtime.v1.RuntimeService/"
NODE = 2  # NamespaceMode: the host's network, so no CNI plugin is needed


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def _str(field: int, value: str) -> bytes:
    return _bytes(field, value.encode()) if value else b""


def _enum(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _first_string(data: bytes) -> str:
    """Field 1 of a message whose field 1 is a string (the responses read here)."""
    if not data:
        return ""
    assert data[0] == (1 << 3 | 2), data[:8]
    length, pos, shift = 0, 1, 0
    while True:
        byte = data[pos]
        length |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            break
    return data[pos : pos + length].decode()


class SandboxFailed(Exception):
    """RunPodSandbox refused, with containerd's message."""


class Client:
    def __init__(self, socket: Path, logs: Path) -> None:
        import grpc

        self.grpc = grpc
        self.channel = grpc.insecure_channel(f"unix://{socket}")
        self.logs = logs

    def _call(self, method: str, request: bytes, timeout: float = 60) -> bytes:
        call: Any = self.channel.unary_unary(
            SERVICE + method,
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        result: bytes = call(request, timeout=timeout)
        return result

    def run_sandbox(self, handler: str) -> str:
        """Start a pod sandbox with ``handler`` (empty: the default) and return its id."""
        name = "p" + uuid.uuid4().hex[:10]
        metadata = _str(1, name) + _str(2, name) + _str(3, "live")
        namespaces = _enum(1, NODE)
        linux = _bytes(2, _bytes(1, namespaces))
        config = _bytes(1, metadata) + _str(3, str(self.logs)) + _bytes(8, linux)
        try:
            reply = self._call("RunPodSandbox", _bytes(1, config) + _str(2, handler))
        except self.grpc.RpcError as error:
            raise SandboxFailed(error.details()) from None
        return _first_string(reply)

    def remove_sandbox(self, sandbox: str) -> None:
        self._call("StopPodSandbox", _str(1, sandbox))
        self._call("RemovePodSandbox", _str(1, sandbox))

    def close(self) -> None:
        self.channel.close()
