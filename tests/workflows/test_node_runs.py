"""Each node type's run function, given its params as the engine hands them: rendered, then validated."""

import importlib
import socket
from datetime import datetime, timedelta
from ipaddress import IPv4Network, IPv6Network
from typing import Any

import pytest
from django.utils import timezone
from pydantic import ValidationError

from workflows.nodes import NODE_TYPES
from workflows.nodes.context import NodeContext, NodeError, Park
from workflows.nodes.params import TEMPLATES, is_whole_expression
from workflows.nodes.switch import case_text


class FakeContext:
    """A NodeContext that records what the node asked of it, and never sleeps."""

    def __init__(
        self,
        *,
        input: dict[str, Any] | None = None,
        allowed_networks: tuple[IPv4Network | IPv6Network, ...] = (),
        park_threshold_s: float = 5.0,
        resume_at: datetime | None = None,
        cancelled: bool = False,
        subworkflow_outputs: dict[int, Any] | None = None,
    ) -> None:
        self.execution_id = 1
        self.node_id = "node"
        self.input = input if input is not None else {}
        self.http_allowed_networks = allowed_networks
        self.park_threshold_s = park_threshold_s
        self.lines: list[str] = []
        self.waited: list[float] = []
        self.parked_until: datetime | None = None
        self.subworkflow_calls: list[tuple[int, dict[str, Any]]] = []
        self._resume_at = resume_at
        self._cancelled = cancelled
        self._subworkflow_outputs = subworkflow_outputs or {}

    def log(self, message: str) -> None:
        self.lines.append(message)

    def cancelled(self) -> bool:
        return self._cancelled

    def wait(self, seconds: float) -> bool:
        self.waited.append(seconds)
        return not self._cancelled

    def park(self, *, seconds: float) -> None:
        now = timezone.now()
        if self._resume_at is not None and now >= self._resume_at:
            return
        self.parked_until = now + timedelta(seconds=seconds)
        raise Park(until=self.parked_until)

    def run_subworkflow(self, *, workflow_id: int, input: dict[str, Any]) -> Any:
        self.subworkflow_calls.append((workflow_id, input))
        if workflow_id not in self._subworkflow_outputs:
            raise NodeError(f"workflow {workflow_id} not found")
        return self._subworkflow_outputs[workflow_id]


def run_node(node_type: str, params: dict[str, Any], ctx: NodeContext) -> Any:
    """What the engine does once the params are rendered: validate them (no context), then run."""
    kind = NODE_TYPES[node_type]
    return kind.run(kind.params.model_validate(params), ctx)


PARENTS = {"fetch": {"status": 200}, "count": {"n": 3}}


# --- the catalogue ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NODE_TYPES))
def test_every_type_runs_through_its_modules_run_function(name):
    node_type = NODE_TYPES[name]
    module = importlib.import_module(node_type.params.__module__)

    assert node_type.run is module.run


def test_only_types_that_wait_on_io_or_time_are_blocking():
    blocking = sorted(name for name, node_type in NODE_TYPES.items() if node_type.blocking)

    assert blocking == ["delay", "http_request", "send_email", "subworkflow"]


# --- params as the engine hands them (rendered, validated without the TEMPLATES context) ---------


@pytest.mark.parametrize(
    ("node_type", "params", "message"),
    [
        ("delay", {"seconds": "{{ input.wait }}"}, "Input should be a valid number"),
        ("merge", {"mode": "{{ input.mode }}"}, "Input should be 'object' or 'list'"),
        ("http_request", {"method": "GET", "url": "{{ input.url }}"}, "must be an http:// or https:// URL"),
        ("send_email", {"to": "{{ input.to }}", "subject": "s", "body": "b"}, "is not an email address"),
        ("subworkflow", {"workflow": "{{ input.id }}"}, "Input should be a valid integer"),
    ],
)
def test_a_rendered_value_that_looks_like_an_expression_is_no_expression(node_type, params, message):
    # It came from data: the engine renders once, so "{{ … }}" in a result is plain text.
    with pytest.raises(ValidationError, match=message):
        NODE_TYPES[node_type].params.model_validate(params)
    NODE_TYPES[node_type].params.model_validate(params, context=TEMPLATES)  # fine at save time


def test_the_save_time_shape_of_a_whole_expression_follows_the_parser():
    assert is_whole_expression('{{ {"a": {"b": 1}} }}')
    assert is_whole_expression("{{ 1 + }}")  # judged by its braces; the syntax error is reported apart
    assert not is_whole_expression("{{ a }} and {{ b }}")


# --- noop, set, condition --------------------------------------------------------------------------


def test_noop_outputs_its_input():
    ctx = FakeContext(input=PARENTS)

    assert run_node("noop", {}, ctx) == PARENTS
    assert ctx.lines == ["passing on the output of 2 parent(s)"]


def test_noop_at_the_root_outputs_an_empty_object():
    assert run_node("noop", {}, FakeContext()) == {}


def test_set_outputs_its_evaluated_values():
    ctx = FakeContext()

    assert run_node("set", {"values": {"a": 1, "b": [True, None], "c": "{{ not evaluated again }}"}}, ctx) == {
        "a": 1,
        "b": [True, None],
        "c": "{{ not evaluated again }}",
    }
    assert ctx.lines == ["set 3 value(s)"]


@pytest.mark.parametrize(
    ("value", "result"),
    [
        (True, True),
        (False, False),
        (None, False),
        (0, False),
        (0.0, False),
        ("", False),
        ([], False),
        ({}, False),
        (1, True),
        (-0.5, True),
        ("false", True),
        ([0], True),
        ({"a": None}, True),
    ],
)
def test_condition_judges_the_evaluated_expression_by_json_truthiness(value, result):
    ctx = FakeContext()

    assert run_node("condition", {"expression": value}, ctx) == {"result": result}
    assert ctx.lines == [f"the expression is {'true' if result else 'false'}"]


def test_condition_still_takes_only_booleans_when_saved():
    with pytest.raises(ValidationError, match="Input should be a valid boolean"):
        NODE_TYPES["condition"].params.model_validate({"expression": 1}, context=TEMPLATES)


# --- switch ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "case"),
    [
        ("b", "b"),
        ("B", "default"),
        (" b", "default"),
        (2, "2"),
        (2.0, "2"),
        (2.5, "2.5"),
        (True, "true"),
        (False, "default"),
        (None, "default"),
        (["b"], "default"),
        ({"b": 1}, "default"),
        ("default", "default"),
    ],
)
def test_switch_picks_the_case_named_like_the_value(value, case):
    ctx = FakeContext()

    output = run_node("switch", {"value": value, "cases": ["a", "b", "2", "2.5", "true"]}, ctx)

    assert output == {"case": case}
    assert ctx.lines[0].endswith(f"→ case '{case}'")


def test_switch_picks_the_first_listed_case_only_by_name():
    assert run_node("switch", {"value": "a", "cases": ["b", "a"]}, FakeContext()) == {"case": "a"}


def test_switch_without_a_default_fails_when_no_case_matches():
    with pytest.raises(NodeError) as caught:
        run_node("switch", {"value": "c", "cases": ["a", "b"], "default": False}, FakeContext())

    assert str(caught.value) == "no case matched \"c\" (cases: 'a', 'b') and the switch has no default branch"


def test_switch_without_a_default_still_picks_a_matching_case():
    assert run_node("switch", {"value": "a", "cases": ["a"], "default": False}, FakeContext()) == {"case": "a"}


@pytest.mark.parametrize(
    ("value", "text"),
    [("x", "x"), (0, "0"), (-3, "-3"), (1e3, "1000"), (0.1, "0.1"), (True, "true"), (None, None), ([], None)],
)
def test_the_text_a_case_must_have(value, text):
    assert case_text(value) == text


# --- merge ----------------------------------------------------------------------------------------


def test_merge_as_an_object_keys_outputs_by_parent():
    ctx = FakeContext(input=PARENTS)

    assert run_node("merge", {}, ctx) == PARENTS
    assert run_node("merge", {"mode": "object"}, FakeContext(input=PARENTS)) == PARENTS
    assert ctx.lines == ["merged the outputs of 2 parent(s) into an object"]


def test_merge_as_a_list_keeps_the_order_of_its_input():
    ctx = FakeContext(input={"z": 1, "a": [2], "m": None})

    assert run_node("merge", {"mode": "list"}, ctx) == [1, [2], None]
    assert ctx.lines == ["merged the outputs of 3 parent(s) into a list"]


def test_merge_of_no_parents_is_empty():
    assert run_node("merge", {"mode": "list"}, FakeContext()) == []
    assert run_node("merge", {"mode": "object"}, FakeContext()) == {}


# --- delay ----------------------------------------------------------------------------------------


def test_a_short_delay_waits_in_place_and_passes_its_input_on():
    ctx = FakeContext(input=PARENTS, park_threshold_s=5)

    assert run_node("delay", {"seconds": 5}, ctx) == PARENTS
    assert ctx.waited == [5.0]
    assert ctx.parked_until is None
    assert ctx.lines == ["waiting 5 s"]


def test_a_short_delay_that_is_cancelled_fails():
    ctx = FakeContext(cancelled=True)

    with pytest.raises(NodeError, match="^cancelled$"):
        run_node("delay", {"seconds": 0.5}, ctx)


def test_a_long_delay_parks_the_run():
    ctx = FakeContext(input=PARENTS, park_threshold_s=5)
    before = timezone.now()

    with pytest.raises(Park) as caught:
        run_node("delay", {"seconds": 3600}, ctx)

    assert before + timedelta(seconds=3600) <= caught.value.until <= timezone.now() + timedelta(seconds=3600)
    assert ctx.waited == []
    assert ctx.lines[0].startswith("waiting 3600 s: parked until ")


def test_a_parked_delay_passes_its_input_on_once_resumed():
    ctx = FakeContext(input=PARENTS, resume_at=timezone.now() - timedelta(seconds=1))

    assert run_node("delay", {"seconds": 3600}, ctx) == PARENTS
    assert ctx.waited == []
    assert ctx.lines == ["resumed after waiting 3600 s"]


def test_a_parked_delay_resumed_too_early_parks_again():
    ctx = FakeContext(resume_at=timezone.now() + timedelta(hours=1))

    with pytest.raises(Park):
        run_node("delay", {"seconds": 7200}, ctx)


# --- send_email -----------------------------------------------------------------------------------


def test_send_email_sends_one_message_through_djangos_backend(mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "robot@structforge.test"
    ctx = FakeContext()
    params = {"to": ["Ops <ops@example.com>", "dev@example.com"], "subject": "Order 7 failed", "body": "Details…"}

    assert run_node("send_email", params, ctx) == {"sent": 2}

    [message] = mailoutbox
    assert (message.from_email, message.to, message.subject, message.body) == (
        "robot@structforge.test",
        ["Ops <ops@example.com>", "dev@example.com"],
        "Order 7 failed",
        "Details…",
    )
    assert ctx.lines == ["sent 'Order 7 failed' to 2 recipient(s)"]


def test_send_email_to_one_address(mailoutbox):
    assert run_node("send_email", {"to": "a@example.com", "subject": "s", "body": ""}, FakeContext()) == {"sent": 1}
    assert mailoutbox[0].to == ["a@example.com"]


def test_send_email_that_the_backend_cannot_deliver_fails_the_node(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2

    with pytest.raises(NodeError, match="^could not send the email: "):
        run_node("send_email", {"to": "a@example.com", "subject": "s", "body": "b"}, FakeContext())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- subworkflow, stop_error ----------------------------------------------------------------------


def test_subworkflow_runs_through_the_context_and_outputs_the_result():
    ctx = FakeContext(subworkflow_outputs={7: {"sink": {"ok": True}}})

    assert run_node("subworkflow", {"workflow": 7, "input": {"order": 1}}, ctx) == {"sink": {"ok": True}}
    assert ctx.subworkflow_calls == [(7, {"order": 1})]
    assert ctx.lines == ["running workflow 7", "workflow 7 finished"]


def test_subworkflow_without_input_sends_an_empty_object():
    ctx = FakeContext(subworkflow_outputs={3: None})

    assert run_node("subworkflow", {"workflow": 3}, ctx) is None
    assert ctx.subworkflow_calls == [(3, {})]


def test_subworkflow_that_cannot_run_fails_with_the_contexts_error():
    ctx = FakeContext()

    with pytest.raises(NodeError, match="^workflow 9 not found$"):
        run_node("subworkflow", {"workflow": 9}, ctx)


def test_stop_error_fails_with_its_message():
    ctx = FakeContext()

    with pytest.raises(NodeError) as caught:
        run_node("stop_error", {"message": "Order 12 is invalid"}, ctx)

    assert str(caught.value) == "Order 12 is invalid"
    assert ctx.lines == ["stopping the execution with an error"]
