"""``Policy.decide`` is total on strings and gives the same decisions from many threads."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shimpolicy.policy import Policy, engine

PIECES = [
    "io", "containerd", "runc", "kata", "kata-qemu", "v1", "v2", "", "example", "runtime",
    "linux", "/", "\\", "C:", "tmp", "..", " ", "\u202e", "\n", "\u0430", "\x00", "~",
]  # fmt: skip
SEPARATORS = [".", "/", "\\", ""]

names = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(PIECES), max_size=6).flatmap(
        lambda pieces: st.lists(
            st.sampled_from(SEPARATORS), min_size=len(pieces), max_size=len(pieces)
        ).map(lambda seps: "".join(p + s for p, s in zip(pieces, seps, strict=True)))
    ),
)

POLICIES = {
    "default": {"version": 1, "extends": "default"},
    "1.5": {"version": 1, "extends": "default", "containerd": "1.5", "docker": "23"},
    "1.6": {"version": 1, "extends": "default", "containerd": "1.6", "docker": "24"},
    "windows": {"version": 1, "extends": "default", "platform": "windows", "docker": "29"},
}


def fresh(which: str) -> Policy:
    return Policy.from_dict(POLICIES[which])


def corpus() -> list[str]:
    """A few thousand names built from the pieces that matter to C1-C4 and D1."""
    short = ["io", "runc", "kata", "v2", "", "/", "\\", "C:", "..", "\u202e", " "]
    out = ["".join(p) for n in range(4) for p in itertools.product(short, repeat=n)]
    return [*out, *(n + ".v2" for n in out), *("/tmp/" + n for n in out)]


@pytest.mark.parametrize("which", sorted(POLICIES))
def test_decisions_are_the_same_from_many_threads(
    which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small cache, so that threads also race on the cache being dropped when full.
    monkeypatch.setattr(engine, "CACHE_BYTES", 257 * engine.ENTRY_OVERHEAD)
    work = [(n, c) for n in corpus() for c in ("request", "config")]
    sequential = fresh(which)
    expected = [sequential.decide(n, c) for n, c in work]
    shared = fresh(which)
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _ in range(2):  # the second round is answered largely from the cache
            assert list(pool.map(lambda job: shared.decide(*job), work, chunksize=7)) == expected


@settings(max_examples=25, deadline=None)
@given(st.lists(names, min_size=50, max_size=200))
def test_generated_names_decide_the_same_from_many_threads(batch: list[str]) -> None:
    work = [(n, c) for n in batch for c in ("request", "config")]
    expected = [fresh("default").decide(n, c) for n, c in work]
    shared = fresh("default")
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda job: shared.decide(*job), work * 3)) == expected * 3


@settings(max_examples=300, deadline=None)
@given(names, st.sampled_from(sorted(POLICIES)), st.sampled_from(["request", "config"]))
def test_decide_never_raises_and_is_consistent(name: str, which: str, context: str) -> None:
    policy = POLICY_OBJECTS[which]
    d = policy.decide(name, context)
    assert d.action in ("allow", "warn", "deny")
    assert d.name.name == name and d.context == context
    assert policy.decide(name, context) is d  # cached
    rule = policy.rule(d.rule)
    assert rule is not None and rule.action == d.action
    assert d.reason.isprintable()


POLICY_OBJECTS = {which: fresh(which) for which in POLICIES}


@settings(max_examples=200, deadline=None)
@given(names)
def test_nothing_containerd_rejects_is_ever_allowed_by_the_default_policy(name: str) -> None:
    for context in ("request", "config"):
        d = Policy.default().decide(name, context)
        if d.name.kind in ("invalid", "empty", "relative") or d.name.notes & {"control", "bidi"}:
            assert d.action == "deny"
        if context == "request" and (d.name.kind == "path" or not d.docker_permitted):
            assert d.action == "deny"
