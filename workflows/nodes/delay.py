"""delay: waits `seconds` (at most 30 days) before its children run. Output: its input.

A short wait (up to STRUCTFORGE_PARK_THRESHOLD_S) sleeps in place; a longer one parks the
run, freeing the worker until the time has come.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from workflows.nodes.context import NodeContext, NodeError, Park
from workflows.nodes.params import Expr
from workflows.nodes.registry import NodeType

MAX_DELAY_S = 30 * 24 * 60 * 60


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    seconds: Expr[Annotated[float, Field(ge=0, le=MAX_DELAY_S)]]


def run(params: Params, ctx: NodeContext) -> dict[str, Any]:
    seconds = float(params.seconds)
    if seconds <= ctx.park_threshold_s:
        ctx.log(f"waiting {seconds:g} s")
        if not ctx.wait(seconds):
            raise NodeError("cancelled")
        return ctx.input
    try:
        ctx.park(seconds=seconds)
    except Park as park:
        ctx.log(f"waiting {seconds:g} s: parked until {park.until.isoformat(timespec='seconds')}")
        raise
    ctx.log(f"resumed after waiting {seconds:g} s")
    return ctx.input


NODE_TYPE = NodeType(
    name="delay",
    params=Params,
    description="Waits a number of seconds, then passes its input on.",
    run=run,
    blocking=True,
)
