"""condition: evaluates a yes/no question. Output: `{"result": true|false}`.

Edges leaving it carry `branch` "true" or "false" to say which outcome they follow; an edge
without a branch is followed either way.
"""

from pydantic import BaseModel, ConfigDict

from workflows.nodes.params import Expr
from workflows.nodes.registry import NodeType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # Usually "{{ … }}"; a literal true/false pins the branch, which helps while building.
    expression: Expr[bool]


def _branches(params: BaseModel) -> frozenset[str]:
    return frozenset({"true", "false"})


NODE_TYPE = NodeType(
    name="condition",
    params=Params,
    description="Follows the 'true' or the 'false' branch depending on an expression.",
    branches=_branches,
)
