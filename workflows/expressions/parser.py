"""A Pratt parser from tokens to the expression tree (syntax.py), with every limit checked here.

Binding powers, loosest first (Jinja's order, so `x | length > 10` compares the length):

    a if c else b   10   (right to left)
    or              20
    and             30
    not             40   (prefix)
    == != < <= > >= in, not in   50   (chained as in Python: a < b < c)
    + -             60
    * / // %        70
    unary -         80   (its operand is parsed at 90, so `-x | abs` is `abs(-x)`)
    | filter        90
    .name [index]   100
"""

from workflows.expressions.errors import ExpressionError
from workflows.expressions.filters import FILTERS
from workflows.expressions.lexer import Token, tokenize
from workflows.expressions.limits import MAX_DEPTH, MAX_SOURCE_LENGTH
from workflows.expressions.syntax import (
    Access,
    Accessor,
    Arithmetic,
    Comparison,
    Conditional,
    Expr,
    FilterCall,
    ListDisplay,
    Literal,
    Logic,
    Name,
    ObjectDisplay,
    Operation,
    Pipe,
    Unary,
)

_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_CONDITIONAL_POWER = 10
_LOGIC_POWER = {"or": 20, "and": 30}
_NOT_OPERAND_POWER = 40
_COMPARISON_POWER = 50
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_ARITHMETIC_POWER = {"+": 60, "-": 60, "*": 70, "/": 70, "//": 70, "%": 70}
_UNARY_OPERAND_POWER = 90
_FILTER_POWER = 90
_ACCESS_POWER = 100
_INFIX_WORDS = {"if": _CONDITIONAL_POWER, **_LOGIC_POWER, "in": _COMPARISON_POWER}
_POSTFIX = {"|": _FILTER_POWER, ".": _ACCESS_POWER, "[": _ACCESS_POWER}
# Python words that would start loops, functions, imports or assignments: named in the error so
# that whoever tried them learns the language has none of these, rather than seeing "unexpected".
_UNSUPPORTED_WORDS = frozenset(
    {
        "lambda", "for", "while", "def", "class", "import", "from", "as", "with", "return", "yield",
        "await", "async", "del", "global", "nonlocal", "assert", "raise", "try", "except", "finally",
        "pass", "break", "continue", "elif", "is",
    }
)  # fmt: skip


def parse_expression(source: str) -> Expr:
    """A bare expression: the whole of `source`, without braces."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_SOURCE_LENGTH:,} characters", 0)
    return _Parser(tokenize(source)).parse()


def parse_embedded(text: str, start: int) -> tuple[Expr, int]:
    """The expression after the `{{` that ends just before `start`, and the offset after its `}}`."""
    tokens = tokenize(text, start, in_template=True)
    return _Parser(tokens).parse(), tokens[-1].pos + 2


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def parse(self) -> Expr:
        if self.peek().kind == "end":
            raise ExpressionError("empty expression", self.peek().pos)
        expr = self.expression()
        if self.peek().kind != "end":
            raise self.unexpected(self.peek())
        return expr

    # -- tokens --

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at(self, kind: str, value: object = None, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == kind and (value is None or token.value == value)

    def expect_op(self, op: str) -> Token:
        if not self.at("op", op):
            token = self.peek()
            raise self.unexpected(token, f"expected '{op}'")
        return self.advance()

    def unexpected(self, token: Token, fallback: str | None = None) -> ExpressionError:
        if token.value in ("=", ":="):
            message = "assignment is not supported (use '==' to compare)"
        elif token.value == "**":
            message = "'**' is not supported"
        elif token.kind == "name" and token.value in _UNSUPPORTED_WORDS:
            message = f"'{token.value}' is not supported: expressions have no loops, functions or statements"
        elif fallback is not None:
            message = fallback
        elif token.kind == "end":
            message = "unexpected end of expression"
        else:
            message = f"unexpected {_describe(token)}"
        return ExpressionError(message, token.pos)

    # -- Pratt core --

    def expression(self, right_power: int = 0) -> Expr:
        # Depth counts every sub-expression and every operator that wraps `left` in a new node
        # (`x | first .a | first .a …` nests without recursing here). That bounds the parser's
        # recursion, the tree's depth and so the evaluator's, whatever the shape of the source.
        levels = 1
        self.deeper()
        left = self.prefix()
        while (power := self.infix_power()) > right_power:
            levels += 1
            self.deeper()
            left = self.infix(left, power)
        self.depth -= levels
        return left

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression is nested more than {MAX_DEPTH} levels deep", self.peek().pos)

    def infix_power(self) -> int:
        """How tightly the next token binds as an infix or postfix operator; 0 if it is none."""
        token = self.peek()
        if token.kind == "op":
            if token.value in _COMPARISONS:
                return _COMPARISON_POWER
            return _ARITHMETIC_POWER.get(token.value) or _POSTFIX.get(token.value, 0)
        if token.kind == "name":
            if token.value == "not":
                return _COMPARISON_POWER if self.at("name", "in", ahead=1) else 0
            return _INFIX_WORDS.get(token.value, 0)
        return 0

    def infix(self, left: Expr, power: int) -> Expr:
        op = self.peek().value
        if op in (".", "["):
            return self.access(left)
        if op == "|":
            return self.pipe(left)
        if op == "if":
            return self.conditional(left)
        if op in _LOGIC_POWER:
            return self.logic(left, op, power)
        if power == _COMPARISON_POWER:
            return self.comparison(left)
        return self.arithmetic(left, power)

    # -- prefix forms --

    def prefix(self) -> Expr:
        token = self.advance()
        if token.kind in ("number", "string"):
            return Literal(token.value, token.pos)
        if token.kind == "name":
            return self.name(token)
        if token.value == "-":
            return Unary("-", self.expression(_UNARY_OPERAND_POWER), token.pos)
        if token.value == "(":
            expr = self.expression()
            self.expect_op(")")
            return expr
        if token.value == "[":
            return ListDisplay(tuple(self.sequence("]")), token.pos)
        if token.value == "{":
            return self.object_display(token)
        if token.kind == "end":
            raise ExpressionError("expected an expression", token.pos)
        raise self.unexpected(token)

    def name(self, token: Token) -> Expr:
        name = token.value
        if name in _CONSTANTS:
            return Literal(_CONSTANTS[name], token.pos)
        if name == "not":
            return Unary("not", self.expression(_NOT_OPERAND_POWER), token.pos)
        if name in _UNSUPPORTED_WORDS:
            raise self.unexpected(token)
        if name in ("and", "or", "in", "if", "else"):
            raise ExpressionError(f"unexpected '{name}'", token.pos)
        _check_name(name, token.pos)
        if self.at("op", "("):
            return self.function_call(name, token.pos)
        return Name(name, token.pos)

    def function_call(self, name: str, pos: int) -> Expr:
        if name not in FILTERS:
            raise ExpressionError(f"unknown function '{name}'", pos)
        self.advance()
        args = self.sequence(")")
        if not args:
            raise ExpressionError(f"'{name}' needs a value to work on, as in {name}(x)", pos)
        call = FilterCall(name, tuple(args[1:]), pos)
        _check_arity(call)
        return Pipe(args[0], (call,))

    def sequence(self, closer: str) -> list[Expr]:
        """Comma-separated expressions up to `closer` (a trailing comma is fine)."""
        items: list[Expr] = []
        while not self.at("op", closer):
            items.append(self.expression())
            if self.at("op", ","):
                self.advance()
            elif not self.at("op", closer):
                raise self.unexpected(self.peek(), f"expected ',' or '{closer}'")
        self.advance()
        return items

    def object_display(self, opening: Token) -> Expr:
        entries: list[tuple[str, Expr]] = []
        while not self.at("op", "}"):
            key = self.advance()
            if key.kind != "string":
                raise self.unexpected(key, "object keys must be quoted strings")
            self.expect_op(":")
            entries.append((key.value, self.expression()))
            if self.at("op", ","):
                self.advance()
            elif not self.at("op", "}"):
                raise self.unexpected(self.peek(), "expected ',' or '}'")
        self.advance()
        return ObjectDisplay(tuple(entries), opening.pos)

    # -- infix forms: each takes the whole run of its operators, so the tree stays flat --

    def access(self, target: Expr) -> Expr:
        accessors: list[Accessor] = []
        while self.at("op", ".") or self.at("op", "["):
            token = self.advance()
            if token.value == ".":
                key = self.advance()
                if key.kind != "name":
                    raise self.unexpected(key, "expected a name after '.'")
                _check_name(key.value, key.pos)
                accessors.append(Accessor(key.value, key.pos))
            else:
                accessors.append(Accessor(self.expression(), token.pos))
                self.expect_op("]")
        if self.at("op", "("):
            raise ExpressionError("only filters can be called, as in length(x) or x | length", self.peek().pos)
        return Access(target, tuple(accessors))

    def pipe(self, value: Expr) -> Expr:
        calls: list[FilterCall] = []
        while self.at("op", "|"):
            self.advance()
            token = self.advance()
            if token.kind != "name":
                raise self.unexpected(token, "expected a filter name after '|'")
            if token.value not in FILTERS:
                raise ExpressionError(f"unknown filter '{token.value}'", token.pos)
            args: list[Expr] = []
            if self.at("op", "("):
                self.advance()
                args = self.sequence(")")
            calls.append(FilterCall(token.value, tuple(args), token.pos))
            _check_arity(calls[-1])
        return Pipe(value, tuple(calls))

    def comparison(self, first: Expr) -> Expr:
        rest: list[Operation] = []
        while self.infix_power() == _COMPARISON_POWER:
            token = self.advance()
            op = token.value
            if op == "not":
                self.advance()
                op = "not in"
            rest.append(Operation(op, self.expression(_COMPARISON_POWER), token.pos))
        return Comparison(first, tuple(rest))

    def arithmetic(self, first: Expr, power: int) -> Expr:
        rest: list[Operation] = []
        while (token := self.peek()).kind == "op" and _ARITHMETIC_POWER.get(token.value) == power:
            self.advance()
            rest.append(Operation(token.value, self.expression(power), token.pos))
        return Arithmetic(first, tuple(rest))

    def logic(self, first: Expr, op: str, power: int) -> Expr:
        operands = [first]
        while self.at("name", op):
            self.advance()
            operands.append(self.expression(power))
        return Logic(op, tuple(operands))

    def conditional(self, body: Expr) -> Expr:
        self.advance()
        test = self.expression(_CONDITIONAL_POWER)
        if not self.at("name", "else"):
            raise self.unexpected(self.peek(), "expected 'else'")
        self.advance()
        # One less than its own power: `a if b else c if d else e` nests to the right.
        return Conditional(body, test, self.expression(_CONDITIONAL_POWER - 1))


def _check_name(name: str, pos: int) -> None:
    if name.startswith("_"):
        raise ExpressionError(f"names starting with '_' are not allowed: '{name}'", pos)


def _check_arity(call: FilterCall) -> None:
    spec = FILTERS[call.name]
    count = len(call.args)
    if spec.min_args <= count <= spec.max_args:
        return
    expected = f"{spec.min_args}" if spec.min_args == spec.max_args else f"{spec.min_args} to {spec.max_args}"
    noun = "argument" if expected == "1" else "arguments"
    raise ExpressionError(f"'{call.name}' takes {expected} {noun}, got {count}", call.pos)


def _describe(token: Token) -> str:
    if token.kind == "string":
        return "string"
    if token.kind == "number":
        return f"number {token.value}"
    return f"'{token.value}'"
