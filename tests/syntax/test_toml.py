"""The positioned TOML reader (shimpolicy.syntax.toml), held against tomllib (tomli on
Python 3.10)."""

from __future__ import annotations

import math
import random
import re
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shimpolicy.syntax import Mapping, Node, Scalar, Sequence, Span, SyntaxProblem
from shimpolicy.syntax.toml import parse_toml
from tests.conftest import CORPUS, TOMLLIB, needs_tomllib
from tests.conftest import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "syntax" / "toml"
VALID_FIXTURES = sorted((FIXTURES / "valid").glob("*.toml"))


def reference_loads(text: str) -> dict[str, Any]:
    assert TOMLLIB is not None
    result: dict[str, Any] = TOMLLIB.loads(text)
    return result


def plain(node: Node) -> object:
    """The tree as tomllib returns it (date/time values converted by tomllib itself)."""
    if isinstance(node, Mapping):
        return {key.value: plain(value) for key, value in node.items}
    if isinstance(node, Sequence):
        return [plain(item) for item in node.items]
    if node.kind in ("datetime", "date", "time"):
        assert isinstance(node.value, str)
        return reference_loads(f"v = {node.value}")["v"]
    return node.value


def normal(value: object, *, ordered: bool = True) -> object:
    """A comparable form: scalars tagged with their type (so True != 1, nan == nan, and
    -0.0 != 0.0) and, when ``ordered``, tables as lists of pairs so key order counts."""
    if isinstance(value, dict):
        pairs = [(key, normal(item, ordered=ordered)) for key, item in value.items()]
        return pairs if ordered else dict(pairs)
    if isinstance(value, list):
        return [normal(item, ordered=ordered) for item in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def problem(text: str, **kwargs: int) -> str:
    with pytest.raises(SyntaxProblem) as raised:
        parse_toml(text, **kwargs)
    return f"{raised.value.line}:{raised.value.column}: {raised.value.message}"


def span_text(lines: list[str], span: Span) -> str:
    first = lines[span.line - 1]
    if span.line == span.end_line:
        return first[span.column - 1 : span.end_column - 1]
    middle = lines[span.line : span.end_line - 1]
    return "\n".join(
        [first[span.column - 1 :], *middle, lines[span.end_line - 1][: span.end_column - 1]]
    )


def check_positions(text: str, root: Mapping) -> None:
    """Every key, value and inline container's span holds exactly its own source text."""
    lines = text.removeprefix("\ufeff").split("\n")
    assert root.span == Span(1, 1, len(lines), len(lines[-1]) + 1)
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            for key, value in node.items:
                assert reference_loads(span_text(lines, key.span) + " = 1") == {key.value: 1}
                stack.append(value)
            source = span_text(lines, node.span)
            if source.startswith("{"):
                assert normal(reference_loads(f"v = {source}")["v"]) == normal(plain(node))
            elif node is not root:
                # A table's span is its header, or the dotted key that created it.
                if source.startswith("["):
                    assert source.endswith("]")
                else:
                    reference_loads(source + " = 1")
        elif isinstance(node, Sequence):
            stack.extend(node.items)
            source = span_text(lines, node.span)
            first = node.items[0] if node.items else None
            if isinstance(first, Mapping) and span_text(lines, first.span).startswith("[["):
                assert node.span == first.span  # an array of tables: its first header
            else:
                assert normal(reference_loads(f"v = {source}")["v"]) == normal(plain(node))
        else:
            value = reference_loads(f"v = {span_text(lines, node.span)}")["v"]
            assert normal(value) == normal(plain(node))


# -- exact positions -----------------------------------------------------------------------


def test_containerd_runtime_table_positions() -> None:
    doc = parse_toml(
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '    runtime_type = "io.containerd.runc.v2"\n'
    )
    names = ["plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc"]
    spans = []
    node: Node = doc
    for name in names:
        assert isinstance(node, Mapping)
        key = node.key(name)
        assert key is not None
        spans.append((key.span.column, key.span.end_column))
        found = node.get(name)
        assert found is not None
        node = found
    assert spans == [(2, 9), (10, 37), (38, 48), (49, 57), (58, 62)]
    assert isinstance(node, Mapping)
    assert node.span == Span(1, 1, 1, 63)
    assert node.items == (
        (
            Scalar("runtime_type", 2, 5, 2, 17, "key"),
            Scalar("io.containerd.runc.v2", 2, 20, 2, 43, "string"),
        ),
    )


def test_dotted_key_parts_keep_their_own_spans_and_quotes() -> None:
    doc = parse_toml("a . \"b.c\" .\t'd' = 1")
    a = doc.items[0]
    assert a[0] == Scalar("a", 1, 1, 1, 2, "key")
    assert isinstance(a[1], Mapping)
    b = a[1].items[0]
    assert b[0] == Scalar("b.c", 1, 5, 1, 10, "key")
    assert isinstance(b[1], Mapping)
    assert b[1].items == ((Scalar("d", 1, 13, 1, 16, "key"), Scalar(1, 1, 19, 1, 20, "integer")),)
    # Tables made by a dotted key span that key.
    assert a[1].span == b[1].span == Span(1, 1, 1, 16)


def test_table_key_span_is_where_the_table_first_appeared() -> None:
    doc = parse_toml("[a.b]\nx = 1\n[a]\ny = 2\n")
    key, table = doc.items[0]
    assert key.span == Span(1, 2, 1, 3)  # in [a.b], which made 'a' implicitly
    assert isinstance(table, Mapping)
    assert table.span == Span(3, 1, 3, 4)  # the header that defined it
    sub_key, sub = table.items[0]
    assert sub_key.span == Span(1, 4, 1, 5)
    assert isinstance(sub, Mapping)
    assert sub.span == Span(1, 1, 1, 6)


def test_array_of_tables_spans() -> None:
    doc = parse_toml("[[tool.rules]]\nid = 'a'\n\n  [[ tool.rules ]]\nid = 'b'\n")
    tool = doc.get("tool")
    assert isinstance(tool, Mapping)
    assert tool.key("rules") == Scalar("rules", 1, 8, 1, 13, "key")
    rules = tool.get("rules")
    assert isinstance(rules, Sequence)
    assert rules.span == Span(1, 1, 1, 15)
    assert [item.span for item in rules.items] == [Span(1, 1, 1, 15), Span(4, 3, 4, 19)]
    second = rules.items[1]
    assert isinstance(second, Mapping)
    assert second.get("id") == Scalar("b", 5, 6, 5, 9, "string")


def test_inline_table_positions() -> None:
    doc = parse_toml('t = { a = 1, b.c = "x" }')
    table = doc.get("t")
    assert isinstance(table, Mapping)
    assert table.span == Span(1, 5, 1, 25)
    (a_key, a_value), (b_key, b_table) = table.items
    assert (a_key.span, a_value) == (Span(1, 7, 1, 8), Scalar(1, 1, 11, 1, 12, "integer"))
    assert b_key.span == Span(1, 14, 1, 15)
    assert isinstance(b_table, Mapping)
    assert b_table.items == (
        (Scalar("c", 1, 16, 1, 17, "key"), Scalar("x", 1, 20, 1, 23, "string")),
    )


def test_array_spanning_lines_with_comments_and_trailing_comma() -> None:
    doc = parse_toml('dirs = [\n  "/etc/cdi", # system\n  # nothing here\n  "/var/run/cdi",\n]\n')
    dirs = doc.get("dirs")
    assert dirs == Sequence(
        (
            Scalar("/etc/cdi", 2, 3, 2, 13, "string"),
            Scalar("/var/run/cdi", 4, 3, 4, 17, "string"),
        ),
        1,
        8,
        5,
        2,
    )


def test_multi_line_string_span_runs_from_opening_to_closing_quotes() -> None:
    doc = parse_toml("s = \"\"\"\nab\\\n   cd\"\"\"\nt = '''\nx\n'''\n")
    assert doc.get("s") == Scalar("abcd", 1, 5, 3, 9, "string")
    assert doc.get("t") == Scalar("x\n", 4, 5, 6, 4, "string")


def test_crlf_positions_equal_lf_positions() -> None:
    lf = '[a]\nb = """\nx\ny"""\nc = [1,\n 2]\n'
    crlf = lf.replace("\n", "\r\n")
    assert parse_toml(crlf) == parse_toml(lf)
    table = parse_toml(crlf).get("a")
    assert isinstance(table, Mapping)
    # As in tomllib, a CRLF inside a multi-line string reads as LF.
    assert table.get("b") == Scalar("x\ny", 2, 5, 4, 5, "string")
    assert (
        problem("a = 1\r\nb = 2 3\r\n") == "2:7: expected a newline after the statement, found '3'"
    )


def test_leading_bom_is_skipped_and_not_counted() -> None:
    assert parse_toml("\ufeffa = 1").items == (
        (Scalar("a", 1, 1, 1, 2, "key"), Scalar(1, 1, 5, 1, 6, "integer")),
    )


def test_tab_is_one_column() -> None:
    assert parse_toml("\ta\t=\t1").items == (
        (Scalar("a", 1, 2, 1, 3, "key"), Scalar(1, 1, 6, 1, 7, "integer")),
    )


def test_columns_count_code_points() -> None:
    assert parse_toml('"😀" = "é😀"').items == (
        (Scalar("😀", 1, 1, 1, 4, "key"), Scalar("é😀", 1, 7, 1, 11, "string")),
    )


def test_value_kinds_and_date_times_kept_as_source_text() -> None:
    doc = parse_toml(
        "s = 'x'\ni = 0x1F\nf = -inf\nb = true\nodt = 1979-05-27 07:32:00Z\n"
        "ldt = 1979-05-27T07:32:00.5\nd = 1979-05-27\nt = 07:32:00\n"
    )
    assert [(k.value, v.value, v.kind) for k, v in doc.items if isinstance(v, Scalar)] == [
        ("s", "x", "string"),
        ("i", 31, "integer"),
        ("f", -math.inf, "float"),
        ("b", True, "boolean"),
        ("odt", "1979-05-27 07:32:00Z", "datetime"),
        ("ldt", "1979-05-27T07:32:00.5", "datetime"),
        ("d", "1979-05-27", "date"),
        ("t", "07:32:00", "time"),
    ]


def test_string_escapes() -> None:
    doc = parse_toml('a = "\\b\\t\\n\\f\\r\\"\\\\\\u00e9\\U0001F600"\nb = """\\\n\n   x\\\n  """')
    assert doc.get("a") == Scalar('\b\t\n\f\r"\\é😀', 1, 5, 1, 37, "string")
    b = doc.get("b")
    assert isinstance(b, Scalar)
    assert b.value == "x"


# -- errors ----------------------------------------------------------------------------

INVALID = [
    # statements and keys
    ("a = 1 2", "1:7: expected a newline after the statement, found '2'"),
    ("a =", "1:4: expected a value, found end of document"),
    ("= 1", "1:1: expected a key or a table header, found '='"),
    ("a b = 1", "1:3: expected '=' after the key, found 'b'"),
    ("a. = 1", "1:4: expected a key after '.', found '='"),
    ('"""a""" = 1', "1:3: expected '=' after the key, found '\"'"),
    ('"a\nb" = 1', "1:1: unterminated string"),
    ("a = 1\rb = 2", "1:6: expected a newline after the statement, found control character U+000D"),
    ("a = 1\n\ufeff", "2:1: expected a key or a table header, found '\\ufeff'"),
    # headers
    ("[a", "1:3: expected ']' to close the table header, found end of document"),
    ("[[a] ]", "1:4: expected ']]' to close the table header, found ']'"),
    ("[a]]", "1:4: expected a newline after the statement, found ']'"),
    ("[]", "1:2: expected a table name, found ']'"),
    ("[a] b = 1", "1:5: expected a newline after the statement, found 'b'"),
    # strings
    ('a = "open', "1:5: unterminated string"),
    ("a = 'open", "1:5: unterminated string"),
    ('a = """open\n', "1:5: unterminated multi-line string"),
    ("a = '''open", "1:5: unterminated multi-line string"),
    ('a = "\\x"', "1:6: invalid escape sequence '\\x'"),
    ('a = "\\u12"', "1:6: '\\u' must be followed by 4 hex digits"),
    ('a = "\\U0000004"', "1:6: '\\U' must be followed by 8 hex digits"),
    ('a = "\\uD800"', "1:6: escape '\\uD800' is not a Unicode scalar value"),
    ('a = "\\U00110000"', "1:6: escape '\\U00110000' is not a Unicode scalar value"),
    ('a = "ab\\\nc"', "1:8: invalid escape sequence"),
    ('a = """x \\  y"""', "1:10: only whitespace may follow a line-ending backslash"),
    ('a = "\x01"', "1:6: control character U+0001 must be escaped in a string"),
    ('a = """x\x00"""', "1:9: control character U+0000 must be escaped in a string"),
    ("a = 'x\x7f'", "1:7: control character U+007F is not allowed in a literal string"),
    ("a = '''x\x0b'''", "1:9: control character U+000B is not allowed in a literal string"),
    ("'a\x01' = 1", "1:3: control character U+0001 is not allowed in a literal string"),
    # comments
    ("# \x01", "1:3: control character U+0001 is not allowed in a comment"),
    ("a = 1 # \x00", "1:9: control character U+0000 is not allowed in a comment"),
    ("a = [1, # \x7f\n]", "1:11: control character U+007F is not allowed in a comment"),
    # numbers, booleans and dates
    ("a = 01", "1:6: expected a newline after the statement, found '1'"),
    ("a = 1__0", "1:6: expected a newline after the statement, found '_'"),
    ("a = 1_", "1:6: expected a newline after the statement, found '_'"),
    ("a = _1", "1:5: expected a value, found '_'"),
    ("a = 0xG", "1:6: expected a newline after the statement, found 'x'"),
    ("a = +0x1", "1:7: expected a newline after the statement, found 'x'"),
    ("a = 1.", "1:6: expected a newline after the statement, found '.'"),
    ("a = .5", "1:5: expected a value, found '.'"),
    ("a = 1e", "1:6: expected a newline after the statement, found 'e'"),
    ("a = infinity", "1:8: expected a newline after the statement, found 'i'"),
    ("a = tru", "1:5: expected a value, found 't'"),
    ("a = true_", "1:9: expected a newline after the statement, found '_'"),
    ("a = 2023-02-29", "1:5: invalid date '2023-02-29'"),
    ("a = 1979-05-27T25:00:00", "1:15: expected a newline after the statement, found 'T'"),
    ("a = 07:32", "1:6: expected a newline after the statement, found '7'"),
    ("a = 1979-05-27T07:32:00+24:00", "1:24: expected a newline after the statement, found '+'"),
    # arrays and inline tables
    ("a = [1 2]", "1:8: expected ',' or ']' in the array, found '2'"),
    ("a = [1,,2]", "1:8: expected a value, found ','"),
    ("a = [1", "1:7: expected ',' or ']' in the array, found end of document"),
    ("a = [1] [2]", "1:9: expected a newline after the statement, found '['"),
    ("a = {b = 1,}", "1:12: expected a key, found '}'"),
    ("a = {,}", "1:6: expected a key or '}', found ','"),
    ("a = {b = 1\n}", "1:11: expected ',' or '}' in the inline table, found end of line"),
    # redefinitions
    ("a = 1\na = 2", "2:1: duplicate key 'a' (first defined at line 1)"),
    ("[a.b]\n[a]\nb = 1", "3:1: duplicate key 'a.b' (first defined at line 1)"),
    ("[x]\n\"io.x\" = 1\n'io.x' = 2", "3:1: duplicate key 'x.\"io.x\"' (first defined at line 2)"),
    ("a = {b = 1, b = 2}", "1:13: duplicate key 'b' (first defined at line 1)"),
    ("a = {b.c = 1, b = 2}", "1:15: duplicate key 'b' (first defined at line 1)"),
    ("a = {b = [1], b = 2}", "1:15: duplicate key 'b' (first defined at line 1)"),
    ("a = 1\na.b = 2", "2:1: 'a' is already defined as an integer at line 1"),
    ("a = {b = 1, b.c = 2}", "1:13: 'b' is already defined as an integer at line 1"),
    ("a = 1\n[a.b]", "2:2: 'a' is already defined as an integer at line 1"),
    ("a = 1\n[[a]]", "2:3: 'a' is already defined as an integer at line 1"),
    ("[a]\nb = 1\n[a.b]", "3:4: 'a.b' is already defined as an integer at line 2"),
    ("[a]\n[a]", "2:2: table 'a' is already defined at line 1"),
    ("[x]\n[x.y]\n[x]", "3:2: table 'x' is already defined at line 1"),
    ("[a]\n[a.b]\n[a.b]", "3:4: table 'a.b' is already defined at line 2"),
    ("a.b = 1\n[a]", "2:2: table 'a' is already defined with dotted keys at line 1"),
    ("[a]\nb.c = 1\n[a.b]", "3:4: table 'a.b' is already defined with dotted keys at line 2"),
    (
        "[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]",
        "3:14: table 'fruit.apple.taste' is already defined with dotted keys at line 2",
    ),
    ("[[a]]\nb.c = 1\n[a.b]", "3:4: table 'a.b' is already defined with dotted keys at line 2"),
    (
        "[a.b]\nc = 1\n[a]\nb.d = 2",
        "4:1: cannot extend table 'a.b' with dotted keys: it is defined at line 1",
    ),
    ("a = {b = 1}\na.c = 2", "2:1: cannot extend inline table 'a' (defined at line 1)"),
    ("a = {b = 1}\n[a.c]", "2:2: cannot extend inline table 'a' (defined at line 1)"),
    ("a = {b = {c = 1}, b.d = 2}", "1:19: cannot extend inline table 'b' (defined at line 1)"),
    ("a = {}\n[a]", "2:2: 'a' is already defined as an inline table at line 1"),
    ("a = [1]\n[[a]]", "2:3: cannot append to static array 'a' (defined at line 1)"),
    ("a = [{b = 1}]\n[[a]]", "2:3: cannot append to static array 'a' (defined at line 1)"),
    ("a = []\n[a.b]", "2:2: cannot extend static array 'a' (defined at line 1)"),
    ("[a]\n[[a]]", "2:3: 'a' is already defined as a table at line 1"),
    ("[[a]]\n[a]", "2:2: 'a' is already defined as an array of tables at line 1"),
    ("[[a]]\n[[a.b]]\n[a.b]", "3:4: 'a.b' is already defined as an array of tables at line 2"),
    (
        "[[a.b]]\n[a]\nb.c = 1",
        "3:1: cannot extend array of tables 'a.b' with dotted keys (defined at line 1)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), INVALID)
def test_invalid_document_error_and_position(text: str, expected: str) -> None:
    assert problem(text) == expected


@needs_tomllib
@pytest.mark.parametrize("text", [text for text, _ in INVALID])
def test_tomllib_rejects_every_invalid_document(text: str) -> None:
    assert TOMLLIB is not None
    with pytest.raises(TOMLLIB.TOMLDecodeError):
        TOMLLIB.loads(text)


ACCEPTED_EDGE_CASES = [
    "[a.b.c]\n[a]\nb.d = 1",  # dotted keys may extend a table only a header implied
    "a.b = 1\n[a.c]",  # a header may add a sub-table to a dotted-key table
    "[[a]]\nb.c = 1\n[[a]]\n[a.b]",  # each array element starts afresh
    "[a]\nb.c = 1\nb.d = 2",  # dotted keys may extend their own section's tables
    "[x.y.z.w]\n[x]",  # a super-table may follow its sub-tables
    "a = [\n]\nb = [[], [[]], {}]",
    "a = 1979-05-27 \nb = 07:32:00 # a date, then a time",
]


@needs_tomllib
@pytest.mark.parametrize("text", ACCEPTED_EDGE_CASES)
def test_edge_cases_tomllib_accepts_are_accepted(text: str) -> None:
    assert normal(plain(parse_toml(text))) == normal(reference_loads(text))


@pytest.mark.skipif(
    not hasattr(sys, "get_int_max_str_digits"), reason="this Python converts any integer"
)
def test_integer_longer_than_python_converts_is_a_problem() -> None:
    digits = sys.get_int_max_str_digits()
    if digits == 0:
        pytest.skip("the integer conversion limit is off (PYTHONINTMAXSTRDIGITS=0)")
    number = "9" * (digits + 1)
    assert problem(f"a = {number}") == f"1:5: integer of {digits + 1} characters is too large"


def test_nesting_deeper_than_max_depth_is_an_error() -> None:
    assert (
        problem("a = " + "[" * 300 + "]" * 300) == "1:261: nesting exceeds the depth limit of 256"
    )
    assert problem("a = [[1]]", max_depth=1) == "1:6: nesting exceeds the depth limit of 1"
    assert problem("a = {b = {c = 1}}", max_depth=1) == "1:10: nesting exceeds the depth limit of 1"
    assert problem("a = {b.c = 1}", max_depth=1) == "1:6: nesting exceeds the depth limit of 1"
    assert problem("a.b.c = 1", max_depth=1) == "1:3: nesting exceeds the depth limit of 1"
    assert problem("[a.b]", max_depth=1) == "1:4: nesting exceeds the depth limit of 1"
    # An array of tables nests its tables one level below itself.
    assert problem("[[a]]", max_depth=1) == "1:3: nesting exceeds the depth limit of 1"
    assert parse_toml("a = [1]\n[b]\nc.d = {}", max_depth=3).get("a") is not None


def test_deep_nesting_never_exhausts_the_stack() -> None:
    depth = 5_000  # far past Python's recursion limit
    doc = parse_toml("a = " + "[" * depth + "]" * depth, max_depth=depth)
    assert isinstance(doc.get("a"), Sequence)
    doc = parse_toml("[" + ".".join(["t"] * depth) + "]", max_depth=depth)
    assert isinstance(doc.get("t"), Mapping)
    doc = parse_toml("a = " + "{a = " * depth + "1" + "}" * depth, max_depth=depth)
    assert isinstance(doc.get("a"), Mapping)


# -- agreement with tomllib ----------------------------------------------------------------


@needs_tomllib
@pytest.mark.parametrize("path", VALID_FIXTURES, ids=lambda p: p.name)
def test_valid_fixture_agrees_with_tomllib(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    doc = parse_toml(text)
    assert normal(plain(doc)) == normal(reference_loads(text))
    check_positions(text, doc)


def test_bom_changes_no_value_and_no_position() -> None:
    text = (FIXTURES / "valid" / "containerd-v2.toml").read_text(encoding="utf-8")
    assert parse_toml("\ufeff" + text) == parse_toml(text)


REALWORLD = CORPUS / "containerd"


@pytest.mark.skipif(not REALWORLD.is_dir(), reason=f"no real-world corpus at {REALWORLD}")
@pytest.mark.parametrize(
    "path", sorted(REALWORLD.glob("*/config.toml")), ids=lambda p: p.parent.name
)
def test_realworld_containerd_config_parses_like_tomllib(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    doc = parse_toml(text)
    assert isinstance(doc.get("version") or doc.get("plugins"), (Scalar, Mapping))
    if TOMLLIB is not None:
        assert normal(plain(doc)) == normal(reference_loads(text))
        check_positions(text, doc)


# -- generated documents -------------------------------------------------------------------

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_keys = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,6}", fullmatch=True), st.text(max_size=5))
_scalars = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.times(),
    st.datetimes(),
    st.datetimes(timezones=_offsets),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=12,
)
_documents = st.dictionaries(_keys, _values, max_size=5)


def _is_table_array(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


class _Renderer:
    """Writes a key/value tree as TOML, choosing styles at random: dotted keys, headers,
    implicit super-tables, inline tables, arrays of tables, every string form."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd

    def document(self, tree: dict[str, object]) -> str:
        lines: list[str] = []
        self.section((), tree, lines, only_tables=False)
        newline = self.rnd.choice(["\n", "\r\n"])
        return newline.join(lines) + self.rnd.choice(["", newline])

    def section(
        self,
        path: tuple[str, ...],
        table: dict[str, object],
        lines: list[str],
        *,
        only_tables: bool,
    ) -> None:
        later: list[tuple[str, tuple[str, ...], Any]] = []
        self.statements(path, (), table, lines, later, only_tables=only_tables)
        for style, sub_path, value in later:
            if style == "array":
                for element in value:
                    lines.append(self.trail(f"[[{self.key(sub_path)}]]"))
                    self.section(sub_path, element, lines, only_tables=False)
            else:
                if style == "header":
                    lines.append(self.trail(f"[{self.key(sub_path)}]"))
                self.section(sub_path, value, lines, only_tables=style == "implicit")

    def statements(
        self,
        path: tuple[str, ...],
        prefix: tuple[str, ...],
        table: dict[str, object],
        lines: list[str],
        later: list[tuple[str, tuple[str, ...], Any]],
        *,
        only_tables: bool,
    ) -> None:
        for name, value in table.items():
            keys = (*prefix, name)
            if isinstance(value, dict):
                styles = ["header"] if only_tables else ["header", "inline"]
                if value and not only_tables:
                    styles.append("dotted")
                if value and all(isinstance(v, dict) or _is_table_array(v) for v in value.values()):
                    styles.append("implicit")
                style = self.rnd.choice(styles)
                if style == "dotted":
                    self.statements(path, keys, value, lines, later, only_tables=False)
                elif style == "inline":
                    lines.append(self.keyval(keys, value))
                else:
                    later.append((style, (*path, *keys), value))
            elif _is_table_array(value) and (only_tables or self.rnd.random() < 0.5):
                later.append(("array", (*path, *keys), value))
            else:
                assert not only_tables
                lines.append(self.keyval(keys, value))
            if self.rnd.random() < 0.1:
                lines.append(self.rnd.choice(["", "# a comment line", "   \t"]))

    def trail(self, line: str) -> str:
        return line + self.rnd.choice(["", "", " # note: é \t ok", "\t"])

    def keyval(self, keys: tuple[str, ...], value: object) -> str:
        indent = self.rnd.choice(["", "", "  ", "\t"])
        equals = self.rnd.choice(["=", " = ", "\t=  "])
        return self.trail(f"{indent}{self.key(keys)}{equals}{self.value(value)}")

    def key(self, keys: tuple[str, ...]) -> str:
        dot = self.rnd.choice([".", ".", " . ", "\t."])
        return dot.join(self.key_part(name) for name in keys)

    def key_part(self, name: str) -> str:
        if _BARE.fullmatch(name) and self.rnd.random() < 0.8:
            return name
        if "'" not in name and not _CONTROL.search(name) and self.rnd.random() < 0.5:
            return f"'{name}'"
        return self.basic(name)

    def value(self, value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return self.integer(value)
        if isinstance(value, float):
            text = repr(value)
            return self.rnd.choice(["+", ""]) + text if text in ("inf", "nan") else text
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, datetime):
            text = value.isoformat(sep=self.rnd.choice("T t"))
            return text.replace("+00:00", self.rnd.choice(["Z", "z", "+00:00"]))
        if isinstance(value, (date, time)):
            return value.isoformat()
        if isinstance(value, list):
            return self.array(value)
        assert isinstance(value, dict)
        return self.inline(value)

    def integer(self, value: int) -> str:
        forms = ["{}", "+{}" if value >= 0 else "{}"]
        if value >= 0:
            forms += ["0x{:x}", "0x{:X}", "0o{:o}", "0b{:b}"]
        text = self.rnd.choice(forms).format(value)
        match = re.fullmatch(r"([+-]?(?:0[xob])?)(.)(.*)", text)
        assert match is not None
        head, first, rest = match.groups()
        return head + first + "".join(("_" if self.rnd.random() < 0.2 else "") + d for d in rest)

    def string(self, value: str) -> str:
        forms: list[Callable[[str], str]] = [self.basic, self.multiline_basic]
        if "'" not in value and not _CONTROL.search(value):
            forms.append(lambda s: f"'{s}'")
        if "'''" not in value and not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value):
            forms.append(lambda s: "'''\n" + s + "'''")
        return self.rnd.choice(forms)(value)

    def escape(self, char: str, *, multiline: bool) -> str:
        short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\f": "\\f", "\r": "\\r"}
        if char == "\n" and not multiline:
            return "\\n"
        if char in short and (char != "\t" or self.rnd.random() < 0.5):
            return short[char]
        if _CONTROL.match(char) and char != "\n":
            return f"\\u{ord(char):04x}"
        if self.rnd.random() < 0.1:
            return f"\\u{ord(char):04X}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}"
        return char

    def basic(self, value: str) -> str:
        return '"' + "".join(self.escape(c, multiline=False) for c in value) + '"'

    def multiline_basic(self, value: str) -> str:
        out = ['"""\n' if value.startswith("\n") or self.rnd.random() < 0.5 else '"""']
        for char in value:
            # A line-ending backslash also eats the whitespace after it, so break only
            # before a character that is not whitespace.
            if char not in " \t\n" and self.rnd.random() < 0.1:
                out.append("\\\n" + self.rnd.choice(["", "  ", "\n\t"]))
            out.append(self.escape(char, multiline=True))
        if self.rnd.random() < 0.2:
            out.append("\\\n  ")
        return "".join(out) + '"""'

    def array(self, items: list[object]) -> str:
        if not items:
            return self.rnd.choice(["[]", "[ ]", "[\n]", "[ # empty\n]"])
        seps = [",", ", ", ",\n  ", ", # comment\n  ", " ,\n\n"]
        text = "[" + self.rnd.choice(["", " ", "\n  "]) + self.value(items[0])
        for item in items[1:]:
            text += self.rnd.choice(seps) + self.value(item)
        return text + self.rnd.choice(["]", ",]", " ]", ",\n]", "\n# end\n]"])

    def inline(self, table: dict[str, object]) -> str:
        items: list[str] = []
        self.inline_items((), table, items)
        if not items:
            return self.rnd.choice(["{}", "{ }"])
        return (
            "{" + self.rnd.choice(["", " "]) + ", ".join(items) + self.rnd.choice(["", " "]) + "}"
        )

    def inline_items(
        self, prefix: tuple[str, ...], table: dict[str, object], items: list[str]
    ) -> None:
        for name, value in table.items():
            keys = (*prefix, name)
            if isinstance(value, dict) and value and self.rnd.random() < 0.4:
                self.inline_items(keys, value, items)
            else:
                items.append(f"{self.key(keys)} = {self.value(value)}")


@needs_tomllib
@settings(max_examples=150, deadline=None)
@given(tree=_documents, rnd=st.randoms(use_true_random=False))
def test_generated_documents_agree_with_tomllib(
    tree: dict[str, object], rnd: random.Random
) -> None:
    text = _Renderer(rnd).document(tree)
    expected = reference_loads(text)
    assert normal(expected, ordered=False) == normal(tree, ordered=False)  # the renderer is right
    doc = parse_toml(text)
    assert normal(plain(doc)) == normal(expected)
    check_positions(text, doc)


@needs_tomllib
@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab=.[]{}\"'#,\n\r\t 1\\-:+_", max_size=30))
def test_arbitrary_text_is_accepted_exactly_when_tomllib_accepts_it(text: str) -> None:
    assert TOMLLIB is not None
    try:
        expected: object = normal(reference_loads(text))
    except TOMLLIB.TOMLDecodeError:
        expected = SyntaxProblem
    try:
        got: object = normal(plain(parse_toml(text)))
    except SyntaxProblem:
        got = SyntaxProblem
    assert got == expected


_TABLE_STATEMENTS = st.builds(
    lambda form, path, value: form.format(path=path, value=value),
    st.sampled_from(["[{path}]", "[[{path}]]", "{path} = {value}"]),
    st.sampled_from(["a", "b", "a.b", "a.c", "b.a", "a.b.c", "a . b.'b'", '"a".c']),
    st.sampled_from(["1", "{}", "{a = 1}", "{b.c = 1}", "[]", "[{}]", "[1]", "{c = {}}"]),
)


@needs_tomllib
@settings(max_examples=300, deadline=None)
@given(statements=st.lists(_TABLE_STATEMENTS, min_size=1, max_size=7))
def test_table_definitions_are_accepted_exactly_when_tomllib_accepts_them(
    statements: list[str],
) -> None:
    """Headers, arrays of tables, dotted keys and inline values over a few shared paths:
    every redefinition rule of TOML, held against tomllib."""
    assert TOMLLIB is not None
    text = "\n".join(statements)
    try:
        expected = reference_loads(text)
    except TOMLLIB.TOMLDecodeError:
        with pytest.raises(SyntaxProblem):
            parse_toml(text)
    else:
        doc = parse_toml(text)
        assert normal(plain(doc)) == normal(expected)
        check_positions(text, doc)


def test_garbage_raises_only_syntax_problem_with_a_position() -> None:
    rnd = random.Random(1)
    pieces = [
        "a",
        "=",
        "[",
        "]",
        "{",
        "}",
        '"',
        "'",
        "\\",
        "\n",
        ".",
        ",",
        "1",
        "#",
        " ",
        "\r",
        "\x00",
    ]
    for _ in range(2000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randrange(1, 25)))
        try:
            parse_toml(text)
        except SyntaxProblem as error:
            assert error.line >= 1 and error.column >= 1
