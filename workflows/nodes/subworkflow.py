"""subworkflow: runs another workflow and waits for it. Output: the sub-execution's output.

`workflow` is that workflow's id; whether the caller may execute it is checked when the node
runs, since validating a definition touches no database. `input` becomes the sub-execution's
input (an object, or one whole expression evaluating to one).
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from workflows.nodes.params import Expr
from workflows.nodes.registry import NodeType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    workflow: Expr[Annotated[int, Field(gt=0)]]
    input: Expr[dict[str, JsonValue]] = {}


NODE_TYPE = NodeType(name="subworkflow", params=Params, description="Runs another workflow and outputs its result.")
