import contextlib
import pickle
import re
from collections import OrderedDict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import workflows.expressions as expressions_package
from workflows.expressions import (
    MAX_DEPTH,
    MAX_SOURCE_LENGTH,
    ExpressionError,
    evaluate,
    find_errors,
    is_whole_template,
    render,
    render_string,
)
from workflows.expressions import templates as templates_module

BIG = "a" * 100_000
# Equal to BIG but a different object, so comparing them really reads every character.
BIG_COPY = "".join(["a"] * 100_000)

SCOPE = {
    "input": {
        "name": "Ada",
        "count": 3,
        "price": 2.5,
        "flag": True,
        "none": None,
        "empty": "",
        "tags": ["b", "a", "b"],
        "numbers": [3, 1, 2],
        "nested": {"deep": {"x": 1}},
        "csv": "a,b,c",
        "padded": "  hi  ",
        "json_text": '{"a": [1, 2]}',
        "base": "https://example.com",
        "big": BIG,
        "big_copy": BIG_COPY,
    },
    "nodes": {"fetch": {"output": {"status": 200, "body": [{"id": 1}, {"id": 2}, {"id": 3}]}}},
    "secrets": {"TOKEN": "s3cr3t"},
}


def error_of(source: str, scope: dict | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, SCOPE if scope is None else scope)
    return caught.value


def render_error_of(value: object, scope: dict | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        render(value, SCOPE if scope is None else scope)
    return caught.value


VALUES = [
    # arithmetic and precedence
    ("precedence", "1 + 2 * 3", 7),
    ("parentheses", "(1 + 2) * 3", 9),
    ("left-to-right", "10 - 2 - 3", 5),
    ("true division", "7 / 2", 3.5),
    ("floor division", "7 // 2", 3),
    ("floor division rounds down", "-7 // 2", -4),
    ("modulo", "7 % 3", 1),
    ("modulo takes the divisor's sign", "-7 % 3", 2),
    ("float arithmetic", "2.5 * 2", 5.0),
    ("exponent literal", "1.5e3", 1500.0),
    ("unary minus", "-input.count", -3),
    ("double minus", "- -3", 3),
    ("string concatenation", "'ab' + \"cd\"", "abcd"),
    ("list concatenation", "[1] + [2]", [1, 2]),
    ("string repetition", "'-' * 3", "---"),
    ("repetition either side", "2 * 'ab'", "abab"),
    ("list repetition", "[0] * 3", [0, 0, 0]),
    ("negative repetition is empty", "'x' * -1", ""),
    ("largest integer", "9223372036854775807", 2**63 - 1),
    # comparisons
    ("arithmetic before comparison", "1 + 2 == 3", True),
    ("chained comparison", "1 < 2 <= 2", True),
    ("chained comparison fails", "3 > 2 > 2", False),
    ("string order", "'a' < 'b'", True),
    ("int equals float", "1 == 1.0", True),
    ("boolean is not a number", "1 == true", False),
    ("deep equality", '[1, {"a": [2]}] == [1, {"a": [2]}]', True),
    ("deep inequality", '{"a": 1} != {"a": 2}', True),
    ("null equality", "null == None", True),
    # in
    ("in list", "'a' in input.tags", True),
    ("not in list", "'z' not in input.tags", True),
    ("in string", "'da' in input.name", True),
    ("in object keys", "'name' in input", True),
    ("in uses JSON equality", "1 in [true]", False),
    ("in with int and float", "1 in [1.0]", True),
    # boolean logic
    ("not before and", "not true and false", False),
    ("and before or", "true or false and false", True),
    ("not binds looser than comparison", "not 1 == 2", True),
    ("or returns the first truthy operand", "input.none or 'anonymous'", "anonymous"),
    ("and returns the last operand", "input.name and input.count", 3),
    ("and returns the first falsy operand", "input.empty and 1", ""),
    ("not gives a boolean", "not input.tags", False),
    ("short circuit skips errors", "false and 1 / 0", False),
    # conditional
    ("conditional", "'big' if input.count > 2 else 'small'", "big"),
    ("conditional nests to the right", "1 if false else 2 if true else 3", 2),
    ("conditional skips the other branch", "1 if true else 1 / 0", 1),
    # names, members and indexes
    ("dotted path", "input.nested.deep.x", 1),
    ("bracket path", "input['nested'][\"deep\"]['x']", 1),
    ("computed key", "input['na' + 'me']", "Ada"),
    ("list index", "input.tags[0]", "b"),
    ("negative index", "input.tags[-1]", "b"),
    ("index out of range is null", "input.tags[10]", None),
    ("string index", "input.name[0]", "A"),
    ("path into a node output", "nodes.fetch.output.body[1].id", 2),
    ("secret", "secrets.TOKEN", "s3cr3t"),
    ("missing key is null", "input.missing", None),
    ("key named like a dict method is a key", "input.keys", None),
    ("keyword as a key", "input.from", None),
    ("member of a literal", '{"a": 1}.a', 1),
    # literals
    ("python-style constants", "[True, False, None]", [True, False, None]),
    ("list literal", "[1, 'two', null, [3],]", [1, "two", None, [3]]),
    ("object literal", '{"k": [1], \'j\': {"x": null}}', {"k": [1], "j": {"x": None}}),
    ("escaped quote", "'it\\'s'", "it's"),
    ("escaped newline", '"a\\nb"', "a\nb"),
    ("unicode escape", "'\\u00e9'", "é"),
    # filters, one by one
    ("length of list", "input.tags | length", 3),
    ("length as a function", "length(input.name)", 3),
    ("length of object", '{"a": 1} | length', 1),
    ("lower", "input.name | lower", "ada"),
    ("upper", "upper(input.name)", "ADA"),
    ("trim", "input.padded | trim", "hi"),
    ("join", "input.tags | join(',')", "b,a,b"),
    ("join converts items to text", "[1, null, 'x', true, [2]] | join('-')", "1--x-true-[2]"),
    ("join without separator", "[1, 2] | join", "12"),
    ("split", "input.csv | split(',')", ["a", "b", "c"]),
    ("split on blanks", "' a  b ' | split", ["a", "b"]),
    ("replace", "input.csv | replace(',', '; ')", "a; b; c"),
    ("default on null", "null | default(1)", 1),
    ("default keeps falsy values", "0 | default(1)", 0),
    ("default on a missing key", "input.missing | default('d')", "d"),
    ("first", "input.tags | first", "b"),
    ("first of empty is null", "[] | first", None),
    ("last of string", "input.name | last", "a"),
    ("keys", '{"a": 1, "b": 2} | keys', ["a", "b"]),
    ("values", '{"a": 1, "b": 2} | values', [1, 2]),
    ("sum", "input.numbers | sum", 6),
    ("sum of floats", "[1, 2.5] | sum", 3.5),
    ("sum of nothing", "[] | sum", 0),
    ("min", "input.numbers | min", 1),
    ("max", "input.numbers | max", 3),
    ("min of strings", "['b', 'a'] | min", "a"),
    ("max of nothing is null", "[] | max", None),
    ("round half away from zero", "2.5 | round", 3),
    ("round negative", "-2.5 | round", -3),
    ("round to digits as written", "2.675 | round(2)", 2.68),
    ("round to tens", "1234 | round(-2)", 1200),
    ("round an int", "7 | round", 7),
    ("abs applies after unary minus", "-3 | abs", 3),
    ("abs of float", "abs(-2.5)", 2.5),
    ("int of string", "'42' | int", 42),
    ("int of decimal string truncates", "'3.9' | int", 3),
    ("int of float truncates", "-3.9 | int", -3),
    ("int of boolean", "true | int", 1),
    ("float of string", "' 2.5 ' | float", 2.5),
    ("float of int", "2 | float", 2.0),
    ("string of number", "12 | string", "12"),
    ("string of null is empty", "null | string", ""),
    ("string of list is JSON", "[1, 'a'] | string", '[1,"a"]'),
    ("bool of false word", "'False' | bool", False),
    ("bool of yes word", "'yes' | bool", True),
    ("bool of empty list", "[] | bool", False),
    ("json", '{"a": [1, null], "b": "é"} | json', '{"a":[1,null],"b":"é"}'),
    ("from_json", "input.json_text | from_json", {"a": [1, 2]}),
    ("sort numbers", "input.numbers | sort", [1, 2, 3]),
    ("sort strings", "input.tags | sort", ["a", "b", "b"]),
    ("unique keeps first occurrences", "input.tags | unique", ["b", "a"]),
    ("unique uses JSON equality", "[1, 1.0, true, [1], [1]] | unique", [1, True, [1]]),
    ("reverse list", "input.numbers | reverse", [2, 1, 3]),
    ("reverse string", "'abc' | reverse", "cba"),
    ("contains in list", "input.tags | contains('a')", True),
    ("contains in string", "input.name | contains('x')", False),
    ("startswith", "input.name | startswith('A')", True),
    ("endswith", "input.base | endswith('.com')", True),
    ("slice from", "input.numbers | slice(1)", [1, 2]),
    ("slice string", "input.name | slice(0, 2)", "Ad"),
    ("slice from the end", "[1, 2, 3, 4] | slice(-2)", [3, 4]),
    # filters together
    ("filter chain", "input.tags | unique | sort | join('+')", "a+b"),
    ("filter binds tighter than comparison", "nodes.fetch.output.body | length > 2", True),
    ("filter binds tighter than plus", "1 + input.tags | length", 4),
    ("function form with arguments", "join(input.tags, '')", "bab"),
    ("member access after a filter", "nodes.fetch.output.body | last .id", 3),
]


@pytest.mark.parametrize(("source", "expected"), [case[1:] for case in VALUES], ids=[case[0] for case in VALUES])
def test_expression_value(source, expected):
    result = evaluate(source, SCOPE)
    assert result == expected
    assert type(result) is type(expected)


def test_a_dict_key_that_looks_like_a_python_attribute_is_only_a_key():
    assert evaluate("input['__class__']", SCOPE) is None
    assert evaluate("input['__class__']", {"input": {"__class__": "just data"}}) == "just data"


REFUSED = [
    # (id, source, part of the message, position or None when not asserted)
    ("dunder attribute", "input.__class__", "names starting with '_' are not allowed", 6),
    ("tuple escape", "().__class__.__bases__", "unexpected ')'", 1),
    ("string escape", "''.__class__", "names starting with '_' are not allowed", 3),
    ("method call", "input.keys()", "only filters can be called", 10),
    ("format string escape", '"{0.__class__}".format(input)', "only filters can be called", 22),
    ("lambda", "lambda: 1", "'lambda' is not supported", 0),
    ("import", "__import__('os')", "names starting with '_' are not allowed", 0),
    ("comprehension", "[x for x in input]", "'for' is not supported", 3),
    ("walrus", "x := 1", "assignment is not supported", 2),
    ("assignment", "x = 1", "assignment is not supported", 2),
    ("power", "2 ** 1000000", "'**' is not supported", 2),
    ("huge string", '"a" * 1000000000', "result too large: 1,000,000,000 characters", 4),
    ("huge list", "[0] * 1000000000", "result too large: 1,000,000,000 items", 4),
    ("range", "range(10**9)", "unknown function 'range'", 0),
    ("deep parentheses", "(" * 1000 + "1" + ")" * 1000, f"nested more than {MAX_DEPTH} levels", 64),
    ("deep lists", "[" * 1000 + "]" * 1000, f"nested more than {MAX_DEPTH} levels", 64),
    ("deep unary", "-" * 1000 + "1", f"nested more than {MAX_DEPTH} levels", 64),
    ("deep filter and member chain", "input" + " | first .a" * 500, f"nested more than {MAX_DEPTH} levels", None),
    ("long source", "1 + " * 5000 + "1", f"longer than {MAX_SOURCE_LENGTH:,} characters", 0),
    ("exec", "exec('1')", "unknown function 'exec'", 0),
    ("eval", "eval('1')", "unknown function 'eval'", 0),
    ("open", "open('/etc/passwd')", "unknown function 'open'", 0),
    ("getattr", "getattr(input, 'name')", "unknown function 'getattr'", 0),
    ("bare builtin name", "exec", "unknown name 'exec'", 0),
    ("clock filter", "input | now", "unknown filter 'now'", 8),
    ("clock function", "now()", "unknown function 'now'", 0),
    ("is", "input is None", "'is' is not supported", 6),
    # sizes, numbers and budgets
    ("huge join", "([input.big] * 100) | join", "join: result too large", 22),
    ("huge json", "([input.big] * 100) | json", "json: result too large", 22),
    ("huge interpolation of a list", "(([input.big] * 20) | string) + 'x'", "result too large", None),
    ("huge concatenation", "input.big * 10 + input.big", "result too large", 15),
    ("huge replace", "input.big | replace('a', 'aaaaaaaaaaaa')", "replace: result too large", 12),
    ("sort of long strings", "([input.big] * 1000000) | sort", "touches more than 10,000,000", 26),
    ("long comparisons", "[input.big] * 200 == [input.big_copy] * 200", "touches more than 10,000,000", 18),
    ("integer literal too large", "9223372036854775808", "integer out of range", 0),
    ("integer overflow", "9223372036854775807 + 1", "integer out of range", 20),
    ("integer product overflow", "3037000500 * 3037000500", "integer out of range", 11),
    ("float overflow", "1e308 * 10", "number out of range", 6),
    ("int of a huge float", "1e300 | int", "int: integer out of range", 8),
    ("division by zero", "1 / 0", "division by zero", 2),
    ("modulo by zero", "1 % 0.0", "division by zero", 2),
    ("round to too many digits", "1.5 | round(1000000)", "round: takes between -15 and 15 digits", 6),
    # types
    ("string plus number", "'a' + 1", "cannot apply '+' to a string and a number", 4),
    ("percent formatting", "'%s' % 1", "cannot apply '%' to a string and a number", 5),
    ("boolean arithmetic", "true + 1", "cannot apply '+' to a boolean and a number", 5),
    ("negating a string", "-'a'", "cannot apply '-' to a string", 0),
    ("ordering mixed types", "1 < 'a'", "cannot compare a number with a string", 2),
    ("member of null", "input.none.x", "cannot read 'x' of null", 11),
    ("member of a string", "input.name.upper", "cannot read 'upper' of a string", 11),
    ("index of a number", "input.count[0]", "cannot index a number", 11),
    ("object indexed by number", "input[0]", "object keys are strings, not a number", 5),
    ("list indexed by float", "input.tags[1.5]", "a list index must be an integer, not a number", 10),
    ("unknown name", "nothing.here", "unknown name 'nothing'", 0),
    ("filter on wrong type", "input.count | upper", "upper: expects a string, got a number", 14),
    ("int of a word", "'abc' | int", "int: cannot convert 'abc' to an integer", 8),
    ("bool of a word", "'maybe' | bool", "bool: cannot convert 'maybe' to a boolean", 10),
    ("invalid json", "'{' | from_json", "from_json: invalid JSON", 6),
    ("json with NaN", "'NaN' | from_json", "from_json: NaN is not a JSON number", 8),
    ("json with an infinite number", "'[1e999]' | from_json", "from_json: number out of range", 12),
    ("json with a huge integer", "'[9223372036854775808]' | from_json", "from_json: integer out of range", 26),
    ("sort of mixed types", "[1, 'a'] | sort", "sort: expects a list of numbers or a list of strings", 11),
    ("split on nothing", "'abc' | split('')", "split: needs a non-empty separator", 8),
    ("unknown filter", "input.name | lenght", "unknown filter 'lenght'", 13),
    ("too many arguments", "input.tags | join(',', ';')", "'join' takes 0 to 1 arguments, got 2", 13),
    ("too few arguments", "input.name | replace('a')", "'replace' takes 2 arguments, got 1", 13),
    ("function without a value", "length()", "'length' needs a value to work on", 0),
]


@pytest.mark.parametrize(
    ("source", "message", "position"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_expression_is_refused(source, message, position):
    error = error_of(source)
    assert message in error.message
    if position is not None:
        assert error.position == position


@pytest.mark.parametrize(
    ("scope", "source", "type_name"),
    [
        ({"input": object()}, "input", "object"),
        ({"input": {"x": object()}}, "input.x", "object"),
        ({"input": {"x": [1, object()]}}, "input.x[1]", "object"),
        ({"input": {"x": [1, object()]}}, "input.x | last", "object"),
        ({"input": OrderedDict(x=1)}, "input.x", "OrderedDict"),
        ({"input": {"x": (1, 2)}}, "input.x", "tuple"),
        ({"input": {"x": [{1, 2}]}}, "input.x | json", None),
    ],
    ids=[
        "object root",
        "object in a key",
        "object in a list",
        "object through a filter",
        "dict subclass",
        "tuple",
        "set written as JSON",
    ],
)
def test_python_objects_in_the_scope_are_refused(scope, source, type_name):
    error = error_of(source, scope)
    if type_name is None:
        assert error.message == "json: value cannot be written as JSON"
    else:
        assert f"unsupported value of type '{type_name}'" in error.message


def test_the_step_budget_is_shared_by_one_render():
    template = "{{ " + " + ".join(["1"] * 2000) + " }}"
    assert render([template] * 20, {}) == [2000] * 20
    error = render_error_of([template] * 60, {})
    assert "more than 100,000 steps" in error.message
    assert error.path == "[49]"


def test_embedded_values_become_text():
    assert render_string("n={{ input.count }} p={{ input.price }} f={{ input.flag }}", SCOPE) == "n=3 p=2.5 f=true"
    assert render_string("[{{ input.none }}]", SCOPE) == "[]"
    assert render_string("{{ input.tags }}!", SCOPE) == '["b","a","b"]!'
    assert render_string("{{ input.nested }}", SCOPE) == '{"deep":{"x":1}}'
    assert render_string("{{ input.name }}{{ input.count }}", SCOPE) == "Ada3"


WHOLE = [
    ("number stays a number", "{{ input.count }}", 3),
    ("blanks around are allowed", "  {{ input.price }}\n", 2.5),
    ("list stays a list", "{{ input.tags }}", ["b", "a", "b"]),
    ("object stays an object", "{{ input.nested }}", {"deep": {"x": 1}}),
    ("null stays null", "{{ input.none }}", None),
    ("boolean stays a boolean", "{{ nodes.fetch.output.body | length > 2 }}", True),
    ("object literal with closing braces", '{{ {"a": {"b": 1}} }}', {"a": {"b": 1}}),
    ("braces inside a string literal", '{{ "}}" }}', "}}"),
    ("a literal opening pair", '{{ "{{" }}', "{{"),
    ("two expressions make text", "{{ 1 }} {{ 2 }}", "1 2"),
    ("text around makes text", "{{ input.base }}/orders", "https://example.com/orders"),
    ("no braces is left alone", "plain } text {", "plain } text {"),
]


@pytest.mark.parametrize(("template", "expected"), [case[1:] for case in WHOLE], ids=[case[0] for case in WHOLE])
def test_render_string_value(template, expected):
    result = render(template, SCOPE)
    assert result == expected
    assert type(result) is type(expected)


def test_render_walks_nested_values_and_leaves_keys_and_other_values_alone():
    params = {
        "url": "{{ input.base }}/orders",
        "headers": {"Authorization": "Bearer {{ secrets.TOKEN }}", "{{ key }}": "kept"},
        "json": {"count": "{{ nodes.fetch.output.body | length }}", "items": [1, "{{ input.tags[1] }}", None]},
        "flag": False,
    }
    assert render(params, SCOPE) == {
        "url": "https://example.com/orders",
        "headers": {"Authorization": "Bearer s3cr3t", "{{ key }}": "kept"},
        "json": {"count": 3, "items": [1, "a", None]},
        "flag": False,
    }


def test_render_error_says_where():
    error = render_error_of({"a": [{"b": "x {{ 1 / 0 }}"}]})
    assert (error.path, error.message, error.position) == ("a[0].b", "division by zero", 7)
    assert str(error) == "division by zero at position 7"


SYNTAX_ERRORS = [
    ("missing operand", "{{ 1 + }}", "expected an expression", 7),
    ("empty", "{{ }}", "empty expression", 3),
    ("not closed", "x {{ input.name", "'{{' is not closed by '}}'", 2),
    ("missing parenthesis", "x {{ (1 }}", "expected ')'", 8),
    ("string not closed", "{{ 'abc }}", "string is not closed", 3),
    ("stray character", "{{ 1 @ 2 }}", "unexpected character '@'", 5),
    ("list not closed", "{{ [1, 2 }}", "expected ',' or ']'", 9),
    ("conditional without else", "{{ 1 if true }}", "expected 'else'", 13),
    ("second expression", "{{ 1 }} {{ 2 + }}", "expected an expression", 15),
    ("unknown escape", "{{ 'a\\q' }}", "unknown escape '\\q' in string", 5),
    ("unquoted key", "{{ {a: 1} }}", "object keys must be quoted strings", 4),
    ("two values", "{{ 1 2 }}", "unexpected number 2", 5),
    ("dangling dot", "{{ input. }}", "expected a name after '.'", 10),
]


@pytest.mark.parametrize(
    ("template", "message", "position"), [case[1:] for case in SYNTAX_ERRORS], ids=[case[0] for case in SYNTAX_ERRORS]
)
def test_syntax_error_position(template, message, position):
    [(path, error)] = find_errors(template)
    assert (path, error.message, error.position) == ("", message, position)
    with pytest.raises(ExpressionError) as caught:
        render(template, SCOPE)
    assert (caught.value.message, caught.value.position) == (message, position)


def test_find_errors_reports_paths_of_nested_params_without_evaluating():
    params = {
        "url": "{{ not_in_any_scope.x / 0 }}",
        "headers": {"X": "{{ 1 + }}"},
        "items": ["ok", "{{ ] }}", {"deep": ["{{ input.__x }}"]}],
        "count": 5,
    }
    errors = [(path, error.message, error.position) for path, error in find_errors(params)]
    assert errors == [
        ("headers.X", "expected an expression", 7),
        ("items[1]", "unexpected ']'", 3),
        ("items[2].deep[0]", "names starting with '_' are not allowed: '__x'", 9),
    ]


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("{{ x }}", True),
        (" \n{{ x | length }}\t", True),
        ('{{ {"a": {"b": 1}} }}', True),
        ('{{ "}}" }}', True),
        ("{{ a }}{{ b }}", False),
        ("{{ a }} b", False),
        ("x{{ a }}", False),
        ('{{ "{{" }}', True),
        ("plain", False),
        ("", False),
    ],
)
def test_is_whole_template(text, whole):
    assert is_whole_template(text) is whole


def test_a_whole_template_renders_to_its_value_with_its_type():
    text = '{{ {"a": {"b": x}} }}'
    assert is_whole_template(text)
    assert render(text, {"x": [1]}) == {"a": {"b": [1]}}


@pytest.mark.parametrize("text", ["{{ }}", "{{ a", "{{ 1 + }}"])
def test_is_whole_template_raises_on_a_template_that_does_not_parse(text):
    with pytest.raises(ExpressionError):
        is_whole_template(text)


def test_find_errors_on_a_valid_value_is_empty():
    assert find_errors({"a": ["{{ input.x | default(1) }}", 1, None], "b": "text"}) == []


def test_a_value_nested_too_deeply_is_reported():
    value: object = "{{ 1 }}"
    for _ in range(MAX_DEPTH + 5):
        value = [value]
    [(path, error)] = find_errors(value)
    assert path == "[0]" * MAX_DEPTH
    assert "nested more than" in error.message
    assert "nested more than" in render_error_of(value).message


def test_deeply_nested_data_is_an_error_not_a_crash():
    data: object = 1
    for _ in range(5000):
        data = [data]
    error = error_of("input | json", {"input": data})
    assert error.message == "data nested too deeply"


def test_error_text_and_pickling():
    error = ExpressionError("unknown filter 'lenght'", 12)
    assert str(error) == "unknown filter 'lenght' at position 12"
    assert str(ExpressionError("no position")) == "no position"
    copy = pickle.loads(pickle.dumps(error_of("input.name | lenght")))
    assert (copy.message, copy.position) == ("unknown filter 'lenght'", 13)


def test_parsing_is_cached():
    text = "{{ input.count + 41 }} cached"
    render(text, SCOPE)
    hits = templates_module._template.cache_info().hits
    assert render(text, SCOPE) == "44 cached"
    assert templates_module._template.cache_info().hits == hits + 1


def test_the_package_never_calls_python_evaluation():
    # A static guard: the language must stay interpreted by our own code.
    forbidden = re.compile(r"(?<![\w.])(eval|exec|compile|getattr|setattr|__import__)\(|import ast|from ast ")
    sources = Path(expressions_package.__file__).parent.glob("*.py")
    offenders = [path.name for path in sources if forbidden.search(path.read_text())]
    assert offenders == []


small_ints = st.integers(min_value=-(10**6), max_value=10**6)


@given(small_ints, small_ints, small_ints, small_ints.filter(lambda n: n != 0))
def test_integer_arithmetic_agrees_with_python(a, b, c, d):
    source = f"({a}) + ({b}) * ({c}) - ({a}) // ({d}) + ({b}) % ({d})"
    assert evaluate(source, {}) == a + b * c - a // d + b % d


@given(small_ints, small_ints)
def test_comparisons_agree_with_python(a, b):
    assert evaluate(f"[({a}) < ({b}), ({a}) <= ({b}), ({a}) == ({b}), ({a}) != ({b})]", {}) == [
        a < b,
        a <= b,
        a == b,
        a != b,
    ]


@given(st.text().filter(lambda text: "{{" not in text))
def test_render_of_text_without_braces_is_identity(text):
    assert render(text, SCOPE) is text
    assert render_string(text, SCOPE) is text


@given(st.text(alphabet="()[]{}+-*/%<>=!|.,:'\"\\ab01_ \n", max_size=40))
def test_any_source_either_evaluates_or_raises_expression_error(source):
    with contextlib.suppress(ExpressionError):
        evaluate(source, {"a": {"b": [1, "x"]}, "b": 2})
