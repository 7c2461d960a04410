"""http_request: sends one HTTP request. Output: `{"status", "headers", "body"}`, the body parsed when it is JSON.

The request body is either `json` (any JSON, templates allowed inside) or `body` (text), not
both. Private and loopback addresses are refused when the node runs unless
STRUCTFORGE_HTTP_ALLOWED_NETWORKS allows them; the URL is often a template, so that check
cannot happen here (see http_client.py).

The output's `body` is the parsed JSON when the Content-Type says JSON (application/json,
text/json or any …+json) and the body parses; otherwise the body as text, decoded with the
Content-Type's charset or UTF-8 (undecodable bytes, and NUL, become U+FFFD). A status of 400
or more fails the node, so its retry policy applies.
"""

import json
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from workflows.nodes import http_client
from workflows.nodes.context import NodeContext, NodeError
from workflows.nodes.params import Expr, SingleLine, has_expression, templates_allowed
from workflows.nodes.registry import NodeType

MAX_TIMEOUT_S = 300
# RFC 9110 token characters.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _check_url(url: str, info: ValidationInfo) -> str:
    if templates_allowed(info) and has_expression(url):
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


# Characters of the response body quoted in the error of a failed status.
ERROR_BODY_CHARS = 500
_JSON_TYPES = ("application/json", "text/json")


def run(params: Params, ctx: NodeContext) -> dict[str, Any]:
    result = http_client.request(
        method=params.method,
        url=params.url,
        headers=params.headers,
        query=params.query,
        json=params.json_,
        body=params.body,
        timeout_s=params.timeout_s,
        allowed_networks=ctx.http_allowed_networks,
        cancelled=ctx.cancelled,
    )
    shown = f"{params.method} {http_client.display_url(params.url)}"
    ctx.log(f"{shown} → {result.status} in {result.elapsed_ms} ms ({len(result.body_bytes):,} bytes)")
    text = _text(result)
    if result.status >= 400:
        raise NodeError(f"HTTP {result.status} from {shown}{_quoted(text)}")
    return {"status": result.status, "headers": result.headers, "body": _parsed(result, text)}


def says_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in _JSON_TYPES or media_type.endswith("+json")


def _text(result: http_client.HttpResult) -> str:
    try:
        text = result.body_bytes.decode(result.charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = result.body_bytes.decode("utf-8", errors="replace")
    # PostgreSQL cannot store NUL in text or jsonb, where the output goes.
    return text.removeprefix("\ufeff").replace("\x00", "\ufffd")


def _parsed(result: http_client.HttpResult, text: str) -> Any:
    if not says_json(result.content_type):
        return text
    try:
        value = json.loads(text, parse_constant=_not_json, parse_float=_finite_float)
    except (ValueError, RecursionError):  # not JSON after all, NaN, too deep, an int of 4,300+ digits
        return text
    return _without_nul(value) if "\\u0000" in text else value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{literal} does not fit a float")
    return value


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return ""
    if len(text) > ERROR_BODY_CHARS:
        text = text[: ERROR_BODY_CHARS - 1] + "…"
    return f": {text}"


NODE_TYPE = NodeType(
    name="http_request",
    params=Params,
    description="Sends an HTTP request and outputs the response.",
    run=run,
    blocking=True,
)
