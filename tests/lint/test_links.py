"""Links across files (SPEC K2-K4, C5): pod template → RuntimeClass → handler → containerd
runtime → shim, the checks that follow them, ``shimpolicy graph``, and the examples of the
rules SP4xx-SP7xx."""

from __future__ import annotations

from pathlib import Path

import pytest

from shimpolicy.lint.engine import lint_paths, lint_text
from shimpolicy.lint.facts import Facts, group_of
from shimpolicy.lint.finding import Location
from shimpolicy.lint.graph import build_graph, render_dot, render_text
from shimpolicy.lint.scope import same_tree
from shimpolicy.policy import Policy
from tests.conftest import CORPUS, needs_corpus
from tests.conftest import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "links"


def rows(path: Path) -> list[tuple[str, int, int, str, str, str, tuple[Location, ...]]]:
    result = lint_paths([str(path)], Policy.default())
    return [
        (
            f.path.removeprefix(str(FIXTURES) + "/"),
            f.line,
            f.column,
            f.rule,
            f.severity,
            f.message,
            f.related,
        )
        for f in result.findings
    ]


def at(path: str, line: int, column: int, end_line: int, end_column: int, message: str) -> Location:
    return Location(str(FIXTURES / path), line, column, end_line, end_column, message)


# -- lint -------------------------------------------------------------------------------


def test_a_clean_cluster_tree_has_no_findings() -> None:
    assert rows(FIXTURES / "clean-cluster") == []


def test_broken_links_are_reported_with_the_other_end() -> None:
    config = "broken-cluster/node/config.toml"
    assert rows(FIXTURES / "broken-cluster") == [
        (
            "broken-cluster/apps/web.yaml",
            12,
            25,
            "SP701",
            "warning",
            "Deployment/web asks for RuntimeClass 'gvisr', which none of the 3 RuntimeClasses "
            "linted beside it defines: the API server rejects the pod with `pod rejected: "
            'RuntimeClass "gvisr" not found` unless the cluster has it from elsewhere; did you '
            "mean 'gvisor'?",
            (
                at("broken-cluster/runtimeclasses.yaml", 10, 9, 10, 15, "RuntimeClass 'gvisor'"),
                at("broken-cluster/runtimeclasses.yaml", 4, 9, 4, 13, "RuntimeClass 'kata'"),
                at("broken-cluster/runtimeclasses.yaml", 16, 9, 16, 13, "RuntimeClass 'wasm'"),
            ),
        ),
        (
            config,
            6,
            61,
            "SP401",
            "error",
            "handler 'runsc' sets no `runtime_type`: containerd loads the config, but every pod "
            "using this handler fails with `container.Runtime.Name must be set: invalid "
            'argument`; add `runtime_type = "io.containerd.runc.v2"` (or the shim this handler is '
            "for)",
            (),
        ),
        (
            config,
            10,
            18,
            "SP106",
            "error",
            "handler 'spin' runtime_type: containerd would execute '/tmp/containerd-shim-spin-v2' "
            "as root from '/tmp', a directory other users can write to; install the shim in a "
            "directory only root can write, such as /usr/local/bin",
            (),
        ),
        (
            "broken-cluster/runtimeclasses.yaml",
            5,
            10,
            "SP702",
            "warning",
            "RuntimeClass 'kata' names handler 'kata-qemu', which the containerd config linted "
            f"beside it ({FIXTURES}/{config}) does not define: pods of this class fail to start "
            'with `no runtime for "kata-qemu" is configured`; add a `runtimes.kata-qemu` '
            "table with its runtime_type",
            (at(config, 3, 52, 3, 60, f"containerd runtimes in {FIXTURES}/{config}"),),
        ),
        (
            "broken-cluster/runtimeclasses.yaml",
            11,
            10,
            "SP703",
            "warning",
            "RuntimeClass 'gvisor' names handler 'runsc', whose runtime_type is not set "
            f"({FIXTURES}/{config}): every pod of this class fails with "
            "`container.Runtime.Name must be set: invalid argument`",
            (at(config, 6, 61, 6, 66, f"handler 'runsc' in {FIXTURES}/{config}"),),
        ),
        (
            "broken-cluster/runtimeclasses.yaml",
            17,
            10,
            "SP703",
            "warning",
            "RuntimeClass 'wasm' names handler 'spin', whose runtime_type "
            f"'/tmp/containerd-shim-spin-v2' ({FIXTURES}/{config}) the policy denies: SP106: "
            "containerd would execute '/tmp/containerd-shim-spin-v2' as root from '/tmp', a "
            "directory other users can write to; install the shim in a directory only root can "
            "write, such as /usr/local/bin",
            (at(config, 10, 18, 10, 48, f"handler 'spin' in {FIXTURES}/{config}"),),
        ),
    ]


def test_projects_side_by_side_are_not_linked() -> None:
    # app/pod.yaml asks for `gvisor`; platform/runtimeclass.yaml defines only `kata`.
    assert rows(FIXTURES / "side-by-side") == []


def test_links_need_both_ends_in_the_run() -> None:
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  runtimeClassName: gvisor\n"
        "  containers: [{name: c, image: alpine}]\n"
    )
    runtimeclass = (
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: k\nhandler: k\n"
    )
    assert lint_text(pod, "pod.yaml", Policy.default()).findings == ()
    assert lint_text(runtimeclass, "rc.yaml", Policy.default()).findings == ()


def test_a_class_filled_in_later_may_be_the_one_asked_for() -> None:
    text = (
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: FILLED_BY_OPERATOR\n"
        "handler: FILLED_BY_OPERATOR\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  runtimeClassName: nvidia\n"
    )
    assert [f.rule for f in lint_text(text, "gpu.yaml", Policy.default()).findings] == [
        "SP003",
        "SP003",
    ]


def test_an_imported_config_may_define_the_handler(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "version = 4\nimports = ['/etc/containerd/conf.d/*.toml']\n"
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\n"
        "  runtime_type = 'io.containerd.runc.v2'\n"
    )
    (tmp_path / "rc.yaml").write_text(
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: kata\nhandler: kata\n"
    )
    assert lint_paths([str(tmp_path)], Policy.default()).findings == ()


def test_containerd_2_always_has_the_builtin_runc_handler(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "version = 4\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kata]\n"
        "  runtime_type = 'io.containerd.kata.v2'\n"
    )
    (tmp_path / "rc.yaml").write_text(
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: runc\nhandler: runc\n"
    )
    assert lint_paths([str(tmp_path)], Policy.default()).findings == ()


# -- which files are linked -------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "linked"),
    [
        ("x/a.yaml", "x/b.yaml", True),
        ("x/a.yaml", "x/y/b.yaml", True),
        ("a.yaml", "x/y/b.yaml", True),
        ("x/a.yaml", "y/b.yaml", False),
        ("x/y/a.yaml", "x/z/b.yaml", False),
        ("/abs/x/a.yaml", "/abs/x/y/b.yaml", True),
        ("xy/a.yaml", "x/b.yaml", False),
    ],
)
def test_same_tree(a: str, b: str, linked: bool) -> None:
    assert same_tree(a, b) is linked
    assert same_tree(b, a) is linked


def test_groups_follow_containment_through_other_files() -> None:
    facts = Facts(manifests=["c/apps/web.yaml", "c/rc.yaml", "d/x/pod.yaml", "d/y/rc.yaml"])
    # c/node is linked to c/apps through c/rc.yaml; d/x and d/y have nothing above them.
    assert group_of(facts, "c/node/config.toml") == "c"
    assert group_of(facts, "c/apps/web.yaml") == "c"
    assert group_of(facts, "d/x/pod.yaml") == "d/x"
    assert group_of(facts, "d/y/rc.yaml") == "d/y"


# -- shimpolicy graph -------------------------------------------------------------------


def test_graph_of_a_clean_cluster() -> None:
    text = render_text(build_graph([str(FIXTURES / "clean-cluster")], Policy.default()))
    assert text.replace(str(FIXTURES) + "/", "") == (
        "Deployment/web  (clean-cluster/apps/web.yaml:12:25)\n"
        "  -> RuntimeClass kata  (clean-cluster/runtimeclasses.yaml:4:9)\n"
        "  -> handler kata  (clean-cluster/node/config.toml:11:61)\n"
        "  -> runtime_type io.containerd.kata.v2  (clean-cluster/node/config.toml:12:18)\n"
        "  -> binary containerd-shim-kata-v2\n"
        "  -> policy: allow  [SP113: containerd runs containerd-shim-kata-v2 for "
        "'io.containerd.kata.v2']\n"
        "\n"
        "CronJob/report  (clean-cluster/apps/web.yaml:25:29)\n"
        "  -> RuntimeClass gvisor  (clean-cluster/runtimeclasses.yaml:10:9)\n"
        "  -> handler runsc  (clean-cluster/node/config.toml:14:61)\n"
        "  -> runtime_type io.containerd.runsc.v1  (clean-cluster/node/config.toml:15:18)\n"
        "  -> binary containerd-shim-runsc-v1\n"
        "  -> policy: allow  [SP113: containerd runs containerd-shim-runsc-v1 for "
        "'io.containerd.runsc.v1']\n"
        "\n"
        "Pod/debug  (clean-cluster/apps/web.yaml:32:9)\n"
        "  -> handler runc (default)  (clean-cluster/node/config.toml:6:61)\n"
        "  -> runtime_type io.containerd.runc.v2  (clean-cluster/node/config.toml:7:18)\n"
        "  -> binary containerd-shim-runc-v2\n"
        "  -> policy: allow  [SP113: containerd runs containerd-shim-runc-v2 for "
        "'io.containerd.runc.v2']\n"
        "\n"
        "RuntimeClass wasm  (clean-cluster/runtimeclasses.yaml:16:9)\n"
        "  -> handler spin  (clean-cluster/node/config.toml:17:61)\n"
        "  -> runtime_type /opt/kwasm/bin/containerd-shim-spin-v2  "
        "(clean-cluster/node/config.toml:18:18)\n"
        "  -> binary /opt/kwasm/bin/containerd-shim-spin-v2\n"
        "  -> policy: allow  [SP107: the host administrator configured this shim by path; "
        "containerd executes '/opt/kwasm/bin/containerd-shim-spin-v2' directly (C2 step 2)]\n"
    )


def test_graph_shows_where_links_break() -> None:
    chains = build_graph([str(FIXTURES / "broken-cluster")], Policy.default())
    assert [c.broken for c in chains] == [True, True, True, False, False]
    text = render_text(chains).replace(str(FIXTURES) + "/", "")
    assert text.split("\n\n")[:3] == [
        "Deployment/web  (broken-cluster/apps/web.yaml:12:25)\n"
        "  -> MISSING RuntimeClass gvisr: not defined in the linted files",
        "RuntimeClass kata  (broken-cluster/runtimeclasses.yaml:4:9)\n"
        "  -> MISSING handler kata-qemu: not defined in the linted containerd config",
        "RuntimeClass gvisor  (broken-cluster/runtimeclasses.yaml:10:9)\n"
        "  -> handler runsc  (broken-cluster/node/config.toml:6:61)\n"
        "  -> MISSING runtime_type: not set",
    ]


def test_graph_as_dot() -> None:
    chains = build_graph([str(FIXTURES / "broken-cluster")], Policy.default())
    dot = render_dot(chains).replace(str(FIXTURES) + "/", "")
    assert dot.startswith("digraph runtimes {\n  rankdir=LR;\n")
    assert dot.endswith("}\n")
    assert (
        '  n1 [label="MISSING RuntimeClass gvisr\\nnot defined in the linted files", shape=box, '
        'style="filled,dashed", fillcolor="salmon"];'
    ) in dot
    assert "policy: deny" in dot and 'fillcolor="salmon"' in dot
    assert "  n0 -> n1;" in dot


def test_graph_of_nothing() -> None:
    assert render_text([]) == ""
    assert render_dot([]) == "digraph runtimes {\n  rankdir=LR;\n\n}\n"


# -- the real-world corpus: unrelated projects are not linked --------------------------


@needs_corpus
def test_realworld_containerd_and_kubernetes_together() -> None:
    result = lint_paths([str(CORPUS / "containerd"), str(CORPUS / "k8s")], Policy.default())
    assert [f for f in result.findings if f.rule.startswith("SP7")] == []
    assert [f for f in result.findings if f.severity == "error"] == []
