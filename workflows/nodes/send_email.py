"""send_email: sends one email through Django's email backend. Output: `{"sent": n}`.

`to` is one address or a list of them; an address may be "Name <user@example.com>" or a
template. `subject` and `body` are templates.
"""

from email.utils import getaddresses
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

from workflows.nodes.params import SingleLine, has_expression
from workflows.nodes.registry import NodeType


def _check_address(address: str) -> str:
    if has_expression(address):
        return address
    parsed = getaddresses([address])
    valid = len(parsed) == 1 and "\n" not in address and "\r" not in address
    if valid:
        try:
            validate_email(parsed[0][1])
        except DjangoValidationError:
            valid = False
    if not valid:
        raise PydanticCustomError("email", "'{address}' is not an email address", {"address": address})
    return address


def _one_or_many(value: Any, handler: ValidatorFunctionWrapHandler) -> list[str]:
    # A lone string is checked as one address so that its error points at `to`, not `to[0]`.
    if isinstance(value, str):
        return [_check_address(value)]
    return handler(value)


Address = Annotated[str, AfterValidator(_check_address)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    to: Annotated[list[Address], Field(min_length=1), WrapValidator(_one_or_many)]
    subject: Annotated[SingleLine, Field(max_length=998)]
    body: str


NODE_TYPE = NodeType(name="send_email", params=Params, description="Sends an email and outputs how many were sent.")
