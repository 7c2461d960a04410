"""The safe expression language of node parameters: `{{ nodes.fetch.output.body | length > 10 }}`.

Expressions are tokenized and parsed by our own code and evaluated over JSON data only. Nothing
ever reaches Python's eval/exec/compile/ast, and no expression can read an attribute of a Python
object: `a.b` is a dict key lookup and nothing else. There are no loops, comprehensions,
lambdas, assignments or powers, so every evaluation ends, within the bounds in limits.py.

The language (Jinja-flavoured):

- Literals: `1`, `2.5`, `'text'` / `"text"` (escapes \\n \\t \\r \\\\ \\' \\" \\/ \\u plus four hex digits),
  `true false null` (also `True False None`), `[1, 2]`, `{"key": value}` (keys are quoted).
- Names: only the roots of the scope handed in (`input`, `nodes`, `secrets`); a name starting
  with `_` is refused when parsing, wherever it appears.
- `a.b` and `a["b"]` read a key of an object; `a[0]`, `a[-1]` index a list or a string.
  A missing key, or an index out of range, is null, so `input.x | default(1)` works; reading
  anything of null, a number or a boolean is an error.
- `+ - * / // %` on numbers; `+` also joins two strings or two lists, and `*` repeats a string
  or a list (`"-" * 20`) with the result's size checked before it is built. `/` always gives a
  float. Integers stay within |n| < 2**63; floats stay finite. Booleans are not numbers.
- `== != < <= > >=` (ordering only between numbers or between strings; chained as in Python),
  `in` / `not in` (substring, list item, object key). Equality is JSON equality: `1 == 1.0`,
  `1 != true`.
- `not`, `and`, `or`: truthiness as in Python; `and` / `or` short-circuit and return one of
  their operands, as in Python and Jinja (`input.name or "anonymous"`); `not` returns a boolean.
- `a if condition else b` (the `else` is required), parentheses.
- Filters, `value | name` or `value | name(args)`, or called as `name(value, args)`: see
  filters.FILTERS. `|` binds tighter than the operators, so `x | length > 10` compares a length.

In a template, `{{ … }}` encloses an expression. A string that is exactly one expression
(blanks around it allowed) renders to the expression's value, type kept; otherwise each
expression is replaced by its value as text: strings as they are, null as "", anything else as
compact JSON. A literal `{{` in text is written `{{ "{{" }}`.
"""

from workflows.expressions.errors import ExpressionError
from workflows.expressions.filters import FILTERS
from workflows.expressions.limits import (
    MAX_DEPTH,
    MAX_INT,
    MAX_SIZE,
    MAX_SOURCE_LENGTH,
    MAX_STEPS,
    MAX_WORK,
)
from workflows.expressions.templates import evaluate, find_errors, is_whole_template, render, render_string

__all__ = [
    "FILTERS",
    "MAX_DEPTH",
    "MAX_INT",
    "MAX_SIZE",
    "MAX_SOURCE_LENGTH",
    "MAX_STEPS",
    "MAX_WORK",
    "ExpressionError",
    "evaluate",
    "find_errors",
    "is_whole_template",
    "render",
    "render_string",
]
