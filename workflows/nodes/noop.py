"""noop: does nothing. Output: its input, the outputs of its parents keyed by parent node id.

A start or join point, or a placeholder while a workflow is being built.
"""

from pydantic import BaseModel, ConfigDict

from workflows.nodes.registry import NodeType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


NODE_TYPE = NodeType(name="noop", params=Params, description="Does nothing and passes its input on.")
