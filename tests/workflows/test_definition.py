"""validate_definition: the definition rules of DESIGN.md section 3, with no database."""

from itertools import pairwise

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.definition import DefinitionLimits, DefinitionProblem, validate_definition

LIMITS = DefinitionLimits(max_nodes=50, max_edges=100, max_bytes=100_000)
KNOWN_TYPES = "condition, delay, http_request, merge, noop, send_email, set, stop_error, subworkflow, switch"


def node(node_id: str, node_type: str = "noop", **fields) -> dict:
    return {"id": node_id, "type": node_type, **fields}


def edge(source: str, target: str, **fields) -> dict:
    return {"source": source, "target": target, **fields}


def found(definition: object, limits: DefinitionLimits = LIMITS) -> list[tuple[str, str]]:
    return [(problem.location, problem.message) for problem in validate_definition(definition, limits=limits)]


CONDITION = node("check", "condition", params={"expression": "{{ input.n > 1 }}"})
SWITCH = node("route", "switch", params={"value": "{{ input.kind }}", "cases": ["a", "b"]})
SWITCH_NO_DEFAULT = node("route", "switch", params={"value": 1, "cases": ["a"], "default": False})

GOOD = {
    "no nodes": {"nodes": [], "edges": [], "settings": {}},
    "nodes only": {"nodes": [node("a")]},
    "chain": {"nodes": [node("a"), node("b"), node("c")], "edges": [edge("a", "b"), edge("b", "c")]},
    "diamond": {
        "nodes": [node("a"), node("b"), node("c"), node("d", "merge")],
        "edges": [edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d")],
    },
    "nodes listed after the edges' order": {"nodes": [node("b"), node("a")], "edges": [edge("a", "b")]},
    "design example": {
        "nodes": [
            {
                "id": "fetch",
                "type": "http_request",
                "name": "Fetch orders",
                "params": {"method": "GET", "url": "{{ input.base_url }}/orders"},
                "retry": {"max_attempts": 3, "backoff": "exponential", "delay_s": 1, "max_delay_s": 60},
                "timeout_s": 30,
                "on_error": "fail",
            },
            node("big", "condition", params={"expression": "{{ nodes.fetch.output.body | length > 10 }}"}),
            node(
                "alert",
                "http_request",
                params={
                    "method": "POST",
                    "url": "{{ input.hook }}",
                    "json": {"count": "{{ nodes.fetch.output.body | length }}"},
                },
            ),
        ],
        "edges": [edge("fetch", "big"), edge("big", "alert", branch="true")],
        "settings": {"timeout_s": 3600},
    },
    "every node field": {
        "nodes": [
            node(
                "A-z_09",
                name="Start",
                params={},
                retry={"max_attempts": 100, "backoff": "fixed", "delay_s": 0, "max_delay_s": 0},
                timeout_s=0.5,
                on_error="continue",
                position={"x": -10, "y": 20.5},
                notes="Where it begins.",
            )
        ]
    },
    "retry with defaults": {"nodes": [node("a", retry={})]},
    "nullable optional fields": {"nodes": [node("a", name=None, retry=None, timeout_s=None, position=None)]},
    "longest id": {"nodes": [node("x" * 64)]},
    "condition branches": {
        "nodes": [CONDITION, node("yes"), node("no")],
        "edges": [edge("check", "yes", branch="true"), edge("check", "no", branch="false")],
    },
    "both branches to one node": {
        "nodes": [CONDITION, node("next")],
        "edges": [edge("check", "next", branch="true"), edge("check", "next", branch="false")],
    },
    "edge out of a condition without a branch": {
        "nodes": [CONDITION, node("after")],
        "edges": [edge("check", "after")],
    },
    "switch cases and default": {
        "nodes": [SWITCH, node("x"), node("y"), node("z")],
        "edges": [edge("route", "x", branch="a"), edge("route", "y", branch="b"), edge("route", "z", branch="default")],
    },
    "settings with an input schema": {
        "nodes": [node("a")],
        "settings": {
            "timeout_s": 60,
            "input_schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
        },
    },
    "whole expression holding an object literal": {
        "nodes": [node("a", "set", params={"values": '{{ {"a": {"b": input.n}} }}'})],
    },
    "expressions everywhere in params": {
        "nodes": [
            node(
                "a",
                "http_request",
                params={
                    "method": "{{ input.method }}",
                    "url": "{{ input.base }}/items/{{ input.id | string }}",
                    "headers": {"Authorization": "Bearer {{ secrets.token }}"},
                    "json": {"count": "{{ input.items | length }}", "list": ["{{ input.a }}", 2]},
                },
            )
        ],
    },
    "input schema naming its draft": {
        "nodes": [],
        "settings": {"input_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}},
    },
}


@pytest.mark.parametrize("definition", GOOD.values(), ids=GOOD.keys())
def test_a_good_definition_is_accepted(definition):
    assert found(definition) == []


def many(count: int) -> list[dict]:
    return [node(f"n{i}") for i in range(count)]


# id: (definition, the one location reported, a fragment of its message)
BAD = {
    # the definition as a whole
    "not an object": ([], "", "a definition must be a JSON object with 'nodes', 'edges' and 'settings'"),
    "nodes missing": ({"edges": []}, "nodes", "'nodes' is required"),
    "nodes not a list": ({"nodes": {}}, "nodes", "must be a list"),
    "edges not a list": ({"nodes": [], "edges": "a->b"}, "edges", "must be a list"),
    "settings not an object": ({"nodes": [], "settings": []}, "settings", "must be an object"),
    "unknown top-level key": (
        {"nodes": [], "version": 2},
        "version",
        "unknown top-level key 'version'; allowed: nodes, edges, settings",
    ),
    "not plain JSON": ({"nodes": [node("a", timeout_s=float("nan"))]}, "", "a definition must be plain JSON"),
    # nodes
    "node not an object": ({"nodes": ["a"]}, "nodes[0]", "a node must be an object with at least 'id' and 'type'"),
    "id missing": ({"nodes": [{"type": "noop"}]}, "nodes[0].id", "'id' is required"),
    "id not a string": ({"nodes": [node(7)]}, "nodes[0].id", "must be a string"),
    "id empty": ({"nodes": [node("")]}, "nodes[0].id", "a node id must be 1 to 64 letters, digits, '_' or '-'"),
    "id with a space": ({"nodes": [node("a b")]}, "nodes[0].id", "a node id must be 1 to 64 letters"),
    "id with a dot": ({"nodes": [node("a.b")]}, "nodes[0].id", "a node id must be 1 to 64 letters"),
    "id too long": ({"nodes": [node("x" * 65)]}, "nodes[0].id", "a node id must be 1 to 64 letters"),
    "duplicate id": (
        {"nodes": [node("a"), node("b"), node("a")]},
        "nodes[2].id",
        "duplicate node id 'a'; first used by nodes[0]",
    ),
    "type missing": ({"nodes": [{"id": "a"}]}, "nodes[0].type", "'type' is required"),
    "type not a string": ({"nodes": [node("a", 3)]}, "nodes[0].type", "must be a string"),
    "unknown type": (
        {"nodes": [node("a", "htp_request")]},
        "nodes[0].type",
        f"unknown node type 'htp_request' (did you mean 'http_request'?); known types: {KNOWN_TYPES}",
    ),
    "unknown type, nothing close": (
        {"nodes": [node("a", "zzz")]},
        "nodes[0].type",
        f"unknown node type 'zzz'; known types: {KNOWN_TYPES}",
    ),
    "name too long": ({"nodes": [node("a", name="n" * 201)]}, "nodes[0].name", "must be at most 200 characters"),
    "name not a string": ({"nodes": [node("a", name=1)]}, "nodes[0].name", "must be a string"),
    "params not an object": ({"nodes": [node("a", params=[])]}, "nodes[0].params", "must be an object"),
    "retry not an object": ({"nodes": [node("a", retry=3)]}, "nodes[0].retry", "must be an object"),
    "retry attempts zero": (
        {"nodes": [node("a", retry={"max_attempts": 0})]},
        "nodes[0].retry.max_attempts",
        "must be at least 1",
    ),
    "retry attempts over 100": (
        {"nodes": [node("a", retry={"max_attempts": 101})]},
        "nodes[0].retry.max_attempts",
        "must be at most 100",
    ),
    "retry attempts not an integer": (
        {"nodes": [node("a", retry={"max_attempts": 2.5})]},
        "nodes[0].retry.max_attempts",
        "must be an integer",
    ),
    "retry backoff unknown": (
        {"nodes": [node("a", retry={"backoff": "linear"})]},
        "nodes[0].retry.backoff",
        "must be 'fixed' or 'exponential'",
    ),
    "retry delay negative": (
        {"nodes": [node("a", retry={"delay_s": -1})]},
        "nodes[0].retry.delay_s",
        "must be at least 0",
    ),
    "retry max delay negative": (
        {"nodes": [node("a", retry={"delay_s": 0, "max_delay_s": -1})]},
        "nodes[0].retry.max_delay_s",
        "must be at least 0",
    ),
    "retry max delay below delay": (
        {"nodes": [node("a", retry={"delay_s": 10, "max_delay_s": 5})]},
        "nodes[0].retry.max_delay_s",
        "must be at least delay_s (10",
    ),
    "retry unknown key": (
        {"nodes": [node("a", retry={"jitter": True})]},
        "nodes[0].retry.jitter",
        "unknown field 'jitter'",
    ),
    "timeout zero": ({"nodes": [node("a", timeout_s=0)]}, "nodes[0].timeout_s", "must be greater than 0"),
    "timeout a string": ({"nodes": [node("a", timeout_s="30")]}, "nodes[0].timeout_s", "must be a number"),
    "timeout a boolean": ({"nodes": [node("a", timeout_s=True)]}, "nodes[0].timeout_s", "must be a number"),
    "on_error unknown": (
        {"nodes": [node("a", on_error="ignore")]},
        "nodes[0].on_error",
        "must be 'fail' or 'continue'",
    ),
    "position without y": ({"nodes": [node("a", position={"x": 1})]}, "nodes[0].position.y", "'y' is required"),
    "position x a string": (
        {"nodes": [node("a", position={"x": "1", "y": 2})]},
        "nodes[0].position.x",
        "must be a number",
    ),
    "notes not a string": ({"nodes": [node("a", notes=["x"])]}, "nodes[0].notes", "must be a string"),
    "unknown node key": (
        {"nodes": [node("a", colour="red")]},
        "nodes[0].colour",
        "unknown field 'colour'; allowed: id, type, name, params, retry, timeout_s, on_error, position, notes",
    ),
    "params of the wrong shape for the type": (
        {"nodes": [node("a", "delay", params={})]},
        "nodes[0].params.seconds",
        "'seconds' is required",
    ),
    # edges
    "edge not an object": ({"nodes": [], "edges": [["a", "b"]]}, "edges[0]", "an edge must be an object"),
    "edge source missing": ({"nodes": [node("a")], "edges": [{"target": "a"}]}, "edges[0].source", "is required"),
    "edge target missing": ({"nodes": [node("a")], "edges": [{"source": "a"}]}, "edges[0].target", "is required"),
    "edge source not a string": (
        {"nodes": [node("a")], "edges": [edge(1, "a")]},
        "edges[0].source",
        "must be a string",
    ),
    "edge source unknown": (
        {"nodes": [node("a")], "edges": [edge("ghost", "a")]},
        "edges[0].source",
        "edge source 'ghost' is not a node id",
    ),
    "edge target unknown": (
        {"nodes": [node("a")], "edges": [edge("a", "ghost")]},
        "edges[0].target",
        "edge target 'ghost' is not a node id",
    ),
    "self-loop": (
        {"nodes": [node("a")], "edges": [edge("a", "a")]},
        "edges[0]",
        "edge from 'a' to itself: a node cannot follow itself",
    ),
    "duplicate edge": (
        {"nodes": [node("a"), node("b")], "edges": [edge("a", "b"), edge("a", "b")]},
        "edges[1]",
        "duplicate edge 'a' → 'b'; first at edges[0]",
    ),
    "duplicate edge with a branch": (
        {"nodes": [CONDITION, node("b")], "edges": [edge("check", "b", branch="true")] * 2},
        "edges[1]",
        "duplicate edge 'check' → 'b' (branch 'true'); first at edges[0]",
    ),
    "unknown edge key": (
        {"nodes": [node("a"), node("b")], "edges": [edge("a", "b", label="x")]},
        "edges[0].label",
        "unknown field 'label'; allowed: source, target, branch",
    ),
    "branch out of a noop": (
        {"nodes": [node("a"), node("b")], "edges": [edge("a", "b", branch="true")]},
        "edges[0].branch",
        "only edges out of condition or switch nodes may have a branch; 'a' is of type noop",
    ),
    "branch not an outcome of the condition": (
        {"nodes": [CONDITION, node("b")], "edges": [edge("check", "b", branch="yes")]},
        "edges[0].branch",
        "'yes' is not a branch of condition node 'check'; its branches are 'false', 'true'",
    ),
    "branch not a case of the switch": (
        {"nodes": [SWITCH, node("b")], "edges": [edge("route", "b", branch="c")]},
        "edges[0].branch",
        "'c' is not a branch of switch node 'route'; its branches are 'a', 'b', 'default'",
    ),
    "default branch of a switch without one": (
        {"nodes": [SWITCH_NO_DEFAULT, node("b")], "edges": [edge("route", "b", branch="default")]},
        "edges[0].branch",
        "'default' is not a branch of switch node 'route'; its branches are 'a'",
    ),
    "empty branch": (
        {"nodes": [CONDITION, node("b")], "edges": [edge("check", "b", branch="")]},
        "edges[0].branch",
        "must not be empty",
    ),
    "branch not a string": (
        {"nodes": [CONDITION, node("b")], "edges": [edge("check", "b", branch=True)]},
        "edges[0].branch",
        "must be a string",
    ),
    "two-node cycle": (
        {"nodes": [node("a"), node("b")], "edges": [edge("a", "b"), edge("b", "a")]},
        "edges",
        "cycle: a → b → a",
    ),
    "three-node cycle behind a start": (
        {
            "nodes": [node("s"), node("a"), node("b"), node("c")],
            "edges": [edge("s", "a"), edge("a", "b"), edge("b", "c"), edge("c", "a")],
        },
        "edges",
        "cycle: a → b → c → a",
    ),
    # settings
    "settings timeout zero": ({"nodes": [], "settings": {"timeout_s": 0}}, "settings.timeout_s", "greater than 0"),
    "settings timeout a string": (
        {"nodes": [], "settings": {"timeout_s": "1h"}},
        "settings.timeout_s",
        "must be a number",
    ),
    "settings unknown key": (
        {"nodes": [], "settings": {"retries": 3}},
        "settings.retries",
        "unknown field 'retries'; allowed: timeout_s, input_schema",
    ),
    "input schema not an object": (
        {"nodes": [], "settings": {"input_schema": "object"}},
        "settings.input_schema",
        "must be an object",
    ),
    "input schema invalid": (
        {"nodes": [], "settings": {"input_schema": {"type": "object", "properties": {"n": {"type": 3}}}}},
        "settings.input_schema.properties.n.type",
        "not a valid JSON Schema: 3 is not valid under any of the given schemas",
    ),
    "input schema of an unknown draft": (
        {"nodes": [], "settings": {"input_schema": {"$schema": "https://example.com/mine"}}},
        "settings.input_schema.$schema",
        "unknown JSON Schema version 'https://example.com/mine'",
    ),
    # expression syntax in params (checked without evaluating anything)
    "expression with a misspelt filter": (
        {"nodes": [node("a", "stop_error", params={"message": "{{ input.items | lenght }}"})]},
        "nodes[0].params.message",
        "expression error: unknown filter 'lenght' at position 17",
    ),
    "expression cut short": (
        {"nodes": [node("a", "stop_error", params={"message": "Order {{ input.id + }}"})]},
        "nodes[0].params.message",
        "expression error: expected an expression at position 20",
    ),
    "expression never closed": (
        {"nodes": [node("a", "stop_error", params={"message": "Order {{ input.id"})]},
        "nodes[0].params.message",
        "expression error: '{{' is not closed by '}}' at position 6",
    ),
    "expression deep in a JSON body": (
        {
            "nodes": [
                node(
                    "a",
                    "http_request",
                    params={"method": "POST", "url": "https://x.test", "json": {"items": [1, "{{ input._secret }}"]}},
                )
            ]
        },
        "nodes[0].params.json.items[1]",
        "expression error: names starting with '_' are not allowed: '_secret' at position 9",
    ),
    "whole expression that does not parse, in a typed param": (
        {"nodes": [node("a", "delay", params={"seconds": "{{ input.wait * }}"})]},
        "nodes[0].params.seconds",
        "expression error: expected an expression at position 16",
    ),
    # size caps (LIMITS: 50 nodes, 100 edges, 100,000 bytes)
    "too many nodes": ({"nodes": many(51)}, "nodes", "too many nodes: 51; the limit is 50"),
    "too many edges": (
        {"nodes": many(2), "edges": [edge("n0", "n1")] * 101},
        "edges",
        "too many edges: 101; the limit is 100",
    ),
    "too many bytes": (
        {"nodes": [node("a", notes="x" * 100_000)]},
        "",
        "the definition is too large: 100047 bytes of JSON; the limit is 100000",
    ),
}


@pytest.mark.parametrize(("definition", "location", "message"), BAD.values(), ids=BAD.keys())
def test_a_bad_definition_is_rejected_with_the_problem_located(definition, location, message):
    problems = found(definition)

    assert [where for where, _ in problems] == [location]
    assert message in problems[0][1]


def test_every_problem_is_reported_at_once_in_document_order():
    definition = {
        "nodes": [
            node("a", "http_request", params={"method": "GET", "url": "ftp://x"}),
            node("a b"),
            node("a"),
            node("c", "htp_request"),
        ],
        "edges": [edge("a", "ghost"), edge("a", "a"), edge("a", "c", branch="x")],
        "settings": {"timeout_s": -1},
        "extra": True,
    }

    assert [location for location, _ in found(definition)] == [
        "extra",
        "nodes[0].params.url",
        "nodes[1].id",
        "nodes[2].id",
        "nodes[3].type",
        "edges[0].target",
        "edges[1]",
        "edges[2].branch",
        "settings.timeout_s",
    ]


def test_a_node_with_several_problems_reports_each():
    definition = {"nodes": [{"id": "", "type": "delay", "params": {"seconds": -1}, "retry": {"max_attempts": 0}}]}

    assert [location for location, _ in found(definition)] == [
        "nodes[0].id",
        "nodes[0].retry.max_attempts",
        "nodes[0].params.seconds",
    ]


def test_every_bad_expression_is_reported_after_its_nodes_other_problems():
    definition = {
        "nodes": [
            node("a", "set", params={"values": {"x": "{{ 1 + }}", "y": ["{{ ok }}", "{{ a | nope }}"]}}),
            node("b", "delay", params={"seconds": -1, "extra": "{{ ( }}"}),
        ]
    }

    assert found(definition) == [
        ("nodes[0].params.values.x", "expression error: expected an expression at position 7"),
        ("nodes[0].params.values.y[1]", "expression error: unknown filter 'nope' at position 7"),
        ("nodes[1].params.seconds", "must be at least 0"),
        ("nodes[1].params.extra", "unknown parameter 'extra' of delay; allowed: seconds"),
        ("nodes[1].params.extra", "expression error: expected an expression at position 5"),
    ]


def test_a_cycle_is_reported_once_with_other_problems():
    definition = {"nodes": [node("a"), node("b")], "edges": [edge("a", "b"), edge("b", "a"), edge("b", "ghost")]}

    assert found(definition) == [
        ("edges[2].target", "edge target 'ghost' is not a node id"),
        ("edges", "cycle: a → b → a"),
    ]


def test_edges_are_not_blamed_for_a_malformed_or_duplicate_node_id():
    definition = {"nodes": [node("a b"), node("c"), node("c")], "edges": [edge("a b", "c")]}

    assert [location for location, _ in found(definition)] == ["nodes[0].id", "nodes[2].id"]


def test_edges_are_still_checked_when_the_nodes_are_unreadable():
    definition = {"nodes": "a, b", "edges": [edge("a", "b", colour="red")]}

    assert [location for location, _ in found(definition)] == ["nodes", "edges[0].colour"]


def test_problems_deep_in_a_long_definition_have_their_own_index():
    nodes = many(1000)
    nodes[450]["colour"] = "red"
    nodes[451] = node("n451", "delay", params={"seconds": -1})
    nodes[999]["id"] = "n 999"
    edges = [edge(f"n{i}", f"n{i + 1}") for i in range(998)]
    edges[700]["target"] = "ghost"

    problems = found({"nodes": nodes, "edges": edges}, DefinitionLimits(10_000, 10_000, 10**7))

    assert [location for location, _ in problems] == [
        "nodes[450].colour",
        "nodes[451].params.seconds",
        "nodes[999].id",
        "edges[700].target",
    ]


def test_a_size_cap_stops_the_validation_early():
    definition = {"nodes": [*many(51), "not a node"], "edges": [edge("ghost", "ghost")] * 101, "extra": 1}

    assert found(definition) == [
        ("nodes", "too many nodes: 52; the limit is 50"),
        ("edges", "too many edges: 101; the limit is 100"),
    ]


def test_exactly_at_the_caps_is_accepted():
    definition = {"nodes": many(2), "edges": [edge("n0", "n1")]}
    size = len(
        '{"nodes":[{"id":"n0","type":"noop"},{"id":"n1","type":"noop"}],"edges":[{"source":"n0","target":"n1"}]}'
    )

    assert found(definition, DefinitionLimits(max_nodes=2, max_edges=1, max_bytes=size)) == []
    assert found(definition, DefinitionLimits(max_nodes=2, max_edges=1, max_bytes=size - 1)) == [
        ("", f"the definition is too large: {size} bytes of JSON; the limit is {size - 1}")
    ]


def test_bytes_are_counted_as_utf8():
    definition = {"nodes": [node("a", notes="é")]}
    size = len('{"nodes":[{"id":"a","type":"noop","notes":"é"}]}'.encode())

    assert found(definition, DefinitionLimits(max_nodes=1, max_edges=0, max_bytes=size)) == []
    assert found(definition, DefinitionLimits(max_nodes=1, max_edges=0, max_bytes=size - 1)) != []


def test_limits_default_to_the_settings_read_at_call_time(settings):
    settings.STRUCTFORGE_MAX_NODES = 1

    assert DefinitionLimits.from_settings().max_nodes == 1
    assert [problem.as_dict() for problem in validate_definition({"nodes": many(2)})] == [
        {"location": "nodes", "message": "too many nodes: 2; the limit is 1"}
    ]


def test_a_problem_is_a_plain_value():
    problem = DefinitionProblem(location="edges[0]", message="m")

    assert problem == DefinitionProblem("edges[0]", "m")
    assert problem.as_dict() == {"location": "edges[0]", "message": "m"}


# --- Properties: any DAG is accepted; a back-edge makes a reported, real cycle ---------------------


@st.composite
def dags(draw: st.DrawFn, min_edges: int = 0) -> tuple[list[str], list[tuple[str, str]]]:
    """Node ids in a random list order, and edges that only go from a lower to a higher number."""
    count = draw(st.integers(min_value=2 if min_edges else 1, max_value=25))
    edges: set[tuple[int, int]] = set()
    if count > 1:
        pairs = st.integers(0, count - 2).flatmap(lambda i: st.tuples(st.just(i), st.integers(i + 1, count - 1)))
        edges = draw(st.sets(pairs, min_size=min_edges, max_size=60))
    ids = draw(st.permutations([f"n{i}" for i in range(count)]))
    return ids, [(f"n{a}", f"n{b}") for a, b in sorted(edges)]


def as_definition(ids: list[str], edges: list[tuple[str, str]]) -> dict:
    return {"nodes": [node(i) for i in ids], "edges": [edge(a, b) for a, b in edges]}


@given(dags())
def test_any_dag_is_accepted(dag):
    assert found(as_definition(*dag)) == []


@given(dags(min_edges=1), st.data())
def test_a_back_edge_is_reported_as_a_real_cycle(dag, data):
    ids, edges = dag
    graph = nx.DiGraph(edges)
    ancestor = data.draw(st.sampled_from(sorted(source for source, _ in edges)))
    descendant = data.draw(st.sampled_from(sorted(nx.descendants(graph, ancestor))))
    position = data.draw(st.integers(0, len(edges)))
    with_back_edge = [*edges[:position], (descendant, ancestor), *edges[position:]]

    problems = found(as_definition(ids, with_back_edge))

    assert [location for location, _ in problems] == ["edges"]
    assert problems[0][1].startswith("cycle: ")
    path = problems[0][1].removeprefix("cycle: ").split(" → ")
    assert path[0] == path[-1]
    assert len(set(path)) == len(path) - 1 >= 2
    assert set(pairwise(path)) <= set(with_back_edge)
    assert (descendant, ancestor) in set(pairwise(path))
