"""What a node type is: its name, its parameter schema and the branch labels its edges may carry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class NodeType:
    name: str
    params: type[BaseModel]
    description: str
    # Only nodes that choose a path (condition, switch) have branches: given the node's validated
    # params, the labels that edges leaving it may carry in `branch`.
    branches: Callable[[BaseModel], frozenset[str]] | None = None
