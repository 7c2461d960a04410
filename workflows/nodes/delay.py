"""delay: waits `seconds` (at most 30 days) before its children run. Output: its input."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from workflows.nodes.params import Expr
from workflows.nodes.registry import NodeType

MAX_DELAY_S = 30 * 24 * 60 * 60


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    seconds: Expr[Annotated[float, Field(ge=0, le=MAX_DELAY_S)]]


NODE_TYPE = NodeType(name="delay", params=Params, description="Waits a number of seconds, then passes its input on.")
