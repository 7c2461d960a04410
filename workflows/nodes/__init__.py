"""The node types, by name: the "node service" a definition is validated against.

Adding a type is adding its module (docstring, `Params`, `run`, `NODE_TYPE`) and one line to
`_TYPE_MODULES`.
"""

from importlib import import_module

from workflows.nodes.registry import NodeType

_TYPE_MODULES = (
    "noop",
    "set_values",
    "condition",
    "switch",
    "merge",
    "http_request",
    "delay",
    "send_email",
    "subworkflow",
    "stop_error",
)


def _load() -> dict[str, NodeType]:
    node_types: dict[str, NodeType] = {}
    for module_name in _TYPE_MODULES:
        node_type = getattr(import_module(f"{__name__}.{module_name}"), "NODE_TYPE", None)
        # Fail at import, not at the first save, when a module breaks the plug-in shape.
        if not isinstance(node_type, NodeType):
            raise TypeError(f"{__name__}.{module_name} must define NODE_TYPE = NodeType(...)")
        if node_type.name in node_types:
            raise ValueError(f"node type {node_type.name!r} is defined twice")
        node_types[node_type.name] = node_type
    return node_types


NODE_TYPES: dict[str, NodeType] = _load()


def get_node_type(name: str) -> NodeType | None:
    return NODE_TYPES.get(name)
