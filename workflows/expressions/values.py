"""JSON values at run time: the evaluation context with its budgets, and the operations on values.

Only exact JSON types (dict, list, str, int, float, bool, None) are ever handled. Subclasses are
refused too: an overridden `__getitem__` or `__eq__` would be code running on our behalf.
"""

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from workflows.expressions.errors import ExpressionError
from workflows.expressions.limits import MAX_INT, MAX_SIZE, MAX_STEPS, MAX_WORK

JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
NUMBER_TYPES = frozenset({int, float})  # bool is deliberately not a number here

# A value of one of the JSON_TYPES. `Any` because the checks happen at run time, on exact types.
Value = Any

_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


class Context:
    """One render() or evaluate() call: the scope, and the work done so far against its budgets."""

    __slots__ = ("scope", "steps", "work")

    def __init__(self, scope: Mapping[str, Value]) -> None:
        self.scope = scope
        self.steps = 0
        self.work = 0

    def charge_steps(self, steps: int) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise ExpressionError(f"evaluation takes more than {MAX_STEPS:,} steps")

    def charge(self, work: int) -> None:
        self.work += work
        if self.work > MAX_WORK:
            raise ExpressionError(f"evaluation touches more than {MAX_WORK:,} characters or items")

    def reserve(self, size: int, unit: str) -> None:
        """Call before building a string or list of `size` characters or items."""
        check_size(size, unit)
        self.charge(size)


def check_size(size: int, unit: str) -> None:
    if size > MAX_SIZE:
        raise ExpressionError(f"result too large: {size:,} {unit} (the limit is {MAX_SIZE:,})")


def size_unit(value: str | list[Value]) -> str:
    return "characters" if type(value) is str else "items"


def type_name(value: Value) -> str:
    return _TYPE_NAMES.get(type(value), "an unsupported value")


def check_value(value: Value) -> Value:
    if type(value) not in JSON_TYPES:
        # Only the type's name: calling repr() on a foreign object would run its code.
        raise ExpressionError(f"unsupported value of type {type(value).__name__!r}")
    return value


def check_number(value: int | float) -> int | float:
    if type(value) is int:
        if not -MAX_INT < value < MAX_INT:
            raise ExpressionError("integer out of range")
    elif not math.isfinite(value):
        raise ExpressionError("number out of range")
    return value


def is_number(value: Value) -> bool:
    return type(value) in NUMBER_TYPES


def equal(left: Value, right: Value, ctx: Context) -> bool:
    """JSON equality: `1 == 1.0`, but `1 != true`, and containers compare item by item."""
    left_type, right_type = type(left), type(right)
    if left_type in NUMBER_TYPES and right_type in NUMBER_TYPES:
        return left == right
    check_value(left)
    check_value(right)
    if left_type is not right_type:
        return False
    if left is right:
        return True
    if left_type is str:
        if len(left) != len(right):
            return False
        ctx.charge(len(left))
        return left == right
    if left_type is list:
        if len(left) != len(right):
            return False
        ctx.charge(len(left))
        return all(equal(a, b, ctx) for a, b in zip(left, right, strict=True))
    if left_type is dict:
        ctx.charge(len(left))
        if left.keys() != right.keys():
            return False
        return all(equal(value, right[key], ctx) for key, value in left.items())
    return left == right


def less(left: Value, right: Value, ctx: Context) -> bool:
    """`<` on two numbers or two strings; anything else has no natural order."""
    if is_number(left) and is_number(right):
        return left < right
    if type(left) is str and type(right) is str:
        ctx.charge(min(len(left), len(right)))
        return left < right
    raise ExpressionError(f"cannot compare {type_name(left)} with {type_name(right)}")


def contains(container: Value, item: Value, ctx: Context) -> bool:
    """`item in container`: a substring, a list item (by JSON equality) or an object key."""
    if type(container) is str:
        if type(item) is not str:
            raise ExpressionError(f"'in' a string needs a string on the left, not {type_name(item)}")
        ctx.charge(len(container))
        return item in container
    if type(container) is list:
        ctx.charge(len(container))
        return any(equal(item, candidate, ctx) for candidate in container)
    if type(container) is dict:
        return type(item) is str and item in container
    raise ExpressionError(f"'in' needs a string, a list or an object on the right, not {type_name(container)}")


def truthy(value: Value) -> bool:
    # Safe to call bool(): only exact JSON types ever get here.
    return bool(value)


def lookup(container: Value, key: Value) -> Value:
    """`container.key` or `container[key]`. A missing key or an index out of range is null."""
    container_type = type(container)
    if container_type is dict and type(key) is str:
        return check_value(container.get(key))
    if (container_type is list or container_type is str) and type(key) is int:
        size = len(container)
        return check_value(container[key]) if -size <= key < size else None
    if type(key) is str:
        raise ExpressionError(f"cannot read {key!r} of {type_name(container)}")
    if container_type is dict:
        raise ExpressionError(f"object keys are strings, not {type_name(key)}")
    if container_type is list or container_type is str:
        raise ExpressionError(f"{type_name(container)} index must be an integer, not {type_name(key)}")
    raise ExpressionError(f"cannot index {type_name(container)}")


def to_text(value: Value, ctx: Context, limit: int = MAX_SIZE) -> str:
    """What a value looks like inside a string: strings as they are, null as "", the rest as JSON."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    return to_json(value, ctx, limit)


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def to_json(value: Value, ctx: Context, limit: int = MAX_SIZE) -> str:
    """Compact JSON text, refused as soon as it grows past `limit` characters.

    A container's text is produced piece by piece because one list can hold the same big value
    many times over (`[x, x, x]`): its text can be far larger than the data in memory.
    """
    try:
        if type(value) in _SCALAR_TYPES:
            # A scalar grows at most sixfold as JSON, so the fast encoder is safe once it fits.
            if type(value) is str and len(value) > limit:
                raise _too_long()
            chunks: Iterable[str] = [_ENCODER.encode(value)]
        else:
            # The pure-Python encoder behind iterencode() yields as it goes: nothing is built yet.
            chunks = _ENCODER.iterencode(value)
        size, pieces = 0, []
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise _too_long()
            pieces.append(chunk)
    except (TypeError, ValueError) as error:
        message = "number out of range" if "range" in str(error) else "value cannot be written as JSON"
        raise ExpressionError(message) from None
    ctx.charge(size)
    return "".join(pieces)


def _too_long() -> ExpressionError:
    return ExpressionError(f"result too large: more than {MAX_SIZE:,} characters")
