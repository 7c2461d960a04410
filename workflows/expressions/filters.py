"""The allow-list of filters: `value | name(args)`, or called as `name(value, args)`.

    length                  characters of a string, items of a list, keys of an object
    lower, upper, trim      of a string
    join(sep="")            a list's items as text (null is "", non-strings JSON), joined
    split(sep)              a string, by `sep`, or by runs of blanks without one
    replace(old, new)       every occurrence, in a string
    default(fallback)       `fallback` when the value is null (a missing key reads as null)
    first, last             of a list or a string; null when it is empty
    keys, values            of an object, in its order
    sum                     of a list of numbers
    min, max                of a list of numbers or of strings; null when it is empty
    round(digits=0)         half away from zero; an integer when digits <= 0
    abs                     of a number
    int, float              of a number, a boolean or a numeric string; int truncates
    string                  the value as text, as in interpolation
    bool                    "true"/"yes"/"on"/"1" and "false"/"no"/"off"/"0"/"" for strings,
                            truthiness for anything else
    json, from_json         compact JSON text of a value; the value of JSON text
    sort                    a list of numbers or of strings, ascending
    unique                  a list without repeats (JSON equality), first ones kept
    reverse                 a list or a string
    contains(item)          `item in value`
    startswith(s), endswith(s)
    slice(start, end=null)  part of a list or a string, as Python slices (negatives count from the end)

Each filter takes the evaluation context, the value and its arguments, checks their types, and
reserves the size of what it builds before building it. No filter reads a clock, a file, the
network or an attribute of anything.
"""

import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from workflows.expressions.errors import ExpressionError
from workflows.expressions.limits import MAX_ROUND_DIGITS, MAX_SIZE
from workflows.expressions.values import (
    Context,
    Value,
    check_number,
    check_size,
    check_value,
    contains,
    is_number,
    size_unit,
    to_json,
    to_text,
    truthy,
    type_name,
)


@dataclass(frozen=True, slots=True)
class Filter:
    function: Callable[..., Value]
    min_args: int  # not counting the value itself
    max_args: int


# Longer numerals than this cannot convert to an in-range number; refusing them keeps int() cheap.
_MAX_NUMERAL_LENGTH = 40
_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})


def _expect(value: Value, kind: type, what: str) -> Value:
    if type(value) is not kind:
        raise ExpressionError(f"expects {what}, got {type_name(value)}")
    return value


def _string(value: Value) -> str:
    return _expect(value, str, "a string")


def _list(value: Value) -> list[Value]:
    return _expect(value, list, "a list")


def _object(value: Value) -> dict[str, Value]:
    return _expect(value, dict, "an object")


def _number(value: Value) -> int | float:
    if not is_number(value):
        raise ExpressionError(f"expects a number, got {type_name(value)}")
    return value


def _integer(value: Value) -> int:
    return _expect(value, int, "an integer")


def _sequence(value: Value) -> str | list[Value]:
    if type(value) is not str and type(value) is not list:
        raise ExpressionError(f"expects a string or a list, got {type_name(value)}")
    return value


def _sortable(items: list[Value], ctx: Context) -> None:
    """All numbers or all strings, so that order is defined; charged for the comparisons it will take."""
    if all(is_number(item) for item in items):
        cost = len(items)
    elif all(type(item) is str for item in items):
        # A comparison of two strings reads up to their length; each item takes part in about
        # log2(n) of them. Counting lengths stops a sort of a million copies of a long string.
        cost = sum(len(item) for item in items) + len(items)
    else:
        raise ExpressionError("expects a list of numbers or a list of strings")
    ctx.charge(cost * max(1, math.ceil(math.log2(len(items) + 1))))


def length(ctx: Context, value: Value) -> int:
    if type(value) not in (str, list, dict):
        raise ExpressionError(f"expects a string, a list or an object, got {type_name(value)}")
    return len(value)


def lower(ctx: Context, value: Value) -> str:
    return _recase(ctx, _string(value).lower)


def upper(ctx: Context, value: Value) -> str:
    return _recase(ctx, _string(value).upper)


def _recase(ctx: Context, method: Callable[[], str]) -> str:
    # Case mapping can lengthen a string ("ß" → "SS") by a small, fixed factor at most, so
    # checking the result after building it is enough.
    result = method()
    ctx.reserve(len(result), "characters")
    return result


def trim(ctx: Context, value: Value) -> str:
    text = _string(value)
    ctx.charge(len(text))
    return text.strip()


def join(ctx: Context, value: Value, separator: Value = "") -> str:
    items, separator = _list(value), _string(separator)
    parts, size = [], 0
    for index, item in enumerate(items):
        size += len(separator) if index else 0
        part = to_text(item, ctx, limit=MAX_SIZE - size)
        size += len(part)
        check_size(size, "characters")
        parts.append(part)
    ctx.charge(size + len(items))
    return separator.join(parts)


def split(ctx: Context, value: Value, separator: Value = None) -> list[str]:
    text = _string(value)
    ctx.charge(len(text))
    if separator is None:
        # Words are separated by at least one blank, so there are at most about half as many.
        check_size(len(text) // 2 + 1, "items")
        return text.split()
    separator = _string(separator)
    if not separator:
        raise ExpressionError("needs a non-empty separator")
    ctx.reserve(text.count(separator) + 1, "items")
    return text.split(separator)


def replace(ctx: Context, value: Value, old: Value, new: Value) -> str:
    text, old, new = _string(value), _string(old), _string(new)
    ctx.charge(len(text))
    count = text.count(old) if old else len(text) + 1
    ctx.reserve(len(text) + count * (len(new) - len(old)), "characters")
    return text.replace(old, new)


def default(ctx: Context, value: Value, fallback: Value) -> Value:
    # Only null (which is also what a missing key reads as) is replaced: 0, "" and false are values.
    return fallback if value is None else value


def first(ctx: Context, value: Value) -> Value:
    items = _sequence(value)
    return check_value(items[0]) if items else None


def last(ctx: Context, value: Value) -> Value:
    items = _sequence(value)
    return check_value(items[-1]) if items else None


def keys(ctx: Context, value: Value) -> list[str]:
    mapping = _object(value)
    ctx.reserve(len(mapping), "items")
    return list(mapping)


def values(ctx: Context, value: Value) -> list[Value]:
    mapping = _object(value)
    ctx.reserve(len(mapping), "items")
    return list(mapping.values())


def sum_(ctx: Context, value: Value) -> int | float:
    items = _list(value)
    ctx.charge(len(items))
    if not all(is_number(item) for item in items):
        raise ExpressionError("expects a list of numbers")
    return check_number(sum(items))


def min_(ctx: Context, value: Value) -> Value:
    items = _list(value)
    _sortable(items, ctx)
    return min(items) if items else None


def max_(ctx: Context, value: Value) -> Value:
    items = _list(value)
    _sortable(items, ctx)
    return max(items) if items else None


def round_(ctx: Context, value: Value, digits: Value = 0) -> int | float:
    """Half away from zero, on the number as written (2.675 → 2.68), not banker's rounding."""
    number, digits = _number(value), _integer(digits)
    if not -MAX_ROUND_DIGITS <= digits <= MAX_ROUND_DIGITS:
        raise ExpressionError(f"takes between {-MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS} digits, got {digits}")
    exact = Decimal(repr(number))
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -digits:
        exact = exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return check_number(int(exact) if digits <= 0 else float(exact))


def abs_(ctx: Context, value: Value) -> int | float:
    return check_number(abs(_number(value)))


def int_(ctx: Context, value: Value) -> int:
    if type(value) is bool:
        return int(value)
    if type(value) is str:
        value = _parse_number(value, "an integer", ctx)
    number = check_number(_number(value))
    return check_number(int(number))


def float_(ctx: Context, value: Value) -> float:
    if type(value) is bool:
        return float(value)
    if type(value) is str:
        value = _parse_number(value, "a number", ctx)
    return check_number(float(_number(value)))


def _parse_number(text: str, what: str, ctx: Context) -> int | float:
    ctx.charge(len(text))
    stripped = text.strip()
    if len(stripped) <= _MAX_NUMERAL_LENGTH:
        for parse in (int, float):
            with contextlib.suppress(ValueError):
                return parse(stripped)
    raise ExpressionError(f"cannot convert {_excerpt(text)!r} to {what}")


def string(ctx: Context, value: Value) -> str:
    return to_text(value, ctx)


def bool_(ctx: Context, value: Value) -> bool:
    """Strings are read as words ("false", "no", "0" are false); anything else by its truthiness."""
    if type(value) is not str:
        return truthy(value)
    ctx.charge(len(value))
    word = value.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ExpressionError(f"cannot convert {_excerpt(value)!r} to a boolean")


def _excerpt(text: str) -> str:
    return text if len(text) <= 30 else text[:27] + "..."


def json_(ctx: Context, value: Value) -> str:
    return to_json(value, ctx)


def from_json(ctx: Context, value: Value) -> Value:
    text = _string(value)
    ctx.charge(len(text))
    try:
        return json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except json.JSONDecodeError as error:
        raise ExpressionError(f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise ExpressionError("JSON nested too deeply") from None


def _json_int(digits: str) -> int:
    if len(digits) > _MAX_NUMERAL_LENGTH:
        raise ExpressionError("integer out of range in JSON")
    return check_number(int(digits))


def _json_float(digits: str) -> float:
    return check_number(float(digits))


def _json_constant(name: str) -> float:
    raise ExpressionError(f"{name} is not a JSON number")


def sort(ctx: Context, value: Value) -> list[Value]:
    items = _list(value)
    _sortable(items, ctx)
    return sorted(items)


def unique(ctx: Context, value: Value) -> list[Value]:
    """Keeps the first of each group of JSON-equal items, in order."""
    items = _list(value)
    ctx.charge(len(items))
    seen: set[object] = set()
    result = []
    for item in items:
        key = _identity(item, ctx)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def _identity(item: Value, ctx: Context) -> object:
    """A hashable stand-in: JSON-equal values get equal ones, so true and 1 stay apart while 1 and 1.0 meet."""
    kind = type(check_value(item))
    ctx.charge(1)
    if kind is list:
        return ("list", tuple(_identity(member, ctx) for member in item))
    if kind is dict:
        return ("object", frozenset((key, _identity(member, ctx)) for key, member in item.items()))
    if kind is str:
        ctx.charge(len(item))  # hashing reads the whole string
    return ("bool" if kind is bool else "scalar", item)


def reverse(ctx: Context, value: Value) -> str | list[Value]:
    items = _sequence(value)
    ctx.reserve(len(items), size_unit(items))
    return items[::-1]


def contains_(ctx: Context, value: Value, item: Value) -> bool:
    return contains(value, item, ctx)


def startswith(ctx: Context, value: Value, prefix: Value) -> bool:
    text, prefix = _string(value), _string(prefix)
    ctx.charge(len(prefix))
    return text.startswith(prefix)


def endswith(ctx: Context, value: Value, suffix: Value) -> bool:
    text, suffix = _string(value), _string(suffix)
    ctx.charge(len(suffix))
    return text.endswith(suffix)


def slice_(ctx: Context, value: Value, start: Value, end: Value = None) -> str | list[Value]:
    items, start = _sequence(value), _integer(start)
    if end is not None:
        end = _integer(end)
    ctx.reserve(len(range(len(items))[start:end]), size_unit(items))
    return items[start:end]


FILTERS: dict[str, Filter] = {
    "length": Filter(length, 0, 0),
    "lower": Filter(lower, 0, 0),
    "upper": Filter(upper, 0, 0),
    "trim": Filter(trim, 0, 0),
    "join": Filter(join, 0, 1),
    "split": Filter(split, 0, 1),
    "replace": Filter(replace, 2, 2),
    "default": Filter(default, 1, 1),
    "first": Filter(first, 0, 0),
    "last": Filter(last, 0, 0),
    "keys": Filter(keys, 0, 0),
    "values": Filter(values, 0, 0),
    "sum": Filter(sum_, 0, 0),
    "min": Filter(min_, 0, 0),
    "max": Filter(max_, 0, 0),
    "round": Filter(round_, 0, 1),
    "abs": Filter(abs_, 0, 0),
    "int": Filter(int_, 0, 0),
    "float": Filter(float_, 0, 0),
    "string": Filter(string, 0, 0),
    "bool": Filter(bool_, 0, 0),
    "json": Filter(json_, 0, 0),
    "from_json": Filter(from_json, 0, 0),
    "sort": Filter(sort, 0, 0),
    "unique": Filter(unique, 0, 0),
    "reverse": Filter(reverse, 0, 0),
    "contains": Filter(contains_, 1, 1),
    "startswith": Filter(startswith, 1, 1),
    "endswith": Filter(endswith, 1, 1),
    "slice": Filter(slice_, 1, 2),
}
