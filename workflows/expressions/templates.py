"""Templates (strings with `{{ … }}` in them) and the JSON values that hold them."""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from workflows.expressions.errors import ExpressionError
from workflows.expressions.evaluator import Program, compile_expression
from workflows.expressions.limits import MAX_DEPTH, MAX_SIZE
from workflows.expressions.parser import parse_embedded, parse_expression
from workflows.expressions.values import Context, Value, check_size, check_value, to_text

_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class _Embedded:
    program: Program
    pos: int  # of its "{{"


@dataclass(frozen=True, slots=True)
class _Template:
    parts: tuple[str | _Embedded, ...]
    whole: _Embedded | None  # the only expression, when the rest of the text is blank


def evaluate(source: str, scope: Mapping[str, object]) -> Value:
    """The value of one bare expression (no braces) over `scope`."""
    return _run(_expression(source), Context(scope), 0)


def render_string(text: str, scope: Mapping[str, object]) -> str:
    """`text` with each `{{ … }}` replaced by its value as text: strings as they are, null as "",
    anything else as compact JSON. Unlike render(), a whole-expression string also becomes text."""
    if "{{" not in text:
        return text
    return _interpolate(_template(text), Context(scope))


def render(value: object, scope: Mapping[str, object]) -> Value:
    """`value` with its templates evaluated; a string that is one whole expression keeps its type.

    On failure the ExpressionError's `path` says where in `value` the string was.
    """
    return _render(value, Context(scope), 0)


def is_whole_template(text: str) -> bool:
    """True when `text` is exactly one `{{ … }}` expression, blanks around it aside, so that
    render() gives the expression's value with its type kept. Parsed like render() parses it,
    so `{{ {"a": {"b": 1}} }}` is one expression; raises ExpressionError when `text` does not parse.
    """
    return "{{" in text and _template(text).whole is not None


def find_errors(value: object) -> list[tuple[str, ExpressionError]]:
    """(path, error) for each string in `value` whose templates do not parse; nothing is evaluated."""
    return _find_errors(value, 0)


@lru_cache(maxsize=_CACHE_SIZE)
def _expression(source: str) -> Program:
    return compile_expression(parse_expression(source))


@lru_cache(maxsize=_CACHE_SIZE)
def _template(text: str) -> _Template:
    parts: list[str | _Embedded] = []
    pos = 0
    while (start := text.find("{{", pos)) != -1:
        if start > pos:
            parts.append(text[pos:start])
        expr, pos = parse_embedded(text, start + 2)
        parts.append(_Embedded(compile_expression(expr), start))
    if pos < len(text):
        parts.append(text[pos:])
    embedded = [part for part in parts if isinstance(part, _Embedded)]
    is_whole = len(embedded) == 1 and all(isinstance(part, _Embedded) or part.isspace() for part in parts)
    return _Template(tuple(parts), embedded[0] if is_whole else None)


def _run(program: Program, ctx: Context, pos: int) -> Value:
    try:
        return program(ctx)
    except ExpressionError as error:
        raise error.at(pos) from None
    except RecursionError:
        # The expression's own depth is bounded by the parser; only deeply nested data in the
        # scope (compared, or written as JSON) can get here.
        raise ExpressionError("data nested too deeply", pos) from None


def _render_text(text: str, ctx: Context) -> Value:
    if "{{" not in text:
        return text
    template = _template(text)
    if template.whole is not None:
        return _run(template.whole.program, ctx, template.whole.pos)
    return _interpolate(template, ctx)


def _interpolate(template: _Template, ctx: Context) -> str:
    pieces, size = [], 0
    for part in template.parts:
        if isinstance(part, str):
            piece = part
        else:
            value = _run(part.program, ctx, part.pos)
            try:
                piece = to_text(value, ctx, limit=MAX_SIZE - size)
                check_size(size + len(piece), "characters")
            except ExpressionError as error:
                raise error.at(part.pos) from None
        size += len(piece)
        pieces.append(piece)
    ctx.charge(size)
    return "".join(pieces)


def _render(value: object, ctx: Context, depth: int) -> Value:
    if type(value) is str:
        return _render_text(value, ctx)
    if type(value) is dict:
        return {key: _render_child(item, key, ctx, depth) for key, item in value.items()}
    if type(value) is list:
        return [_render_child(item, index, ctx, depth) for index, item in enumerate(value)]
    return check_value(value)


def _render_child(value: object, key: str | int, ctx: Context, depth: int) -> Value:
    try:
        if depth >= MAX_DEPTH:
            raise ExpressionError(f"value nested more than {MAX_DEPTH} levels deep")
        return _render(value, ctx, depth + 1)
    except ExpressionError as error:
        # Built on the way out, so a render that succeeds never formats a path.
        error.path = _prepend(key, error.path)
        raise


def _find_errors(value: object, depth: int) -> list[tuple[str, ExpressionError]]:
    if type(value) is str:
        try:
            if "{{" in value:
                _template(value)
        except ExpressionError as error:
            return [("", error)]
        return []
    if type(value) is dict:
        children = list(value.items())
    elif type(value) is list:
        children = list(enumerate(value))
    else:
        return []
    if children and depth >= MAX_DEPTH:
        return [("", ExpressionError(f"value nested more than {MAX_DEPTH} levels deep"))]
    return [(_prepend(key, path), error) for key, item in children for path, error in _find_errors(item, depth + 1)]


def _prepend(key: str | int, path: str) -> str:
    """`items` + `[2].url` → `items[2].url`; paths read like the JSON they point into."""
    head = f"[{key}]" if type(key) is int else str(key)
    if not path:
        return head
    return head + path if path.startswith("[") else f"{head}.{path}"
