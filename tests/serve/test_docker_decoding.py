"""Request bodies read as dockerd's own decoder reads them (SPEC §6 "Docker's request
decoding"), per Docker version: the runtime the plugin decides is the one dockerd takes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from shimpolicy.serve.docker import (
    CREATE,
    LEGACY_START,
    Unreadable,
    decode_runtime,
    request_problems,
)
from shimpolicy.serve.gate import load_gate
from shimpolicy.serve.records import FAIL_CLOSED, Sources

KATA = "io.containerd.kata.v2"


@pytest.mark.parametrize(
    ("body", "runtime"),
    [
        # 20.10-26.1: the deprecated embedded HostConfig takes top-level members.
        (b'{"Image": "alpine", "Runtime": "io.containerd.kata.v2"}', KATA),
        (b'{"runtime": "io.containerd.kata.v2"}', KATA),
        (b'{"RUNTIME": "io.containerd.kata.v2", "HostConfig": null}', KATA),
        # The inner HostConfig wins when both are there, even without a Runtime.
        (b'{"Runtime": "io.containerd.kata.v2", "HostConfig": {}}', ""),
        (b'{"HostConfig": {"Runtime": "a"}, "Runtime": "io.containerd.kata.v2"}', "a"),
        # A repeated HostConfig merges into the first; null resets it.
        (b'{"HostConfig": {"Runtime": "a"}, "hostconfig": {"Memory": 1}}', "a"),
        (b'{"HostConfig": {"Runtime": "a"}, "HostConfig": null, "Runtime": "b"}', "b"),
        (b'{"HostConfig": {"Runtime": "a"}, "HostConfig": null, "HostConfig": {}}', ""),
        # null leaves a string as it was.
        (b'{"HostConfig": {"Runtime": "a", "Runtime": null}}', "a"),
        # Go folds the long s onto s; the dotless i and look-alikes stay themselves.
        ('{"Ho\u017ftConfig": {"Runtime": "a"}}'.encode(), "a"),
        ('{"HostConfig": {"Runt\u0131me": "a"}}'.encode(), ""),
        ('{"H\u043estConfig": {"Runtime": "a"}}'.encode(), ""),
        # Escapes in member names and values.
        (b'{"\\u0048ostConfig": {"Run\\u0074ime": "\\u002ftmp/x"}}', "/tmp/x"),
        # Invalid UTF-8 and lone surrogates become U+FFFD, as in Go.
        (b'{"Runtime": "k\xe2\x82\\ud800"}', "k\ufffd\ufffd\ufffd"),
        (b"null", ""),
        (b" {}\n", ""),
        (b"{}}", ""),  # dec.More() is false before "]" or "}"
    ],
)
def test_create_bodies_before_docker_27(body: bytes, runtime: str) -> None:
    assert decode_runtime(body, CREATE, 26) == runtime
    assert decode_runtime(body, CREATE, 20) == runtime


def test_docker_27_reads_only_the_inner_host_config() -> None:
    assert decode_runtime(b'{"Runtime": "io.containerd.kata.v2"}', CREATE, 27) == ""
    assert decode_runtime(b'{"Runtime": 5, "HostConfig": {"Runtime": "a"}}', CREATE, 27) == "a"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "the request body is empty"),
        (b" \n", "the request body is empty"),
        (b"[]", "the request body is not a JSON object"),
        (b'{"HostConfig": "x"}', "HostConfig is not a JSON object"),
        (b'{"Runtime": 1}', "HostConfig.Runtime is not a string"),
        (b'{"HostConfig": {"Runtime": ["a"]}}', "HostConfig.Runtime is not a string"),
        (b'{"x": NaN}', "the request body is not JSON (NaN is not JSON)"),
        (
            b"\xef\xbb\xbf{}",
            "the request body is not JSON (Expecting value: line 1 column 1 (char 0))",
        ),
    ],
)
def test_bodies_dockerd_refuses_cannot_be_read(body: bytes, error: str) -> None:
    with pytest.raises(Unreadable) as e:
        decode_runtime(body, CREATE, 26)
    assert str(e.value) == error


def test_content_after_the_value_is_refused_from_docker_22_06() -> None:
    body = b'{"HostConfig": {"Runtime": "a"}} {"HostConfig": {"Runtime": "b"}}'
    assert decode_runtime(body, CREATE, 20) == "a"  # json.Decoder reads one value
    with pytest.raises(Unreadable) as e:
        decode_runtime(body, CREATE, 23)
    assert str(e.value) == "the request body has content after its JSON value"


@pytest.mark.parametrize("docker", [20, 24, 29])
def test_legacy_start_takes_a_bare_host_config_or_a_wrapper(docker: int) -> None:
    assert decode_runtime(b'{"Runtime": "a"}', LEGACY_START, docker) == "a"
    assert decode_runtime(b'{"HostConfig": {"Runtime": "a"}}', LEGACY_START, docker) == "a"


def _problems(tmp_path: Path, docker: str, uri: str, body: bytes) -> list[tuple[str, str]]:
    (tmp_path / "policy.yaml").write_text(
        f'version: 1\ndocker: "{docker}"\ndefault: deny\nrules: []\n'
    )
    gate = load_gate(Sources(str(tmp_path / "policy.yaml")))
    encoded = base64.b64encode(body).decode()
    problems = request_problems(gate, "POST", uri, encoded, {"Content-Length": str(len(body))})
    return [(p.rule, p.value) for p in problems]


@pytest.mark.parametrize(
    ("docker", "uri", "body", "decided"),
    [
        # The ways around a plugin that read only HostConfig.Runtime.
        ("26", "/v1.45/containers/create", b'{"Image":"alpine","Runtime":"x.y"}', "x.y"),
        ("26", "/containers/create", b'{"runtime":"x.y","HostConfig":null}', "x.y"),
        ("24", "/v1.23/containers/web/start", b'{"HostConfig":{"Runtime":"x.y"}}', "x.y"),
        ("24", "/v1.23/containers/db/web/start", b'{"Runtime":"x.y"}', "x.y"),
        ("27", "/v1.46/containers/create", b'{"HostConfig":{"Runtime":"x.y"}}', "x.y"),
        # A target of 27 or later (the default is the newest) also checks what an older
        # daemon would take: the top-level Runtime 20.10-26.1 read.
        ("29", "/v1.45/containers/create", b'{"Image":"alpine","Runtime":"x.y"}', "x.y"),
    ],
)
def test_the_runtime_dockerd_takes_is_the_one_decided(
    tmp_path: Path, docker: str, uri: str, body: bytes, decided: str
) -> None:
    rules = _problems(tmp_path, docker, uri, body)
    assert [value for _, value in rules] == [decided]
    assert rules[0][0] != FAIL_CLOSED


def test_a_body_dockerd_refuses_is_denied_fail_closed(tmp_path: Path) -> None:
    assert _problems(tmp_path, "26", "/containers/create", b'{"Runtime": 1}') == [(FAIL_CLOSED, "")]


def test_a_target_of_27_or_later_checks_both_readings(tmp_path: Path) -> None:
    body = b'{"Runtime": "a.b", "HostConfig": null, "hostconfig": {"Runtime": "c.d"}}'
    assert decode_runtime(body, CREATE, 27) == "c.d"
    assert decode_runtime(body, CREATE, 26) == "c.d"  # the inner one wins there too
    body = b'{"Runtime": "a.b"}'
    rules = _problems(tmp_path, "29", "/containers/create", body)
    assert [value for _, value in rules] == ["a.b"]
