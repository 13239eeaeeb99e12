"""Well-known containerd shims: what each binary is and where it comes from.

A shim is identified by the binary containerd derives from a runtime name (C1), since
that is what gets executed: ``io.containerd.kata.v2`` and ``com.example.kata.v2`` both
run ``containerd-shim-kata-v2``.  ``names`` are the runtime names each project documents
(globs); a name that reaches a known binary through any other name is an alias.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from fnmatch import translate
from functools import cache, lru_cache

from .._typing import NamedTuple


class Shim(NamedTuple):
    id: str
    title: str
    description: str
    url: str
    binaries: tuple[str, ...]  # globs (only `*`) on the binary name, without Windows' ".exe"
    names: tuple[str, ...]  # globs on the documented runtime names
    platforms: tuple[str, ...] = ("linux",)

    def documents(self, name: str) -> bool:
        return _globs(self.names)(name) is not None


# fnmatchcase over each glob in turn, as one regular expression: parse asks this for every
# new name that reaches a well-known shim.
@lru_cache(maxsize=64)
def _globs(globs: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    return re.compile("|".join(translate(g) for g in globs) or "(?!)").match


SHIMS: tuple[Shim, ...] = (
    Shim(
        "runc-v2",
        "runc (shim v2)",
        "containerd's default shim for runc and runc-compatible runtimes such as crun and youki.",
        "https://github.com/containerd/containerd",
        ("containerd-shim-runc-v2",),
        ("io.containerd.runc.v2",),
    ),
    Shim(
        "runc-v1",
        "runc (shim v1 API)",
        "The first runc shim; deprecated in containerd 1.4 and no longer shipped by 2.0.",
        "https://github.com/containerd/containerd",
        ("containerd-shim-runc-v1",),
        ("io.containerd.runc.v1",),
    ),
    Shim(
        "runhcs",
        "runhcs",
        "Windows containers and Hyper-V isolated containers through the Host Compute Service.",
        "https://github.com/microsoft/hcsshim",
        ("containerd-shim-runhcs-v1",),
        ("io.containerd.runhcs.v1",),
        ("windows",),
    ),
    Shim(
        "kata",
        "Kata Containers",
        "Containers in lightweight virtual machines; kata-deploy installs one shim per hypervisor.",
        "https://github.com/kata-containers/kata-containers",
        ("containerd-shim-kata-v2", "containerd-shim-kata-*-v2"),
        ("io.containerd.kata.v2", "io.containerd.kata-*.v2"),
    ),
    Shim(
        "gvisor",
        "gVisor (runsc)",
        "Containers on an application kernel in user space.",
        "https://gvisor.dev",
        ("containerd-shim-runsc-v1",),
        ("io.containerd.runsc.v1",),
    ),
    Shim(
        "firecracker",
        "firecracker-containerd",
        "Containers in Firecracker microVMs.",
        "https://github.com/firecracker-microvm/firecracker-containerd",
        ("containerd-shim-aws-firecracker",),
        ("aws.firecracker",),
    ),
    Shim(
        "wasmtime",
        "runwasi: Wasmtime",
        "WebAssembly workloads on Wasmtime.",
        "https://github.com/containerd/runwasi",
        ("containerd-shim-wasmtime-v1",),
        ("io.containerd.wasmtime.v1",),
    ),
    Shim(
        "wasmedge",
        "runwasi: WasmEdge",
        "WebAssembly workloads on WasmEdge (Docker Desktop's Wasm integration).",
        "https://github.com/containerd/runwasi",
        ("containerd-shim-wasmedge-v1",),
        ("io.containerd.wasmedge.v1",),
    ),
    Shim(
        "wasmer",
        "runwasi: Wasmer",
        "WebAssembly workloads on Wasmer.",
        "https://github.com/containerd/runwasi",
        ("containerd-shim-wasmer-v1",),
        ("io.containerd.wasmer.v1",),
    ),
    Shim(
        "spin",
        "Spin",
        "Spin WebAssembly applications (SpinKube; earlier releases in containerd-wasm-shims).",
        "https://github.com/spinframework/containerd-shim-spin",
        ("containerd-shim-spin-v1", "containerd-shim-spin-v2"),
        ("io.containerd.spin.v1", "io.containerd.spin.v2"),
    ),
    Shim(
        "slight",
        "SpiderLightning (slight)",
        "SpiderLightning WebAssembly applications from containerd-wasm-shims.",
        "https://github.com/deislabs/containerd-wasm-shims",
        ("containerd-shim-slight-v1",),
        ("io.containerd.slight.v1",),
    ),
    Shim(
        "wws",
        "Wasm Workers Server",
        "Wasm Workers Server applications from containerd-wasm-shims.",
        "https://github.com/deislabs/containerd-wasm-shims",
        ("containerd-shim-wws-v1",),
        ("io.containerd.wws.v1",),
    ),
    Shim(
        "lunatic",
        "Lunatic",
        "Lunatic WebAssembly applications from containerd-wasm-shims.",
        "https://github.com/deislabs/containerd-wasm-shims",
        ("containerd-shim-lunatic-v1",),
        ("io.containerd.lunatic.v1",),
    ),
    Shim(
        "runj",
        "runj",
        "FreeBSD jails as containers.",
        "https://github.com/samuelkarp/runj",
        ("containerd-shim-runj-v1",),
        ("wtf.sbk.runj.v1",),
        ("freebsd",),
    ),
)


def shim_for_binary(binary: str) -> Shim | None:
    """The well-known shim that a binary name (or a path ending in one) belongs to."""
    base = binary.rpartition("/")[2]
    if "\\" in base:
        base = base.rpartition("\\")[2]
    return shim_for_base(base[:-4] if base.endswith(".exe") else base)


def shim_for_base(base: str) -> Shim | None:
    """``shim_for_binary`` for a bare binary name: no directory, no ".exe"."""
    exact, prefixes, wildcards = _index()
    found = exact.get(base)
    if found is not None or not base.startswith(prefixes):
        return found
    m = wildcards(base)
    return SHIMS[int(m.lastgroup[1:])] if m and m.lastgroup else None


def _glob(pattern: str) -> str:
    return re.escape(pattern).replace(r"\*", ".*")


@cache
def _index() -> tuple[Mapping[str, Shim], tuple[str, ...], Callable[[str], re.Match[str] | None]]:
    """The binary globs without a wildcard as a dict; the others as the text before their
    first wildcard, which a binary must start with to match, and one alternation with a
    named group per shim.  parse looks up the binary of every new name, and a dict lookup
    is the common case.  A binary belongs to the first shim, in catalog order, with a glob
    that matches it, so an exact name goes in the dict only if no earlier wildcard does."""
    groups: list[str] = []
    prefixes: list[str] = []
    for i, shim in enumerate(SHIMS):
        wild = [b for b in shim.binaries if "*" in b]
        if wild:
            groups.append(f"(?P<s{i}>{'|'.join(_glob(b) for b in wild)})")
            prefixes.extend(b[: b.index("*")] for b in wild)
    # The alternatives are tried in catalog order: the group that matches is the first shim's.
    wildcards = re.compile("|".join(groups) or "(?!)", re.DOTALL).fullmatch
    exact: dict[str, Shim] = {}
    for i, shim in enumerate(SHIMS):
        for binary in shim.binaries:
            if "*" in binary or binary in exact:
                continue
            m = wildcards(binary)
            if m is None or m.lastgroup is None or int(m.lastgroup[1:]) >= i:
                exact[binary] = shim
    return exact, tuple(prefixes), wildcards
