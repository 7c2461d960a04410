"""Parameter types shared by the node types, and the wording of their validation errors.

Any parameter may hold a template: a string with `{{ … }}` expressions in it. A `str` parameter
takes embedded expressions anywhere (`"{{ input.base_url }}/orders"`). A typed parameter,
written `Expr[T]`, takes a literal `T` or a string that is exactly one whole expression
(`"{{ input.delay }}"`), whose value replaces it when the node runs. Only the shape is checked
here; evaluating expressions is the engine's job.

A `Params` model is validated twice. When a definition is saved, with `context=TEMPLATES`:
templates are accepted where the rules above allow them. When the node runs, without a
context: the engine has rendered every template, so each value must be a literal of its type;
a string that merely looks like `{{ … }}` (it came from data) is a string like any other.
Failing closed this way, a caller that forgets the context gets errors rather than unchecked
values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import AfterValidator, ValidationError, ValidationInfo, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import ErrorDetails, PydanticCustomError

from workflows.expressions import ExpressionError, is_whole_template

# The validation context of a definition being saved: parameters may still hold templates.
TEMPLATES: dict[str, bool] = {"templates": True}

# `{{`, then anything up to the first `}}`. An expression holds no `{{` or `}}` of its own.
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# Whitespace around the one expression is allowed: "  {{ x }}\n" is still a whole expression.
_WHOLE_EXPRESSION = re.compile(r"\s*\{\{((?:(?!\{\{|\}\}).)*)\}\}\s*", re.DOTALL)


def templates_allowed(info: ValidationInfo) -> bool:
    """True while validating a definition being saved (`context=TEMPLATES`), not rendered params."""
    return isinstance(info.context, dict) and info.context.get("templates") is True


def is_whole_expression(value: str) -> bool:
    """True when `value` is one `{{ … }}` expression and nothing else (surrounding blanks aside)."""
    try:
        # The parser knows where an expression ends: `{{ {"a": {"b": 1}} }}` is one expression.
        return is_whole_template(value)
    except ExpressionError:
        # Its syntax error is reported on its own (definition.py); judging the shape by the braces
        # alone keeps the field from also being blamed for not being an expression.
        match = _WHOLE_EXPRESSION.fullmatch(value)
        return match is not None and bool(match.group(1).strip())


def has_expression(value: str) -> bool:
    """True when `value` contains at least one non-empty `{{ … }}` expression."""
    return any(match.group(1).strip() for match in _EXPRESSION.finditer(value))


def _literal_or_expression(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    if not templates_allowed(info):
        return handler(value)
    if isinstance(value, str) and is_whole_expression(value):
        return value
    try:
        return handler(value)
    except ValidationError as exc:
        # A string that is not a whole expression gets one message naming both accepted shapes,
        # instead of a bare "must be a number" that hides the expression option.
        first = exc.errors()[0]
        if not isinstance(value, str) or first["loc"]:
            raise
        expected = error_message(first).removeprefix("must be ")
        raise PydanticCustomError(
            "literal_or_expression", "must be {expected}, or a single {{ … }} expression", {"expected": expected}
        ) from None


T = TypeVar("T")

if TYPE_CHECKING:
    # To a type checker the validated value is the literal or the expression's text.
    Expr = T | str
else:
    Expr = Annotated[T, WrapValidator(_literal_or_expression)]


def _single_line(value: str) -> str:
    # Header values and email subjects end up in protocol headers, where a line break would
    # let a value inject headers of its own.
    if "\r" in value or "\n" in value:
        raise PydanticCustomError("single_line", "must be a single line (no line breaks)")
    return value


SingleLine = Annotated[str, AfterValidator(_single_line)]


_TYPE_WORDS = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be a list",
    "none_required": "must be null",
}


def _number(bound: Any) -> Any:
    # A float field reports `ge=0` as 0.0; people wrote 0.
    return int(bound) if isinstance(bound, float) and bound.is_integer() else bound


def error_message(error: ErrorDetails) -> str:
    """One pydantic error as a sentence for the person who wrote the definition."""
    kind, ctx, loc = error["type"], error.get("ctx", {}), error["loc"]
    field = loc[-1] if loc and isinstance(loc[-1], str) else None
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    if kind == "missing":
        return f"'{field}' is required" if field else "is required"
    if kind == "extra_forbidden":
        return f"unknown field '{field}'"
    if kind == "literal_error":
        return f"must be {ctx['expected']}"
    if kind == "greater_than":
        return f"must be greater than {_number(ctx['gt'])}"
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx['ge'])}"
    if kind == "less_than":
        return f"must be less than {_number(ctx['lt'])}"
    if kind == "less_than_equal":
        return f"must be at most {_number(ctx['le'])}"
    if kind == "string_too_short":
        return "must not be empty" if ctx["min_length"] == 1 else f"must be at least {ctx['min_length']} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "too_short":
        return "must not be empty" if ctx["min_length"] == 1 else f"must have at least {ctx['min_length']} items"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} items"
    message = error["msg"]
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    # Our own PydanticCustomErrors are already worded "must …"; pydantic's say "Input should be …".
    if message.startswith("Input should be"):
        return "must be" + message.removeprefix("Input should be")
    return message
