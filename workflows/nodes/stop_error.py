"""stop_error: fails the execution with `message` (a template). It has no output."""

from typing import Annotated, NoReturn

from pydantic import BaseModel, ConfigDict, Field

from workflows.nodes.context import NodeContext, NodeError
from workflows.nodes.registry import NodeType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    message: Annotated[str, Field(min_length=1, max_length=2000)]


def run(params: Params, ctx: NodeContext) -> NoReturn:
    ctx.log("stopping the execution with an error")
    raise NodeError(params.message)


NODE_TYPE = NodeType(name="stop_error", params=Params, description="Fails the execution with a message.", run=run)
