"""merge: waits for all its parents that were not skipped and combines their outputs.

Output: with `mode` "object" (the default) an object keyed by parent node id; with "list"
the parents' outputs as a list, in the order of the edges into the node.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from workflows.nodes.params import Expr
from workflows.nodes.registry import NodeType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    mode: Expr[Literal["object", "list"]] = "object"


NODE_TYPE = NodeType(name="merge", params=Params, description="Waits for its parents and combines their outputs.")
