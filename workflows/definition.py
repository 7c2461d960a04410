"""Validation of a workflow definition (the JSON DAG of DESIGN.md section 3), with no database.

`validate_definition` returns every problem it finds, each with a location written like a
path into the JSON: `nodes[2].params.url`, `edges[4].source`, `settings.timeout_s`. A problem
with the whole definition (not an object, too many bytes) has the empty location "". A cycle
is reported once, at `edges`, as "cycle: a → b → a".
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import networkx as nx
from django.conf import settings as django_settings
from jsonschema import SchemaError
from jsonschema.validators import validator_for
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    with_config,
)
from pydantic_core import ErrorDetails, PydanticCustomError
from typing_extensions import NotRequired, TypedDict  # noqa: UP035 -- pydantic needs typing_extensions.TypedDict before 3.12

from workflows.expressions import find_errors
from workflows.nodes import NODE_TYPES
from workflows.nodes.params import TEMPLATES, error_message
from workflows.nodes.registry import NodeType

TOP_LEVEL_KEYS = ("nodes", "edges", "settings")
_NODE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class DefinitionProblem:
    location: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


@dataclass(frozen=True)
class DefinitionLimits:
    max_nodes: int
    max_edges: int
    max_bytes: int

    @classmethod
    def from_settings(cls) -> DefinitionLimits:
        return cls(
            max_nodes=django_settings.STRUCTFORGE_MAX_NODES,
            max_edges=django_settings.STRUCTFORGE_MAX_EDGES,
            max_bytes=django_settings.STRUCTFORGE_MAX_DEFINITION_BYTES,
        )


# --- The shape of nodes, edges and settings (a node's params are its type's business) ----------


def _check_node_id(node_id: str) -> str:
    if not _NODE_ID.fullmatch(node_id):
        raise PydanticCustomError("node_id", "a node id must be 1 to 64 letters, digits, '_' or '-'")
    return node_id


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    max_attempts: int = Field(default=3, ge=1, le=100)
    backoff: Literal["fixed", "exponential"] = "exponential"
    delay_s: float = Field(default=1.0, ge=0)
    max_delay_s: float = Field(default=60.0, ge=0)

    @field_validator("max_delay_s")
    @classmethod
    def _not_below_delay(cls, max_delay_s: float, info: ValidationInfo) -> float:
        delay_s = info.data.get("delay_s")
        if delay_s is not None and max_delay_s < delay_s:
            raise PydanticCustomError("max_delay", "must be at least delay_s ({delay_s})", {"delay_s": delay_s})
        return max_delay_s


# The envelopes are TypedDicts, not models: validating a list of 10,000 of them in one call is
# an order of magnitude faster when no instances have to be built.
@with_config(ConfigDict(extra="forbid", strict=True))
class Position(TypedDict):
    x: float
    y: float


@with_config(ConfigDict(extra="forbid", strict=True))
class NodeSpec(TypedDict):
    id: Annotated[str, AfterValidator(_check_node_id)]
    type: str  # whether the type exists is checked apart, to list the known ones
    name: NotRequired[Annotated[str, Field(max_length=200)] | None]
    params: NotRequired[dict[str, Any]]
    retry: NotRequired[RetryPolicy | None]
    timeout_s: NotRequired[Annotated[float, Field(gt=0)] | None]
    on_error: NotRequired[Literal["fail", "continue"]]
    position: NotRequired[Position | None]
    notes: NotRequired[str | None]


@with_config(ConfigDict(extra="forbid", strict=True))
class EdgeSpec(TypedDict):
    source: str
    target: str
    branch: NotRequired[Annotated[str, Field(min_length=1)] | None]


@with_config(ConfigDict(extra="forbid", strict=True))
class SettingsSpec(TypedDict):
    timeout_s: NotRequired[Annotated[float, Field(gt=0)] | None]
    input_schema: NotRequired[dict[str, Any] | None]


_NODES = TypeAdapter(list[NodeSpec])
_EDGES = TypeAdapter(list[EdgeSpec])
_SETTINGS = TypeAdapter(SettingsSpec)
# Lists are validated a chunk at a time, not in one call: pydantic returns a validated copy, and
# 10,000 copies alive at once get promoted through the garbage collector's generations until
# they trigger a full collection, which cost more than the rest of a 10,000-node validation
# (median 170 ms in one call, 50 ms in chunks; see docs/benchmarks.md).
_CHUNK = 200
_PARAMS = {name: TypeAdapter(list[node_type.params]) for name, node_type in NODE_TYPES.items()}


# --- Turning pydantic errors into problems ------------------------------------------------------


def _location(prefix: str, loc: Iterable[int | str]) -> str:
    location = prefix
    for part in loc:
        if part == "[key]":  # an error in a dict key: the key itself is already the last part
            continue
        location += f"[{part}]" if isinstance(part, int) else f".{part}"
    return location


def _keys_of(spec: type) -> tuple[str, ...]:
    if issubclass(spec, BaseModel):
        return tuple(field.alias or name for name, field in spec.model_fields.items())
    return tuple(spec.__annotations__)


def _message(error: ErrorDetails, spec: type, node_type: str | None) -> str:
    """`error_message`, except that an unknown key also lists the allowed ones."""
    if error["type"] != "extra_forbidden" or len(error["loc"]) != 1:
        return error_message(error)
    key, allowed = error["loc"][0], _keys_of(spec)
    if node_type is None:
        return f"unknown field '{key}'; allowed: {', '.join(allowed)}"
    if not allowed:
        return f"unknown parameter '{key}': {node_type} takes no parameters"
    return f"unknown parameter '{key}' of {node_type}; allowed: {', '.join(allowed)}"


# --- The checks ---------------------------------------------------------------------------------

# Problems of nodes and edges are gathered as (index, problem) and sorted by index at the end, so
# that they come in document order although the checks run in passes.
_Found = list[tuple[int, "DefinitionProblem"]]


@dataclass
class _Nodes:
    """What the edge checks need to know of the nodes, kept lean: 10,000 nodes are common."""

    index_of: dict[str, int]  # each id to the first node that has it
    types: dict[int, NodeType]  # nodes of a known type, by index
    branches: dict[int, frozenset[str]]  # the branch labels of branching nodes whose params are valid


def validate_definition(definition: object, *, limits: DefinitionLimits | None = None) -> list[DefinitionProblem]:
    """Every problem in `definition`, in document order; an empty list means it is valid.

    Without `limits`, the size caps come from settings. When a cap is exceeded only that is
    reported: the rest is not examined.
    """
    if not isinstance(definition, dict):
        return [DefinitionProblem("", "a definition must be a JSON object with 'nodes', 'edges' and 'settings'")]
    oversize = _size_problems(definition, limits or DefinitionLimits.from_settings())
    if oversize:
        return oversize

    problems = [
        DefinitionProblem(str(key), f"unknown top-level key '{key}'; allowed: {', '.join(TOP_LEVEL_KEYS)}")
        for key in definition
        if key not in TOP_LEVEL_KEYS
    ]
    nodes = _list_at(definition, "nodes", problems, required=True)
    edges = _list_at(definition, "edges", problems, required=False)
    known = None
    if nodes is not None:
        found: _Found = []
        known = _check_nodes(nodes, found)
        problems.extend(problem for _, problem in sorted(found, key=lambda item: item[0]))
    if edges is not None:
        found = []
        graph_edges = _check_edges(edges, known, found)
        problems.extend(problem for _, problem in sorted(found, key=lambda item: item[0]))
        _check_acyclic(graph_edges, problems)
    if "settings" in definition:
        _check_settings(definition["settings"], problems)
    return problems


def _size_problems(definition: dict, limits: DefinitionLimits) -> list[DefinitionProblem]:
    problems = []
    for key, limit in (("nodes", limits.max_nodes), ("edges", limits.max_edges)):
        items = definition.get(key)
        if isinstance(items, list) and len(items) > limit:
            problems.append(DefinitionProblem(key, f"too many {key}: {len(items)}; the limit is {limit}"))
    if problems:
        return problems
    try:
        size = len(json.dumps(definition, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError, RecursionError) as exc:
        return [DefinitionProblem("", f"a definition must be plain JSON: {exc}")]
    if size > limits.max_bytes:
        return [
            DefinitionProblem("", f"the definition is too large: {size} bytes of JSON; the limit is {limits.max_bytes}")
        ]
    return []


def _list_at(definition: dict, key: str, problems: list[DefinitionProblem], *, required: bool) -> list | None:
    if key not in definition:
        if required:
            problems.append(DefinitionProblem(key, f"'{key}' is required (a list, possibly empty)"))
            return None
        return []
    value = definition[key]
    if not isinstance(value, list):
        problems.append(DefinitionProblem(key, "must be a list"))
        return None
    return value


def _check_list(adapter: TypeAdapter, spec: type, items: list, prefix: str, found: _Found, not_an_object: str) -> None:
    """Validate `items` against `spec`: a few calls per definition (see _CHUNK), not one per item."""
    for start in range(0, len(items), _CHUNK):
        try:
            adapter.validate_python(items[start : start + _CHUNK])
        except ValidationError as exc:
            for error in exc.errors():
                first, *rest = error["loc"]
                index = start + int(first)  # a list adapter's errors start with the item's index
                location = _location(f"{prefix}[{index}]", rest)
                if not rest and error["type"] == "dict_type":
                    message = not_an_object
                else:
                    message = _message({**error, "loc": tuple(rest)}, spec, None)
                found.append((index, DefinitionProblem(location, message)))


def _check_nodes(nodes: list, found: _Found) -> _Nodes:
    _check_list(_NODES, NodeSpec, nodes, "nodes", found, "a node must be an object with at least 'id' and 'type'")
    known = _Nodes(index_of={}, types={}, branches={})
    # Per type, the indexes of its nodes and their params, validated together below.
    indexes_by_type: dict[str, list[int]] = {}
    params_by_type: dict[str, list[dict]] = {}
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        type_name = node.get("type")
        node_type = NODE_TYPES.get(type_name) if isinstance(type_name, str) else None
        if node_type is not None:
            known.types[index] = node_type
            params = node.get("params", {})
            if isinstance(params, dict):
                indexes_by_type.setdefault(node_type.name, []).append(index)
                params_by_type.setdefault(node_type.name, []).append(params)
        elif isinstance(type_name, str):
            found.append((index, DefinitionProblem(f"nodes[{index}].type", _unknown_type_message(type_name))))
        # Any string id counts, even a malformed one, so that edges naming it are not also
        # reported: the node's id problem is the one to fix.
        node_id = node.get("id")
        if isinstance(node_id, str):
            first = known.index_of.setdefault(node_id, index)
            if first != index:
                message = f"duplicate node id '{node_id}'; first used by nodes[{first}]"
                found.append((index, DefinitionProblem(f"nodes[{index}].id", message)))
    for name, indexes in indexes_by_type.items():
        known.branches.update(_check_params(NODE_TYPES[name], indexes, params_by_type[name], found))
    # After the shape checks, so that a node's own problems come before its expressions' ones.
    for index, node in enumerate(nodes):
        params = node.get("params") if isinstance(node, dict) else None
        if isinstance(params, dict) and params:
            _check_expressions(index, params, found)
    return known


def _check_params(
    node_type: NodeType, indexes: list[int], params_list: list[dict], found: _Found
) -> dict[int, frozenset[str]]:
    """Validate the params of all nodes of one type; return the branch labels of those that are valid."""
    branches: dict[int, frozenset[str]] = {}
    for start in range(0, len(indexes), _CHUNK):
        chunk = slice(start, start + _CHUNK)
        try:
            valid = _PARAMS[node_type.name].validate_python(params_list[chunk], context=TEMPLATES)
        except ValidationError:
            # Something is wrong: go node by node to pin each problem and still know the branches
            # of the valid ones. Only a definition with mistakes pays for this.
            valid = [
                _node_params(node_type, index, params, found)
                for index, params in zip(indexes[chunk], params_list[chunk], strict=True)
            ]
        if node_type.branches is not None:
            for index, params in zip(indexes[chunk], valid, strict=True):
                if params is not None:
                    branches[index] = node_type.branches(params)
    return branches


def _node_params(node_type: NodeType, index: int, params: dict, found: _Found) -> BaseModel | None:
    try:
        return node_type.params.model_validate(params, context=TEMPLATES)
    except ValidationError as exc:
        prefix = f"nodes[{index}].params"
        for error in exc.errors():
            message = _message(error, node_type.params, node_type.name)
            found.append((index, DefinitionProblem(_location(prefix, error["loc"]), message)))
        return None


def _check_expressions(index: int, params: dict, found: _Found) -> None:
    """Report each template in `params` that does not parse; nothing is evaluated."""
    for path, error in find_errors(params):
        # `params` is an object, so each path starts with one of its keys.
        found.append((index, DefinitionProblem(f"nodes[{index}].params.{path}", f"expression error: {error}")))


def _unknown_type_message(type_name: str) -> str:
    message = f"unknown node type '{type_name}'"
    close = difflib.get_close_matches(type_name, NODE_TYPES, n=1)
    if close:
        message += f" (did you mean '{close[0]}'?)"
    return f"{message}; known types: {', '.join(sorted(NODE_TYPES))}"


def _check_edges(edges: list, known: _Nodes | None, found: _Found) -> list[tuple[str, str, str | None]]:
    """Check each edge; return (source, target, branch) of those between existing nodes, without duplicates.

    `known` is None when the nodes could not be read, and then references are not checked.
    """
    _check_list(_EDGES, EdgeSpec, edges, "edges", found, "an edge must be an object with 'source' and 'target'")
    if known is None:
        return []
    first_seen: dict[tuple[str, str, str | None], int] = {}
    for index, edge in enumerate(edges):
        if not isinstance(edge, dict):
            continue
        source, target, branch = edge.get("source"), edge.get("target"), edge.get("branch")
        source_ok = isinstance(source, str) and source in known.index_of
        target_ok = isinstance(target, str) and target in known.index_of
        if isinstance(source, str) and not source_ok:
            found.append(
                (index, DefinitionProblem(f"edges[{index}].source", f"edge source '{source}' is not a node id"))
            )
        if isinstance(target, str) and not target_ok:
            found.append(
                (index, DefinitionProblem(f"edges[{index}].target", f"edge target '{target}' is not a node id"))
            )
        if source_ok and isinstance(branch, str) and branch:
            problem = _branch_problem(index, source, known, branch)
            if problem is not None:
                found.append((index, problem))
        if not (source_ok and target_ok):
            continue
        if source == target:
            message = f"edge from '{source}' to itself: a node cannot follow itself"
            found.append((index, DefinitionProblem(f"edges[{index}]", message)))
            continue
        key = (source, target, branch if isinstance(branch, str) else None)
        first = first_seen.setdefault(key, index)
        if first != index:
            label = f" (branch '{branch}')" if key[2] is not None else ""
            message = f"duplicate edge '{source}' → '{target}'{label}; first at edges[{first}]"
            found.append((index, DefinitionProblem(f"edges[{index}]", message)))
    return list(first_seen)


def _branch_problem(index: int, source: str, known: _Nodes, branch: str) -> DefinitionProblem | None:
    node_index = known.index_of[source]
    node_type = known.types.get(node_index)
    if node_type is None:
        return None  # its unknown type is already reported
    location = f"edges[{index}].branch"
    if node_type.branches is None:
        branching = sorted(name for name, candidate in NODE_TYPES.items() if candidate.branches is not None)
        message = f"only edges out of {' or '.join(branching)} nodes may have a branch; "
        message += f"'{source}' is of type {node_type.name}"
        return DefinitionProblem(location, message)
    labels = known.branches.get(node_index)  # None when the node's params are invalid
    if labels is not None and branch not in labels:
        expected = ", ".join(f"'{label}'" for label in sorted(labels))
        message = f"'{branch}' is not a branch of {node_type.name} node '{source}'; its branches are {expected}"
        return DefinitionProblem(location, message)
    return None


def _check_acyclic(edges: list[tuple[str, str, str | None]], problems: list[DefinitionProblem]) -> None:
    # Kahn's algorithm on plain dicts decides "acyclic?" about five times faster than building a
    # networkx graph (10 ms against 50 ms for 20,000 edges), so networkx is only asked to find
    # the cycle in a graph that has one.
    successors: dict[str, list[str]] = {}
    in_degree: dict[str, int] = {}
    # Two edges between the same nodes (different branches) count twice on both sides; that is fine.
    for source, target, _ in edges:
        successors.setdefault(source, []).append(target)
        in_degree[target] = in_degree.get(target, 0) + 1
    ready = [node for node in successors if node not in in_degree]
    while ready:
        for target in successors.get(ready.pop(), ()):
            in_degree[target] -= 1
            if not in_degree[target]:
                ready.append(target)
    # What is left is the nodes on a cycle or downstream of one.
    left = {node for node, degree in in_degree.items() if degree}
    if not left:
        return
    graph = nx.DiGraph((source, target) for source, target, _ in edges if source in left and target in left)
    cycle = nx.find_cycle(graph)
    path = [cycle[0][0], *(target for _, target in cycle)]
    problems.append(DefinitionProblem("edges", f"cycle: {' → '.join(path)}"))


def _check_settings(value: object, problems: list[DefinitionProblem]) -> None:
    if not isinstance(value, dict):
        problems.append(DefinitionProblem("settings", "must be an object"))
        return
    try:
        _SETTINGS.validate_python(value)
    except ValidationError as exc:
        problems.extend(
            DefinitionProblem(_location("settings", error["loc"]), _message(error, SettingsSpec, None))
            for error in exc.errors()
        )
    schema = value.get("input_schema")
    if isinstance(schema, dict):
        _check_input_schema(schema, problems)


def _check_input_schema(schema: dict, problems: list[DefinitionProblem]) -> None:
    version = schema.get("$schema")
    if version is None:
        validator = validator_for(schema)
    else:
        # An explicit default makes validator_for answer "unknown" instead of warning and guessing.
        validator = validator_for(schema, default=None) if isinstance(version, str) else None
        if validator is None:
            message = f"unknown JSON Schema version {version!r}"
            problems.append(DefinitionProblem("settings.input_schema.$schema", message))
            return
    try:
        validator.check_schema(schema)
    except SchemaError as exc:
        location = _location("settings.input_schema", exc.absolute_path)
        problems.append(DefinitionProblem(location, f"not a valid JSON Schema: {exc.message}"))
