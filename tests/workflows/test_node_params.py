"""The node-type catalogue: the registry, and each type's parameters as a definition reports them."""

import importlib

import pytest
from pydantic import BaseModel

from workflows.definition import DefinitionLimits, validate_definition
from workflows.nodes import NODE_TYPES, get_node_type
from workflows.nodes.params import has_expression, is_whole_expression

LIMITS = DefinitionLimits(max_nodes=10, max_edges=10, max_bytes=100_000)
EXPR_OR = ", or a single {{ … }} expression"


def params_problems(node_type: str, params: dict) -> list[tuple[str, str]]:
    definition = {"nodes": [{"id": "n", "type": node_type, "params": params}]}
    return [(problem.location, problem.message) for problem in validate_definition(definition, limits=LIMITS)]


def test_the_registry_holds_the_ten_types_of_the_design():
    assert sorted(NODE_TYPES) == [
        "condition",
        "delay",
        "http_request",
        "merge",
        "noop",
        "send_email",
        "set",
        "stop_error",
        "subworkflow",
        "switch",
    ]
    assert get_node_type("delay") is NODE_TYPES["delay"]
    assert get_node_type("nope") is None


@pytest.mark.parametrize("name", sorted(NODE_TYPES))
def test_every_type_module_has_the_same_shape(name):
    node_type = NODE_TYPES[name]
    module = importlib.import_module(node_type.params.__module__)

    assert module.__doc__
    assert module.__doc__.startswith(f"{name}: ")
    assert module.NODE_TYPE is node_type
    assert node_type.params is module.Params
    assert issubclass(module.Params, BaseModel)
    assert module.Params.model_config["extra"] == "forbid"
    assert node_type.description


def test_only_condition_and_switch_have_branches():
    switch = NODE_TYPES["switch"]

    assert sorted(name for name, node_type in NODE_TYPES.items() if node_type.branches) == ["condition", "switch"]
    assert NODE_TYPES["condition"].branches(None) == {"true", "false"}
    assert switch.branches(switch.params.model_validate({"value": 1, "cases": ["a", "b"]})) == {"a", "b", "default"}
    assert switch.branches(switch.params.model_validate({"value": 1, "cases": ["a"], "default": False})) == {"a"}


@pytest.mark.parametrize(
    ("text", "whole", "embedded"),
    [
        ("{{ x }}", True, True),
        ("  {{ nodes.a.output | length }}\n", True, True),
        ("{{x}}", True, True),
        ("{{ a }}{{ b }}", False, True),
        ("{{ a }} s", False, True),
        ("/{{ a }}", False, True),
        ("{{ }}", False, False),
        ("{{ a", False, False),
        ("plain", False, False),
    ],
)
def test_expression_shapes(text, whole, embedded):
    assert (is_whole_expression(text), has_expression(text)) == (whole, embedded)


GOOD = [
    ("noop", {}),
    ("set", {"values": {}}),
    ("set", {"values": {"a": 1, "b": "{{ input.b }}", "c": {"d": [1, "{{ x }}", None]}}}),
    ("set", {"values": "{{ input }}"}),
    ("condition", {"expression": "{{ input.n > 1 }}"}),
    ("condition", {"expression": False}),
    ("switch", {"value": "{{ input.kind }}", "cases": ["a", "b"]}),
    ("switch", {"value": 3, "cases": ["x"], "default": False}),
    ("merge", {}),
    ("merge", {"mode": "list"}),
    ("merge", {"mode": "{{ input.mode }}"}),
    ("http_request", {"method": "GET", "url": "https://example.com/a?b=c"}),
    ("http_request", {"method": "{{ input.method }}", "url": "{{ input.base }}/orders"}),
    (
        "http_request",
        {
            "method": "POST",
            "url": "http://example.com:8080/",
            "headers": {"X-Api-Key": "{{ secrets.key }}", "Content-Type": "application/json"},
            "query": {"page": "2"},
            "json": [1, {"a": None}],
            "timeout_s": 300,
        },
    ),
    ("http_request", {"method": "PUT", "url": "http://[::1]/", "body": "text", "timeout_s": 0.5}),
    ("http_request", {"method": "PATCH", "url": "https://x.test", "json": None, "body": "x"}),
    ("http_request", {"method": "DELETE", "url": "https://x.test", "headers": "{{ input.headers }}"}),
    ("http_request", {"method": "HEAD", "url": "https://x.test", "timeout_s": "{{ input.timeout }}"}),
    ("delay", {"seconds": 0}),
    ("delay", {"seconds": 1.5}),
    ("delay", {"seconds": 30 * 24 * 3600}),
    ("delay", {"seconds": "{{ input.wait }}"}),
    ("send_email", {"to": "ops@example.com", "subject": "Hi", "body": ""}),
    ("send_email", {"to": ["Ops <ops@example.com>", "{{ input.owner }}"], "subject": "{{ input.s }}", "body": "b"}),
    ("send_email", {"to": "{{ input.user }}@example.com", "subject": "s", "body": "b"}),
    ("subworkflow", {"workflow": 12}),
    ("subworkflow", {"workflow": "{{ input.child }}", "input": {"a": "{{ nodes.x.output }}"}}),
    ("subworkflow", {"workflow": 1, "input": "{{ input }}"}),
    ("stop_error", {"message": "Order {{ input.id }} is invalid"}),
]


@pytest.mark.parametrize(("node_type", "params"), GOOD, ids=[f"{t}-{i}" for i, (t, _) in enumerate(GOOD)])
def test_good_params_are_accepted(node_type, params):
    assert params_problems(node_type, params) == []


GET = {"method": "GET", "url": "https://example.com"}
EMAIL = {"to": "a@example.com", "subject": "s", "body": "b"}

# (node type, params, the one location reported, its message or a fragment of it)
BAD = {
    "noop takes nothing": ("noop", {"x": 1}, "params.x", "unknown parameter 'x': noop takes no parameters"),
    "set without values": ("set", {}, "params.values", "'values' is required"),
    "set values a list": ("set", {"values": [1]}, "params.values", "must be an object"),
    "set values text": ("set", {"values": "a {{ b }}"}, "params.values", f"must be an object{EXPR_OR}"),
    "condition without expression": ("condition", {}, "params.expression", "'expression' is required"),
    "condition without braces": (
        "condition",
        {"expression": "input.n > 1"},
        "params.expression",
        f"must be true or false{EXPR_OR}",
    ),
    "condition of two expressions": (
        "condition",
        {"expression": "{{ a }} and {{ b }}"},
        "params.expression",
        f"must be true or false{EXPR_OR}",
    ),
    "condition a number": ("condition", {"expression": 1}, "params.expression", "must be true or false"),
    "switch without value": ("switch", {"cases": ["a"]}, "params.value", "'value' is required"),
    "switch without cases": ("switch", {"value": 1, "cases": []}, "params.cases", "must not be empty"),
    "switch cases an expression": ("switch", {"value": 1, "cases": "{{ x }}"}, "params.cases", "must be a list"),
    "switch empty case": ("switch", {"value": 1, "cases": ["a", ""]}, "params.cases[1]", "must not be empty"),
    "switch case named default": (
        "switch",
        {"value": 1, "cases": ["a", "default"]},
        "params.cases[1]",
        "'default' is reserved for the branch taken when no case matches",
    ),
    "switch duplicate case": (
        "switch",
        {"value": 1, "cases": ["a", "b", "a"]},
        "params.cases",
        "case 'a' is listed twice (cases[0] and cases[2])",
    ),
    "switch default not a boolean": (
        "switch",
        {"value": 1, "cases": ["a"], "default": "{{ x }}"},
        "params.default",
        "must be true or false",
    ),
    "merge unknown mode": (
        "merge",
        {"mode": "dict"},
        "params.mode",
        f"must be 'object' or 'list'{EXPR_OR}",
    ),
    "http without method": ("http_request", {"url": "https://x.test"}, "params.method", "'method' is required"),
    "http without url": ("http_request", {"method": "GET"}, "params.url", "'url' is required"),
    "http lower-case method": (
        "http_request",
        {**GET, "method": "get"},
        "params.method",
        f"must be 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD' or 'OPTIONS'{EXPR_OR}",
    ),
    "http ftp url": (
        "http_request",
        {**GET, "url": "ftp://x.test/f"},
        "params.url",
        "must be an http:// or https:// URL, or contain a {{ … }} expression",
    ),
    "http url without host": ("http_request", {**GET, "url": "https:///path"}, "params.url", "must be an http://"),
    "http relative url": ("http_request", {**GET, "url": "/orders"}, "params.url", "must be an http://"),
    "http url with a space": ("http_request", {**GET, "url": "https://x.test/a b"}, "params.url", "must be an http"),
    "http url with a bad port": ("http_request", {**GET, "url": "https://x.test:99999"}, "params.url", "must be an"),
    "http header value a number": (
        "http_request",
        {**GET, "headers": {"X-Api": 1}},
        "params.headers.X-Api",
        "must be a string",
    ),
    "http header name with a space": (
        "http_request",
        {**GET, "headers": {"X Api": "1"}},
        "params.headers.X Api",
        "header name 'X Api' may contain only letters, digits and !#$%&'*+.^_`|~-",
    ),
    "http header value with a line break": (
        "http_request",
        {**GET, "headers": {"X-Api": "1\r\nX-Evil: 1"}},
        "params.headers.X-Api",
        "must be a single line (no line breaks)",
    ),
    "http headers a list": ("http_request", {**GET, "headers": []}, "params.headers", "must be an object"),
    "http query value a number": ("http_request", {**GET, "query": {"page": 2}}, "params.query.page", "be a string"),
    "http json and body": (
        "http_request",
        {**GET, "json": {"a": 1}, "body": "a=1"},
        "params.body",
        "give either 'json' or 'body', not both",
    ),
    "http body not text": ("http_request", {**GET, "body": {"a": 1}}, "params.body", "must be a string"),
    "http timeout zero": ("http_request", {**GET, "timeout_s": 0}, "params.timeout_s", "must be greater than 0"),
    "http timeout over 300": ("http_request", {**GET, "timeout_s": 301}, "params.timeout_s", "must be at most 300"),
    "http timeout text": (
        "http_request",
        {**GET, "timeout_s": "30"},
        "params.timeout_s",
        f"must be a number{EXPR_OR}",
    ),
    "http unknown param": (
        "http_request",
        {**GET, "data": "x"},
        "params.data",
        "unknown parameter 'data' of http_request; allowed: method, url, headers, query, json, body, timeout_s",
    ),
    "delay without seconds": ("delay", {}, "params.seconds", "'seconds' is required"),
    "delay negative": ("delay", {"seconds": -1}, "params.seconds", "must be at least 0"),
    "delay over 30 days": ("delay", {"seconds": 2_592_001}, "params.seconds", "must be at most 2592000"),
    "delay with a unit": ("delay", {"seconds": "5s"}, "params.seconds", f"must be a number{EXPR_OR}"),
    "delay a boolean": ("delay", {"seconds": True}, "params.seconds", "must be a number"),
    "email to not an address": ("send_email", {**EMAIL, "to": "ops"}, "params.to", "'ops' is not an email address"),
    "email to two in one string": (
        "send_email",
        {**EMAIL, "to": "a@example.com, b@example.com"},
        "params.to",
        "'a@example.com, b@example.com' is not an email address",
    ),
    "email to a bad one in a list": (
        "send_email",
        {**EMAIL, "to": ["a@example.com", "b@"]},
        "params.to[1]",
        "'b@' is not an email address",
    ),
    "email to nobody": ("send_email", {**EMAIL, "to": []}, "params.to", "must not be empty"),
    "email subject with a line break": (
        "send_email",
        {**EMAIL, "subject": "Hi\nBcc: x@example.com"},
        "params.subject",
        "must be a single line (no line breaks)",
    ),
    "email without body": ("send_email", {"to": "a@example.com", "subject": "s"}, "params.body", "'body' is required"),
    "subworkflow without workflow": ("subworkflow", {}, "params.workflow", "'workflow' is required"),
    "subworkflow id zero": ("subworkflow", {"workflow": 0}, "params.workflow", "must be greater than 0"),
    "subworkflow id a float": ("subworkflow", {"workflow": 1.5}, "params.workflow", "must be an integer"),
    "subworkflow id text": ("subworkflow", {"workflow": "7"}, "params.workflow", f"must be an integer{EXPR_OR}"),
    "subworkflow input a list": (
        "subworkflow",
        {"workflow": 1, "input": [1]},
        "params.input",
        "must be an object",
    ),
    "stop_error without message": ("stop_error", {}, "params.message", "'message' is required"),
    "stop_error empty message": ("stop_error", {"message": ""}, "params.message", "must not be empty"),
}


@pytest.mark.parametrize(("node_type", "params", "location", "message"), BAD.values(), ids=BAD.keys())
def test_bad_params_are_reported_at_their_exact_location(node_type, params, location, message):
    problems = params_problems(node_type, params)

    assert [where for where, _ in problems] == [f"nodes[0].{location}"]
    assert message in problems[0][1]
