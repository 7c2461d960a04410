"""Checking a template's definition and parameters, and instantiating it: pure, no database."""

import pytest

from structforge.errors import InvalidInput
from templates_app.content import check_content, instantiate


def http_node(url="{{ params.url }}", **params):
    return {"id": "call", "type": "http_request", "params": {"method": "GET", "url": url, **params}}


def definition(*nodes, edges=()):
    return {"nodes": list(nodes), "edges": list(edges), "settings": {}}


def errors_of(call):
    with pytest.raises(InvalidInput) as caught:
        call()
    return caught.value.errors


URL = {"name": "url", "type": "url"}


def test_a_valid_template_gets_its_parameters_filled_in():
    content = check_content(definition(http_node()), [URL])

    assert content.parameters == [
        {"name": "url", "type": "url", "label": "Url", "default": None, "required": True, "description": ""}
    ]


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ("url", [{"location": "parameters", "message": "must be a list"}]),
        (
            ["url"],
            [{"location": "parameters[0]", "message": "a parameter must be an object with at least 'name' and 'type'"}],
        ),
        (
            [{"name": "url", "type": "text"}],
            [
                {
                    "location": "parameters[0].type",
                    "message": "must be one of string, number, integer, boolean, url, email, secret, object, list",
                }
            ],
        ),
        (
            [{"name": "_url", "type": "url"}],
            [
                {
                    "location": "parameters[0].name",
                    "message": "must be a letter, then letters, digits or _, at most 64 characters",
                }
            ],
        ),
        (
            [URL, URL],
            [{"location": "parameters[1].name", "message": "duplicate parameter 'url'; first at parameters[0]"}],
        ),
        (
            [{**URL, "default": "ftp://x"}],
            [{"location": "parameters[0].default", "message": "Must be an http:// or https:// URL."}],
        ),
        ([{**URL, "required": "yes"}], [{"location": "parameters[0].required", "message": "must be true or false"}]),
        (
            [{**URL, "colour": "red"}],
            [
                {
                    "location": "parameters[0].colour",
                    "message": "unknown field 'colour'; allowed: name, type, label, default, required, description",
                }
            ],
        ),
    ],
)
def test_bad_parameter_declarations_are_refused_with_their_location(parameters, expected):
    errors = errors_of(lambda: check_content(definition(http_node("https://example.com")), parameters))

    assert errors == {"parameters": expected}


@pytest.mark.parametrize(
    ("template_definition", "expected"),
    [
        (
            definition(http_node("{{ params.nope }}")),
            [
                {
                    "location": "nodes[0].params.url",
                    "message": "'nope' is not a parameter of this template; declare it in 'parameters'",
                }
            ],
        ),
        (
            definition(http_node(headers={"X": "{{ params | json }}"})),
            [
                {
                    "location": "nodes[0].params.headers.X",
                    "message": 'use params.NAME (or params["NAME"]) to name one param',
                }
            ],
        ),
        (
            definition(http_node(headers={"X": "{{ secrets.KEY }}"})),
            [
                {
                    "location": "nodes[0].params.headers.X",
                    "message": "a template cannot read secrets; declare a secret parameter for 'KEY'",
                }
            ],
        ),
        (
            definition({"id": "{{ params.url }}", "type": "noop"}),
            [
                {"location": "nodes[0].id", "message": "a node id must be 1 to 64 letters, digits, '_' or '-'"},
                {"location": "nodes[0].id", "message": "node ids, node types and edges cannot depend on parameters"},
            ],
        ),
        (
            definition(http_node(method="FETCH")),
            [
                {
                    "location": "nodes[0].params.method",
                    "message": "must be 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD' or 'OPTIONS', "
                    "or a single {{ … }} expression",
                }
            ],
        ),
    ],
)
def test_bad_template_definitions_are_refused_with_their_location(template_definition, expected):
    errors = errors_of(lambda: check_content(template_definition, [URL]))

    assert errors == {"definition": expected}


def test_a_whole_placeholder_may_stand_where_a_literal_is_required():
    node = http_node(timeout_s="{{ params.timeout }}")
    node["retry"] = {"max_attempts": "{{ params.attempts }}", "delay_s": 0.1}
    node["on_error"] = "{{ params.on_error }}"
    parameters = [
        URL,
        {"name": "timeout", "type": "number"},
        {"name": "attempts", "type": "integer"},
        {"name": "on_error", "type": "string", "default": "continue"},
    ]

    content = check_content(definition(node), parameters)
    instance = instantiate(content, {"url": "https://example.com", "timeout": 5, "attempts": 4}, secret_names=set())

    made = instance.definition["nodes"][0]
    assert (made["retry"]["max_attempts"], made["params"]["timeout_s"], made["on_error"]) == (4, 5, "continue")
    assert instance.params == {"url": "https://example.com", "timeout": 5, "attempts": 4, "on_error": "continue"}


PARAMETERS = [
    {"name": "url", "type": "url"},
    {"name": "to", "type": "email", "required": False},
    {"name": "count", "type": "integer", "default": 3},
    {"name": "ratio", "type": "number", "required": False},
    {"name": "loud", "type": "boolean", "default": False},
    {"name": "label", "type": "string", "default": "hello"},
    {"name": "token", "type": "secret", "required": False},
    {"name": "body", "type": "object", "default": {}},
    {"name": "items", "type": "list", "default": []},
]
EVERYTHING = definition(
    http_node(json={key["name"]: f"{{{{ params.{key['name']} }}}}" for key in PARAMETERS if key["name"] != "url"})
)
GOOD = {"url": "https://example.com/x"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, {"url": ["This parameter is required."]}),
        ({"url": None}, {"url": ["This parameter is required."]}),
        ({"url": "example.com"}, {"url": ["Must be an http:// or https:// URL."]}),
        ({**GOOD, "to": "not-an-address"}, {"to": ["Must be an e-mail address."]}),
        ({**GOOD, "count": "3"}, {"count": ["Must be an integer."]}),
        ({**GOOD, "count": 2.5}, {"count": ["Must be an integer."]}),
        ({**GOOD, "count": True}, {"count": ["Must be an integer."]}),
        ({**GOOD, "ratio": "0.5"}, {"ratio": ["Must be a number."]}),
        ({**GOOD, "loud": "yes"}, {"loud": ["Must be true or false."]}),
        ({**GOOD, "label": 7}, {"label": ["Must be a string."]}),
        ({**GOOD, "token": "MISSING"}, {"token": ["The workflow's owner has no secret named 'MISSING'."]}),
        ({**GOOD, "token": "not a name"}, {"token": ["Must be the name of one of your secrets."]}),
        ({**GOOD, "body": []}, {"body": ["Must be an object."]}),
        ({**GOOD, "items": {}}, {"items": ["Must be a list."]}),
        (
            {**GOOD, "colour": "red"},
            {
                "colour": [
                    "Unknown parameter; this template's parameters are: "
                    + ", ".join(p["name"] for p in PARAMETERS)
                    + "."
                ]
            },
        ),
    ],
)
def test_wrong_parameter_values_are_refused_naming_the_parameter(given, expected):
    content = check_content(EVERYTHING, PARAMETERS)

    errors = errors_of(lambda: instantiate(content, given, secret_names={"API_KEY"}))

    assert errors == {"params": expected}


def test_good_values_and_defaults_fill_the_definition():
    content = check_content(EVERYTHING, PARAMETERS)

    instance = instantiate(content, {**GOOD, "count": 4.0, "token": "API_KEY", "ratio": 0.5}, secret_names={"API_KEY"})

    assert instance.definition["nodes"][0]["params"]["json"] == {
        "to": None,
        "count": 4,
        "ratio": 0.5,
        "loud": False,
        "label": "hello",
        "token": "{{ secrets.API_KEY }}",
        "body": {},
        "items": [],
    }
    assert instance.params == {
        "url": "https://example.com/x",
        "to": None,
        "count": 4,
        "ratio": 0.5,
        "loud": False,
        "label": "hello",
        "token": "API_KEY",
        "body": {},
        "items": [],
    }


def test_a_value_that_breaks_a_node_is_blamed_on_its_parameter():
    template = definition({"id": "wait", "type": "delay", "params": {"seconds": "{{ params.wait }}"}})
    content = check_content(template, [{"name": "wait", "type": "number"}])

    errors = errors_of(lambda: instantiate(content, {"wait": -1}, secret_names=set()))

    assert errors == {"params": {"wait": ["nodes[0].params.seconds: must be at least 0"]}}
