"""switch: picks one of several named cases. Output: `{"case": name}`.

`value` (a literal or template) is evaluated and compared with each of `cases`; edges leaving
the node carry `branch` = a case name, or "default" for "no case matched". `default` (true
unless given) says whether that default branch exists; when it is false and no case matches,
the node fails. `cases` and `default` must be literals: they fix the branch labels, which
are checked when the definition is saved.

A case matches when its name is exactly the value's text: a string as it is (case and blanks
count), a number or boolean as written in JSON (`2` and `2.0` match "2", `true` matches
"true"). Null, lists and objects match no case.
"""

import json
import math
from typing import Annotated, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import PydanticCustomError

from workflows.nodes.context import NodeContext, NodeError
from workflows.nodes.registry import NodeType

DEFAULT_BRANCH = "default"


def _not_default(name: str) -> str:
    if name == DEFAULT_BRANCH:
        raise PydanticCustomError("reserved_case", "'default' is reserved for the branch taken when no case matches")
    return name


def _unique(cases: list[str]) -> list[str]:
    first_index: dict[str, int] = {}
    for index, name in enumerate(cases):
        if name in first_index:
            raise PydanticCustomError(
                "duplicate_case",
                "case '{name}' is listed twice (cases[{first}] and cases[{index}])",
                {"name": name, "first": first_index[name], "index": index},
            )
        first_index[name] = index
    return cases


CaseName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_not_default)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    value: JsonValue
    cases: Annotated[list[CaseName], Field(min_length=1), AfterValidator(_unique)]
    default: bool = True


def _branches(params: BaseModel) -> frozenset[str]:
    switch = cast(Params, params)
    return frozenset(switch.cases) | ({DEFAULT_BRANCH} if switch.default else frozenset())


def case_text(value: JsonValue) -> str | None:
    """The text a case name must equal to match `value`, or None when nothing can match it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        # 4 / 2 is 2.0 in the expression language, where 2.0 == 2: it should pick case "2".
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def run(params: Params, ctx: NodeContext) -> dict[str, str]:
    text = case_text(params.value)
    if text is not None and text in params.cases:
        case = text
    elif params.default:
        case = DEFAULT_BRANCH
    else:
        cases = ", ".join(f"'{name}'" for name in params.cases)
        raise NodeError(f"no case matched {_shown(params.value)} (cases: {cases}) and the switch has no default branch")
    ctx.log(f"{_shown(params.value)} → case '{case}'")
    return {"case": case}


def _shown(value: JsonValue) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 100 else text[:99] + "…"


NODE_TYPE = NodeType(
    name="switch",
    params=Params,
    description="Follows the branch named after the case that matches a value, or the default branch.",
    branches=_branches,
    run=run,
)
