"""Compiles an expression tree into nested Python closures, once, so that each evaluation is
only a few function calls: no tree walk, no dispatch on node types at run time.
"""

from collections.abc import Callable
from dataclasses import dataclass

from workflows.expressions.errors import ExpressionError
from workflows.expressions.filters import FILTERS
from workflows.expressions.syntax import (
    Access,
    Arithmetic,
    Comparison,
    Conditional,
    Expr,
    ListDisplay,
    Literal,
    Logic,
    Name,
    ObjectDisplay,
    Pipe,
    Unary,
)
from workflows.expressions.values import (
    Context,
    Value,
    check_number,
    check_value,
    contains,
    equal,
    is_number,
    less,
    lookup,
    size_unit,
    truthy,
    type_name,
)

Run = Callable[[Context], Value]


@dataclass(frozen=True, slots=True)
class Program:
    run: Run
    # Nodes in the tree. With no loops or calls, one evaluation visits each at most once, so
    # this is an exact upper bound on its steps, charged up front.
    size: int

    def __call__(self, ctx: Context) -> Value:
        ctx.charge_steps(self.size)
        return self.run(ctx)


def compile_expression(expr: Expr) -> Program:
    counter = [0]
    return Program(_compile(expr, counter), counter[0])


def _compile(expr: Expr, counter: list[int]) -> Run:
    counter[0] += 1
    match expr:
        case Literal(value=value):
            return lambda ctx: value
        case Name():
            return _name(expr)
        case ListDisplay(items=items):
            runs = [_compile(item, counter) for item in items]
            return lambda ctx: [run(ctx) for run in runs]
        case ObjectDisplay(entries=entries):
            pairs = [(key, _compile(value, counter)) for key, value in entries]
            return lambda ctx: {key: run(ctx) for key, run in pairs}
        case Access():
            return _access(expr, counter)
        case Arithmetic():
            return _arithmetic(expr, counter)
        case Comparison():
            return _comparison(expr, counter)
        case Logic():
            return _logic(expr, counter)
        case Unary():
            return _unary(expr, counter)
        case Conditional():
            return _conditional(expr, counter)
        case Pipe():
            return _pipe(expr, counter)
    raise AssertionError(f"unknown expression node {expr!r}")


def _name(expr: Name) -> Run:
    name, pos = expr.name, expr.pos
    missing = object()

    def run(ctx: Context) -> Value:
        value = ctx.scope.get(name, missing)
        if value is missing:
            raise ExpressionError(f"unknown name '{name}'", pos)
        try:
            return check_value(value)
        except ExpressionError as error:
            raise error.at(pos) from None

    return run


def _access(expr: Access, counter: list[int]) -> Run:
    target = _compile(expr.target, counter)
    counter[0] += len(expr.accessors)
    steps = [
        (accessor.key if isinstance(accessor.key, str) else _compile(accessor.key, counter), accessor.pos)
        for accessor in expr.accessors
    ]

    def run(ctx: Context) -> Value:
        value = target(ctx)
        for key, pos in steps:
            try:
                value = lookup(value, key if type(key) is str else key(ctx))
            except ExpressionError as error:
                raise error.at(pos) from None
        return value

    return run


def _add(left: Value, right: Value, ctx: Context) -> Value:
    if is_number(left) and is_number(right):
        return check_number(left + right)
    if type(left) is type(right) and type(left) in (str, list):
        ctx.reserve(len(left) + len(right), size_unit(left))
        return left + right
    raise _operand_error("+", left, right)


def _multiply(left: Value, right: Value, ctx: Context) -> Value:
    if is_number(left) and is_number(right):
        return check_number(left * right)
    # "-" * 20 repeats, as in Python and Jinja, but the size is reserved before anything is built.
    sequence, count = (left, right) if type(right) is int else (right, left)
    if type(count) is int and type(sequence) in (str, list):
        ctx.reserve(len(sequence) * max(count, 0), size_unit(sequence))
        return sequence * count
    raise _operand_error("*", left, right)


def _numeric(op: str, apply: Callable[[Value, Value], Value]) -> Callable[[Value, Value, Context], Value]:
    def operate(left: Value, right: Value, ctx: Context) -> Value:
        if not (is_number(left) and is_number(right)):
            raise _operand_error(op, left, right)
        if op != "-" and right == 0:
            raise ExpressionError("division by zero")
        return check_number(apply(left, right))

    return operate


def _operand_error(op: str, left: Value, right: Value) -> ExpressionError:
    return ExpressionError(f"cannot apply '{op}' to {type_name(left)} and {type_name(right)}")


_ARITHMETIC = {
    "+": _add,
    "-": _numeric("-", lambda a, b: a - b),
    "*": _multiply,
    "/": _numeric("/", lambda a, b: a / b),
    "//": _numeric("//", lambda a, b: a // b),
    "%": _numeric("%", lambda a, b: a % b),
}


def _arithmetic(expr: Arithmetic, counter: list[int]) -> Run:
    first = _compile(expr.first, counter)
    rest = [(_ARITHMETIC[op.op], _compile(op.operand, counter), op.pos) for op in expr.rest]

    def run(ctx: Context) -> Value:
        value = first(ctx)
        for operate, operand, pos in rest:
            right = operand(ctx)
            try:
                value = operate(value, right, ctx)
            except ExpressionError as error:
                raise error.at(pos) from None
        return value

    return run


_COMPARE = {
    "==": equal,
    "!=": lambda a, b, ctx: not equal(a, b, ctx),
    "<": less,
    "<=": lambda a, b, ctx: not less(b, a, ctx),
    ">": lambda a, b, ctx: less(b, a, ctx),
    ">=": lambda a, b, ctx: not less(a, b, ctx),
    "in": lambda a, b, ctx: contains(b, a, ctx),
    "not in": lambda a, b, ctx: not contains(b, a, ctx),
}


def _comparison(expr: Comparison, counter: list[int]) -> Run:
    first = _compile(expr.first, counter)
    rest = [(_COMPARE[op.op], _compile(op.operand, counter), op.pos) for op in expr.rest]

    def run(ctx: Context) -> bool:
        left = first(ctx)
        for compare, operand, pos in rest:
            right = operand(ctx)
            try:
                if not compare(left, right, ctx):
                    return False
            except ExpressionError as error:
                raise error.at(pos) from None
            left = right
        return True

    return run


def _logic(expr: Logic, counter: list[int]) -> Run:
    # Like Python and Jinja: `and` gives the first falsy operand or the last one, `or` the
    # first truthy operand or the last one, so `input.name or "anonymous"` works.
    operands = [_compile(operand, counter) for operand in expr.operands]
    stop_when = expr.op == "or"

    def run(ctx: Context) -> Value:
        value = None
        for operand in operands:
            value = operand(ctx)
            if truthy(value) is stop_when:
                return value
        return value

    return run


def _unary(expr: Unary, counter: list[int]) -> Run:
    operand, pos = _compile(expr.operand, counter), expr.pos
    if expr.op == "not":
        return lambda ctx: not truthy(operand(ctx))

    def negate(ctx: Context) -> Value:
        value = operand(ctx)
        if not is_number(value):
            raise ExpressionError(f"cannot apply '-' to {type_name(value)}", pos)
        return -value

    return negate


def _conditional(expr: Conditional, counter: list[int]) -> Run:
    body, test, orelse = (_compile(part, counter) for part in (expr.body, expr.test, expr.orelse))
    return lambda ctx: body(ctx) if truthy(test(ctx)) else orelse(ctx)


def _pipe(expr: Pipe, counter: list[int]) -> Run:
    value_run = _compile(expr.value, counter)
    calls = [
        (call.name, FILTERS[call.name].function, [_compile(arg, counter) for arg in call.args], call.pos)
        for call in expr.calls
    ]
    counter[0] += len(calls)

    def run(ctx: Context) -> Value:
        value = value_run(ctx)
        for name, function, arg_runs, pos in calls:
            args = [arg_run(ctx) for arg_run in arg_runs]
            try:
                value = function(ctx, value, *args)
            except ExpressionError as error:
                if error.position is not None:
                    raise
                raise ExpressionError(f"{name}: {error.message}", pos) from None
        return value

    return run
