"""merge: waits for all its parents that were not skipped and combines their outputs.

Output: with `mode` "object" (the default) an object keyed by parent node id; with "list"
the parents' outputs as a list. Either way the parents come in the order of the definition's
`nodes`, and a skipped parent is left out.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from workflows.nodes.context import NodeContext
from workflows.nodes.params import Expr
from workflows.nodes.registry import NodeType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    mode: Expr[Literal["object", "list"]] = "object"


def run(params: Params, ctx: NodeContext) -> dict[str, Any] | list[Any]:
    ctx.log(
        f"merged the outputs of {len(ctx.input)} parent(s) into {'a list' if params.mode == 'list' else 'an object'}"
    )
    if params.mode == "list":
        return list(ctx.input.values())
    return ctx.input


NODE_TYPE = NodeType(
    name="merge", params=Params, description="Waits for its parents and combines their outputs.", run=run
)
