"""Versions are releases or series (SPEC §6 "Versions are patch-level")."""

from __future__ import annotations

import pytest

from shimpolicy.grammar.versions import (
    CONTAINERD_NEWEST,
    DEFAULT_CONTAINERD,
    DEFAULT_DOCKER,
    containerd_at_least,
    containerd_release,
    containerd_series,
    docker_major,
)
from shimpolicy.policy import Policy


@pytest.mark.parametrize(
    ("version", "release", "series"),
    [
        ("1.6.20", (1, 6, 20), "1.6"),
        ("1.6", (1, 6, 39), "1.6"),  # a series is its newest release
        ("1.7.0", (1, 7, 0), "1.7"),
        ("2.0.2", (2, 0, 2), "2"),
        ("2.2", (2, 2, 7), "2"),
        ("2.3", (2, 3, 4), "2"),
        ("2", (2, 3, 4), "2"),
        ("2.x", (2, 3, 4), "2"),
        ("1.5.18", (1, 5, 18), "1.5"),
    ],
)
def test_a_version_names_one_release(version: str, release: tuple[int, ...], series: str) -> None:
    assert containerd_release(version) == release
    assert containerd_series(version) == series


@pytest.mark.parametrize("version", ["1.6.40", "2.4", "2.3.5", "2.x.1", "1.4", "3", "1.6.20.1", ""])
def test_unknown_containerd_releases_are_refused(version: str) -> None:
    with pytest.raises(ValueError) as info:
        containerd_release(version)
    assert str(info.value) == (
        f"unknown containerd version {version!r}: expected a release up to 1.5.18, 1.6.39, "
        "1.7.34, 2.0.11, 2.1.9, 2.2.7 or 2.3.4, or a series"
    )


def test_the_release_where_a_behaviour_changed_is_compared_exactly() -> None:
    # SPEC §6: runtime_path is honoured from 1.6.21; versions are refused from 1.6.32.
    assert not containerd_at_least("1.6.20", 1, 6, 21)
    assert containerd_at_least("1.6.21", 1, 6, 21)
    assert not containerd_at_least("1.6.31", 1, 6, 32)
    assert containerd_at_least("1.6", 1, 6, 32)


@pytest.mark.parametrize(
    ("version", "major"),
    [("20.10", 20), ("20.10.27", 20), ("22.06", 22), ("28", 28), ("28.5.2", 28), ("29.7.2", 29)],
)
def test_docker_versions(version: str, major: int) -> None:
    assert docker_major(version) == major


@pytest.mark.parametrize("version", ["19.03", "30", "28.6", "20.10.28", "29.8"])
def test_unknown_docker_versions_are_refused(version: str) -> None:
    with pytest.raises(ValueError) as info:
        docker_major(version)
    assert str(info.value) == (
        f"unknown Docker version {version!r}: expected 20.10, 22.06 or 23 to 29"
    )


def test_the_defaults_are_the_newest_known_releases() -> None:
    assert containerd_release(DEFAULT_CONTAINERD) == max(
        (*series, patch) for series, patch in CONTAINERD_NEWEST.items()
    )
    assert DEFAULT_DOCKER == "29"
    policy = Policy.default()
    assert (policy.containerd, policy.docker) == (DEFAULT_CONTAINERD, DEFAULT_DOCKER)


def test_check_help_lists_the_known_releases() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "shimpolicy", "check", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(out.split())
    assert "2.0.0–2.0.11, 2.1.0–2.1.9, 2.2.0–2.2.7, 2.3.0–2.3.4" in flat
    assert "default 2.3" in flat and "default 29" in flat
