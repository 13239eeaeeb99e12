"""Compare the authorization plugin's reading of request bodies with moby's own decoders.

    python -m fuzz.request_bodies --oracle {26,20} --count N [--seed S]

The oracles are moby's ``runconfig.ContainerDecoder`` compiled from Debian's source
(``fuzz/oracle/build.sh``): ``moby-decoder-26`` (moby 26.1.5, Debian 13, ``build.sh 1.7``)
runs ``DecodeConfig``, the decoder dockerd runs for ``POST /containers/create``;
``moby-decoder-20`` (moby 20.10.24, Debian 12, ``build.sh moby20``) also runs
``DecodeHostConfig``, the one for the legacy ``POST /containers/{name}/start`` with a body.
For every generated body and decoder: where the decoder yields a host configuration, the
plugin must take exactly its ``Runtime`` ("" when it has none: the daemon's default); where
the decoder fails, the plugin must refuse to read the body (and so deny the request).

The bodies aim at every rule of SPEC §6 "Docker's request decoding": member names in any case,
with Go's folding characters (``ſ``, the Kelvin sign) and look-alikes Go does not fold,
written with escapes; repeated members; ``HostConfig`` null, missing, empty, of another type;
``Runtime`` at the top level and inside; values of other types; invalid UTF-8 and lone
surrogates; whitespace and content after the value; bodies cut short; nesting.

Exit status: 0 all agree, 1 some disagree, 2 the oracle is missing or failed.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from shimpolicy.serve.docker import CREATE, LEGACY_START, Unreadable, decode_runtime

from .differential import OracleError, build_dir


@dataclass(frozen=True)
class Oracle:
    executable: str  # file name in build_dir()
    build_target: str  # build.sh argument that makes it
    docker: int  # the Docker major version it is built from


ORACLES = {
    "26": Oracle("moby-decoder-26", "1.7", 26),
    "20": Oracle("moby-decoder-20", "moby20", 20),
}

# Spellings dockerd's decoder may or may not take for a field: Go folds ſ onto s and the
# Kelvin sign onto k; the others look alike and are not folded.
_LOOKALIKES = {
    "s": ["\u017f", "\u0455"],
    "S": ["\u017f"],
    "k": ["\u212a"],
    "i": ["\u0131", "\u0130", "\u0456"],
    "o": ["\u043e", "\u00f6"],
    "e": ["\u0435", "\u00e9"],
    "n": ["\u0578"],
}
_RUNTIMES = [
    "",
    "io.containerd.kata.v2",
    "/tmp/evil",
    "runc",
    "kata",
    "io.containerd.runc.v2",
    "a\u0000b",
    "\u202eevil",
    "x" * 40,
]
# Member names that are no field of the create request: any value is skipped.
_UNKNOWN = ["X-Note", "Extra", "zz", "HostConfigs", "Host_Config", "Runtimes", "RuntimeX", ""]


@dataclass(frozen=True)
class Disagreement:
    body: bytes
    route: str
    oracle: str  # the runtime, or "error: …"
    plugin: str

    def __str__(self) -> str:
        body = base64.b64encode(self.body).decode()
        return (
            f"{body}  {self.body[:120]!r} ({self.route}): oracle {self.oracle!r}, "
            f"plugin {self.plugin!r}"
        )


class _Writer:
    """Random JSON text for one body, built as bytes (so it can hold invalid UTF-8)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def name(self, field: str) -> str:
        """``field`` as a member name, in one of its spellings."""
        r = self.rng.random()
        if r < 0.3:
            return field
        chars = [c.upper() if self.rng.random() < 0.5 else c.lower() for c in field]
        if r < 0.55:
            i = self.rng.randrange(len(chars))
            options = _LOOKALIKES.get(field[i]) or _LOOKALIKES.get(field[i].lower())
            if options:
                chars[i] = self.rng.choice(options)
        elif r < 0.6:
            chars.insert(self.rng.randrange(len(chars) + 1), self.rng.choice("_- x"))
        return "".join(chars)

    def string(self, text: str) -> bytes:
        """A JSON string for ``text``, some characters written as escapes."""
        out = bytearray(b'"')
        for c in text:
            if c in '"\\' or ord(c) < 0x20 or self.rng.random() < 0.15:
                out += (
                    b"\\u%04x" % ord(c) if ord(c) < 0x10000 else json.dumps(c).strip('"').encode()
                )
            else:
                out += c.encode("utf-8", "surrogatepass")
        return bytes(out + b'"')

    def runtime_value(self) -> bytes:
        r = self.rng.random()
        if r < 0.8:
            return self.string(self.rng.choice(_RUNTIMES))
        if r < 0.88:
            return b"null"
        if r < 0.92:  # invalid UTF-8 and a lone surrogate inside the name
            return b'"kata\xff\xe2\x82' + self.rng.choice([b"", b"\\ud800", b"\\udc00x"]) + b'"'
        return self.rng.choice([b"1", b"true", b"{}", b'["kata"]', b"-0.5e3"])

    def any_value(self, depth: int = 0) -> bytes:
        r = self.rng.random()
        if depth < 4 and r < 0.2:
            return (
                b"{"
                + b",".join(
                    self.member(self.rng.choice(_UNKNOWN), depth + 1)
                    for _ in range(self.rng.randrange(3))
                )
                + b"}"
            )
        if depth < 4 and r < 0.3:
            return (
                b"["
                + b",".join(self.any_value(depth + 1) for _ in range(self.rng.randrange(3)))
                + b"]"
            )
        return self.rng.choice(
            [b"null", b"0", b"12345678901234567890123", b"true", b'"x"', b"1e999", self.string("v")]
        )

    def member(self, name: str, depth: int = 0) -> bytes:
        return self.string(name) + b":" + self.any_value(depth)

    def host_config(self) -> bytes:
        r = self.rng.random()
        if r < 0.12:
            return b"null"
        if r < 0.17:
            return self.rng.choice([b'"kata"', b"[]", b"0", b"false"])
        members = []
        for _ in range(self.rng.randrange(4)):
            if self.rng.random() < 0.6:
                members.append(self.string(self.name("Runtime")) + b":" + self.runtime_value())
            else:
                members.append(self.member(self.rng.choice([*_UNKNOWN, "HostConfig"])))
        return b"{" + b",".join(members) + b"}"

    def body(self) -> bytes:
        members = []
        for _ in range(self.rng.randrange(6)):
            r = self.rng.random()
            if r < 0.35:
                members.append(self.string(self.name("HostConfig")) + b":" + self.host_config())
            elif r < 0.7:
                members.append(self.string(self.name("Runtime")) + b":" + self.runtime_value())
            elif r < 0.85:
                members.append(self.string("Image") + b":" + self.string("alpine"))
            else:
                members.append(self.member(self.rng.choice(_UNKNOWN)))
        if members and self.rng.random() < 0.2:  # a member repeated later
            members.append(self.rng.choice(members))
        space = [b"", b" ", b"\n\t", b"\r\n "]
        text = self.rng.choice(space) + b"{" + b",".join(members) + b"}"
        r = self.rng.random()
        if r < 0.05:
            text = self.rng.choice(
                [b"", b"  ", b"null", b"[]", b'"x"', b"1", b"{", b"\xef\xbb\xbf{}"]
            )
        elif r < 0.12:
            text = text[: self.rng.randrange(len(text) + 1)]  # cut short
        elif r < 0.25:
            text += self.rng.choice(space) + self.rng.choice(
                [b"x", b"}", b"]", b"{}", b"null", b",", b"\x00", b"\xff"]
            )
        else:
            text += self.rng.choice(space)
        return text


def generate(count: int, seed: int) -> list[bytes]:
    writer = _Writer(random.Random(seed))
    return [writer.body() for _ in range(count)]


def ask(oracle: Oracle, bodies: Sequence[bytes]) -> list[dict[str, str]]:
    """The oracle's reading of each body on each route it has: the runtime, or "error: "
    and the decoder's error."""
    executable = build_dir() / oracle.executable
    if not executable.exists():
        raise OracleError(
            f"{executable} is missing: run fuzz/oracle/build.sh {oracle.build_target}"
        )
    stdin = "".join(base64.b64encode(b).decode() + "\n" for b in bodies)
    proc = subprocess.run(
        [str(executable)],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if proc.returncode != 0:
        raise OracleError(f"{executable} exited {proc.returncode}: {proc.stderr.strip()}")
    answers = [json.loads(line) for line in proc.stdout.split("\n") if line]
    if len(answers) != len(bodies):
        raise OracleError(f"{executable} answered {len(answers)} of {len(bodies)} bodies")
    routes = {CREATE: "create", LEGACY_START: "start"}
    return [
        {
            route: f"error: {a[key]['err']}" if a[key]["err"] else str(a[key]["runtime"])
            for route, key in routes.items()
            if a[key] is not None
        }
        for a in answers
    ]


def plugin_reads(body: bytes, route: str, docker: int) -> str:
    try:
        return decode_runtime(body, route, docker)
    except Unreadable as e:
        return f"error: {e}"


def compare(oracle: Oracle, bodies: Sequence[bytes]) -> list[Disagreement]:
    found = []
    for body, readings in zip(bodies, ask(oracle, bodies), strict=True):
        for route, reading in readings.items():
            plugin = plugin_reads(body, route, oracle.docker)
            # Both refuse the body: the messages need not match, only the refusal.
            if reading.startswith("error: ") and plugin.startswith("error: "):
                continue
            if reading != plugin:
                found.append(Disagreement(body, route, reading, plugin))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.request_bodies", description=__doc__)
    parser.add_argument("--oracle", choices=sorted(ORACLES), default="26")
    parser.add_argument("--count", type=int, default=10000, help="bodies to generate")
    parser.add_argument("--seed", type=int, default=1, help="seed for the generator")
    parser.add_argument("--show", type=int, default=20, help="disagreements to print")
    args = parser.parse_args(argv)
    bodies = generate(args.count, args.seed)
    try:
        found = compare(ORACLES[args.oracle], bodies)
    except OracleError as e:
        print(e, file=sys.stderr)
        return 2
    oracle = ORACLES[args.oracle]
    print(f"{len(bodies)} bodies against {oracle.executable}: {len(found)} disagreements")
    for d in found[: args.show]:
        print(d)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
