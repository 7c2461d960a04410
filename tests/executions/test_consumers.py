"""The live status WebSocket through the real ASGI stack (origin check, session, token), with the
engine running in this process and the test Redis as channel layer and live-state store."""

import asyncio
import json
import threading

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client

from executions import consumers, engine, live, services
from executions.models import Execution, Trigger
from sharing import services as sharing_services
from sharing.models import Grant
from structforge.asgi import application
from tests.factories import FolderFactory, UserFactory
from tests.http_server import Reply
from workflows import services as workflow_services

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://127.0.0.1")
TIMEOUT_S = 20
CHAIN = [{"id": "first", "type": "noop"}, {"id": "second", "type": "noop"}, {"id": "third", "type": "noop"}]
CHAIN_EDGES = [{"source": "first", "target": "second"}, {"source": "second", "target": "third"}]


@pytest.fixture(autouse=True)
def fresh_live_state():
    """Execution ids start again with each test database; live state left by an earlier session must go."""
    if django_settings.REDIS_URL:
        client = redis.Redis.from_url(django_settings.REDIS_URL)
        keys = list(client.scan_iter("structforge:execution:*"))
        if keys:
            client.delete(*keys)
    yield
    assert live.flush(TIMEOUT_S)


@pytest.fixture(autouse=True)
def not_queued(monkeypatch):
    """Runs are driven by the test (`run_in_background`), not by a worker that may be listening."""
    monkeypatch.setattr("executions.dispatch.enqueue", lambda *args, **kwargs: None)
    monkeypatch.setattr("executions.dispatch.wake_for_pending", lambda *args, **kwargs: None)


@pytest.fixture
def carol(db):
    """A viewer of alice's workflow."""
    return UserFactory(username="carol")


def make_workflow(owner, nodes=CHAIN, edges=CHAIN_EDGES):
    definition = {"nodes": list(nodes), "edges": list(edges), "settings": {}}
    return workflow_services.workflow_create(owner=owner, name="Live", definition=definition)


def start(workflow, owner) -> Execution:
    execution = services.execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=owner, input={})
    assert live.flush(TIMEOUT_S)  # the `pending` event is numbered before any client connects
    return execution


def run_in_background() -> threading.Thread:
    """The engine on a thread of this process, as a worker would run it."""

    def target() -> None:
        try:
            engine.work()  # admission control hands out the only pending run: this one
        finally:
            connection.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    return [ORIGIN, (b"cookie", cookie.encode())]


def socket(path: str, headers) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers)


async def receive(communicator: WebsocketCommunicator) -> dict:
    output = await communicator.receive_output(timeout=TIMEOUT_S)
    assert output["type"] == "websocket.send", output
    return json.loads(output["text"])


async def receive_until_closed(communicator: WebsocketCommunicator) -> tuple[list[dict], int]:
    messages = []
    while True:
        output = await communicator.receive_output(timeout=TIMEOUT_S)
        if output["type"] == "websocket.close":
            return messages, output.get("code")
        messages.append(json.loads(output["text"]))


def assert_ordered_run(events: list[dict], *, after_seq: int, node_ids: list[str], final: str = "success") -> None:
    """Numbered one by one after the snapshot, every node told its end, the final state last."""
    assert [event["seq"] for event in events] == list(range(after_seq + 1, after_seq + 1 + len(events)))
    assert events[-1]["type"] == "execution"
    assert events[-1]["status"] == final
    last_node_status = {event["node_id"]: event["status"] for event in events if event["type"] == "node"}
    assert sorted(last_node_status) == sorted(node_ids)


# --- who may connect ---------------------------------------------------------------------------------------


def test_an_outsider_is_refused_before_the_handshake_completes(alice, bob):
    execution = start(make_workflow(alice), alice)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", session_headers_bob)
        connected, code = await communicator.connect(timeout=TIMEOUT_S)
        assert (connected, code) == (False, consumers.CLOSE_NOT_FOUND)
        assert await communicator.receive_nothing()

    session_headers_bob = session_headers(bob)
    async_to_sync(scenario)()


def test_an_anonymous_client_and_a_wrong_token_are_refused(alice):
    execution = start(make_workflow(alice), alice)

    async def scenario():
        for path in (f"/ws/executions/{execution.pk}/", f"/ws/executions/{execution.pk}/?token=not-a-token"):
            connected, code = await socket(path, [ORIGIN]).connect(timeout=TIMEOUT_S)
            assert (path, connected, code) == (path, False, consumers.CLOSE_UNAUTHENTICATED)

    async_to_sync(scenario)()


def test_a_missing_execution_is_refused_like_a_hidden_one(alice):
    headers = session_headers(alice)

    async def scenario():
        connected, code = await socket("/ws/executions/999999/", headers).connect(timeout=TIMEOUT_S)
        assert (connected, code) == (False, consumers.CLOSE_NOT_FOUND)

    async_to_sync(scenario)()


def test_a_group_member_a_folder_sharee_and_a_new_owner_may_watch_and_the_old_owner_too(alice, bob, carol):
    group = Group.objects.create(name="watchers")
    bob.groups.add(group)
    folder = FolderFactory(owner=alice)
    shared_with_group = make_workflow(alice)
    sharing_services.grant_set(workflow=shared_with_group, group=group, role="viewer", granted_by=alice)
    in_folder = make_workflow(alice)
    workflow_services.workflow_update(workflow=in_folder, user=alice, data={"folder": folder})
    sharing_services.grant_set(folder=folder, user=carol, role="viewer", granted_by=alice)
    handed_over = make_workflow(alice)
    old_run = start(handed_over, alice)  # its owner_id stays alice's
    workflow_services.workflow_transfer(workflow=handed_over, new_owner=carol, by=alice)
    watchers = [
        (bob, start(shared_with_group, alice)),
        (carol, start(in_folder, alice)),
        (carol, old_run),
        (alice, old_run),  # the previous owner keeps editor rights
    ]

    async def snapshot_of(user, execution):
        communicator = socket(f"/ws/executions/{execution.pk}/", await database_sync_to_async(session_headers)(user))
        connected, code = await communicator.connect(timeout=TIMEOUT_S)
        snapshot = await receive(communicator) if connected else code
        await communicator.disconnect()
        return snapshot

    async def scenario():
        return [await snapshot_of(user, execution) for user, execution in watchers]

    snapshots = async_to_sync(scenario)()

    assert [(snapshot["type"], snapshot["execution"]["id"]) for snapshot in snapshots] == [
        ("snapshot", execution.pk) for _, execution in watchers
    ]


# --- watching a run ------------------------------------------------------------------------------------------


def test_a_viewer_gets_a_snapshot_then_every_change_in_order_then_the_socket_closes(alice, carol):
    workflow = make_workflow(alice)
    sharing_services.grant_set(workflow=workflow, user=carol, role="viewer", granted_by=alice)
    execution = start(workflow, alice)
    headers = session_headers(carol)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        connected, _ = await communicator.connect(timeout=TIMEOUT_S)
        assert connected
        snapshot = await receive(communicator)
        run_in_background()
        events, code = await receive_until_closed(communicator)
        await communicator.disconnect()
        return snapshot, events, code

    snapshot, events, code = async_to_sync(scenario)()

    assert snapshot["type"] == "snapshot"
    assert snapshot["seq"] == live.live_state(execution.pk)["seq"] - len(events)
    assert snapshot["execution"]["id"] == execution.pk
    assert snapshot["execution"]["status"] == "pending"
    assert snapshot["execution"]["progress"] == {"finished": 0, "total": 3}
    assert [(node["node_id"], node["status"]) for node in snapshot["nodes"]] == [
        ("first", "pending"),
        ("second", "pending"),
        ("third", "pending"),
    ]
    assert_ordered_run(events, after_seq=snapshot["seq"], node_ids=["first", "second", "third"])
    assert (events[0]["type"], events[0]["status"]) == ("execution", "running")
    node_events = [event for event in events if event["type"] == "node"]
    assert [(event["node_id"], event["status"]) for event in node_events] == [
        ("first", "success"),
        ("second", "success"),
        ("third", "success"),
    ]
    assert [event["progress"] for event in node_events] == [
        {"finished": 1, "total": 3},
        {"finished": 2, "total": 3},
        {"finished": 3, "total": 3},
    ]
    assert all(event["execution_id"] == execution.pk for event in events)
    assert code == consumers.CLOSE_DONE


def test_a_token_in_the_query_string_signs_the_socket_in(alice, carol):
    workflow = make_workflow(alice)
    sharing_services.grant_set(workflow=workflow, user=carol, role="viewer", granted_by=alice)
    execution = start(workflow, alice)
    token, _ = sharing_services.api_token_issue(user=carol)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/?token={token}", [ORIGIN])
        connected, _ = await communicator.connect(timeout=TIMEOUT_S)
        snapshot = await receive(communicator)
        await communicator.disconnect()
        return connected, snapshot

    connected, snapshot = async_to_sync(scenario)()

    assert connected
    assert (snapshot["type"], snapshot["execution"]["id"]) == ("snapshot", execution.pk)


def test_a_snapshot_asked_for_mid_run_covers_what_was_sent_and_nothing_is_sent_twice(alice, server, settings):
    settings.STRUCTFORGE_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    gate = threading.Event()
    server.routes["/gate"] = lambda request: Reply(200, {"opened": gate.wait(TIMEOUT_S)})
    workflow = make_workflow(
        alice,
        [
            {"id": "first", "type": "noop"},
            {"id": "call", "type": "http_request", "params": {"method": "GET", "url": f"{server.url}/gate"}},
            {"id": "last", "type": "noop"},
        ],
        [{"source": "first", "target": "call"}, {"source": "call", "target": "last"}],
    )
    execution = start(workflow, alice)
    headers = session_headers(alice)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        first_snapshot = await receive(communicator)
        run_in_background()
        before = []
        while not (before and before[-1].get("node_id") == "call" and before[-1]["status"] == "running"):
            before.append(await receive(communicator))
        await communicator.send_json_to({"type": "snapshot"})
        middle = await receive(communicator)
        gate.set()
        after, code = await receive_until_closed(communicator)
        await communicator.disconnect()
        return first_snapshot, before, middle, after, code

    first_snapshot, before, middle, after, code = async_to_sync(scenario)()

    assert [event["seq"] for event in before] == list(range(first_snapshot["seq"] + 1, middle["seq"] + 1))
    assert middle["type"] == "snapshot"
    assert middle["execution"]["status"] == "running"
    assert {node["node_id"]: node["status"] for node in middle["nodes"]} == {
        "first": "success",
        "call": "running",
        "last": "pending",
    }
    assert_ordered_run(after, after_seq=middle["seq"], node_ids=["call", "last"])
    assert code == consumers.CLOSE_DONE


def test_a_failed_run_tells_the_nodes_it_cancelled_before_its_end(alice):
    workflow = make_workflow(
        alice,
        [
            {"id": "first", "type": "noop"},
            {"id": "boom", "type": "stop_error", "params": {"message": "no more"}},
            {"id": "never", "type": "noop"},
        ],
        [{"source": "first", "target": "boom"}, {"source": "boom", "target": "never"}],
    )
    execution = start(workflow, alice)
    headers = session_headers(alice)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        snapshot = await receive(communicator)
        run_in_background()
        events, code = await receive_until_closed(communicator)
        await communicator.disconnect()
        return snapshot, events, code

    snapshot, events, code = async_to_sync(scenario)()

    assert_ordered_run(events, after_seq=snapshot["seq"], node_ids=["first", "boom", "never"], final="failed")
    assert [(event["node_id"], event["status"]) for event in events if event["type"] == "node"][-2:] == [
        ("boom", "failed"),
        ("never", "cancelled"),
    ]
    assert events[-1]["error_node"] == "boom"
    assert events[-2]["progress"] == {"finished": 3, "total": 3}
    assert code == consumers.CLOSE_DONE


def test_cancelling_a_pending_run_ends_the_stream(alice):
    execution = start(make_workflow(alice), alice)
    headers = session_headers(alice)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        snapshot = await receive(communicator)
        await database_sync_to_async(services.execution_cancel)(execution=execution)
        events, code = await receive_until_closed(communicator)
        await communicator.disconnect()
        return snapshot, events, code

    snapshot, events, code = async_to_sync(scenario)()

    assert snapshot["execution"]["status"] == "pending"
    assert_ordered_run(events, after_seq=snapshot["seq"], node_ids=["first", "second", "third"], final="cancelled")
    assert {event["status"] for event in events if event["type"] == "node"} == {"cancelled"}
    assert code == consumers.CLOSE_DONE


def test_a_finished_run_gets_its_final_snapshot_and_the_socket_closes(alice):
    execution = start(make_workflow(alice), alice)
    assert engine.work() == 1
    headers = session_headers(alice)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        messages, code = await receive_until_closed(communicator)
        await communicator.disconnect()
        return messages, code

    messages, code = async_to_sync(scenario)()

    assert [message["type"] for message in messages] == ["snapshot"]
    assert messages[0]["execution"]["status"] == "success"
    assert {node["status"] for node in messages[0]["nodes"]} == {"success"}
    assert code == consumers.CLOSE_DONE


# --- ordering, gaps, access ------------------------------------------------------------------------------------


def test_events_are_forwarded_in_seq_order_and_those_the_snapshot_covers_are_dropped(alice):
    execution = start(make_workflow(alice), alice)
    headers = session_headers(alice)
    group = live.execution_group(execution.pk)

    def event(seq: int, node_id: str) -> dict:
        return {"type": "node", "execution_id": execution.pk, "node_id": node_id, "status": "running", "seq": seq}

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        snapshot = await receive(communicator)
        seq = snapshot["seq"]
        layer = get_channel_layer()
        message = {"type": "execution.events"}
        await layer.group_send(group, {**message, "events": [event(seq, "old"), event(seq + 2, "second")]})
        await layer.group_send(group, {**message, "events": [event(seq + 1, "first")]})
        received = [await receive(communicator), await receive(communicator)]
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return seq, received

    seq, received = async_to_sync(scenario)()

    assert [(event["seq"], event["node_id"]) for event in received] == [(seq + 1, "first"), (seq + 2, "second")]


def test_a_gap_that_stays_open_is_closed_by_a_fresh_snapshot(alice, monkeypatch):
    monkeypatch.setattr(consumers, "GAP_WAIT_S", 0.2)
    execution = start(make_workflow(alice), alice)
    headers = session_headers(alice)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        snapshot = await receive(communicator)
        lost_one_later = {"type": "node", "node_id": "second", "status": "running", "seq": snapshot["seq"] + 2}
        await get_channel_layer().group_send(
            live.execution_group(execution.pk), {"type": "execution.events", "events": [lost_one_later]}
        )
        resync = await receive(communicator)
        await communicator.disconnect()
        return resync

    assert async_to_sync(scenario)()["type"] == "snapshot"


def test_a_viewer_whose_access_is_revoked_is_disconnected_when_asking_for_a_snapshot(alice, carol):
    workflow = make_workflow(alice)
    grant = sharing_services.grant_set(workflow=workflow, user=carol, role="viewer", granted_by=alice)
    execution = start(workflow, alice)
    headers = session_headers(carol)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        await receive(communicator)
        await database_sync_to_async(sharing_services.grant_revoke)(grant=grant, revoked_by=alice)
        await communicator.send_json_to({"type": "snapshot"})
        messages, code = await receive_until_closed(communicator)
        await communicator.disconnect()
        return messages, code

    assert async_to_sync(scenario)() == ([], consumers.CLOSE_FORBIDDEN)
    assert not Grant.objects.filter(pk=grant.pk).exists()


def test_a_viewer_whose_access_is_revoked_is_disconnected_by_the_periodic_check(alice, carol, monkeypatch):
    monkeypatch.setattr(consumers, "ACCESS_CHECK_S", 0.2)
    workflow = make_workflow(alice)
    grant = sharing_services.grant_set(workflow=workflow, user=carol, role="viewer", granted_by=alice)
    execution = start(workflow, alice)
    headers = session_headers(carol)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        await receive(communicator)
        await database_sync_to_async(sharing_services.grant_revoke)(grant=grant, revoked_by=alice)
        messages, code = await receive_until_closed(communicator)
        await communicator.disconnect()
        return messages, code

    assert async_to_sync(scenario)() == ([], consumers.CLOSE_FORBIDDEN)


def test_unknown_requests_get_an_error_and_the_stream_goes_on(alice):
    execution = start(make_workflow(alice), alice)
    headers = session_headers(alice)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        await receive(communicator)
        await communicator.send_to(text_data="not json")
        not_json = await receive(communicator)
        await communicator.send_json_to({"type": "subscribe"})
        unknown = await receive(communicator)
        await communicator.send_json_to({"type": "snapshot"})
        snapshot = await receive(communicator)
        await communicator.disconnect()
        return not_json, unknown, snapshot

    not_json, unknown, snapshot = async_to_sync(scenario)()

    assert not_json == {"type": "error", "message": "Messages are JSON objects."}
    assert unknown == {"type": "error", "message": 'The only request is {"type": "snapshot"}.'}
    assert snapshot["type"] == "snapshot"


# --- the caller's own executions ----------------------------------------------------------------------------------


def test_the_own_executions_stream_tells_the_owner_and_nobody_else(alice, bob):
    execution = start(make_workflow(alice), alice)
    alice_headers, bob_headers = session_headers(alice), session_headers(bob)

    async def scenario():
        alice_socket = socket("/ws/executions/", alice_headers)
        bob_socket = socket("/ws/executions/", bob_headers)
        assert (await alice_socket.connect(timeout=TIMEOUT_S))[0]
        assert (await bob_socket.connect(timeout=TIMEOUT_S))[0]
        run_in_background()
        events = [await receive(alice_socket)]
        while events[-1]["status"] != "success":
            events.append(await receive(alice_socket))
        bob_heard_nothing = await bob_socket.receive_nothing(timeout=0.5)
        await alice_socket.disconnect()
        await bob_socket.disconnect()
        return events, bob_heard_nothing

    events, bob_heard_nothing = async_to_sync(scenario)()

    assert [(event["type"], event["execution_id"], event["status"]) for event in events] == [
        ("execution", execution.pk, "running"),
        ("execution", execution.pk, "success"),
    ]
    assert events[0]["seq"] < events[1]["seq"]
    assert bob_heard_nothing


def test_the_own_executions_stream_needs_a_signed_in_user():
    async def scenario():
        return await socket("/ws/executions/", [ORIGIN]).connect(timeout=TIMEOUT_S)

    assert async_to_sync(scenario)() == (False, consumers.CLOSE_UNAUTHENTICATED)


# --- standalone: no Redis, the in-memory channel layer in the web server's loop ---------------------------------


def test_without_redis_events_reach_the_socket_through_the_web_servers_loop(alice, settings):
    settings.REDIS_URL = ""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    execution = start(make_workflow(alice), alice)
    headers = session_headers(alice)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        snapshot = await receive(communicator)
        run_in_background()
        events, code = await receive_until_closed(communicator)
        await communicator.disconnect()
        return snapshot, events, code

    snapshot, events, code = async_to_sync(scenario)()

    assert snapshot["seq"] == 1  # the `pending` announcement, numbered in this process
    assert_ordered_run(events, after_seq=1, node_ids=["first", "second", "third"])
    assert code == consumers.CLOSE_DONE


# --- the live state ---------------------------------------------------------------------------------------------


def test_the_live_state_merges_node_changes_and_never_moves_a_status_back(alice):
    execution = start(make_workflow(alice), alice)
    ids = {"execution_id": execution.pk, "owner_id": alice.pk}

    live.publish_execution(**ids, status="running")
    live.publish_nodes(
        **ids,
        nodes=[{"node_id": "first", "status": "running", "attempt": 1, "started_at": "2030-01-01T00:00:00+00:00"}],
        finished=0,
        total=3,
    )
    live.publish_nodes(**ids, nodes=[{"node_id": "first", "status": "success", "log": ["done"]}], finished=1, total=3)
    live.publish_execution(**ids, status="pending", waiting_reason="global")  # late: the run already started
    assert live.flush(TIMEOUT_S)

    state = live.live_state(execution.pk)
    assert state == {
        "seq": 4,  # the `pending` announcement at start, then three changes; the late one is dropped
        "execution": {"status": "running"},
        "progress": {"finished": 1, "total": 3},
        "nodes": {
            "first": {
                "node_id": "first",
                "status": "success",
                "attempt": 1,
                "started_at": "2030-01-01T00:00:00+00:00",
                "log": ["done"],
            }
        },
    }


def test_published_changes_reach_the_groups_subscribers_numbered_in_order(alice):
    execution = start(make_workflow(alice), alice)  # its `pending` event is seq 1
    ids = {"execution_id": execution.pk, "owner_id": alice.pk}
    layer = get_channel_layer()

    async def events_on(channel: str, count: int) -> list[dict]:
        events = []
        while len(events) < count:
            message = await layer.receive(channel)
            assert message["type"] == "execution.events"
            events += message["events"]
        return events

    async def scenario():
        on_execution, on_user = await layer.new_channel(), await layer.new_channel()
        await layer.group_add(live.execution_group(execution.pk), on_execution)
        await layer.group_add(live.user_group(alice.pk), on_user)
        live.publish_execution(**ids, status="running")
        node = {"node_id": "first", "status": "success", "log": ["done"], "output": {"n": [1, 2.5, None]}}
        live.publish_nodes(**ids, nodes=[node], finished=1, total=3)
        async with asyncio.timeout(TIMEOUT_S):
            return await events_on(on_execution, 2), await events_on(on_user, 1)

    execution_events, user_events = async_to_sync(scenario)()

    running = {"type": "execution", "execution_id": execution.pk, "status": "running", "seq": 2}
    assert execution_events == [
        running,
        {
            "type": "node",
            "execution_id": execution.pk,
            "node_id": "first",
            "status": "success",
            "log": ["done"],
            "output": {"n": [1, 2.5, None]},
            "progress": {"finished": 1, "total": 3},
            "seq": 3,
        },
    ]
    assert user_events == [running]


def test_publishing_never_raises_into_the_run_when_redis_is_down(alice, settings):
    execution = start(make_workflow(alice), alice)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [settings.REDIS_URL]}}
    }

    live.publish_execution(execution_id=execution.pk, owner_id=alice.pk, status="running")
    live.publish_nodes(
        execution_id=execution.pk,
        owner_id=alice.pk,
        nodes=[{"node_id": "first", "status": "success"}],
        finished=1,
        total=3,
    )

    assert live.flush(TIMEOUT_S)
    assert live.live_state(execution.pk) is None


def test_a_socket_idle_longer_than_the_channel_layers_blocking_read_stays_open(alice):
    # The channel layer reads Redis for as long as a socket is open; no read may time out the
    # socket (redis-py 8 gives up on a blocking read after 5 s by default).
    execution = start(make_workflow(alice), alice)
    headers = session_headers(alice)

    async def scenario():
        communicator = socket(f"/ws/executions/{execution.pk}/", headers)
        assert (await communicator.connect(timeout=TIMEOUT_S))[0]
        await receive(communicator)
        assert await communicator.receive_nothing(timeout=12, interval=0.5)
        await communicator.send_json_to({"type": "snapshot"})
        snapshot = await receive(communicator)
        await communicator.disconnect()
        return snapshot

    assert async_to_sync(scenario)()["type"] == "snapshot"


@pytest.mark.parametrize("redis_url", [django_settings.REDIS_URL, ""], ids=["redis", "standalone"])
def test_the_published_end_of_a_run_wakes_its_waiter_however_the_run_ended(alice, settings, redis_url):
    settings.REDIS_URL = redis_url
    if not redis_url:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    workflow = make_workflow(alice)
    cancelled, ran = start(workflow, alice), start(workflow, alice)
    services.execution_cancel(execution=cancelled)  # pending: ended by the web, published from PostgreSQL
    run_in_background().join(TIMEOUT_S)  # ended by the runner, which publishes its end itself
    never_ends = start(workflow, alice)
    assert live.flush(TIMEOUT_S)

    assert [Execution.objects.get(pk=e.pk).status for e in (cancelled, ran)] == ["cancelled", "success"]
    assert async_to_sync(live.wait_finished)(ran.pk, TIMEOUT_S) is True
    assert async_to_sync(live.wait_finished)(cancelled.pk, TIMEOUT_S) is True
    assert async_to_sync(live.wait_finished)(never_ends.pk, 1) is False


def test_a_synchronous_caller_may_wait_longer_than_the_redis_clients_default_read_timeout():
    assert async_to_sync(live.wait_finished)(987_654_321, 6) is False
