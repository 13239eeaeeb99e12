"""SPEC §4: every reference vector, under every containerd and Docker version."""

from __future__ import annotations

import pytest

import shimpolicy
from shimpolicy.grammar.name import binary_name, is_absolute

CONTAINERD = ("1.5", "1.6", "1.7", "2.0", "2.1", "2.3")
ERR_15 = "invalid runtime name {}, correct runtime name should format like io.containerd.runc.v1"
ERR_16 = (
    "invalid runtime name {}, correct runtime name should be either format like "
    "`io.containerd.runc.v1` or a full path to the binary"
)
ERR_2 = ERR_16.replace("runc.v1", "runc.v2")


def expected_error(version: str, name: str) -> str:
    if version == "1.5":
        return ERR_15.format(name)
    return (ERR_2 if version.startswith("2") else ERR_16).format(name)


def series(version: str) -> str:
    return "2" if version.startswith("2") else version


# name -> {series: (kind, binary)}; a kind of "invalid" implies containerd's own error text.
SHIM = "shim"
VECTORS: dict[str, dict[str, tuple[str, str | None]]] = {
    "io.containerd.runc.v2": dict.fromkeys(
        ("1.5", "1.6", "1.7", "2"), (SHIM, "containerd-shim-runc-v2")
    ),
    "io.containerd.kata.v2": dict.fromkeys(
        ("1.5", "1.6", "1.7", "2"), (SHIM, "containerd-shim-kata-v2")
    ),
    "com.example.runc.v2": dict.fromkeys(
        ("1.5", "1.6", "1.7", "2"), (SHIM, "containerd-shim-runc-v2")
    ),
    "runc": dict.fromkeys(("1.5", "1.6", "1.7", "2"), ("invalid", None)),
    ".": {
        "1.5": (SHIM, "containerd-shim--"),
        "1.6": (SHIM, "containerd-shim--"),
        "1.7": ("invalid", None),
        "2": ("invalid", None),
    },
    ".a": {
        "1.5": (SHIM, "containerd-shim--a"),
        "1.6": (SHIM, "containerd-shim--a"),
        "1.7": ("invalid", None),
        "2": ("invalid", None),
    },
    "a.": dict.fromkeys(("1.5", "1.6", "1.7", "2"), (SHIM, "containerd-shim-a-")),
    "a..": dict.fromkeys(("1.5", "1.6", "1.7", "2"), (SHIM, "containerd-shim--")),
    "/usr/bin/foo": {
        "1.5": ("invalid", None),
        "1.6": ("path", "/usr/bin/foo"),
        "1.7": ("path", "/usr/bin/foo"),
        "2": ("path", "/usr/bin/foo"),
    },
    "a/b.c": {
        "1.5": ("relative", "containerd-shim-a/b-c"),
        "1.6": ("relative", "containerd-shim-a/b-c"),
        "1.7": ("invalid", None),
        "2": ("invalid", None),
    },
    "sub/io.x.y.v1": {
        "1.5": ("relative", "containerd-shim-y-v1"),
        "1.6": ("relative", "containerd-shim-y-v1"),
        "1.7": ("invalid", None),
        "2": ("invalid", None),
    },
    "/opt/x/io.y.v1": {
        "1.5": ("relative", "containerd-shim-y-v1"),
        "1.6": ("path", "/opt/x/io.y.v1"),
        "1.7": ("path", "/opt/x/io.y.v1"),
        "2": ("path", "/opt/x/io.y.v1"),
    },
    "a\\b.c": dict.fromkeys(("1.5", "1.6", "1.7", "2"), (SHIM, "containerd-shim-a\\b-c")),
    "C:\\foo": dict.fromkeys(("1.5", "1.6", "1.7", "2"), ("invalid", None)),
    "io.containerd.runtime.v1.linux": {
        "1.5": ("legacy-v1", None),
        "1.6": ("legacy-v1", None),
        "1.7": ("legacy-v1", None),
        "2": (SHIM, "containerd-shim-v1-linux"),
    },
}
DOCKER_23_24 = {
    "io.containerd.runc.v2",
    "io.containerd.kata.v2",
    "com.example.runc.v2",
    ".",
    ".a",
    "a.",
    "a..",
    "a\\b.c",
    "io.containerd.runtime.v1.linux",
}
DOCKER_25_UP = DOCKER_23_24 - {".", ".a"}


@pytest.mark.parametrize("version", CONTAINERD)
@pytest.mark.parametrize("name", sorted(VECTORS))
def test_reference_vector(name: str, version: str) -> None:
    kind, binary = VECTORS[name][series(version)]
    rn = shimpolicy.parse(name, containerd=version, platform="linux")
    assert (rn.kind, rn.binary) == (kind, binary)
    if kind == "invalid":
        assert rn.error == expected_error(version, name)
    else:
        assert rn.error is None


@pytest.mark.parametrize("version", CONTAINERD)
def test_empty_name(version: str) -> None:
    rn = shimpolicy.parse("", containerd=version)
    assert rn.kind == "empty"
    assert rn.binary is None
    assert rn.error == (expected_error("1.5", "") if version == "1.5" else "no runtime name")


def test_empty_name_error_under_1_5_is_the_invalid_name_text() -> None:
    assert shimpolicy.parse("", containerd="1.5").error == (
        "invalid runtime name , correct runtime name should format like io.containerd.runc.v1"
    )


@pytest.mark.parametrize("docker", ["23", "24", "25", "26", "27", "28", "29"])
@pytest.mark.parametrize("name", [*sorted(VECTORS), ""])
def test_docker_permits_reference_vector(name: str, docker: str) -> None:
    allowed = DOCKER_23_24 if int(docker) < 25 else DOCKER_25_UP
    assert shimpolicy.docker_permits(name, docker=docker) is (name in allowed)


@pytest.mark.parametrize("docker", ["20.10", "22.06"])
@pytest.mark.parametrize("name", sorted(VECTORS))
def test_docker_before_23_permits_no_unconfigured_name(name: str, docker: str) -> None:
    assert shimpolicy.docker_permits(name, docker=docker) is False


def test_relative_name_looks_in_its_directory_first() -> None:
    rn = shimpolicy.parse("sub/io.x.y.v1", containerd="1.6")
    assert rn.directory == "sub"
    rn = shimpolicy.parse("/opt/x/io.y.v1", containerd="1.5")
    assert (rn.kind, rn.binary, rn.directory) == ("relative", "containerd-shim-y-v1", "/opt/x")


@pytest.mark.parametrize("version", ["1.6", "1.7", "2.0"])
def test_windows_absolute_path_is_executed(version: str) -> None:
    rn = shimpolicy.parse("C:\\x\\io.y.z", containerd=version, platform="windows")
    assert (rn.kind, rn.binary, rn.directory) == ("path", "C:\\x\\io.y.z", "C:\\x")


def test_windows_absolute_path_under_1_5_is_relative() -> None:
    rn = shimpolicy.parse("C:\\x\\io.y.z", containerd="1.5", platform="windows")
    assert (rn.kind, rn.binary) == ("relative", "containerd-shim-y-z.exe")


@pytest.mark.parametrize("version", CONTAINERD)
def test_windows_binary_gets_exe_suffix(version: str) -> None:
    assert shimpolicy.parse("io.containerd.runhcs.v1", version, "windows").binary == (
        "containerd-shim-runhcs-v1.exe"
    )


@pytest.mark.parametrize(
    ("name", "absolute"),
    [
        ("C:\\x", True),
        ("C:/x", True),
        ("c:\\", True),
        ("C:", False),
        ("C:x", False),
        ("\\x", False),
        ("/x", False),
        ("\\\\host\\share\\x", True),
        ("//host/share", True),
        ("\\\\host\\share", True),
        ("x\\y", False),
        ("", False),
    ],
)
@pytest.mark.parametrize("version", ["1.6", "1.7", "2.0"])
def test_windows_is_abs(name: str, absolute: bool, version: str) -> None:
    assert is_absolute(name, containerd=version, platform="windows") is absolute


@pytest.mark.parametrize(
    ("name", "go119", "go120"),
    [
        ("NUL", True, False),
        ("con", True, False),
        ("COM1", True, False),
        ("\\\\host", False, True),
        ("\\\\?\\C:\\x", True, True),
        ("\\\\.\\pipe\\x", False, True),
        ("1:\\x", False, True),
        ("\\??\\C:\\x", False, True),
    ],
)
def test_windows_is_abs_follows_the_go_that_built_containerd(
    name: str, go119: bool, go120: bool
) -> None:
    assert is_absolute(name, containerd="1.6", platform="windows") is go119
    assert is_absolute(name, containerd="2.0", platform="windows") is go120


@pytest.mark.parametrize("version", ["1.7", "2.0"])
def test_backslash_is_not_caught_by_the_slash_check_on_windows(version: str) -> None:
    rn = shimpolicy.parse("foo\\io.x.y", containerd=version, platform="windows")
    assert (rn.kind, rn.binary, rn.directory) == ("relative", "containerd-shim-x-y.exe", "foo")


@pytest.mark.parametrize("version", ["1.7", "2.0"])
def test_forward_slash_is_invalid_on_windows_from_1_7(version: str) -> None:
    assert shimpolicy.parse("foo/io.x.y", containerd=version, platform="windows").kind == "invalid"


def test_legacy_v1_name_is_a_shim_on_windows() -> None:
    rn = shimpolicy.parse("io.containerd.runtime.v1.linux", containerd="1.6", platform="windows")
    assert (rn.kind, rn.binary) == ("shim", "containerd-shim-v1-linux.exe")


def test_binary_name_is_c1_exactly() -> None:
    assert binary_name("x.runc.v2") == "containerd-shim-runc-v2"
    assert binary_name("io.containerd.runc.v2.") == "containerd-shim-v2-"
    assert binary_name("io.containerd.my-shim") == "containerd-shim-containerd-my-shim"
    assert binary_name(".a", containerd="1.6") == "containerd-shim--a"
    assert binary_name(".a", containerd="1.7") is None
    assert binary_name("nodot") is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: shimpolicy.parse("x.y", containerd="1.4"),
            "unknown containerd version '1.4': "
            "expected a release up to 1.5.18, 1.6.39, 1.7.34, 2.0.11, "
            "2.1.9, 2.2.7 or 2.3.4, or a series",
        ),
        (
            lambda: shimpolicy.parse("x.y", containerd="3.0"),
            "unknown containerd version '3.0': "
            "expected a release up to 1.5.18, 1.6.39, 1.7.34, 2.0.11, "
            "2.1.9, 2.2.7 or 2.3.4, or a series",
        ),
        (
            lambda: shimpolicy.parse("x.y", platform="darwin"),
            "unknown platform 'darwin': expected linux or windows",
        ),
        (
            lambda: shimpolicy.docker_permits("x.y", docker="19.03"),
            "unknown Docker version '19.03': expected 20.10, 22.06 or 23 to 29",
        ),
    ],
)
def test_unknown_version_is_a_clear_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        call()  # type: ignore[operator]
    assert str(info.value) == message


@pytest.mark.parametrize("version", ["1.6.20", "1.7.24", "2.x", "2", "2.2.1"])
def test_patch_versions_and_2x_are_accepted(version: str) -> None:
    assert shimpolicy.parse("io.containerd.runc.v2", containerd=version).kind == "shim"


def test_windows_docker_up_to_28_accepts_only_its_two_runtimes() -> None:
    assert shimpolicy.docker_permits("io.containerd.runhcs.v1", docker="28", platform="windows")
    assert not shimpolicy.docker_permits("io.containerd.kata.v2", docker="28", platform="windows")
    assert shimpolicy.docker_permits("C:\\evil.exe", docker="29", platform="windows")
