"""Turns expression text into tokens; the parser decides what they mean."""

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from workflows.expressions.errors import ExpressionError
from workflows.expressions.limits import MAX_INT, MAX_SOURCE_LENGTH

TokenKind = Literal["number", "string", "name", "op", "end"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    value: Any  # the number, the decoded string, the name or the operator's text
    pos: int


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Longest first, so that `**`, `//` and `:=` are one token each: `**` and `:=` exist only to be
# refused with a clear message instead of a confusing one about a stray `*` or `:`.
_OPERATOR = re.compile(r"\*\*|//|==|!=|<=|>=|:=|[-+*/%<>()\[\]{},:.|=]")
_STRING = {'"': re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL), "'": re.compile(r"'((?:[^'\\]|\\.)*)'", re.DOTALL)}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "/": "/"}
# Longer integer literals cannot be below MAX_INT; refusing them early keeps int() cheap.
_MAX_INT_DIGITS = 19


def tokenize(text: str, start: int = 0, *, in_template: bool = False) -> list[Token]:
    """Tokens from `start` to the end of `text`, or, inside a template, to the closing `}}`.

    Inside a template a `}}` closes the expression only outside `{ … }` object literals, so
    `{{ {"a": {"b": 1}} }}` works; a `}}` inside a string literal is just text.
    """
    tokens: list[Token] = []
    pos, depth, length = start, 0, len(text)
    while True:
        if pos - start > MAX_SOURCE_LENGTH:
            raise ExpressionError(f"expression is longer than {MAX_SOURCE_LENGTH:,} characters", start)
        if (space := _SPACE.match(text, pos)) is not None:
            pos = space.end()
        if pos >= length:
            if in_template:
                raise ExpressionError("'{{' is not closed by '}}'", start - 2)
            tokens.append(Token("end", None, pos))
            return tokens
        if in_template and depth == 0 and text.startswith("}}", pos):
            tokens.append(Token("end", None, pos))
            return tokens
        token, pos = _token(text, pos)
        if token.value == "{":
            depth += 1
        elif token.value == "}":
            depth = max(depth - 1, 0)
        tokens.append(token)


def _token(text: str, pos: int) -> tuple[Token, int]:
    """The token at `pos` and the offset just after it."""
    char = text[pos]
    if char in _STRING:
        if (match := _STRING[char].match(text, pos)) is None:
            raise ExpressionError("string is not closed", pos)
        return Token("string", _decode(match.group(1), pos + 1), pos), match.end()
    if (match := _NUMBER.match(text, pos)) is not None:
        return Token("number", _number(match.group(), pos), pos), match.end()
    if (match := _NAME.match(text, pos)) is not None:
        return Token("name", match.group(), pos), match.end()
    if (match := _OPERATOR.match(text, pos)) is not None:
        return Token("op", match.group(), pos), match.end()
    raise ExpressionError(f"unexpected character {char!r}", pos)


def _number(digits: str, pos: int) -> int | float:
    if "." in digits or "e" in digits or "E" in digits:
        value = float(digits)
        if math.isinf(value):
            raise ExpressionError("number out of range", pos)
        return value
    if len(digits) > _MAX_INT_DIGITS or int(digits) >= MAX_INT:
        raise ExpressionError("integer out of range", pos)
    return int(digits)


def _decode(body: str, pos: int) -> str:
    if "\\" not in body:
        return body

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape.startswith("u") and len(escape) == 5:
            return chr(int(escape[1:], 16))
        if escape in _ESCAPES:
            return _ESCAPES[escape]
        raise ExpressionError(f"unknown escape '\\{escape}' in string", pos + match.start())

    return _ESCAPE.sub(replace, body)
