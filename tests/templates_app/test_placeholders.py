"""Finding and filling `{{ params.NAME }}`, and turning secrets into parameters: pure, no database."""

import pytest

from templates_app.parameters import SecretName
from templates_app.placeholders import fill, literal, scan, secrets_to_params
from workflows.expressions import evaluate, render


def filled(text, **values):
    definition, _ = fill({"value": text}, values)
    return definition["value"]


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        # A whole placeholder takes the value with its type.
        ("{{ params.n }}", {"n": 10}, 10),
        ("  {{ params.n }}\n", {"n": 2.5}, 2.5),
        ("{{params.flag}}", {"flag": False}, False),
        ("{{ params.items }}", {"items": [1, "two"]}, [1, "two"]),
        ("{{ params.body }}", {"body": {"a": {"b": None}}}, {"a": {"b": None}}),
        ("{{ params.missing }}", {"missing": None}, None),
        ('{{ params["n"] }}', {"n": 7}, 7),
        # Among text, the value as text: strings as they are, null as "", the rest as JSON.
        ("Hello {{ params.who }}!", {"who": "Ada"}, "Hello Ada!"),
        ("n={{ params.n }}", {"n": 3}, "n=3"),
        ("x{{ params.none }}y", {"none": None}, "xy"),
        ("cfg: {{ params.cfg }}", {"cfg": {"a": [1, True]}}, 'cfg: {"a":[1,true]}'),
        ("{{ params.a }}/{{ params.b }}", {"a": "http://x", "b": "y"}, "http://x/y"),
        # Inside a larger expression, a literal; the run-time parts stay.
        ("{{ nodes.a.output.n > params.t }}", {"t": 10}, "{{ nodes.a.output.n > (10) }}"),
        ("{{ input[params.field] }}", {"field": "kind"}, '{{ input[("kind")] }}'),
        ("{{ params.n * -1 }}", {"n": -5}, "{{ (-5) * -1 }}"),
        ("{{ input.x | default(params.d) }}", {"d": {"k": [1]}}, '{{ input.x | default(({"k": [1]})) }}'),
        # Other expressions are left for run time, whatever they read.
        ("{{ input.params }} {{ params.p }}", {"p": "v"}, "{{ input.params }} v"),
        ("{{ secrets.KEY }}", {}, "{{ secrets.KEY }}"),
        ("{{ 'params.x' }}", {}, "{{ 'params.x' }}"),
        ("no expressions here", {}, "no expressions here"),
    ],
)
def test_fill_substitutes_each_kind_of_reference(text, values, expected):
    assert filled(text, **values) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ params.token }}", "{{ secrets.API_KEY }}"),
        ("Bearer {{ params.token }}", "Bearer {{ secrets.API_KEY }}"),
        ('{{ "Bearer " + params.token }}', '{{ "Bearer " + secrets.API_KEY }}'),
    ],
)
def test_a_secret_parameter_becomes_a_reference_to_the_owners_secret(text, expected):
    assert filled(text, token=SecretName("API_KEY")) == expected


@pytest.mark.parametrize(
    "value",
    ["{{ secrets.stolen }}", "a {{ b", "{{{", ["{{ x }}"], {"k": "{{ input }}"}],
)
def test_braces_in_a_value_never_become_an_expression(value):
    whole = filled("{{ params.v }}", v=value)
    embedded = filled("<{{ params.v }}>", v=value)

    assert render(whole, {}) == value
    expected_text = value if isinstance(value, str) else render("{{ v | json }}", {"v": value})
    assert render(embedded, {}) == f"<{expected_text}>"


@pytest.mark.parametrize(
    "value",
    [None, True, 0, -3, 2.5, 1e-05, 1e16, "", 'quote " and \\ back\nslash \u0001 ü', [1, [2]], {"a b": {"c": None}}],
)
def test_a_literal_evaluates_back_to_its_value(value):
    assert evaluate(literal(value), {}) == value


def test_fill_reports_which_parameters_each_path_used():
    definition = {
        "nodes": [
            {"id": "a", "type": "set", "params": {"values": {"x": "{{ params.one }}-{{ params.two }}", "y": 1}}},
            {"id": "b", "type": "delay", "params": {"seconds": "{{ params.one }}"}},
        ]
    }

    _, used = fill(definition, {"one": 1, "two": 2})

    assert used == {"nodes[0].params.values.x": ["one", "two"], "nodes[1].params.seconds": ["one"]}


def test_scan_finds_uses_whole_placeholders_misuses_and_secrets():
    definition = {
        "nodes": [
            {
                "id": "a",
                "type": "http_request",
                "params": {"url": "{{ params.url }}", "headers": {"X": "{{ params }}"}},
            },
            {"id": "b", "type": "set", "params": {"values": {"k": "{{ secrets.KEY }} {{ secrets | keys }}"}}},
        ],
        "edges": [],
    }

    found = scan(definition)

    assert found.uses == {"nodes[0].params.url": ["url"], "nodes[0].params.headers.X": []}
    assert found.whole == {"nodes[0].params.url"}
    assert found.misuses == [("nodes[0].params.headers.X", "params"), ("nodes[1].params.values.k", "secrets")]
    assert found.secrets == [("nodes[1].params.values.k", "KEY")]


def test_secrets_become_parameters_by_name_only():
    definition = {
        "nodes": [
            {
                "id": "call",
                "type": "http_request",
                "params": {
                    "url": "https://api.example.com/?key={{ secrets.API_KEY }}",
                    "headers": {"Authorization": "Bearer {{ secrets.TOKEN }}", "X-Other": "{{ input.secrets }}"},
                    "json": {"both": "{{ secrets.TOKEN + secrets['API_KEY'] }}"},
                },
            }
        ],
    }

    converted, names = secrets_to_params(definition)

    assert names == ["API_KEY", "TOKEN"]
    assert converted["nodes"][0]["params"] == {
        "url": "https://api.example.com/?key={{ params.API_KEY }}",
        "headers": {"Authorization": "Bearer {{ params.TOKEN }}", "X-Other": "{{ input.secrets }}"},
        "json": {"both": "{{ params.TOKEN + params['API_KEY'] }}"},
    }
