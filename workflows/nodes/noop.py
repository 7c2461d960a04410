"""noop: does nothing. Output: its input, the outputs of its parents keyed by parent node id.

A start or join point, or a placeholder while a workflow is being built.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

from workflows.nodes.context import NodeContext
from workflows.nodes.registry import NodeType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def run(params: Params, ctx: NodeContext) -> dict[str, Any]:
    ctx.log(f"passing on the output of {len(ctx.input)} parent(s)")
    return ctx.input


NODE_TYPE = NodeType(name="noop", params=Params, description="Does nothing and passes its input on.", run=run)
