"""The positioned JSON reader behind daemon.json checks (SPEC D3)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shimpolicy.syntax import Mapping, Node, Scalar, ScalarValue, Sequence, Span, SyntaxProblem
from shimpolicy.syntax.json import parse_json
from tests.conftest import to_python


def source(text: str, span: Span) -> str:
    """The text a span covers; ``text`` breaks lines with LF only."""
    starts = [0]
    starts.extend(i + 1 for i, char in enumerate(text) if char == "\n")
    return text[
        starts[span.line - 1] + span.column - 1 : starts[span.end_line - 1] + span.end_column - 1
    ]


def walk(node: Node) -> list[Node]:
    """Every node under node (keys included), node first."""
    found: list[Node] = [node]
    if isinstance(node, Mapping):
        for key, value in node.items:
            found.append(key)
            found.extend(walk(value))
    elif isinstance(node, Sequence):
        for item in node.items:
            found.extend(walk(item))
    return found


DAEMON_JSON = """{
  "default-runtime": "runc",
  "runtimes": {
    "kata": {
      "runtimeType": "io.containerd.kata.v2",
      "options": {"ConfigPath": "/opt/kata/configuration.toml"}
    }
  }
}
"""


def test_daemon_json_positions_of_keys_and_values() -> None:
    root = parse_json(DAEMON_JSON)
    assert isinstance(root, Mapping)
    assert root.span == Span(1, 1, 9, 2)
    default = root.key("default-runtime")
    assert default == Scalar("default-runtime", 2, 3, 2, 20, "string")
    assert root.get("default-runtime") == Scalar("runc", 2, 22, 2, 28, "string")
    runtimes = root.get("runtimes")
    assert isinstance(runtimes, Mapping)
    assert runtimes.span == Span(3, 15, 8, 4)
    kata = runtimes.get("kata")
    assert isinstance(kata, Mapping)
    assert kata.get("runtimeType") == Scalar("io.containerd.kata.v2", 5, 22, 5, 45, "string")
    options = kata.get("options")
    assert isinstance(options, Mapping)
    assert options.span == Span(6, 18, 6, 64)
    assert options.key("ConfigPath") == Scalar("ConfigPath", 6, 19, 6, 31, "string")


def test_tab_indentation_counts_one_column() -> None:
    root = parse_json('{\n\t\t"runtimes": {\n\t\t\t"kata": {}\n\t}\n}')
    assert isinstance(root, Mapping)
    runtimes = root.get("runtimes")
    assert isinstance(runtimes, Mapping)
    assert root.key("runtimes") == Scalar("runtimes", 2, 3, 2, 13, "string")
    assert runtimes.key("kata") == Scalar("kata", 3, 4, 3, 10, "string")
    kata = runtimes.get("kata")
    assert isinstance(kata, Mapping)
    assert kata == Mapping((), 3, 12, 3, 14)


def test_leading_bom_is_skipped_and_not_counted() -> None:
    root = parse_json('\ufeff{"a": "b"}')
    assert root == Mapping(
        ((Scalar("a", 1, 2, 1, 5, "string"), Scalar("b", 1, 7, 1, 10, "string")),),
        1,
        1,
        1,
        11,
    )


def test_bom_after_the_start_is_an_error() -> None:
    with pytest.raises(SyntaxProblem) as raised:
        parse_json(' \ufeff{"a": 1}')
    assert (raised.value.message, raised.value.line, raised.value.column) == (
        "expected a value, found U+FEFF",
        1,
        2,
    )


def test_crlf_line_endings_count_one_line_each() -> None:
    root = parse_json('{\r\n  "a": 1,\r\n\r\n  "b": [\r\n    true\r\n  ]\r\n}\r\n')
    assert isinstance(root, Mapping)
    assert root.key("b") == Scalar("b", 4, 3, 4, 6, "string")
    assert root.get("b") == Sequence((Scalar(True, 5, 5, 5, 9, "true"),), 4, 8, 6, 4)
    assert root.span == Span(1, 1, 7, 2)


def test_lone_carriage_return_ends_a_line() -> None:
    assert parse_json("[\r 1]") == Sequence((Scalar(1, 2, 2, 2, 3, "number"),), 1, 1, 2, 4)


def test_columns_count_code_points_not_bytes_or_utf16_units() -> None:
    # "é" is two UTF-8 bytes and "😀" two UTF-16 units: each is one column.
    root = parse_json('{"é😀": "😀", "k": "v"}')
    assert isinstance(root, Mapping)
    assert root.key("é😀") == Scalar("é😀", 1, 2, 1, 6, "string")
    assert root.get("é😀") == Scalar("😀", 1, 8, 1, 11, "string")
    assert root.key("k") == Scalar("k", 1, 13, 1, 16, "string")


def test_escapes_are_decoded_and_spans_cover_the_source_text() -> None:
    root = parse_json(r'["a\"b\\c\/d\b\f\n\r\t", "\u00e9\uD83D\uDE00", "x"]')
    assert root == Sequence(
        (
            Scalar('a"b\\c/d\b\f\n\r\t', 1, 2, 1, 24, "string"),
            Scalar("é😀", 1, 26, 1, 46, "string"),
            Scalar("x", 1, 48, 1, 51, "string"),
        ),
        1,
        1,
        1,
        52,
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'"\ud800"', "\ufffd"),  # high surrogate alone
        (r'"\udc00x"', "\ufffdx"),  # low surrogate alone
        (r'"\ud800\u0041"', "\ufffdA"),  # high surrogate, then not a low one
        (r'"\ud800\ud800\udc00"', "\ufffd\U00010000"),  # a stray high, then a pair
        (r'"\uDBFF\uDFFF"', "\U0010ffff"),
    ],
)
def test_unpaired_surrogate_escapes_decode_to_replacement_character_as_in_go(
    text: str, value: str
) -> None:
    node = parse_json(text)
    assert isinstance(node, Scalar)
    assert node.value == value


def test_duplicate_keys_are_kept_in_order_and_last_wins() -> None:
    root = parse_json('{"runtimes": {"a": 1}, "x": 0, "runtimes": {"b": 2}}')
    assert isinstance(root, Mapping)
    assert [(key.value, key.span.column) for key, _ in root.items] == [
        ("runtimes", 2),
        ("x", 24),
        ("runtimes", 32),
    ]
    assert to_python(root.get("runtimes") or Mapping((), *root.span)) == {"b": 2}
    assert root.key("runtimes") == Scalar("runtimes", 1, 32, 1, 42, "string")
    assert [key.span.column for key in root.duplicates()] == [2]


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("0", 0, "number"),
        ("-0", 0, "number"),
        ("-12", -12, "number"),
        ("1.5", 1.5, "number"),
        ("-0.0", -0.0, "number"),
        ("1e3", 1000.0, "number"),
        ("2E-2", 0.02, "number"),
        ("1.5e+2", 150.0, "number"),
        ("12345678901234567890123", 12345678901234567890123, "number"),
        ("1" + "0" * 308, 10**308, "number"),
        ("true", True, "true"),
        ("false", False, "false"),
        ("null", None, "null"),
        ('""', "", "string"),
    ],
)
def test_scalar_values_and_kinds(text: str, value: ScalarValue, kind: str) -> None:
    node = parse_json(f" {text} ")
    assert node == Scalar(value, 1, 2, 1, 2 + len(text), kind)
    assert type(node.value) is type(value)


def test_trailing_whitespace_is_accepted() -> None:
    node = parse_json("[] \t\r\n\n ")
    assert isinstance(node, Sequence)
    assert node == Sequence((), 1, 1, 1, 3)


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("", "expected a value", 1, 1),
        ("  \n ", "expected a value", 2, 2),
        ("{", "expected string key or '}'", 1, 2),
        ('{"a": 1,}', "trailing comma before '}'", 1, 8),
        ("[1,\n]", "trailing comma before ']'", 1, 3),
        ('{"a" 1}', "expected ':' after object key", 1, 6),
        ('{"a": 1 "b": 2}', "expected ',' or '}' after object member", 1, 9),
        ('{"a": 1', "expected ',' or '}' after object member", 1, 8),
        ('{"a": 1, 2}', "expected string key", 1, 10),
        ("{'a': 1}", "expected string key or '}'", 1, 2),
        ("[1 2]", "expected ',' or ']' after array element", 1, 4),
        ("[1, ]", "trailing comma before ']'", 1, 3),
        ("[,1]", "expected a value, found ','", 1, 2),
        ('{"a": }', "expected a value, found '}'", 1, 7),
        ("['a']", 'expected a value, found "\'"', 1, 2),
        ('"abc', "unterminated string", 1, 1),
        ('["a\\', "unterminated string", 1, 2),
        ('{"a": "x\ny"}', "control character U+000A in string", 1, 9),
        ('"\t"', "control character U+0009 in string", 1, 2),
        ('"\\\n"', "control character U+000A in string", 1, 3),
        ('"\\x"', "invalid escape '\\x'", 1, 2),
        ('"\\U0041"', "invalid escape '\\U'", 1, 2),
        ('"\\u12G4"', "invalid escape '\\u12G4'", 1, 2),
        ('"\\u12"', "invalid escape '\\u12'", 1, 2),
        ("01", "invalid number '01'", 1, 1),
        ("-", "invalid number '-'", 1, 1),
        ("[-a]", "invalid number '-a'", 1, 2),
        ("1.", "invalid number '1.'", 1, 1),
        (".5", "expected a value, found '.'", 1, 1),
        ("1e", "invalid number '1e'", 1, 1),
        ("+1", "expected a value, found '+'", 1, 1),
        ("1.2.3", "invalid number '1.2.3'", 1, 1),
        ("1e400", "number 1e400 is out of range", 1, 1),
        ("-" + "9" * 400, f"number -{'9' * 28}... is out of range", 1, 1),
        ("2" + "0" * 308, f"number 2{'0' * 28}... is out of range", 1, 1),  # beyond float64
        ("True", "invalid literal 'True'", 1, 1),
        ("nul", "invalid literal 'nul'", 1, 1),
        ("truex", "invalid literal 'truex'", 1, 1),
        ("NaN", "invalid literal 'NaN'", 1, 1),
        ("[Infinity]", "invalid literal 'Infinity'", 1, 2),
        ('{"a": 1} x', "unexpected 'x' after the top-level value", 1, 10),
        ("1 2", "unexpected '2' after the top-level value", 1, 3),
        ("{}\n\x00", "unexpected U+0000 after the top-level value", 2, 1),
        ("/* c */ {}", "expected a value, found '/'", 1, 1),
        ('{"é": ["😀", x]}', "invalid literal 'x'", 1, 13),
    ],
)
def test_error_message_and_position(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(SyntaxProblem) as raised:
        parse_json(text)
    assert (raised.value.message, raised.value.line, raised.value.column) == (
        message,
        line,
        column,
    )


def test_nesting_up_to_max_depth_is_accepted() -> None:
    node = parse_json("[" * 256 + "]" * 256)
    for _ in range(255):
        assert isinstance(node, Sequence)
        node = node.items[0]
    assert isinstance(node, Sequence)
    assert node == Sequence((), 1, 256, 1, 258)


def test_nesting_deeper_than_max_depth_is_an_error_at_the_bracket() -> None:
    with pytest.raises(SyntaxProblem) as raised:
        parse_json('{"a": ' + "[" * 3 + "{}" + "]" * 3 + "}", max_depth=3)
    assert (raised.value.message, raised.value.line, raised.value.column) == (
        "nesting deeper than 3 levels",
        1,
        9,
    )


def test_hundred_thousand_brackets_are_a_syntax_problem_not_a_crash() -> None:
    with pytest.raises(SyntaxProblem) as raised:
        parse_json("[" * 100_000)
    assert (raised.value.message, raised.value.line, raised.value.column) == (
        "nesting deeper than 256 levels",
        1,
        257,
    )


def test_a_very_deep_document_within_max_depth_needs_no_recursion() -> None:
    depth = 50_000
    node = parse_json('{"a":' * depth + "1" + "}" * depth, max_depth=depth)
    assert isinstance(node, Mapping)
    assert node.span == Span(1, 1, 1, 6 * depth + 2)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    # Past the float64 range (about 1e308) a number is refused, unlike by json.loads.
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
LAYOUTS = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 0, 2, "\t"]),
        "ensure_ascii": st.booleans(),
        "crlf": st.booleans(),
    }
)


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES, layout=LAYOUTS)
def test_reads_what_json_dumps_writes_like_json_loads(value: Any, layout: dict[str, Any]) -> None:
    text = json.dumps(value, indent=layout["indent"], ensure_ascii=layout["ensure_ascii"])
    if layout["crlf"]:
        # json.dumps escapes newlines inside strings, so every raw one is layout.
        text = text.replace("\n", "\r\n")
    assert to_python(parse_json(text)) == json.loads(text)


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES, indent=st.sampled_from([None, 1, "\t"]))
def test_every_span_covers_text_that_reads_back_as_its_node(value: Any, indent: Any) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    for node in walk(parse_json(text)):
        assert to_python(parse_json(source(text, node.span))) == to_python(node)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError("out of range")
    return value


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


# JSON's own characters plus a few that must be refused; no "d" or "D", so no \u escape
# names a surrogate (json.loads keeps those, Go and parse_json give U+FFFD).
JSON_ALPHABET = st.sampled_from(list('{}[],:" \t\n\r\\/-+.0123456789eEtrufalsnbxNI\x00é😀\u2028'))


@settings(max_examples=500, deadline=None)
@given(text=st.text(JSON_ALPHABET, max_size=40))
def test_accepts_exactly_what_json_loads_accepts(text: str) -> None:
    try:
        expected = json.loads(text, parse_float=_finite, parse_constant=_no_constants)
    except ValueError:
        with pytest.raises(SyntaxProblem):
            parse_json(text)
    else:
        assert to_python(parse_json(text)) == expected
