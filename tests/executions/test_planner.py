from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executions.planner import (
    CANCELLED,
    FAILED,
    PLAN_CACHE_SIZE,
    RUNNING,
    SKIPPED,
    SUCCESS,
    TERMINAL,
    NodeState,
    Plan,
    Step,
    plan_for,
)


def workflow(nodes: str, edges: str = "") -> dict[str, Any]:
    """A definition from two short strings.

    ``nodes`` lists ids in definition order, each as ``id`` or ``id:type``, with a trailing
    ``!`` for ``on_error: continue``. ``edges`` lists ``source>target`` or
    ``source>target:branch``.
    """
    node_list = []
    for spec in nodes.split():
        node_id, _, node_type = spec.rstrip("!").partition(":")
        node = {"id": node_id, "type": node_type or "noop", "params": {}}
        if spec.endswith("!"):
            node["on_error"] = "continue"
        node_list.append(node)
    edge_list = []
    for spec in edges.split():
        link, _, branch = spec.partition(":")
        source, target = link.split(">")
        edge_list.append({"source": source, "target": target} | ({"branch": branch} if branch else {}))
    return {"nodes": node_list, "edges": edge_list, "settings": {}}


def ok(output: object = None) -> NodeState:
    return NodeState(SUCCESS, output)


def failed(output: object = None) -> NodeState:
    return NodeState(FAILED, output)


RUN = NodeState(RUNNING)
SKIP = NodeState(SKIPPED)
TRUE = ok({"result": True})
FALSE = ok({"result": False})


def case(name: str) -> NodeState:
    return ok({"case": name})


BRANCHES = "c:condition yes no after_no"
BRANCH_EDGES = "c>yes:true c>no:false no>after_no"
SWITCH = "s:switch to_a to_b other"
SWITCH_EDGES = "s>to_a:a s>to_b:b s>other:default"
MERGE = "c:condition left right m:merge"
MERGE_EDGES = "c>left:true c>right:false left>m right>m"
DIAMOND = "a b c d"
DIAMOND_EDGES = "a>b a>c b>d c>d"


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        pytest.param(workflow("a b c", "a>b b>c"), ("a", "b", "c"), id="chain"),
        pytest.param(workflow("c b a", "a>b b>c"), ("a", "b", "c"), id="edges-override-definition-order"),
        pytest.param(workflow("x a b y", ""), ("x", "a", "b", "y"), id="unconnected-in-definition-order"),
        pytest.param(workflow("d c b a", "a>c b>c"), ("d", "b", "a", "c"), id="ties-in-definition-order"),
        pytest.param(workflow("a late b early", "a>b a>early"), ("a", "late", "b", "early"), id="fan-out-ties"),
    ],
)
def test_order_is_topological_with_ties_in_definition_order(definition, expected):
    assert Plan.from_definition(definition).order == expected


def test_plan_exposes_parents_children_roots_sinks_and_nodes():
    plan = Plan.from_definition(workflow("z a b m", "b>m a>m z>a z>b"))

    assert plan.roots == ("z",)
    assert plan.sinks == ("m",)
    assert plan.parents("m") == ("a", "b")
    assert plan.children("z") == ("a", "b")
    assert plan.parents("z") == ()
    assert plan.children("m") == ()
    assert plan.node("a") == {"id": "a", "type": "noop", "params": {}}


# (definition, states, the node that just ended or None, the expected step). Where a node
# just ended, `after` must agree with `step`: every decision in these rows stems from it.
STEP_CASES = [
    pytest.param(workflow("a b c", "a>c"), {}, None, Step(ready=("a", "b")), id="roots-ready-at-start"),
    pytest.param(workflow("a", ""), {}, None, Step(ready=("a",)), id="single-root"),
    pytest.param(workflow("a b c", "a>b b>c"), {"a": RUN}, None, Step(), id="chain-waits-on-running-parent"),
    pytest.param(workflow("a b c", "a>b b>c"), {"a": ok()}, "a", Step(ready=("b",)), id="chain-next-ready"),
    pytest.param(
        workflow("a b c", "a>b b>c"), {"a": ok(), "b": RUN}, None, Step(), id="chain-running-not-reported-again"
    ),
    pytest.param(workflow(DIAMOND, DIAMOND_EDGES), {"a": ok()}, "a", Step(ready=("b", "c")), id="diamond-fans-out"),
    pytest.param(
        workflow(DIAMOND, DIAMOND_EDGES),
        {"a": ok(), "b": ok(), "c": RUN},
        "b",
        Step(),
        id="diamond-join-waits-for-both",
    ),
    pytest.param(
        workflow(DIAMOND, DIAMOND_EDGES),
        {"a": ok(), "b": ok(), "c": ok()},
        "c",
        Step(ready=("d",)),
        id="diamond-join-ready",
    ),
    pytest.param(
        workflow(BRANCHES, BRANCH_EDGES),
        {"c": TRUE},
        "c",
        Step(ready=("yes",), skipped=("no", "after_no")),
        id="condition-true-skips-false-branch-transitively",
    ),
    pytest.param(
        workflow(BRANCHES, BRANCH_EDGES),
        {"c": FALSE},
        "c",
        Step(ready=("no",), skipped=("yes",)),
        id="condition-false-skips-true-branch",
    ),
    pytest.param(
        workflow(BRANCHES, BRANCH_EDGES),
        {"c": ok({"result": [1]})},
        "c",
        Step(ready=("yes",), skipped=("no", "after_no")),
        id="condition-truthy-result-is-true",
    ),
    pytest.param(
        workflow("c:condition yes", "c>yes:true"),
        {"c": FALSE},
        "c",
        Step(skipped=("yes",), finished=True),
        id="condition-skipping-the-last-node-finishes",
    ),
    pytest.param(
        workflow(SWITCH, SWITCH_EDGES),
        {"s": case("b")},
        "s",
        Step(ready=("to_b",), skipped=("to_a", "other")),
        id="switch-case",
    ),
    pytest.param(
        workflow(SWITCH, SWITCH_EDGES),
        {"s": case("default")},
        "s",
        Step(ready=("other",), skipped=("to_a", "to_b")),
        id="switch-default",
    ),
    pytest.param(
        workflow(SWITCH, SWITCH_EDGES),
        {"s": case("c")},
        "s",
        Step(skipped=("to_a", "to_b", "other"), finished=True),
        id="switch-case-without-edge-skips-all",
    ),
    pytest.param(
        workflow(SWITCH, SWITCH_EDGES),
        {"s": ok({"case": None})},
        "s",
        Step(skipped=("to_a", "to_b", "other"), finished=True),
        id="switch-null-case-follows-nothing",
    ),
    pytest.param(
        workflow("s:switch both", "s>both:a s>both:b"),
        {"s": case("b")},
        "s",
        Step(ready=("both",)),
        id="switch-two-cases-into-one-node",
    ),
    pytest.param(
        workflow("start c:condition x", "start>x c>x:true"),
        {"start": ok(), "c": FALSE},
        "c",
        Step(ready=("x",)),
        id="one-live-one-dead-parent-runs",
    ),
    pytest.param(
        workflow("start c:condition t x", "c>t:true t>x start>x"),
        {"start": ok(), "c": FALSE},
        "c",
        Step(ready=("x",), skipped=("t",)),
        id="skip-propagation-stops-at-a-live-parent",
    ),
    pytest.param(
        workflow("c:condition t1 t2 t3", "c>t1:true t1>t2 t2>t3"),
        {"c": FALSE},
        "c",
        Step(skipped=("t1", "t2", "t3"), finished=True),
        id="skip-propagates-down-a-chain",
    ),
    pytest.param(
        workflow("c:condition t m", "c>t:true c>m t>m"),
        {"c": FALSE},
        "c",
        Step(ready=("m",), skipped=("t",)),
        id="skipped-parent-decided-before-its-child",
    ),
    pytest.param(
        workflow(MERGE, MERGE_EDGES),
        {"c": TRUE},
        "c",
        Step(ready=("left",), skipped=("right",)),
        id="merge-waits-for-its-running-branch",
    ),
    pytest.param(
        workflow(MERGE, MERGE_EDGES),
        {"c": TRUE, "left": ok(), "right": SKIP},
        "left",
        Step(ready=("m",)),
        id="merge-runs-with-one-parent-when-the-other-is-skipped",
    ),
    pytest.param(
        workflow("a b m:merge", "a>m b>m"),
        {"a": ok(), "b": RUN},
        "a",
        Step(),
        id="merge-waits-for-all-non-skipped-parents",
    ),
    pytest.param(
        workflow("a b m:merge", "a>m b>m"),
        {"a": ok(), "b": ok()},
        "b",
        Step(ready=("m",)),
        id="merge-ready-when-all-parents-ended",
    ),
    pytest.param(
        workflow("a! b", "a>b"),
        {"a": failed({"error": "boom"})},
        "a",
        Step(ready=("b",)),
        id="on-error-continue-passes-the-failure-on",
    ),
    pytest.param(
        workflow("c:condition! yes no plain", "c>yes:true c>no:false c>plain"),
        {"c": failed({"result": True})},
        "c",
        Step(ready=("plain",), skipped=("yes", "no")),
        id="failed-condition-selects-no-branch",
    ),
    pytest.param(
        workflow("a b", "a>b"),
        {"a": failed()},
        "a",
        Step(failed_nodes=("a",)),
        id="on-error-fail-stops",
    ),
    pytest.param(
        workflow("a b c", "a>c"),
        {"a": failed(), "b": ok()},
        None,
        Step(failed_nodes=("a",)),
        id="on-error-fail-stops-unrelated-branches",
    ),
    pytest.param(
        workflow("a b", ""),
        {"a": failed(), "b": ok()},
        "a",
        Step(failed_nodes=("a",), finished=True),
        id="on-error-fail-on-the-last-node-finishes",
    ),
    pytest.param(
        workflow("a b c", "a>b"),
        {"a": NodeState(CANCELLED)},
        None,
        Step(),
        id="cancelled-plans-nothing",
    ),
    pytest.param(
        workflow("a b", "a>b:true"),
        {"a": ok({"result": True})},
        "a",
        Step(skipped=("b",), finished=True),
        id="branch-out-of-a-plain-node-is-dead",
    ),
    pytest.param(
        workflow("a b c", "a>b a>c"),
        {"a": ok(), "b": ok(), "c": ok()},
        "c",
        Step(finished=True),
        id="finished-when-all-ended",
    ),
    pytest.param(
        workflow("a b c", "a>b a>c"),
        {"a": ok(), "b": ok(), "c": RUN},
        "b",
        Step(),
        id="not-finished-while-a-node-runs",
    ),
]


@pytest.mark.parametrize(("definition", "states", "just_ended", "expected"), STEP_CASES)
def test_step(definition, states, just_ended, expected):
    assert Plan.from_definition(definition).step(states) == expected


@pytest.mark.parametrize(
    ("definition", "states", "just_ended", "expected"),
    [case for case in STEP_CASES if case.values[2] is not None],
)
def test_after_agrees_with_step_for_the_node_that_ended(definition, states, just_ended, expected):
    assert Plan.from_definition(definition).after(just_ended, states) == expected


def test_explicit_pending_state_counts_as_pending():
    plan = Plan.from_definition(workflow("a b", "a>b"))

    assert plan.step({"a": ok(), "b": NodeState("pending")}) == Step(ready=("b",))


def test_unknown_status_is_refused():
    with pytest.raises(ValueError, match="unknown node status 'done'"):
        NodeState("done")


@pytest.mark.parametrize(
    ("definition", "states", "node_id", "expected"),
    [
        pytest.param(workflow("a", ""), {}, "a", {}, id="root-gets-nothing"),
        pytest.param(
            workflow("b a d", "a>d b>d"),
            {"a": ok(1), "b": ok(2)},
            "d",
            {"b": 2, "a": 1},
            id="parents-in-definition-order",
        ),
        pytest.param(
            workflow(MERGE, MERGE_EDGES),
            {"c": TRUE, "left": ok("L"), "right": SKIP},
            "m",
            {"left": "L"},
            id="skipped-parent-left-out",
        ),
        pytest.param(
            workflow("start c:condition x", "start>x c>x:true"),
            {"start": ok("s"), "c": FALSE},
            "x",
            {"start": "s"},
            id="untaken-branch-left-out",
        ),
        pytest.param(workflow(BRANCHES, BRANCH_EDGES), {"c": TRUE}, "yes", {"c": {"result": True}}, id="taken-branch"),
        pytest.param(
            workflow("a! b", "a>b"),
            {"a": failed({"error": "boom"})},
            "b",
            {"a": {"error": "boom"}},
            id="failed-continue-parent-passes-its-output",
        ),
    ],
)
def test_node_input(definition, states, node_id, expected):
    node_input = Plan.from_definition(definition).node_input(node_id, states)

    assert node_input == expected
    assert list(node_input) == list(expected)


@pytest.mark.parametrize(
    ("definition", "states", "expected"),
    [
        pytest.param(
            workflow("z a b", "a>z a>b"),
            {"a": ok(0), "z": ok("Z"), "b": ok("B")},
            {"z": "Z", "b": "B"},
            id="sinks-in-definition-order",
        ),
        pytest.param(
            workflow(BRANCHES, BRANCH_EDGES),
            {"c": TRUE, "yes": ok("Y"), "no": SKIP, "after_no": SKIP},
            {"yes": "Y"},
            id="skipped-sink-left-out",
        ),
        pytest.param(
            workflow("a! b", ""),
            {"a": failed({"error": "boom"}), "b": ok("B")},
            {"a": {"error": "boom"}, "b": "B"},
            id="failed-continue-sink-included",
        ),
        pytest.param(
            workflow("a b c", ""),
            {"a": failed({"error": "boom"}), "b": RUN},
            {},
            id="failed-running-and-pending-sinks-left-out",
        ),
    ],
)
def test_execution_output(definition, states, expected):
    output = Plan.from_definition(definition).execution_output(states)

    assert output == expected
    assert list(output) == list(expected)


def test_plan_for_plans_each_key_once():
    definition = workflow("a b", "a>b")

    first = plan_for(("test_plan_for_plans_each_key_once", 1), definition)

    assert plan_for(("test_plan_for_plans_each_key_once", 1), workflow("other")) is first
    assert plan_for(("test_plan_for_plans_each_key_once", 2), definition) is not first


def test_plan_for_forgets_the_least_recently_used_key():
    oldest = plan_for(("lru", "oldest"), workflow("a"))
    kept = plan_for(("lru", "kept"), workflow("a"))

    for index in range(PLAN_CACHE_SIZE - 1):
        plan_for(("lru", "kept"), workflow("a"))  # recently used: must survive
        plan_for(("lru", index), workflow("a"))

    assert plan_for(("lru", "kept"), workflow("a")) is kept
    assert plan_for(("lru", "oldest"), workflow("a")) is not oldest


def test_plan_does_not_follow_later_edits_of_the_definition():
    definition = workflow("a b", "a>b")
    plan = Plan.from_definition(definition)

    definition["nodes"][0]["params"]["x"] = 1

    assert plan.node("a")["params"] == {}


def run_with_after(plan: Plan) -> int:
    """Drive a run where every node succeeds in start order, calling `after` as the engine does."""
    states: dict[str, NodeState] = {}
    ready = list(plan.step(states).ready)
    calls = 0
    while ready:
        for node_id in ready:
            states[node_id] = RUN
        started, ready = ready, []
        for node_id in started:
            states[node_id] = ok()
            step = plan.after(node_id, states)
            calls += 1
            ready.extend(step.ready)
    assert step.finished
    return calls


# Speed is measured in bench/, not asserted here: these graphs are the large shapes the
# engine benchmark runs, driven to the end through the incremental `after`.
@pytest.mark.parametrize(
    "definition",
    [
        pytest.param(
            workflow(" ".join(f"n{i}" for i in range(1000)), " ".join(f"n{i}>n{i + 1}" for i in range(999))),
            id="chain-1000",
        ),
        pytest.param(
            workflow(
                "src " + " ".join(f"m{i}" for i in range(1000)) + " join:merge",
                " ".join(f"src>m{i} m{i}>join" for i in range(1000)),
            ),
            id="fan-out-1000",
        ),
    ],
)
def test_after_drives_large_graphs_to_the_end(definition):
    calls = run_with_after(Plan.from_definition(definition))

    assert calls == len(definition["nodes"])


@st.composite
def random_workflows(draw) -> tuple[dict[str, Any], dict[str, NodeState]]:
    """A random DAG (edges from lower to higher index) and how each node will end."""
    size = draw(st.integers(min_value=1, max_value=40))
    kinds = draw(
        st.lists(
            st.sampled_from(["noop", "condition", "switch", "continue", "broken_condition"]),
            min_size=size,
            max_size=size,
        )
    )
    condition_branches = [None, "true", "false"]
    branches = {
        "condition": condition_branches,
        "broken_condition": condition_branches,
        "switch": [None, "a", "b", "default"],
    }
    nodes, edges, outcomes = [], [], {}
    for index, kind in enumerate(kinds):
        node_id = f"n{index}"
        node_type = {"continue": "noop", "broken_condition": "condition"}.get(kind, kind)
        node = {"id": node_id, "type": node_type, "params": {}}
        if kind in ("continue", "broken_condition"):
            node["on_error"] = "continue"
            outcomes[node_id] = failed({"result": True, "error": node_id})
        elif kind == "condition":
            outcomes[node_id] = ok({"result": draw(st.booleans())})
        elif kind == "switch":
            outcomes[node_id] = ok({"case": draw(st.sampled_from(["a", "b", "default", "none"]))})
        else:
            outcomes[node_id] = ok(node_id)
        nodes.append(node)
        parents = st.sets(st.integers(min_value=0, max_value=max(index - 1, 0)), max_size=min(index, 3))
        for parent in sorted(draw(parents)):
            branch = draw(st.sampled_from(branches.get(kinds[parent], [None])))
            edges.append({"source": f"n{parent}", "target": node_id} | ({"branch": branch} if branch else {}))
    return {"nodes": nodes, "edges": edges, "settings": {}}, outcomes


def edge_is_dead(edge: dict[str, Any], states: dict[str, NodeState]) -> bool:
    """The rule restated independently of the planner, to check its skips against."""
    parent = states[edge["source"]]
    if parent.status == SKIPPED:
        return True
    if "branch" not in edge:
        return False
    selected = None
    if parent.status == SUCCESS and "result" in parent.output:
        selected = "true" if parent.output["result"] else "false"
    elif parent.status == SUCCESS and "case" in parent.output:
        selected = parent.output["case"]
    return edge["branch"] != selected


@settings(max_examples=300, deadline=None)
@given(random_workflow=random_workflows(), data=st.data())
def test_engine_loop_on_random_dags_ends_every_node_once(random_workflow, data):
    definition, outcomes = random_workflow
    plan = Plan.from_definition(definition)
    all_ids = [node["id"] for node in definition["nodes"]]
    states: dict[str, NodeState] = {}
    running: list[str] = []
    ran: list[str] = []

    def apply(step: Step) -> None:
        assert list(step.ready) == sorted(step.ready, key=plan.order.index)
        for node_id in step.skipped:
            assert node_id not in states
            states[node_id] = SKIP
        for node_id in step.ready:
            assert node_id not in states
            assert all(states.get(parent, RUN).status in TERMINAL for parent in plan.parents(node_id))
            states[node_id] = RUN
            running.append(node_id)

    # given edges only from lower to higher index, definition order is already topological
    assert plan.order == tuple(all_ids)
    apply(plan.step(states))
    while running:
        node_id = running.pop(data.draw(st.integers(min_value=0, max_value=len(running) - 1)))
        states[node_id] = outcomes[node_id]
        ran.append(node_id)

        step = plan.after(node_id, states)

        assert step == plan.step(states), "the incremental view must agree with the full one"
        apply(step)

    assert plan.step(states) == Step(finished=True)
    skipped = {node_id for node_id, state in states.items() if state.status == SKIPPED}
    assert sorted(ran + sorted(skipped)) == sorted(all_ids)
    assert len(ran) == len(set(ran))
    for node_id in all_ids:
        incoming = [edge for edge in definition["edges"] if edge["target"] == node_id]
        all_dead = bool(incoming) and all(edge_is_dead(edge, states) for edge in incoming)
        assert (node_id in skipped) == all_dead, node_id
