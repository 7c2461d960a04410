"""switch: picks one of several named cases. Output: `{"case": name}`.

`value` (a literal or template) is evaluated and compared with each of `cases`; edges leaving
the node carry `branch` = a case name, or "default" for "no case matched". `default` (true
unless given) says whether that default branch exists; when it is false and no case matches,
no branch is taken. `cases` and `default` must be literals: they fix the branch labels, which
are checked when the definition is saved.
"""

from typing import Annotated, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import PydanticCustomError

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


NODE_TYPE = NodeType(
    name="switch",
    params=Params,
    description="Follows the branch named after the case that matches a value, or the default branch.",
    branches=_branches,
)
