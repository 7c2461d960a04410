"""Live status against a real deployment: daphne or uvicorn serving the ASGI app, a Celery worker
process, PostgreSQL and Redis between them, and a WebSocket client that knows nothing of Django."""

import json
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.factories import PASSWORD, UserFactory
from tests.http_server import Reply
from tests.web_server import SERVER_COMMANDS, TIMEOUT_S, WebServer, api_token, open_socket
from tests.workers import ROOT, free_port

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.integration,
    pytest.mark.server_checks_passwords,
]


@pytest.fixture(scope="module", params=sorted(SERVER_COMMANDS))
def web(request, django_db_setup, tmp_path_factory):
    server = WebServer(request.param, tmp_path_factory.mktemp("web") / f"{request.param}.log").wait_ready()
    yield server
    server.stop()


def receive_until_closed(ws) -> tuple[list[dict], int]:
    messages = []
    try:
        while True:
            messages.append(json.loads(ws.recv(timeout=TIMEOUT_S)))
    except ConnectionClosed as closed:
        return messages, closed.rcvd.code


def test_a_run_started_through_the_api_streams_its_snapshot_and_ordered_events_until_it_ends(
    worker, web, server, alice
):
    gate = threading.Event()
    server.routes["/gate"] = lambda request: Reply(200, {"opened": gate.wait(TIMEOUT_S)})
    token = api_token(web, alice)
    auth = {"Authorization": f"Token {token}"}
    definition = {
        "nodes": [
            {"id": "first", "type": "noop"},
            {"id": "call", "type": "http_request", "params": {"method": "GET", "url": f"{server.url}/gate"}},
            {"id": "last", "type": "noop"},
        ],
        "edges": [{"source": "first", "target": "call"}, {"source": "call", "target": "last"}],
    }
    workflow = httpx.post(
        f"{web.url}/api/v1/workflows/", json={"name": "Live", "definition": definition}, headers=auth, timeout=TIMEOUT_S
    ).json()

    with open_socket(web, "/ws/executions/", token) as own_stream:
        accepted = httpx.post(
            f"{web.url}/api/v1/workflows/{workflow['id']}/run/", json={"mode": "async"}, headers=auth, timeout=TIMEOUT_S
        ).json()
        with open_socket(web, accepted["ws"], token) as ws:
            snapshot = json.loads(ws.recv(timeout=TIMEOUT_S))
            gate.set()  # the run cannot pass `call` before the snapshot was taken
            events, code = receive_until_closed(ws)
        own_events = [json.loads(own_stream.recv(timeout=TIMEOUT_S))]
        while own_events[-1]["status"] != "success":
            own_events.append(json.loads(own_stream.recv(timeout=TIMEOUT_S)))

    assert snapshot["type"] == "snapshot"
    assert snapshot["execution"]["id"] == accepted["id"]
    assert snapshot["execution"]["status"] in ("pending", "running")
    assert {node["node_id"]: node["status"] for node in snapshot["nodes"]}["last"] == "pending"
    assert [event["seq"] for event in events] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(events)))
    assert [(event["type"], event.get("node_id"), event["status"]) for event in events[-3:]] == [
        ("node", "call", "success"),
        ("node", "last", "success"),
        ("execution", None, "success"),
    ]
    assert events[-2]["progress"] == {"finished": 3, "total": 3}
    assert code == 1000
    # Two processes publish to the owner's stream (the web process announces `pending`, the
    # worker the rest), so arrival order may differ from `seq` order there.
    own_statuses = [event["status"] for event in sorted(own_events, key=lambda event: event["seq"])]
    assert own_statuses[-2:] == ["running", "success"]
    assert {event["execution_id"] for event in own_events} == {accepted["id"]}
    detail = httpx.get(f"{web.url}/api/v1/executions/{accepted['id']}/", headers=auth, timeout=TIMEOUT_S).json()
    assert {node["node_id"]: node["status"] for node in detail["nodes"]} == {
        "first": "success",
        "call": "success",
        "last": "success",
    }


def test_an_outsider_is_refused_at_the_handshake(worker, web, alice):
    bob = UserFactory(username="bob")
    alice_auth = {"Authorization": f"Token {api_token(web, alice)}"}
    definition = {"nodes": [{"id": "only", "type": "noop"}], "edges": []}
    workflow = httpx.post(
        f"{web.url}/api/v1/workflows/", json={"name": "Mine", "definition": definition}, headers=alice_auth
    ).json()
    accepted = httpx.post(
        f"{web.url}/api/v1/workflows/{workflow['id']}/run/", json={"mode": "async"}, headers=alice_auth
    ).json()

    with pytest.raises(InvalidStatus) as refused:
        open_socket(web, accepted["ws"], api_token(web, bob))

    assert refused.value.response.status_code == 403


@pytest.fixture
def standalone(tmp_path):
    """`manage.py standalone` on SQLite: no Redis, the in-memory channel layer in uvicorn's loop."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "STRUCTFORGE_VAR_DIR": str(tmp_path),
        "DJANGO_SUPERUSER_USERNAME": "admin",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "PYTHONUNBUFFERED": "1",
        "STRUCTFORGE_HTTP_ALLOWED_NETWORKS": "127.0.0.0/8",  # the tests' HTTP server
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "ensure_admin"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log_path = tmp_path / "standalone.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*manage, "standalone", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).json().get("workers", 0) >= 1:
                    break
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(0.2)
        else:
            process.terminate()
            raise RuntimeError(f"standalone did not start:\n{log_path.read_text()[-3000:]}")
        yield base
        process.terminate()
        process.wait(timeout=15)


def test_the_standalone_process_streams_a_run_through_its_in_memory_channel_layer(standalone, server):
    gate = threading.Event()
    server.routes["/gate"] = lambda request: Reply(200, {"opened": gate.wait(TIMEOUT_S)})
    token = httpx.post(
        f"{standalone}/api/v1/auth/token/", json={"username": "admin", "password": PASSWORD}, timeout=TIMEOUT_S
    ).json()["token"]
    auth = {"Authorization": f"Token {token}"}
    definition = {
        "nodes": [
            {"id": "call", "type": "http_request", "params": {"method": "GET", "url": f"{server.url}/gate"}},
            {"id": "last", "type": "noop"},
        ],
        "edges": [{"source": "call", "target": "last"}],
    }
    workflow = httpx.post(
        f"{standalone}/api/v1/workflows/", json={"name": "Live", "definition": definition}, headers=auth
    ).json()
    accepted = httpx.post(
        f"{standalone}/api/v1/workflows/{workflow['id']}/run/", json={"mode": "async"}, headers=auth
    ).json()

    ws_url = standalone.replace("http://", "ws://")
    with connect(
        f"{ws_url}{accepted['ws']}?token={token}", origin=standalone, proxy=None, open_timeout=TIMEOUT_S
    ) as ws:
        snapshot = json.loads(ws.recv(timeout=TIMEOUT_S))
        gate.set()
        events, code = receive_until_closed(ws)

    assert snapshot["type"] == "snapshot"
    assert snapshot["execution"]["status"] in ("pending", "running")
    assert [(event["type"], event.get("node_id"), event["status"]) for event in events[-3:]] == [
        ("node", "call", "success"),
        ("node", "last", "success"),
        ("execution", None, "success"),
    ]
    assert [event["seq"] for event in events] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(events)))
    assert code == 1000
