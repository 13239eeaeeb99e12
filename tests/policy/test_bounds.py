"""``Policy.decide`` under hostile input: a name longer than PATH_MAX is denied without a
rule and never cached, and the decision cache is bounded in bytes, not entries."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

from shimpolicy import parse
from shimpolicy.policy import Policy, engine

REASON = (
    "the name is {} bytes long, longer than any path containerd could execute "
    "(PATH_MAX, 4096 bytes)"
)


def test_a_name_longer_than_path_max_is_denied_and_not_kept() -> None:
    policy = Policy.default()
    name = "io.containerd." + "k" * 4080 + ".v2"  # 4097 bytes
    d = policy.decide(name, "config")
    assert (d.action, d.rule, d.reason, d.origin) == (
        "deny",
        "name-too-long",
        REASON.format(4097),
        "shimpolicy",
    )
    assert d.name.name == name and d.context == "config"
    assert policy.decide(name, "config") is not d  # decided again: never cached


def test_path_max_counts_utf8_bytes_and_a_4096_byte_name_is_decided_by_the_rules() -> None:
    policy = Policy.default()
    at_limit = "io.containerd." + "k" * 4079 + ".v2"
    assert len(at_limit.encode()) == 4096
    assert policy.decide(at_limit).rule != "name-too-long"
    wide = "io.containerd." + "\u00e9" * 2040 + ".v2"  # 2057 characters, 4097 bytes
    assert policy.decide(wide).reason == REASON.format(4097)


def _names(count: int, length: int) -> Iterator[str]:
    for i in range(count):
        yield f"io.containerd.{i:06d}" + "x" * (length - 24) + ".v2"


def test_the_decision_cache_is_bounded_in_bytes() -> None:
    policy = Policy.default()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for name in _names(3000, 4000):  # unbounded, some 50 MB of decisions
            policy.decide(name)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < engine.CACHE_BYTES * 1.5, f"{grown} bytes"
    # and it still answers from the cache
    last = next(iter(reversed(list(_names(3000, 4000)))))
    assert policy.decide(last) is policy.decide(last)


def test_the_grammars_parse_cache_keeps_only_names_of_ordinary_length() -> None:
    short, long = "io.containerd.kata.v2", "io.containerd." + "k" * 300 + ".v2"
    assert parse(short) is parse(short)
    assert parse(long) == parse(long) and parse(long) is not parse(long)
