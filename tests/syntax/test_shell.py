"""``--runtime`` values found in shell text (SPEC D4: names chosen per container)."""

from __future__ import annotations

import shlex
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shimpolicy.syntax import Span
from shimpolicy.syntax.shell import RuntimeFlag, find_runtime_flags
from tests.conftest import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "syntax" / "shell"


def only(text: str) -> RuntimeFlag:
    found = find_runtime_flags(text)
    assert len(found) == 1, found
    return found[0]


def written(text: str, span: Span) -> str:
    """The text a single-line span covers."""
    assert span.line == span.end_line
    return text.split("\n")[span.line - 1][span.column - 1 : span.end_column - 1]


# -- the forms of the option ----------------------------------------------------------


def test_separate_value_has_exact_spans() -> None:
    assert find_runtime_flags("docker run --runtime io.containerd.kata.v2 alpine") == [
        RuntimeFlag(
            tool="docker",
            command="docker run",
            value="io.containerd.kata.v2",
            literal=True,
            span=Span(1, 22, 1, 43),
            flag_span=Span(1, 12, 1, 43),
        )
    ]


def test_equals_form_value_span_is_only_the_value() -> None:
    flag = only("docker run --runtime=runc alpine")
    assert (flag.value, flag.span, flag.flag_span) == (
        "runc",
        Span(1, 22, 1, 26),
        Span(1, 12, 1, 26),
    )


def test_double_quoted_value_span_includes_the_quotes() -> None:
    text = 'docker run --runtime "io.containerd.kata.v2" alpine'
    flag = only(text)
    assert (flag.value, flag.literal, flag.span) == (
        "io.containerd.kata.v2",
        True,
        Span(1, 22, 1, 45),
    )
    assert written(text, flag.span) == '"io.containerd.kata.v2"'


def test_single_quoted_and_mixed_quoting_are_removed() -> None:
    assert only("docker run --runtime 'io.containerd.kata.v2' x").value == "io.containerd.kata.v2"
    assert (
        only("docker run --runtime io.\"containerd\".'kata'.v2 x").value == "io.containerd.kata.v2"
    )
    assert only(r"docker run --runtime io\.containerd\ kata x").value == "io.containerd kata"


def test_equals_form_with_quoted_value() -> None:
    text = 'docker run --runtime="io.containerd.kata.v2" alpine'
    flag = only(text)
    assert (flag.value, flag.span, flag.flag_span) == (
        "io.containerd.kata.v2",
        Span(1, 22, 1, 45),
        Span(1, 12, 1, 45),
    )
    assert written(text, flag.span) == '"io.containerd.kata.v2"'


def test_whole_option_quoted() -> None:
    flag = only('docker run "--runtime=io.containerd.kata.v2" alpine')
    assert (flag.value, flag.span, flag.flag_span) == (
        "io.containerd.kata.v2",
        Span(1, 23, 1, 45),
        Span(1, 12, 1, 45),
    )


def test_empty_values() -> None:
    quoted = only('docker run --runtime "" alpine')
    assert (quoted.value, quoted.literal, quoted.span) == ("", True, Span(1, 22, 1, 24))
    bare = only("docker run --runtime= alpine")
    assert (bare.value, bare.span, bare.flag_span) == ("", Span(1, 22, 1, 22), Span(1, 12, 1, 22))


def test_dollar_single_quotes_are_decoded() -> None:
    flag = only(r"docker run --runtime $'io.containerd.kata.v2\t' x")
    assert (flag.value, flag.literal, flag.span) == (
        "io.containerd.kata.v2\t",
        True,
        Span(1, 22, 1, 48),
    )


def test_option_given_twice_gives_two_findings_in_order() -> None:
    found = find_runtime_flags("docker run --runtime a --runtime=b img")
    assert [(f.value, f.span) for f in found] == [
        ("a", Span(1, 22, 1, 23)),
        ("b", Span(1, 34, 1, 35)),
    ]


def test_option_without_a_value_is_not_a_finding() -> None:
    assert find_runtime_flags("docker run --runtime") == []


# -- positions ------------------------------------------------------------------------


def test_line_continuations_keep_physical_positions() -> None:
    text = "docker run --rm \\\n    -e A=1 \\\n    --runtime io.containerd.kata.v2 \\\n    alpine\n"
    flag = only(text)
    assert (flag.span, flag.flag_span) == (Span(3, 15, 3, 36), Span(3, 5, 3, 36))


def test_value_split_by_a_line_continuation_spans_both_lines() -> None:
    flag = only("docker run --runtime io.containerd.\\\nkata.v2 alpine")
    assert (flag.value, flag.span) == ("io.containerd.kata.v2", Span(1, 22, 2, 8))


def test_option_and_value_on_different_lines() -> None:
    flag = only("docker run --runtime \\\n  kata.v2 img")
    assert (flag.span, flag.flag_span) == (Span(2, 3, 2, 10), Span(1, 12, 2, 10))


def test_crlf_line_endings() -> None:
    text = (
        "set -e\r\n"
        "docker run --runtime io.containerd.kata.v2\r\n"
        "docker run \\\r\n"
        " --runtime=x img\r\n"
    )
    found = find_runtime_flags(text)
    assert [(f.value, f.span) for f in found] == [
        ("io.containerd.kata.v2", Span(2, 22, 2, 43)),
        ("x", Span(4, 12, 4, 13)),
    ]


def test_tabs_and_non_ascii_count_one_column_each() -> None:
    text = "\techo é;\tdocker run --runtime=kata img"
    flag = only(text)
    assert flag.span == Span(1, 31, 1, 35)
    assert written(text, flag.span) == "kata"


def test_offsets_map_positions_into_the_enclosing_file() -> None:
    # A GitHub Actions ``run: |`` block: its text starts on file line 8, indented 10.
    text = "echo start\ndocker run \\\n  --runtime=io.containerd.kata.v2 img\n"
    flag = only_mapped(text, line_offset=7, column_offsets=[10, 10, 10, 10])
    assert (flag.span, flag.flag_span) == (Span(10, 23, 10, 44), Span(10, 13, 10, 44))


def test_offsets_per_line_and_lines_past_the_offsets() -> None:
    text = "docker run --runtime a \\\n --runtime b img"
    found = find_runtime_flags(text, line_offset=100, column_offsets=[4])
    assert [f.span for f in found] == [Span(101, 26, 101, 27), Span(102, 12, 102, 13)]
    assert found[0].flag_span == Span(101, 16, 101, 27)


def only_mapped(text: str, *, line_offset: int, column_offsets: list[int]) -> RuntimeFlag:
    found = find_runtime_flags(text, line_offset=line_offset, column_offsets=column_offsets)
    assert len(found) == 1, found
    return found[0]


# -- literal or not -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('docker run --runtime "$RT" img', "$RT"),
        ("docker run --runtime ${RUNTIME:-runc} img", "${RUNTIME:-runc}"),
        ("docker run --runtime=$RT img", "$RT"),
        ('docker run --runtime "io.containerd.${NAME}.v2" img', "io.containerd.${NAME}.v2"),
        ("docker run --runtime $(cat /etc/rt) img", "$(cat /etc/rt)"),
        ("docker run --runtime `cat /etc/rt` img", "`cat /etc/rt`"),
        ("docker run --runtime io.containerd.*.v2 img", "io.containerd.*.v2"),
        ("docker run --runtime=io.containerd.kata.v? img", "io.containerd.kata.v?"),
        ("docker run --runtime ~/bin/shim img", "~/bin/shim"),
        ('docker run --runtime "${X:-"a b"}" img', '${X:-"a b"}'),
    ],
)
def test_values_with_expansions_or_globs_are_not_literal(text: str, value: str) -> None:
    flag = only(text)
    assert (flag.value, flag.literal) == (value, False)


@pytest.mark.parametrize(
    "text",
    [
        "docker run --runtime 'io.containerd.$X.v2' img",
        'docker run --runtime "io.containerd.*.v2" img',
        r"docker run --runtime io.containerd.\*.v2 img",
        "docker run --runtime x~y img",
    ],
)
def test_quoted_dollars_and_globs_are_literal(text: str) -> None:
    assert only(text).literal is True


def test_expansion_before_the_equals_sign_leaves_the_value_literal() -> None:
    flag = only('FOO=$BAR docker run "--runtime"=kata img')
    assert (flag.value, flag.literal) == ("kata", True)


# -- which commands count -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tool", "command"),
    [
        ("docker run --runtime x img", "docker", "docker run"),
        ("docker create --runtime x img", "docker", "docker create"),
        ("docker container run --runtime x img", "docker", "docker container run"),
        ("docker container create --runtime x img", "docker", "docker container create"),
        ("nerdctl run --runtime x img", "nerdctl", "nerdctl run"),
        ("nerdctl create --runtime x img", "nerdctl", "nerdctl create"),
        ("nerdctl container run --runtime x img", "nerdctl", "nerdctl container run"),
        ("nerdctl container create --runtime x img", "nerdctl", "nerdctl container create"),
        ("ctr run --runtime x img id", "ctr", "ctr run"),
        ("ctr container create --runtime x img id", "ctr", "ctr container create"),
        ("ctr containers create --runtime x img id", "ctr", "ctr container create"),
        ("ctr c create --runtime x img id", "ctr", "ctr container create"),
        ("/usr/bin/docker run --runtime x img", "docker", "docker run"),
        ('"docker" run --runtime x img', "docker", "docker run"),
    ],
)
def test_recognised_invocations(text: str, tool: str, command: str) -> None:
    flag = only(text)
    assert (flag.tool, flag.command, flag.value) == (tool, command, "x")


@pytest.mark.parametrize(
    "text",
    [
        "docker --context x -H tcp://h run --runtime y img",
        "docker -H=tcp://h --config=/etc/d -D --tls run --runtime y img",
        "docker --log-level debug --tlscacert a --tlscert b --tlskey c container run --runtime y i",
        "docker -Dl debug run --runtime y img",
        "nerdctl --namespace k8s.io run --runtime y img",
        "nerdctl -n k8s.io --snapshotter stargz --debug-full run --runtime y img",
        "nerdctl --address=/run/c.sock --insecure-registry container create --runtime y img",
        "ctr -n k8s.io run --runtime y img id",
        "ctr --namespace=k8s.io --debug --timeout 5s run --runtime y img id",
        "ctr -address /run/containerd/containerd.sock -n=default c create --runtime y img id",
    ],
)
def test_global_options_before_the_subcommand_are_skipped(text: str) -> None:
    assert only(text).value == "y"


@pytest.mark.parametrize(
    ("text", "span", "flag_span"),
    [
        ("sudo -E env FOO=1 docker run --runtime x img", Span(1, 40, 1, 41), Span(1, 30, 1, 41)),
        (
            "docker --context x -H tcp://h run --runtime x img",
            Span(1, 45, 1, 46),
            Span(1, 35, 1, 46),
        ),
        ("nerdctl --namespace k8s.io run --runtime=x img", Span(1, 42, 1, 43), Span(1, 32, 1, 43)),
        ("sudo ctr -n k8s.io run --runtime x img id", Span(1, 34, 1, 35), Span(1, 24, 1, 35)),
    ],
)
def test_spans_behind_wrappers_and_global_options(text: str, span: Span, flag_span: Span) -> None:
    flag = only(text)
    assert (flag.value, flag.span, flag.flag_span) == ("x", span, flag_span)


def test_unknown_global_option_with_or_without_value() -> None:
    assert only("docker --new-switch run --runtime y img").value == "y"
    assert only("docker --new-setting value run --runtime y img").value == "y"


def test_value_of_a_global_option_is_not_the_subcommand() -> None:
    assert find_runtime_flags("docker --context run build --runtime y .") == []
    assert find_runtime_flags("ctr -n run images --runtime y") == []


@pytest.mark.parametrize(
    "text",
    [
        "docker run -e X --name n -v a:b -p 8080:80 --network host --runtime y img",
        "docker run -it -eFOO=1 -dp 80:80 -u 0:0 -w /src --runtime y img",
        "docker run --rm --privileged --init --gpus all --mount type=bind,src=a --runtime y img",
        "docker run -h host -m 1g --label-file f --env-file e --platform arm64 --runtime y img",
        "docker run --pull=always --security-opt seccomp=unconfined -P --read-only --runtime y img",
        "nerdctl run -d --net host --systemd true --rootfs --runtime y /rootfs",
        "ctr run --rm -t --net-host --mount type=bind,src=a,dst=b --env A=1 --runtime y img id",
        "ctr run -rm -snapshotter overlayfs -runtime y img id",
    ],
)
def test_run_options_and_their_values_are_skipped(text: str) -> None:
    assert only(text).value == "y"


def test_ctr_single_dash_long_option() -> None:
    flag = only("ctr run -runtime=io.containerd.kata.v2 img id")
    assert (flag.value, flag.span, flag.flag_span) == (
        "io.containerd.kata.v2",
        Span(1, 18, 1, 39),
        Span(1, 9, 1, 39),
    )


@pytest.mark.parametrize(
    "text",
    [
        "sudo docker run --runtime y img",
        "sudo -E -u root docker run --runtime y img",
        "sudo --user=root -- docker run --runtime y img",
        "sudo -Eu root env -i PATH=/bin FOO=1 docker run --runtime y img",
        "env -u HOME --chdir=/ docker run --runtime y img",
        "exec -a name docker run --runtime y img",
        "time -p docker run --runtime y img",
        "nohup docker run --runtime y img &",
        "command docker run --runtime y img",
        "FOO=1 BAR='a b' docker run --runtime y img",
        "A=$(id -u) sudo B=2 docker run --runtime y img",
        "if docker run --runtime y img; then :; fi",
        "while ! docker run --runtime y img; do sleep 1; done",
        "{ docker run --runtime y img; }",
        "(docker run --runtime y img)",
        "true && docker run --runtime y img || false",
        "echo go | docker run -i --runtime y img",
        "case $x in kata) docker run --runtime y img ;; esac",
        "f() { docker run --runtime y img; }",
    ],
)
def test_wrappers_assignments_and_compound_commands(text: str) -> None:
    assert only(text).value == "y"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("x=$(docker run --runtime foo img)", Span(1, 26, 1, 29)),
        ('echo "$(sudo docker run --runtime=foo img)"', Span(1, 35, 1, 38)),
        ("x=`docker run --runtime foo img`", Span(1, 25, 1, 28)),
        ("a=$(echo $(docker run --runtime foo img))", Span(1, 33, 1, 36)),
        ("diff <(docker run --runtime foo img) b", Span(1, 29, 1, 32)),
        ("v=${X:-$(docker run --runtime foo img)}", Span(1, 31, 1, 34)),
        ("docker run --runtime foo img $(date)", Span(1, 22, 1, 25)),
    ],
)
def test_commands_inside_substitutions_count(text: str, span: Span) -> None:
    flag = only(text)
    assert (flag.value, flag.span) == ("foo", span)


def test_substitution_in_a_value_and_inside_it() -> None:
    found = find_runtime_flags("docker run --runtime $(docker run --runtime inner i) img")
    assert [(f.value, f.literal) for f in found] == [
        ("$(docker run --runtime inner i)", False),
        ("inner", True),
    ]


# -- what is not a finding ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "podman run --runtime /usr/bin/crun img",
        "sudo podman run --runtime=crun img",
        "# docker run --runtime x img",
        "echo hi # docker run --runtime x img",
        "# clean up; docker run --runtime x img",
        "echo hi # && docker run --runtime x img",
        'echo "docker run --runtime x"',
        "echo 'docker run --runtime x img'",
        "echo docker run --runtime x img",
        "docker build --runtime x .",
        "docker compose run --runtime x svc",
        "docker run img --runtime x",
        "docker run --rm alpine sh -c 'x' --runtime y",
        "docker run -e A -- img --runtime x",
        "ctr run img id --runtime x",
        "which docker",
        "command -v docker run --runtime x img",
        "sudo -l docker run --runtime x img",
        "sudo --list docker run --runtime x img",
        "type docker && hash docker",
        "dockerd --add-runtime kata=/usr/bin/kata-runtime",
        "my-docker run --runtime x img",
        '"$DOCKER" run --runtime x img',
        "ctr images pull --runtime x img",
        "nerdctl image inspect --runtime x img",
        "args=(docker run --runtime x img)",
        "cat <<EOF\ndocker run --runtime x img\nEOF\n",
        "cat <<'EOF' | sh\ndocker run --runtime x img\nEOF\n",
        "cat <<-EOF\n\tdocker run --runtime x img\n\tEOF\n",
        "cat <<EOF\r\ndocker run --runtime x img\r\nEOF\r\n",
        "echo $((1 << 2))\n",
        "docker run --runtime",
    ],
)
def test_not_a_finding(text: str) -> None:
    assert find_runtime_flags(text) == []


def test_quotes_inside_comments_do_not_open_strings() -> None:
    flag = only("x=1 # it's here\ndocker run --runtime y img # \"\n")
    assert (flag.value, flag.span) == ("y", Span(2, 22, 2, 23))


def test_hash_inside_a_word_is_not_a_comment() -> None:
    assert only("docker run --runtime a#b img").value == "a#b"


def test_commands_after_a_here_document_are_read() -> None:
    text = (
        "cat <<EOF >/tmp/x; docker run --runtime a img\n"
        "docker run --runtime b img\n"
        "EOF\n"
        "docker run --runtime c img\n"
    )
    assert [(f.value, f.span.line) for f in find_runtime_flags(text)] == [("a", 1), ("c", 4)]


def test_two_here_documents_on_one_line() -> None:
    text = (
        "cat <<A <<'B'\n"
        "docker run --runtime x i\n"
        "A\n"
        "docker run --runtime y i\n"
        "B\n"
        "docker run --runtime z i"
    )
    assert [f.value for f in find_runtime_flags(text)] == ["z"]


def test_here_string_is_not_a_here_document() -> None:
    assert only("cat <<< EOF\ndocker run --runtime z img").value == "z"


def test_redirections_are_not_operands() -> None:
    flag = only("docker run >log 2>&1 </dev/null &>>all --runtime x img")
    assert (flag.value, flag.span) == ("x", Span(1, 50, 1, 51))


def test_arithmetic_shift_is_not_a_here_document() -> None:
    assert only("echo $((1 << 2)) $(( (3) >> 1 ))\ndocker run --runtime z img").value == "z"


# -- robustness -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "docker run --runtime 'unterminated",
        'docker run --runtime "unterminated $(x',
        "docker run --runtime $(docker run --runtime x",
        "docker run --runtime ${X",
        "docker run --runtime $'abc\\",
        "docker run --runtime `docker run --runtime y",
        "docker run --runtime x\\",
        ")))}}}` ``` $(( $( ${ ' \" <<",
        "cat <<",
        "<<EOF",
    ],
)
def test_unterminated_constructs_do_not_raise(text: str) -> None:
    for flag in find_runtime_flags(text):
        assert isinstance(flag, RuntimeFlag)


def test_unterminated_quote_makes_the_rest_one_word() -> None:
    flag = only('docker run --runtime "io.containerd.kata.v2 img\nmore')
    assert (flag.value, flag.span) == ("io.containerd.kata.v2 img\nmore", Span(1, 22, 2, 5))


def test_deep_nesting_is_read_without_recursion() -> None:
    text = "docker run --runtime $(" * 20_000 + ")" * 20_000
    found = find_runtime_flags(text)
    # Commands nested more than 16 substitutions deep are not examined.
    assert len(found) == 17
    assert found[0].span.column == 22


def test_one_megabyte_script_is_fast() -> None:
    block = (
        'for i in $(seq 1 3); do echo "n=$i ${X:-y}" | tee -a /tmp/log 2>&1\n'
        "  sudo docker run --rm -it -e A=1 -v /a:/b --runtime io.containerd.kata.v2 img sh -c 'x'\n"
        "  cat <<EOF >/tmp/x\ndocker run --runtime skipped img\nEOF\ndone\n"
    )
    text = block * (1_000_000 // len(block))
    started = time.perf_counter()
    found = find_runtime_flags(text)
    assert len(found) == 1_000_000 // len(block)
    assert time.perf_counter() - started < 5


def test_fixture_script() -> None:
    text = (FIXTURES / "kata-smoke-test.sh").read_text(encoding="utf-8")
    assert [(f.tool, f.command, f.value, f.literal, f.span) for f in find_runtime_flags(text)] == [
        ("docker", "docker run", "$RUNTIME", False, Span(12, 27, 12, 37)),
        ("docker", "docker run", "$rt", False, Span(18, 13, 18, 16)),
        ("nerdctl", "nerdctl run", "io.containerd.runsc.v1", True, Span(22, 56, 22, 78)),
        ("ctr", "ctr run", "/opt/kata/bin/containerd-shim-kata-v2", True, Span(25, 39, 25, 76)),
    ]


# -- properties -----------------------------------------------------------------------

_FRAGMENTS = [
    "docker", "nerdctl", "ctr", "podman", "sudo", "env", "run", "create", "container", "c",
    "--runtime", "--runtime=", "-runtime", "-n", "-e", "-it", "--", "--rm", "img", "x",
    "io.containerd.kata.v2", "A=1", " ", " ", " ", "\t", "\n", "\r\n", "\\\n", "\\", "'", '"',
    "$", "$X", "${", "}", "$(", "(", ")", "`", "$'", "#", ";", "&&", "|", "<", ">", "<<",
    "EOF", "*", "~", "=", "é", "\r", "\u2028",
]  # fmt: skip

_SHELLISH = st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join)


def _position_is_in(lines: list[str], line: int, column: int) -> bool:
    return 1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1]) + 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_SHELLISH, st.text(max_size=200)))
def test_spans_lie_in_the_text_and_cover_the_value_as_written(text: str) -> None:
    lines = text.split("\n")
    for flag in find_runtime_flags(text):
        span, whole = flag.span, flag.flag_span
        assert _position_is_in(lines, span.line, span.column)
        assert _position_is_in(lines, span.end_line, span.end_column)
        assert (span.line, span.column) <= (span.end_line, span.end_column)
        assert (whole.line, whole.column) < (span.line, span.column)
        assert (whole.end_line, whole.end_column) == (span.end_line, span.end_column)
        if span.line != span.end_line or not flag.literal:
            continue
        shown = written(text, span)
        if any(c in shown for c in "$`\\\r"):
            continue
        # Without expansions or backslashes, POSIX quote removal (shlex) must give back
        # the reported value from the text the span covers...
        try:
            assert "".join(shlex.split(shown)) == flag.value
        except ValueError:
            # ...unless the span starts inside quotes, after ``"--runtime=``.
            assert lines[span.line - 1][span.column - 2] == "="


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(" \t\n\\'\"$`(){}<>|&;#=*~-ax"), max_size=300))
def test_never_raises_on_shell_punctuation(text: str) -> None:
    for flag in find_runtime_flags(text):
        assert isinstance(flag, RuntimeFlag)
