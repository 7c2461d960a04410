import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.diff import diff_definitions


def base() -> dict[str, Any]:
    return {
        "nodes": [
            {
                "id": "fetch",
                "type": "http_request",
                "name": "Fetch orders",
                "params": {"method": "GET", "url": "https://a.example/orders", "headers": {"Authorization": "old"}},
                "retry": {"max_attempts": 3},
            },
            {"id": "route", "type": "switch", "params": {"value": "{{ input.kind }}", "cases": ["a", "b"]}},
            {"id": "done", "type": "noop"},
        ],
        "edges": [
            {"source": "fetch", "target": "route"},
            {"source": "route", "target": "done", "branch": "a"},
        ],
        "settings": {"timeout_s": 3600, "input_schema": {"properties": {"x": {"type": "string"}}}},
    }


def edited(edit) -> dict[str, Any]:
    definition = base()
    edit(definition)
    return definition


def node(definition: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in definition["nodes"] if n["id"] == node_id)


def expected(
    *,
    added: list[str] | None = None,
    removed: list[str] | None = None,
    changed: list[dict] | None = None,
    edges_added: list[dict] | None = None,
    edges_removed: list[dict] | None = None,
    settings: list[dict] | None = None,
) -> dict[str, Any]:
    return {
        "nodes": {"added": added or [], "removed": removed or [], "changed": changed or []},
        "edges": {"added": edges_added or [], "removed": edges_removed or []},
        "settings": settings or [],
    }


def change(path: str, old: Any, new: Any) -> dict[str, Any]:
    return {"path": path, "from": old, "to": new}


def remove_node(definition: dict[str, Any], node_id: str) -> None:
    definition["nodes"] = [n for n in definition["nodes"] if n["id"] != node_id]
    definition["edges"] = [e for e in definition["edges"] if node_id not in (e["source"], e["target"])]


CASES = {
    "identical": (base(), base(), expected()),
    "node added": (
        base(),
        edited(lambda d: d["nodes"].append({"id": "log", "type": "noop"})),
        expected(added=["log"]),
    ),
    "node removed with its edge": (
        base(),
        edited(lambda d: remove_node(d, "done")),
        expected(removed=["done"], edges_removed=[{"source": "route", "target": "done", "branch": "a"}]),
    ),
    "name changed": (
        base(),
        edited(lambda d: node(d, "fetch").update(name="Fetch all orders")),
        expected(changed=[{"id": "fetch", "changes": [change("name", "Fetch orders", "Fetch all orders")]}]),
    ),
    "type changed": (
        base(),
        edited(lambda d: node(d, "done").update(type="merge")),
        expected(changed=[{"id": "done", "changes": [change("type", "noop", "merge")]}]),
    ),
    "param changed": (
        base(),
        edited(lambda d: node(d, "fetch")["params"].update(url="https://b.example/orders")),
        expected(
            changed=[
                {
                    "id": "fetch",
                    "changes": [change("params.url", "https://a.example/orders", "https://b.example/orders")],
                }
            ]
        ),
    ),
    "nested param changed": (
        base(),
        edited(lambda d: node(d, "fetch")["params"]["headers"].update(Authorization="new")),
        expected(changed=[{"id": "fetch", "changes": [change("params.headers.Authorization", "old", "new")]}]),
    ),
    "retry changed": (
        base(),
        edited(lambda d: node(d, "fetch")["retry"].update(max_attempts=5)),
        expected(changed=[{"id": "fetch", "changes": [change("retry.max_attempts", 3, 5)]}]),
    ),
    "key added is null before, whole value after": (
        base(),
        edited(lambda d: node(d, "done").update(retry={"max_attempts": 2})),
        expected(changed=[{"id": "done", "changes": [change("retry", None, {"max_attempts": 2})]}]),
    ),
    "key removed is null after": (
        base(),
        edited(lambda d: node(d, "fetch")["params"].pop("headers")),
        expected(changed=[{"id": "fetch", "changes": [change("params.headers", {"Authorization": "old"}, None)]}]),
    ),
    "key set to explicit null": (
        base(),
        edited(lambda d: node(d, "fetch")["params"].update(url=None)),
        expected(changed=[{"id": "fetch", "changes": [change("params.url", "https://a.example/orders", None)]}]),
    ),
    "list item changed": (
        base(),
        edited(lambda d: node(d, "route")["params"]["cases"].__setitem__(1, "c")),
        expected(changed=[{"id": "route", "changes": [change("params.cases[1]", "b", "c")]}]),
    ),
    "list grown reports the new indexes": (
        base(),
        edited(lambda d: node(d, "route")["params"]["cases"].extend(["c", "d"])),
        expected(
            changed=[
                {"id": "route", "changes": [change("params.cases[2]", None, "c"), change("params.cases[3]", None, "d")]}
            ]
        ),
    ),
    "list shrunk and changed reports each index": (
        base(),
        edited(lambda d: node(d, "route")["params"].update(cases=["z"])),
        expected(
            changed=[
                {"id": "route", "changes": [change("params.cases[0]", "a", "z"), change("params.cases[1]", "b", None)]}
            ]
        ),
    ),
    "value changing type is reported whole": (
        base(),
        edited(lambda d: node(d, "fetch")["params"].update(headers="Authorization: new")),
        expected(
            changed=[
                {"id": "fetch", "changes": [change("params.headers", {"Authorization": "old"}, "Authorization: new")]}
            ]
        ),
    ),
    "boolean and number are different": (
        edited(lambda d: node(d, "done").update(params={"flag": 1})),
        edited(lambda d: node(d, "done").update(params={"flag": True})),
        expected(changed=[{"id": "done", "changes": [change("params.flag", 1, True)]}]),
    ),
    "several changes in one node, new keys first then removed ones": (
        base(),
        edited(
            lambda d: (
                node(d, "fetch").update(name="Fetch", timeout_s=10),
                node(d, "fetch").pop("retry"),
            )
        ),
        expected(
            changed=[
                {
                    "id": "fetch",
                    "changes": [
                        change("name", "Fetch orders", "Fetch"),
                        change("timeout_s", None, 10),
                        change("retry", {"max_attempts": 3}, None),
                    ],
                }
            ]
        ),
    ),
    "edge added": (
        base(),
        edited(lambda d: d["edges"].append({"source": "fetch", "target": "done"})),
        expected(edges_added=[{"source": "fetch", "target": "done"}]),
    ),
    "edge removed": (
        base(),
        edited(lambda d: d["edges"].pop(0)),
        expected(edges_removed=[{"source": "fetch", "target": "route"}]),
    ),
    "edge branch changed is one removed and one added": (
        base(),
        edited(lambda d: d["edges"][1].update(branch="b")),
        expected(
            edges_added=[{"source": "route", "target": "done", "branch": "b"}],
            edges_removed=[{"source": "route", "target": "done", "branch": "a"}],
        ),
    ),
    "absent branch and null branch are the same edge": (
        base(),
        edited(lambda d: d["edges"][0].update(branch=None)),
        expected(),
    ),
    "edges reordered are unchanged": (base(), edited(lambda d: d["edges"].reverse()), expected()),
    "setting changed": (
        base(),
        edited(lambda d: d["settings"].update(timeout_s=60)),
        expected(settings=[change("timeout_s", 3600, 60)]),
    ),
    "nested setting changed": (
        base(),
        edited(lambda d: d["settings"]["input_schema"]["properties"]["x"].update(type="integer")),
        expected(settings=[change("input_schema.properties.x.type", "string", "integer")]),
    ),
    "setting added": (
        base(),
        edited(lambda d: d["settings"].update(max_nodes=10)),
        expected(settings=[change("max_nodes", None, 10)]),
    ),
    "missing edges and settings are empty": (
        {"nodes": [{"id": "a", "type": "noop"}]},
        {"nodes": [{"id": "a", "type": "noop"}], "edges": [], "settings": {}},
        expected(),
    ),
    "missing edges and settings against present ones": (
        {"nodes": [{"id": "a", "type": "noop"}, {"id": "b", "type": "noop"}]},
        {
            "nodes": [{"id": "a", "type": "noop"}, {"id": "b", "type": "noop"}],
            "edges": [{"source": "a", "target": "b"}],
            "settings": {"timeout_s": 5},
        },
        expected(edges_added=[{"source": "a", "target": "b"}], settings=[change("timeout_s", None, 5)]),
    ),
    "order: added and changed follow new, removed follow old": (
        {
            "nodes": [
                {"id": "r2", "type": "noop"},
                {"id": "c1", "type": "noop"},
                {"id": "r1", "type": "noop"},
                {"id": "c2", "type": "noop"},
            ],
            "edges": [{"source": "r2", "target": "c1"}, {"source": "r1", "target": "c2"}],
        },
        {
            "nodes": [
                {"id": "a2", "type": "noop"},
                {"id": "c2", "type": "set"},
                {"id": "a1", "type": "noop"},
                {"id": "c1", "type": "set"},
            ],
            "edges": [{"source": "a2", "target": "c2"}, {"source": "a1", "target": "c1"}],
        },
        expected(
            added=["a2", "a1"],
            removed=["r2", "r1"],
            changed=[
                {"id": "c2", "changes": [change("type", "noop", "set")]},
                {"id": "c1", "changes": [change("type", "noop", "set")]},
            ],
            edges_added=[{"source": "a2", "target": "c2"}, {"source": "a1", "target": "c1"}],
            edges_removed=[{"source": "r2", "target": "c1"}, {"source": "r1", "target": "c2"}],
        ),
    ),
}


@pytest.mark.parametrize(("old", "new", "want"), CASES.values(), ids=CASES.keys())
def test_diff_definitions(old, new, want):
    assert diff_definitions(old, new) == want


def test_diff_leaves_its_arguments_untouched_and_shares_nothing_with_them():
    old, new = base(), edited(lambda d: node(d, "fetch")["params"].pop("headers"))
    old_copy, new_copy = copy.deepcopy(old), copy.deepcopy(new)

    diff = diff_definitions(old, new)
    diff["nodes"]["changed"][0]["changes"][0]["from"]["Authorization"] = "mutated"

    assert (old, new) == (old_copy, new_copy)


json_leaves = st.none() | st.booleans() | st.integers(-3, 3) | st.text("ab", max_size=2)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text("xyz", max_size=2), children, max_size=3),
    max_leaves=8,
)


@st.composite
def definitions(draw) -> dict[str, Any]:
    ids = draw(st.lists(st.sampled_from("abcdefg"), unique=True, max_size=5))
    nodes = [
        {"id": node_id, "type": draw(st.sampled_from(["noop", "set"])), "params": draw(json_values)} for node_id in ids
    ]
    edges = (
        draw(
            st.lists(
                st.fixed_dictionaries(
                    {"source": st.sampled_from(ids), "target": st.sampled_from(ids)},
                    optional={"branch": st.sampled_from(["true", "false"])},
                ),
                max_size=4,
            )
        )
        if ids
        else []
    )
    settings = draw(st.dictionaries(st.text("st", min_size=1, max_size=2), json_values, max_size=3))
    return {"nodes": nodes, "edges": edges, "settings": settings}


@given(definitions())
def test_a_definition_has_no_difference_with_itself(definition):
    assert diff_definitions(definition, copy.deepcopy(definition)) == expected()


@given(definitions(), definitions())
def test_swapping_the_arguments_swaps_added_and_removed(a, b):
    forward, backward = diff_definitions(a, b), diff_definitions(b, a)

    assert forward["nodes"]["added"] == backward["nodes"]["removed"]
    assert forward["nodes"]["removed"] == backward["nodes"]["added"]
    assert forward["edges"]["added"] == backward["edges"]["removed"]
    assert forward["edges"]["removed"] == backward["edges"]["added"]
