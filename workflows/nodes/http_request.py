"""http_request: sends one HTTP request. Output: `{"status", "headers", "body"}`, the body parsed when it is JSON.

The request body is either `json` (any JSON, templates allowed inside) or `body` (text), not
both. Private and loopback addresses are refused when the node runs unless
STRUCTFORGE_HTTP_ALLOWED_NETWORKS allows them; the URL is often a template, so that check
cannot happen here.
"""

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from workflows.nodes.params import Expr, SingleLine, has_expression
from workflows.nodes.registry import NodeType

MAX_TIMEOUT_S = 300
# RFC 9110 token characters.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _check_url(url: str) -> str:
    if has_expression(url):
        return url
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a malformed IPv6 host or port
        valid = False
    if not valid or any(char.isspace() for char in url):
        raise PydanticCustomError("url", "must be an http:// or https:// URL, or contain a {{ … }} expression")
    return url


def _check_header_name(name: str) -> str:
    if not _HEADER_NAME.fullmatch(name):
        raise PydanticCustomError(
            "header_name", "header name '{name}' may contain only letters, digits and !#$%&'*+.^_`|~-", {"name": name}
        )
    return name


Url = Annotated[str, Field(max_length=8192), AfterValidator(_check_url)]
HeaderName = Annotated[str, AfterValidator(_check_header_name)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    method: Expr[Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]]
    url: Url
    headers: Expr[dict[HeaderName, SingleLine]] = {}
    query: Expr[dict[str, str]] = {}
    # "json" would shadow BaseModel.json, hence the alias.
    json_: JsonValue = Field(default=None, alias="json")
    body: str | None = None
    timeout_s: Expr[Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)]] = 30.0

    # A field validator rather than a model one, so this is reported along with other problems.
    @field_validator("body")
    @classmethod
    def _not_json_and_body(cls, body: str | None, info: ValidationInfo) -> str | None:
        if body is not None and info.data.get("json_") is not None:
            raise PydanticCustomError("json_and_body", "give either 'json' or 'body', not both")
        return body


NODE_TYPE = NodeType(name="http_request", params=Params, description="Sends an HTTP request and outputs the response.")
