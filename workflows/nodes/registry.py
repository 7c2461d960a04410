"""What a node type is: its name, its parameter schema, how it runs and the branch labels its edges may carry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from workflows.nodes.context import NodeContext


@dataclass(frozen=True)
class NodeType:
    name: str
    params: type[BaseModel]
    description: str
    # Called by the engine with the node's params rendered and validated again (no context, see
    # params.py), so every value is a literal of its type. Returns the node's output (JSON);
    # raises NodeError for an expected failure, Park to wait long without holding a worker.
    run: Callable[[BaseModel, NodeContext], Any]
    # Only nodes that choose a path (condition, switch) have branches: given the node's validated
    # params, the labels that edges leaving it may carry in `branch`.
    branches: Callable[[BaseModel], frozenset[str]] | None = None
    # True for types that wait on I/O or time: the engine runs them in its bounded thread pool,
    # the others inline.
    blocking: bool = False
