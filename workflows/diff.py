"""What changed between two workflow definitions (the `workflows/{id}/diff/` answer).

Pure: plain JSON-like data in, plain data out; no database, no validation. Both definitions are
expected to have passed validation, so every node has an `id`.
"""

from collections.abc import Iterator, Mapping
from copy import deepcopy
from typing import Any, TypedDict

# "from" is a keyword, hence the functional form.
Change = TypedDict("Change", {"path": str, "from": Any, "to": Any})


class NodeChange(TypedDict):
    id: str
    changes: list[Change]


class NodesDiff(TypedDict):
    added: list[str]
    removed: list[str]
    changed: list[NodeChange]


class EdgesDiff(TypedDict):
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]


class DefinitionDiff(TypedDict):
    nodes: NodesDiff
    edges: EdgesDiff
    settings: list[Change]


EdgeKey = tuple[Any, Any, Any]

# Marks the side of a key or list index that does not exist, distinct from an explicit null.
_MISSING: Any = object()


def diff_definitions(old: Mapping[str, Any], new: Mapping[str, Any]) -> DefinitionDiff:
    old_nodes = _nodes_by_id(old)
    new_nodes = _nodes_by_id(new)
    old_edges = _edges_by_key(old)
    new_edges = _edges_by_key(new)

    changed: list[NodeChange] = []
    for node_id, node in new_nodes.items():
        if node_id in old_nodes and (changes := list(_leaf_changes(old_nodes[node_id], node, ""))):
            changed.append({"id": node_id, "changes": changes})

    return {
        "nodes": {
            "added": [node_id for node_id in new_nodes if node_id not in old_nodes],
            "removed": [node_id for node_id in old_nodes if node_id not in new_nodes],
            "changed": changed,
        },
        "edges": {
            "added": [dict(edge) for key, edge in new_edges.items() if key not in old_edges],
            "removed": [dict(edge) for key, edge in old_edges.items() if key not in new_edges],
        },
        "settings": list(_leaf_changes(old.get("settings") or {}, new.get("settings") or {}, "")),
    }


def _nodes_by_id(definition: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {node["id"]: node for node in definition.get("nodes") or []}


def _edges_by_key(definition: Mapping[str, Any]) -> dict[EdgeKey, Mapping[str, Any]]:
    # An edge is its endpoints and branch: an absent branch and `"branch": null` are the same edge.
    edges = definition.get("edges") or []
    return {(edge.get("source"), edge.get("target"), edge.get("branch")): edge for edge in edges}


def _leaf_changes(old: Any, new: Any, path: str) -> Iterator[Change]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        keys = [*new, *(key for key in old if key not in new)]
        for key in keys:
            yield from _leaf_changes(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}" if path else key)
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from _leaf_changes(_item(old, index), _item(new, index), f"{path}[{index}]")
    elif not _same(old, new):
        # Also the case of a value changing type (object → string): reported whole, at its path.
        yield {"path": path, "from": _plain(old), "to": _plain(new)}


def _item(items: list[Any], index: int) -> Any:
    return items[index] if index < len(items) else _MISSING


def _same(old: Any, new: Any) -> bool:
    if old is _MISSING or new is _MISSING:
        return False
    # Python says True == 1, JSON does not.
    return isinstance(old, bool) == isinstance(new, bool) and old == new


def _plain(value: Any) -> Any:
    # A copy, so a caller editing the diff cannot reach into the definitions it came from.
    return None if value is _MISSING else deepcopy(value)
