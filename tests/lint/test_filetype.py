"""How a file's type is told from its name: Compose's file names."""

from __future__ import annotations

from fnmatch import fnmatchcase

from hypothesis import given
from hypothesis import strategies as st

from shimpolicy.lint.filetype import is_compose_name, type_by_name

# The names Compose reads, as globs (compose-spec: compose.yaml and its overrides).
GLOBS = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
    "compose.*.yaml",
    "compose.*.yml",
    "docker-compose.*.yaml",
    "docker-compose.*.yml",
)
PIECES = st.sampled_from(["compose", "docker-", ".", "yaml", "yml", "override", "-", "x", ""])


@given(st.lists(PIECES, max_size=6).map("".join))
def test_compose_names_are_exactly_the_globs(base: str) -> None:
    assert is_compose_name(base) == any(fnmatchcase(base, g) for g in GLOBS)


def test_compose_names_decide_the_type() -> None:
    assert type_by_name("deploy/compose.yaml") == "compose"
    assert type_by_name("docker-compose.override.yml") == "compose"
    assert type_by_name("compose..yaml") == "compose"
    assert type_by_name("compose.yaml.bak") is None
    assert type_by_name("my-compose.yaml") is None
    assert type_by_name("Compose.yaml") is None
