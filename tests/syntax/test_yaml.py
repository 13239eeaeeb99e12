"""The positioned YAML reader behind Compose, Kubernetes and policy files (SPEC D4, K1-K4)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import shimpolicy.syntax.yaml as syntax_yaml
from shimpolicy.syntax import Mapping, Node, Scalar, ScalarValue, Sequence, SyntaxProblem
from shimpolicy.syntax.yaml import parse_yaml
from tests.conftest import FIXTURES as ALL_FIXTURES
from tests.conftest import to_python

FIXTURES = ALL_FIXTURES / "syntax" / "yaml"
STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
NULL = "tag:yaml.org,2002:null"

LOADERS = [yaml.SafeLoader, *([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])]


@pytest.fixture(params=LOADERS, ids=lambda loader: loader.__name__)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """Run a test with libyaml's parser and with PyYAML's own: both must agree."""
    monkeypatch.setattr(syntax_yaml, "_LOADER", request.param)
    chosen: type[Any] = request.param
    return chosen


def only(text: str, **limits: int) -> Node:
    """The single document of text."""
    documents = parse_yaml(text, **limits)
    assert len(documents) == 1
    return documents[0]


def mapping(node: Node | None) -> Mapping:
    assert isinstance(node, Mapping)
    return node


def problem(text: str, **limits: int) -> tuple[str, int, int]:
    with pytest.raises(SyntaxProblem) as raised:
        parse_yaml(text, **limits)
    return raised.value.message, raised.value.line, raised.value.column


def scalar(value: ScalarValue, line: int, column: int, end: int, kind: str = STR) -> Scalar:
    """A scalar written on one line."""
    return Scalar(value, line, column, line, end, kind)


@pytest.mark.usefixtures("loader")
def test_compose_merge_keys_expand_with_positions_inside_the_anchor() -> None:
    root = mapping(only((FIXTURES / "compose-anchors.yaml").read_text()))
    services = mapping(root.get("services"))
    web = mapping(services.get("web"))
    assert [key.value for key, _ in web.items] == ["runtime", "restart", "logging", "image"]
    assert web.key("runtime") == scalar("runtime", 3, 3, 10)
    assert web.get("runtime") == scalar("io.containerd.kata.v2", 3, 12, 33)
    assert web.key("logging") == scalar("logging", 7, 3, 10)
    assert web.get("image") == scalar("nginx:1.25", 13, 12, 22)
    db = mapping(services.get("db"))
    assert to_python(db) == {"restart": "unless-stopped", "runtime": "runc", "image": "postgres:16"}
    # The explicit key wins and the merged one it overrides is gone, not a duplicate.
    assert db.key("runtime") == scalar("runtime", 16, 5, 12)
    assert db.get("runtime") == scalar("runc", 16, 14, 18)
    assert db.get("restart") == scalar("unless-stopped", 4, 12, 26)
    assert list(db.duplicates()) == []


@pytest.mark.usefixtures("loader")
def test_compose_tree_equals_what_safe_load_builds() -> None:
    text = (FIXTURES / "compose-anchors.yaml").read_text()
    assert to_python(only(text)) == yaml.safe_load(text)


@pytest.mark.usefixtures("loader")
def test_merge_of_a_list_lets_the_first_mapping_win() -> None:
    root = mapping(only("a: &a {k: 1, x: 1}\nb: &b {k: 2, y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n"))
    c = mapping(root.get("c"))
    assert [(key.value, key.span.line) for key, _ in c.items] == [
        ("k", 1),
        ("y", 2),
        ("x", 1),
        ("z", 5),
    ]
    assert to_python(c) == {"k": 1, "y": 2, "x": 1, "z": 3}


@pytest.mark.usefixtures("loader")
def test_merged_mapping_that_merges_itself_is_expanded_too() -> None:
    text = "base: &base {a: 1}\nmid: &mid {<<: *base, b: 2}\ntop: {<<: *mid, c: 3}\n"
    top = mapping(mapping(only(text)).get("top"))
    assert to_python(top) == {"a": 1, "b": 2, "c": 3}
    assert top.key("a") == scalar("a", 1, 14, 15)


@pytest.mark.usefixtures("loader")
def test_quoted_merge_key_is_an_ordinary_key() -> None:
    assert to_python(only("x: &x {a: 1}\ny: {'<<': *x}\n")) == {
        "x": {"a": 1},
        "y": {"<<": {"a": 1}},
    }


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<<: 1\n", ("expected a mapping or list of mappings for merging, but found scalar", 1, 5)),
        (
            "a: &a [1]\nb: {<<: [*a]}\n",
            ("expected a mapping for merging, but found sequence", 1, 4),
        ),
        ("b: {<<: [{x: 1}, 2]}\n", ("expected a mapping for merging, but found scalar", 1, 18)),
    ],
)
def test_merge_of_something_else_than_mappings_is_an_error(
    text: str, expected: tuple[str, int, int]
) -> None:
    assert problem(text) == expected


@pytest.mark.usefixtures("loader")
def test_alias_yields_the_anchored_node_itself() -> None:
    root = mapping(only("a: &rt io.containerd.kata.v2\nb: *rt\nc: &list [x]\nd: *list\n"))
    assert root.get("b") is root.get("a")
    assert root.get("b") == scalar("io.containerd.kata.v2", 1, 4, 29)
    assert root.get("d") is root.get("c")


@pytest.mark.usefixtures("loader")
def test_anchor_defined_again_is_taken_by_later_aliases() -> None:
    assert to_python(only("- &a 1\n- *a\n- &a 2\n- *a\n- [&b 3, &b [4], *b]\n")) == [
        1,
        1,
        2,
        2,
        [3, [4], [4]],
    ]


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: *nope\n", ("found undefined alias 'nope'", 1, 4)),
        ("a: &a [1, *a]\n", ("alias 'a' refers to a collection that contains it", 1, 11)),
        ("--- &a x\n--- *a\n", ("found undefined alias 'a'", 2, 5)),
    ],
)
def test_alias_errors(text: str, expected: tuple[str, int, int]) -> None:
    assert problem(text) == expected


@pytest.mark.usefixtures("loader")
def test_tabs_count_one_column() -> None:
    root = mapping(only('a: "\t\t"\nlist: ["x\ty", z]\n'))
    assert root.get("a") == scalar("\t\t", 1, 4, 8)
    assert root.get("list") == Sequence(
        (scalar("x\ty", 2, 8, 13), scalar("z", 2, 15, 16)), 2, 7, 2, 17
    )


def test_tab_separators_count_one_column_with_libyaml() -> None:
    # PyYAML's own scanner refuses a tab between tokens; libyaml takes it as a space.
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML is built without libyaml here")
    root = mapping(only("runtime:\t\tio.containerd.kata.v2\n"))
    assert root.get("runtime") == scalar("io.containerd.kata.v2", 1, 11, 32)


@pytest.mark.usefixtures("loader")
def test_leading_bom_is_skipped_and_not_counted() -> None:
    root = mapping(only("\ufeffruntime: runc\n"))
    assert root.key("runtime") == scalar("runtime", 1, 1, 8)
    assert root.get("runtime") == scalar("runc", 1, 10, 14)


@pytest.mark.usefixtures("loader")
def test_crlf_line_endings_count_one_line_each() -> None:
    root = mapping(only("a: 1\r\n\r\nb:\r\n  - x\r\n"))
    assert root.get("a") == scalar(1, 1, 4, 5, INT)
    assert root.get("b") == Sequence((scalar("x", 4, 5, 6),), 4, 3, 5, 1)


@pytest.mark.usefixtures("loader")
def test_columns_count_code_points_before_the_value() -> None:
    root = mapping(only('é😀: [ü, "😀\\u00e9", x]\n'))
    assert root.key("é😀") == scalar("é😀", 1, 1, 3)
    assert root.get("é😀") == Sequence(
        (scalar("ü", 1, 6, 7), scalar("😀é", 1, 9, 18), scalar("x", 1, 20, 21)),
        1,
        5,
        1,
        22,
    )


@pytest.mark.usefixtures("loader")
def test_escapes_in_double_quotes_are_decoded_and_spans_cover_the_quotes() -> None:
    assert only('"a\\tb\\x41\\u00e9\\U0001F600\\\\"') == scalar("a\tbAé😀\\", 1, 1, 29)


@pytest.mark.usefixtures("loader")
def test_duplicate_keys_are_kept_in_order_and_last_wins() -> None:
    root = mapping(only("runtime: a\nimage: x\nruntime: b\n"))
    assert [(key.value, key.span.line) for key, _ in root.items] == [
        ("runtime", 1),
        ("image", 2),
        ("runtime", 3),
    ]
    assert root.get("runtime") == scalar("b", 3, 10, 11)
    assert [key.span.line for key in root.duplicates()] == [1]


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "value", "tag"),
    [
        ("plain", "plain", STR),
        ("'yes'", "yes", STR),
        ('"123"', "123", STR),
        ("yes", True, "tag:yaml.org,2002:bool"),
        ("Off", False, "tag:yaml.org,2002:bool"),
        ("~", None, NULL),
        ("Null", None, NULL),
        ("12", 12, INT),
        ("-0x1F", -31, INT),
        ("017", 15, INT),
        ("0b101", 5, INT),
        ("1_000", 1000, INT),
        ("1:30", 90, INT),
        ("1.5", 1.5, "tag:yaml.org,2002:float"),
        ("-.inf", float("-inf"), "tag:yaml.org,2002:float"),
        ("1e3", "1e3", STR),  # YAML 1.1 floats need a dot
        ("2001-12-14", "2001-12-14", "tag:yaml.org,2002:timestamp"),
        ("=", "=", STR),
        ("!!str 12", "12", STR),
        ('!!int "12"', 12, INT),
        ("!!float 2", 2.0, "tag:yaml.org,2002:float"),
        ("! 12", 12, INT),  # a non-specific tag resolves as SafeLoader does
        ("!custom 12", "12", "!custom"),
    ],
)
def test_scalars_resolve_the_yaml_1_1_way(text: str, value: ScalarValue, tag: str) -> None:
    node = mapping(only(f"key: {text}\n")).get("key")
    assert node == scalar(value, 1, 6, 6 + len(text), tag)
    assert type(node.value) is type(value)


@pytest.mark.usefixtures("loader")
def test_empty_value_is_null_at_the_end_of_its_key() -> None:
    assert mapping(only("runtime:\n")).get("runtime") == scalar(None, 1, 9, 9, NULL)


@pytest.mark.usefixtures("loader")
def test_non_string_keys_are_scalars_with_their_value() -> None:
    root = mapping(only("1: a\nnull: b\ntrue: c\n1.5: d\n"))
    assert [(key.value, key.kind) for key, _ in root.items] == [
        (1, INT),
        (None, NULL),
        (True, "tag:yaml.org,2002:bool"),
        (1.5, "tag:yaml.org,2002:float"),
    ]


@pytest.mark.usefixtures("loader")
def test_collection_keys_are_an_error_at_the_key() -> None:
    assert problem("x: 1\n? [a, b]\n: c\n") == ("mapping keys must be scalars", 2, 3)


@pytest.mark.usefixtures("loader")
def test_explicit_tag_on_a_value_it_cannot_read_is_an_error() -> None:
    assert problem("a: !!int abc\n") == ("cannot read 'abc' as tag:yaml.org,2002:int", 1, 4)
    assert problem("a: !!bool maybe\n") == (
        "cannot read 'maybe' as tag:yaml.org,2002:bool",
        1,
        4,
    )


@pytest.mark.usefixtures("loader")
def test_multi_document_stream_gives_one_node_per_document() -> None:
    documents = parse_yaml("a: 1\n---\n---\n- x\n...\n--- text\n")
    assert [to_python(document) for document in documents] == [{"a": 1}, None, ["x"], "text"]
    assert documents[1] == scalar(None, 3, 1, 1, NULL)
    assert documents[3] == scalar("text", 6, 5, 9)


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_stream_without_documents_is_empty(text: str) -> None:
    assert parse_yaml(text) == []


@pytest.mark.usefixtures("loader")
def test_python_tags_are_never_executed(tmp_path: Path) -> None:
    target = tmp_path / "made"
    sequence = only(f'!!python/object/apply:os.mkdir ["{target}"]\n')
    assert isinstance(sequence, Sequence)
    assert sequence.items == (scalar(str(target), 1, 33, 35 + len(str(target))),)
    node = mapping(only("x: !!python/object/apply:os.system echo hi\n")).get("x")
    assert node == scalar("echo hi", 1, 4, 43, "tag:yaml.org,2002:python/object/apply:os.system")
    assert not target.exists()


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.mark.usefixtures("loader")
def test_billion_laughs_fails_fast() -> None:
    started = time.perf_counter()
    assert problem(BILLION_LAUGHS) == (
        "document expands to more than 1000000 nodes (alias bomb?)",
        7,
        8,
    )
    assert time.perf_counter() - started < 0.5


@pytest.mark.usefixtures("loader")
def test_node_count_includes_what_aliases_repeat() -> None:
    # 1 mapping + 2 keys + [1, 2] (3 nodes) + a sequence holding it twice (1 + 3 + 3).
    text = "a: &a [1, 2]\nb: [*a, *a]\n"
    assert to_python(only(text, max_nodes=13)) == {"a": [1, 2], "b": [[1, 2], [1, 2]]}
    assert problem(text, max_nodes=12) == (
        "document expands to more than 12 nodes (alias bomb?)",
        2,
        9,
    )


@pytest.mark.usefixtures("loader")
def test_nesting_up_to_max_depth_is_accepted() -> None:
    node = only("[" * 512 + "]" * 512)
    for _ in range(511):
        assert isinstance(node, Sequence)
        node = node.items[0]
    assert isinstance(node, Sequence)
    assert node == Sequence((), 1, 512, 1, 514)


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("[" * 513 + "]" * 513, 513),
        ("- " * 600 + "x\n", 1025),
        ("{a: " * 600 + "x" + "}" * 600, 2049),
    ],
)
def test_nesting_deeper_than_max_depth_is_an_error_where_it_is_crossed(
    text: str, column: int
) -> None:
    assert problem(text) == ("nesting deeper than 512 levels", 1, column)


@pytest.mark.usefixtures("loader")
def test_nesting_through_an_alias_counts_the_aliased_depth() -> None:
    text = "a: &a [[[1]]]\nb: [[*a]]\n"
    assert to_python(only(text, max_depth=6)) == {"a": [[[1]]], "b": [[[[[1]]]]]}
    assert problem(text, max_depth=5) == ("nesting deeper than 5 levels", 2, 6)


@pytest.mark.usefixtures("loader")
def test_nesting_through_an_alias_inside_an_anchor_counts_both() -> None:
    text = "a: &a [[1]]\nb: &b [*a]\nc: [[*b]]\n"
    assert to_python(only(text, max_depth=6)) == {"a": [[1]], "b": [[[1]]], "c": [[[[[1]]]]]}
    assert problem(text, max_depth=5) == ("nesting deeper than 5 levels", 3, 6)


def _depth(value: Any) -> int:
    """Levels of nested lists, aliases expanded."""
    return 1 + max(map(_depth, value), default=0) if isinstance(value, list) else 0


def _size(value: Any) -> int:
    """Nodes, aliases expanded."""
    return 1 + sum(map(_size, value)) if isinstance(value, list) else 1


@st.composite
def _lists_sharing_some(draw: st.DrawFn) -> list[Any]:
    """Nested lists repeating two lists, the second holding the first: PyYAML dumps each
    once with an anchor, then as aliases, so aliases are found inside an anchored list."""
    inner = draw(st.lists(st.integers(0, 9) | st.lists(st.integers(0, 9), max_size=2)))
    outer = draw(st.lists(st.just(inner) | st.lists(st.just(inner)), min_size=1, max_size=3))
    more = st.recursive(
        st.just(inner) | st.just(outer) | st.integers(0, 9),
        lambda children: st.lists(children, max_size=3),
        max_leaves=8,
    )
    return [inner, outer, *draw(st.lists(more, max_size=3))]


@settings(max_examples=150, deadline=None)
@given(value=_lists_sharing_some(), flow=st.booleans())
def test_depth_and_size_limits_count_what_aliases_repeat(value: list[Any], flow: bool) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow)
    depth, size = _depth(value), _size(value)
    assert to_python(only(text, max_depth=depth, max_nodes=size)) == value
    assert problem(text, max_depth=depth - 1)[0] == f"nesting deeper than {depth - 1} levels"
    assert problem(text, max_nodes=size - 1)[0] == (
        f"document expands to more than {size - 1} nodes (alias bomb?)"
    )


def test_hundred_thousand_brackets_are_a_syntax_problem_not_a_crash() -> None:
    # libyaml 0.2.5 crashes the interpreter on this when PyYAML's composer is used.  From
    # 0.2.6 libyaml stops at 1,000 levels itself, and its lookahead gets there first.
    version = yaml._yaml.get_version_string() if yaml.__with_libyaml__ else "0"
    libyaml_stops_first = tuple(int(part) for part in version.split(".")) >= (0, 2, 6)
    assert problem("[" * 100_000) == (
        "nesting deeper than 512 levels",
        1,
        1001 if libyaml_stops_first else 513,
    )
    assert problem("a:\n" + "- " * 100_000 + "x\n") == ("nesting deeper than 512 levels", 2, 1023)


def test_libyaml_error_messages_and_positions() -> None:
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML is built without libyaml here")
    assert problem("a: b: c\n") == ("mapping values are not allowed in this context", 1, 5)
    assert problem('a: "x\n') == (
        "found unexpected end of stream (while scanning a quoted scalar at line 1, column 4)",
        2,
        1,
    )
    assert problem("a:\n  - b\n c: d\n") == (
        "did not find expected key (while parsing a block mapping at line 1, column 1)",
        3,
        2,
    )


def test_pyyaml_error_messages_and_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(syntax_yaml, "_LOADER", yaml.SafeLoader)
    assert problem("a: b: c\n") == ("mapping values are not allowed here", 1, 5)
    assert problem("x: [1, 2\n") == (
        "expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence at line 1, column 4)",
        2,
        1,
    )


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: b\x00\n", ("unacceptable character #x0000: special characters are not allowed", 1, 5)),
        (
            "a: 1\nb: \x1b[0m\n",
            ("unacceptable character #x001b: special characters are not allowed", 2, 4),
        ),
        (
            "é: \ud800\n",
            ("unacceptable character #xd800: special characters are not allowed", 1, 4),
        ),
    ],
)
def test_characters_yaml_forbids_are_an_error(text: str, expected: tuple[str, int, int]) -> None:
    assert problem(text) == expected


YAML_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=YAML_VALUES, flow=st.sampled_from([False, True, None]))
def test_reads_what_safe_dump_writes_like_safe_load(value: Any, flow: bool | None) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True, width=10**6)
    documents = parse_yaml(text)
    assert [to_python(document) for document in documents] == [yaml.safe_load(text)]
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    for node in _scalars(documents[0]):
        span = node.span
        written = text[
            starts[span.line - 1] + span.column - 1 : starts[span.end_line - 1]
            + span.end_column
            - 1
        ]
        assert yaml.safe_load(written) == node.value


def _scalars(node: Node) -> list[Scalar]:
    if isinstance(node, Mapping):
        found: list[Scalar] = []
        for key, value in node.items:
            found.append(key)
            found.extend(_scalars(value))
        return found
    if isinstance(node, Sequence):
        return [leaf for item in node.items for leaf in _scalars(item)]
    return [node]


YAML_ALPHABET = st.sampled_from(
    list("-?:,[]{}#&*!|>'\"%@`<=~. \t\n\rab1x0\\\x00\x85\u2028\ufeff\ud800é")
)


@settings(max_examples=500, deadline=None)
@given(text=st.text(YAML_ALPHABET, max_size=40))
def test_any_text_gives_documents_or_a_syntax_problem(text: str) -> None:
    try:
        documents = parse_yaml(text)
    except SyntaxProblem as raised:
        assert raised.line >= 1
        assert raised.column >= 1
    else:
        assert all(isinstance(document, (Mapping, Sequence, Scalar)) for document in documents)
