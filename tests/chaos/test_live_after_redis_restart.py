"""Redis crashes and comes back empty while WebSocket clients stay connected: they hear of new runs again.

The channel layer is Redis publish/subscribe: a web process subscribes to the groups of its
clients and subscribes again when its connection comes back, so nothing about who listens is
kept in Redis to be lost with it.
"""

import json

import httpx
import pytest

from tests.web_server import TIMEOUT_S, WebServer, api_token, open_socket
from tests.workers import wait_until
from workflows.services import workflow_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.chaos,
    pytest.mark.server_checks_passwords,
]

ONE_NODE = {"nodes": [{"id": "only", "type": "noop"}], "edges": []}


def broker_is_up(web: WebServer) -> bool:
    try:
        return httpx.get(f"{web.url}/healthz", timeout=5).json()["broker"] == "ok"
    except (httpx.TransportError, ValueError, KeyError):
        return False


def test_a_connected_client_hears_of_runs_started_after_redis_came_back(alice, private_redis, start_worker, tmp_path):
    env = {"REDIS_URL": private_redis.url, "STRUCTFORGE_QUEUE_PREFIX": "chaos-live-"}
    start_worker(extra_env=env, concurrency=1)
    web = WebServer("uvicorn", tmp_path / "uvicorn.log", extra_env=env).wait_ready()
    try:
        token = api_token(web, alice)
        workflow = workflow_create(owner=alice, name="One node", definition=ONE_NODE)
        with open_socket(web, "/ws/executions/", token) as own_stream:
            private_redis.kill()
            private_redis.start()
            wait_until(lambda: broker_is_up(web), timeout_s=60)

            accepted = httpx.post(
                f"{web.url}/api/v1/workflows/{workflow.pk}/run/",
                json={"mode": "async"},
                headers={"Authorization": f"Token {token}"},
                timeout=TIMEOUT_S,
            ).json()
            heard = []
            while not heard or heard[-1] != (accepted["id"], "success"):
                event = json.loads(own_stream.recv(timeout=60))
                heard.append((event["execution_id"], event["status"]))
    finally:
        web.stop()

    assert (accepted["id"], "success") in heard
