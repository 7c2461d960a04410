"""set: builds an object. Output: `values` with every expression in it evaluated.

`values` is an object whose values may be templates at any depth, or one whole expression
that evaluates to an object.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from workflows.nodes.context import NodeContext
from workflows.nodes.params import Expr
from workflows.nodes.registry import NodeType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    values: Expr[dict[str, JsonValue]]


def run(params: Params, ctx: NodeContext) -> dict[str, Any]:
    # The engine has already evaluated the expressions in `values`.
    ctx.log(f"set {len(params.values)} value(s)")
    return params.values


NODE_TYPE = NodeType(
    name="set", params=Params, description="Outputs an object built from values and expressions.", run=run
)
