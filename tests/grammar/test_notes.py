"""Notes: the facts about a name that policies match on."""

from __future__ import annotations

import pytest

import shimpolicy
from shimpolicy import Note


@pytest.mark.parametrize(
    ("name", "notes"),
    [
        ("io.containerd.runc.v2", set()),
        ("com.example.runc.v2", {Note.ALIAS}),
        ("x.runc.v2", {Note.ALIAS}),
        ("io.containerd.kata-qemu.v2", set()),
        ("example.kata-qemu.v2", {Note.ALIAS}),
        ("io.containerd.my-shim", {Note.NO_VERSION}),
        ("aws.firecracker", {Note.NO_VERSION}),
        ("a..", {Note.EMPTY_PIECE, Note.NO_VERSION}),
        ("io.containerd.runc.v2.", {Note.EMPTY_PIECE, Note.NO_VERSION}),
        (".io.containerd.runc.v2", {Note.EMPTY_PIECE, Note.LEADING_DOT}),
        ("io.containerd.kata .v2", {Note.WHITESPACE}),
        ("io.containerd.kata\n.v2", {Note.WHITESPACE, Note.CONTROL}),
        ("io.containerd.kata\x00.v2", {Note.CONTROL}),
        ("io.containerd.kätä.v2", {Note.NON_ASCII}),
        ("io.containerd.\u202ekata.v2", {Note.BIDI, Note.NON_ASCII}),
        ("a\\b.c", {Note.BINARY_SEPARATOR, Note.NO_VERSION}),
        ("io.containerd.runc.v1", {Note.REMOVED_IN_2}),
        ("io.containerd.runtime.v1.linux", {Note.LEGACY_V1, Note.REMOVED_IN_2, Note.NO_VERSION}),
    ],
)
def test_notes(name: str, notes: set[str]) -> None:
    assert shimpolicy.parse(name, containerd="2.0").notes == notes


def test_known_shim_under_a_path() -> None:
    rn = shimpolicy.parse("/opt/kata/bin/containerd-shim-kata-v2")
    assert rn.kind == "path"
    assert rn.shim_info is not None and rn.shim_info.id == "kata"
    assert Note.ALIAS not in rn.notes


def test_parts() -> None:
    rn = shimpolicy.parse("io.containerd.kata.v2")
    assert (rn.prefix, rn.shim, rn.version) == (("io", "containerd"), "kata", "v2")
    assert rn.containerd == "2.x"
    assert rn.platform == "linux"
    assert shimpolicy.parse("runc").shim is None


def test_runtime_name_is_frozen() -> None:
    rn = shimpolicy.parse("io.containerd.kata.v2")
    with pytest.raises(AttributeError):
        rn.kind = "path"  # type: ignore[misc]


def test_catalog_covers_the_well_known_shims() -> None:
    ids = {s.id for s in shimpolicy.SHIMS}
    assert {
        "runc-v2",
        "runhcs",
        "kata",
        "gvisor",
        "firecracker",
        "wasmtime",
        "wasmedge",
        "wasmer",
        "spin",
        "slight",
        "wws",
        "lunatic",
        "runj",
    } <= ids
    assert all(s.url.startswith("https://") for s in shimpolicy.SHIMS)


def test_catalog_binaries_are_shim_binary_names_with_only_star_wildcards() -> None:
    # C1 makes every binary name start with "containerd-shim-"; the lookup reads only '*'.
    for shim in shimpolicy.SHIMS:
        for glob in shim.binaries:
            assert glob.startswith("containerd-shim-"), (shim.id, glob)
            assert not set(glob) & set("?[]\\/"), (shim.id, glob)
