"""`{{ params.NAME }}` in a template's definition: finding the references, filling them, and
turning a workflow's `{{ secrets.NAME }}` into parameters.

Pure: plain JSON in, plain JSON out, no database. References are found with the expression
language's own lexer, so `input.params`, a string `"params.x"` or a `}}` inside a string literal
are never mistaken for one.

Filling a reference to parameter NAME (see docs/templates.md):

- a string that is nothing but `{{ params.NAME }}` (blanks around allowed) becomes the value
  itself, type kept: `"{{ params.threshold }}"` → `10`;
- `{{ params.NAME }}` among other text becomes the value as text, as the expression language
  writes values into text: `"Alert: {{ params.service }} is down"`;
- `params.NAME` inside a larger expression becomes the value as a literal:
  `{{ nodes.poll.output.body.depth > params.threshold }}` → `{{ nodes.poll.output.body.depth > (10) }}`;
- a `secret` parameter becomes a reference to the owner's secret, in every one of these places:
  `"Bearer {{ params.token }}"` → `"Bearer {{ secrets.API_TOKEN }}"`.

Every other expression (`input`, `nodes`, `secrets`) is left as it is, for run time. Values are
made inert: a `{{` inside a value never becomes an expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from templates_app.parameters import SecretName
from workflows.expressions import ExpressionError, render_string
from workflows.expressions.lexer import Token, tokenize

PARAMS = "params"
SECRETS = "secrets"
# Where a definition's structure lives: the graph must be known without the parameters.
_STRUCTURAL = re.compile(r"nodes\[\d+\]\.(?:id|type)|edges(?:[.\[].*)?")
_INERT_BRACES = '{{ "{{" }}'


@dataclass(frozen=True)
class Reference:
    name: str
    start: int  # offset of the root name (`params`) in the string
    end: int  # offset just after the reference (`params.NAME` or `params["NAME"]`)


@dataclass(frozen=True)
class Expression:
    start: int  # offset of its `{{`
    end: int  # offset just after its `}}`
    references: tuple[Reference, ...]
    misuses: tuple[int, ...]  # offsets of the root name used other than as `root.NAME`
    bare: bool  # nothing but one reference: `{{ params.url }}`


def expressions_using(text: str, root: str) -> list[Expression]:
    """The `{{ … }}` expressions of `text` that mention `root` as a name, in order.

    A string whose templates do not parse yields the expressions before the error: definition
    validation reports the error itself.
    """
    if "{{" not in text or root not in text:
        return []
    found, pos = [], 0
    while (start := text.find("{{", pos)) != -1:
        try:
            tokens = tokenize(text, start + 2, in_template=True)
        except ExpressionError:
            break
        end = tokens[-1].pos + 2
        references, misuses, consumed = _references(tokens, root)
        if references or misuses:
            bare = len(references) == 1 and not misuses and consumed == len(tokens) - 1
            found.append(Expression(start, end, tuple(references), tuple(misuses), bare))
        pos = end
    return found


def _references(tokens: list[Token], root: str) -> tuple[list[Reference], list[int], int]:
    references, misuses, consumed = [], [], 0
    for index, token in enumerate(tokens):
        if token.kind != "name" or token.value != root:
            continue
        before = tokens[index - 1] if index else None
        if before is not None and before.kind == "op" and before.value in (".", "|"):
            continue  # a key (`input.params`) or a filter's name, not the root
        after = tokens[index + 1 : index + 4]
        if len(after) >= 2 and _is_op(after[0], ".") and after[1].kind == "name":
            references.append(Reference(after[1].value, token.pos, after[1].pos + len(after[1].value)))
            consumed += 3
        elif len(after) == 3 and _is_op(after[0], "[") and after[1].kind == "string" and _is_op(after[2], "]"):
            references.append(Reference(after[1].value, token.pos, after[2].pos + 1))
            consumed += 4
        else:
            misuses.append(token.pos)
    return references, misuses, consumed


def _is_op(token: Token, value: str) -> bool:
    return token.kind == "op" and token.value == value


# --- Walking a definition -----------------------------------------------------------------------


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) for every string value in `value`, paths written as definition problems are."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")


def map_strings(value: Any, function: Callable[[str, str], Any], path: str = "") -> Any:
    """A copy of `value` with each string replaced by `function(path, string)`; keys are kept as they are."""
    if isinstance(value, str):
        return function(path, value)
    if isinstance(value, dict):
        return {key: map_strings(item, function, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [map_strings(item, function, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def is_structural(path: str) -> bool:
    return _STRUCTURAL.fullmatch(path) is not None


def is_whole(text: str, expression: Expression) -> bool:
    return not text[: expression.start].strip() and not text[expression.end :].strip()


# --- Scanning a template ------------------------------------------------------------------------


@dataclass
class Scan:
    """What a template's definition does with parameters and secrets."""

    uses: dict[str, list[str]] = field(default_factory=dict)  # path → parameter names used there
    whole: set[str] = field(default_factory=set)  # paths holding nothing but one placeholder
    misuses: list[tuple[str, str]] = field(default_factory=list)  # (path, root) used other than as root.NAME
    secrets: list[tuple[str, str]] = field(default_factory=list)  # (path, secret name) read directly


def scan(definition: Any) -> Scan:
    result = Scan()
    for path, text in strings(definition):
        for expression in expressions_using(text, PARAMS):
            result.uses.setdefault(path, []).extend(reference.name for reference in expression.references)
            result.misuses.extend((path, PARAMS) for _ in expression.misuses)
            if expression.bare and is_whole(text, expression):
                result.whole.add(path)
        for expression in expressions_using(text, SECRETS):
            result.secrets.extend((path, reference.name) for reference in expression.references)
            result.misuses.extend((path, SECRETS) for _ in expression.misuses)
    return result


# --- Turning secrets into parameters --------------------------------------------------------------


def secrets_to_params(definition: Any) -> tuple[Any, list[str]]:
    """`definition` with every `secrets.NAME` read as `params.NAME`, and the secret names, in order of first use.

    Only names are touched: no secret's value is, or could be, read here. Misused `secrets`
    (not followed by `.NAME`) are left for `scan` to report.
    """
    names: list[str] = []

    def convert(path: str, text: str) -> str:
        expressions = expressions_using(text, SECRETS)
        if not expressions:
            return text
        pieces, last = [], 0
        for expression in expressions:
            for reference in expression.references:
                pieces.append(text[last : reference.start])
                pieces.append(PARAMS)
                last = reference.start + len(SECRETS)
                if reference.name not in names:
                    names.append(reference.name)
        pieces.append(text[last:])
        return "".join(pieces)

    return map_strings(definition, convert), names


# --- Filling placeholders -------------------------------------------------------------------------


def fill(definition: Any, values: dict[str, Any]) -> tuple[Any, dict[str, list[str]]]:
    """`definition` with every parameter reference replaced (see the module docstring), and, by
    path, the parameters each filled string used, so that a problem there can be blamed on them.

    Every referenced name must be in `values` (the template was checked when it was saved).
    """
    used: dict[str, list[str]] = {}

    def replace(path: str, text: str) -> Any:
        expressions = expressions_using(text, PARAMS)
        if not expressions:
            return text
        used[path] = [reference.name for expression in expressions for reference in expression.references]
        first = expressions[0]
        if len(expressions) == 1 and first.bare and is_whole(text, first):
            value = values[first.references[0].name]
            if not isinstance(value, SecretName):
                return inert(value)
        pieces, last = [], 0
        for expression in expressions:
            pieces.append(text[last : expression.start])
            value = values[expression.references[0].name]
            if expression.bare and not isinstance(value, SecretName):
                # Written as the expression language writes a value into text.
                pieces.append(inert_text(render_string("{{ value }}", {"value": value})))
            else:
                pieces.append(_rewritten(text, expression, values))
            last = expression.end
        pieces.append(text[last:])
        return "".join(pieces)

    return map_strings(definition, replace), used


def _rewritten(text: str, expression: Expression, values: dict[str, Any]) -> str:
    pieces, last = [], expression.start
    for reference in expression.references:
        pieces.append(text[last : reference.start])
        pieces.append(_expression_source(values[reference.name]))
        last = reference.end
    pieces.append(text[last : expression.end])
    return "".join(pieces)


def _expression_source(value: Any) -> str:
    if isinstance(value, SecretName):
        return f"{SECRETS}.{value.name}"
    # Parenthesised, so that `-5`, or a literal followed by `.key`, keeps its meaning wherever it lands.
    return f"({literal(value)})"


def literal(value: Any) -> str:
    """`value` written in the expression language (JSON, with the language's string escapes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_escaped(char) for char in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(key))}: {literal(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def _escaped(char: str) -> str:
    if char in ('"', "\\"):
        return "\\" + char
    if ord(char) < 0x20:
        return f"\\u{ord(char):04x}"
    return char


def inert_text(text: str) -> str:
    """`text` that renders to itself: each `{{` written as the expression `{{ "{{" }}`."""
    return text.replace("{{", _INERT_BRACES) if "{{" in text else text


def inert(value: Any) -> Any:
    """`value` with `inert_text` applied to every string in it (keys are never rendered)."""
    if isinstance(value, str):
        return inert_text(value)
    if isinstance(value, list):
        return [inert(item) for item in value]
    if isinstance(value, dict):
        return {key: inert(item) for key, item in value.items()}
    return value
