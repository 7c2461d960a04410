"""condition: evaluates a yes/no question. Output: `{"result": true|false}`.

Edges leaving it carry `branch` "true" or "false" to say which outcome they follow; an edge
without a branch is followed either way. When the definition is saved, `expression` must be
true, false or one whole `{{ … }}` expression; whatever that expression evaluates to counts by
its truthiness: null, false, 0, "", [] and {} are false, anything else (even "false") is true.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, ValidatorFunctionWrapHandler, WrapValidator

from workflows.nodes.context import NodeContext
from workflows.nodes.params import Expr, templates_allowed
from workflows.nodes.registry import NodeType


def _truthiness_once_rendered(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    if templates_allowed(info):
        return handler(value)
    # The engine has evaluated the expression: its value, of any JSON type, becomes a yes or no.
    return bool(value)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # Usually "{{ … }}"; a literal true/false pins the branch, which helps while building.
    expression: Annotated[Expr[bool], WrapValidator(_truthiness_once_rendered)]


def _branches(params: BaseModel) -> frozenset[str]:
    return frozenset({"true", "false"})


def run(params: Params, ctx: NodeContext) -> dict[str, bool]:
    result = bool(params.expression)
    ctx.log(f"the expression is {'true' if result else 'false'}")
    return {"result": result}


NODE_TYPE = NodeType(
    name="condition",
    params=Params,
    description="Follows the 'true' or the 'false' branch depending on an expression.",
    branches=_branches,
    run=run,
)
