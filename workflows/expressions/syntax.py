"""The expression tree the parser builds and the evaluator compiles.

Runs of operators of one precedence (`a + b - c`, `a < b <= c`, `a and b and c`, `a.b[0].c`,
`x | f | g`) are kept flat rather than nested, so a long but shallow expression never turns
into a deep tree, and evaluating it never recurses deeply.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | float | bool | None
    pos: int


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class ListDisplay:
    items: "tuple[Expr, ...]"
    pos: int


@dataclass(frozen=True, slots=True)
class ObjectDisplay:
    entries: "tuple[tuple[str, Expr], ...]"
    pos: int


@dataclass(frozen=True, slots=True)
class Accessor:
    key: "str | Expr"  # a str for `.name`, an expression for `[…]`
    pos: int


@dataclass(frozen=True, slots=True)
class Access:
    target: "Expr"
    accessors: tuple[Accessor, ...]


@dataclass(frozen=True, slots=True)
class Operation:
    op: str
    operand: "Expr"
    pos: int


@dataclass(frozen=True, slots=True)
class Arithmetic:
    """`first op operand op operand …`, left to right, all of one precedence level."""

    first: "Expr"
    rest: tuple[Operation, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    """`a < b <= c` means `a < b and b <= c`, as in Python."""

    first: "Expr"
    rest: tuple[Operation, ...]


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "and" or "or"
    operands: "tuple[Expr, ...]"


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: "Expr"
    pos: int


@dataclass(frozen=True, slots=True)
class Conditional:
    body: "Expr"
    test: "Expr"
    orelse: "Expr"


@dataclass(frozen=True, slots=True)
class FilterCall:
    name: str
    args: "tuple[Expr, ...]"
    pos: int


@dataclass(frozen=True, slots=True)
class Pipe:
    """`value | f(a) | g`; the call form `f(value, a)` is a pipe with one filter."""

    value: "Expr"
    calls: tuple[FilterCall, ...]


Expr = (
    Literal | Name | ListDisplay | ObjectDisplay | Access | Arithmetic | Comparison | Logic | Unary | Conditional | Pipe
)
