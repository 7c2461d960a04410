"""send_email: sends one email through Django's email backend. Output: `{"sent": n}`.

`to` is one address or a list of them; an address may be "Name <user@example.com>" or a
template. `subject` and `body` are templates. The sender is DEFAULT_FROM_EMAIL; `n` is the
number of recipients.
"""

import smtplib
from email.utils import getaddresses
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import BadHeaderError, EmailMessage
from django.core.validators import validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from workflows.nodes.context import NodeContext, NodeError
from workflows.nodes.params import SingleLine, has_expression, templates_allowed
from workflows.nodes.registry import NodeType


def _check_address(address: str, info: ValidationInfo) -> str:
    if templates_allowed(info) and has_expression(address):
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


def _one_or_many(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> list[str]:
    # A lone string is checked as one address so that its error points at `to`, not `to[0]`.
    if isinstance(value, str):
        return [_check_address(value, info)]
    return handler(value)


Address = Annotated[str, AfterValidator(_check_address)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    to: Annotated[list[Address], Field(min_length=1), WrapValidator(_one_or_many)]
    subject: Annotated[SingleLine, Field(max_length=998)]
    body: str


def run(params: Params, ctx: NodeContext) -> dict[str, int]:
    message = EmailMessage(
        subject=params.subject, body=params.body, from_email=settings.DEFAULT_FROM_EMAIL, to=params.to
    )
    try:
        sent = message.send()
    except (smtplib.SMTPException, OSError, BadHeaderError) as exc:  # OSError: refused, unreachable, TLS
        raise NodeError(f"could not send the email: {exc}") from exc
    recipients = len(params.to) if sent else 0
    ctx.log(f"sent '{params.subject}' to {recipients} recipient(s)")
    return {"sent": recipients}


NODE_TYPE = NodeType(
    name="send_email",
    params=Params,
    description="Sends an email and outputs how many were sent.",
    run=run,
    blocking=True,
)
