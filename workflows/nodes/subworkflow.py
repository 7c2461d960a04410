"""subworkflow: runs another workflow and waits for it. Output: the sub-execution's output.

`workflow` is that workflow's id; whether the caller may execute it is checked when the node
runs, since validating a definition touches no database. `input` becomes the sub-execution's
input (an object, or one whole expression evaluating to one).

Running one, waiting for it and refusing what the caller may not run is the engine's part
(`NodeContext.run_subworkflow`).
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from workflows.nodes.context import NodeContext
from workflows.nodes.params import Expr
from workflows.nodes.registry import NodeType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    workflow: Expr[Annotated[int, Field(gt=0)]]
    input: Expr[dict[str, JsonValue]] = {}


def run(params: Params, ctx: NodeContext) -> Any:
    ctx.log(f"running workflow {params.workflow}")
    output = ctx.run_subworkflow(workflow_id=params.workflow, input=params.input or {})
    ctx.log(f"workflow {params.workflow} finished")
    return output


NODE_TYPE = NodeType(
    name="subworkflow",
    params=Params,
    description="Runs another workflow and outputs its result.",
    run=run,
    blocking=True,
)
