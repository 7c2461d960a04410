"""HTTP through the project's ASGI handler (structforge.http) in a real uvicorn process."""

import json
import socket
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import django.contrib.admin
import httpx
import pytest
import redis
from django.conf import settings

from executions import dispatch
from tests.http_server import Reply
from tests.web_server import TIMEOUT_S, WebServer, api_token
from tests.workers import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.integration,
    pytest.mark.server_checks_passwords,
]


@pytest.fixture
def one_thread_web(django_db_setup, tmp_path):
    """A web process with one request thread and one database connection."""
    extra_env = {"STRUCTFORGE_WEB_THREADS": "1", "DATABASE_POOL_MAX_SIZE": "1"}
    server = WebServer("uvicorn", tmp_path / "uvicorn.log", extra_env=extra_env).wait_ready()
    yield server
    server.stop()


def test_a_synchronous_run_holds_no_thread_and_no_connection_while_it_waits(worker, one_thread_web, server, alice):
    gate = threading.Event()
    server.routes["/gate"] = lambda request: Reply(200, {"opened": gate.wait(TIMEOUT_S)})
    auth = {"Authorization": f"Token {api_token(one_thread_web, alice)}"}
    definition = {
        "nodes": [{"id": "call", "type": "http_request", "params": {"method": "GET", "url": f"{server.url}/gate"}}],
        "edges": [],
    }
    workflow = httpx.post(
        f"{one_thread_web.url}/api/v1/workflows/",
        json={"name": "Waits", "definition": definition},
        headers=auth,
        timeout=TIMEOUT_S,
    ).json()
    answers = []
    caller = threading.Thread(
        target=lambda: answers.append(
            httpx.post(
                f"{one_thread_web.url}/api/v1/workflows/{workflow['id']}/run/",
                json={"mode": "sync"},
                headers=auth,
                timeout=TIMEOUT_S,
            )
        )
    )
    caller.start()
    wait_until(lambda: server.requests, timeout_s=TIMEOUT_S)  # the run is inside its node

    # The web process's only thread and only connection serve other requests meanwhile.
    quota = httpx.get(f"{one_thread_web.url}/api/v1/quota/", headers=auth, timeout=TIMEOUT_S)
    executions = httpx.get(f"{one_thread_web.url}/api/v1/executions/", headers=auth, timeout=TIMEOUT_S)
    gate.set()
    caller.join(TIMEOUT_S)

    assert quota.status_code == 200
    assert executions.status_code == 200
    assert [execution["status"] for execution in executions.json()["results"]] == ["running"]
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["status"] == "success"
    assert answers[0].json()["nodes"][0]["output"]["body"] == {"opened": True}


def test_a_static_file_is_served_whole(one_thread_web):
    stylesheet = Path(django.contrib.admin.__file__).parent / "static" / "admin" / "css" / "base.css"

    response = httpx.get(f"{one_thread_web.url}/static/admin/css/base.css", timeout=TIMEOUT_S)

    assert response.status_code == 200
    assert response.content == stylesheet.read_bytes()


def test_a_client_that_leaves_during_a_synchronous_run_ends_the_wait(django_db_setup, tmp_path, alice):
    # No worker listens on these queues: the run stays pending and the request waits for it.
    extra_env = {"STRUCTFORGE_QUEUE_PREFIX": f"nobody-{uuid.uuid4().hex[:8]}-", "STRUCTFORGE_SYNC_WAIT_S": "60"}
    web = WebServer("uvicorn", tmp_path / "uvicorn.log", extra_env=extra_env).wait_ready()
    try:
        auth = {"Authorization": f"Token {api_token(web, alice)}"}
        workflow = httpx.post(
            f"{web.url}/api/v1/workflows/",
            json={"name": "Never runs", "definition": {"nodes": [{"id": "a", "type": "noop"}], "edges": []}},
            headers=auth,
            timeout=TIMEOUT_S,
        ).json()
        body = json.dumps({"mode": "sync"}).encode()
        request = (
            f"POST /api/v1/workflows/{workflow['id']}/run/ HTTP/1.1\r\nHost: {urlsplit(web.url).netloc}\r\n"
            f"Authorization: {auth['Authorization']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        caller = socket.create_connection(("127.0.0.1", web.port), timeout=TIMEOUT_S)
        caller.sendall(request + body)
        wait_until(lambda: waits_for_a_run() == 1, timeout_s=TIMEOUT_S)  # the request waits in the event loop

        caller.close()

        wait_until(lambda: waits_for_a_run() == 0, timeout_s=TIMEOUT_S)
        assert httpx.get(f"{web.url}/api/v1/quota/", headers=auth, timeout=TIMEOUT_S).status_code == 200
    finally:
        web.stop()


def waits_for_a_run() -> int:
    """Redis clients blocked waiting for a run to finish (`executions.live.wait_finished`), in the tests' database.

    Idle worker processes waiting for a nudge block the same way, on clients of their own name.
    """
    client = redis.Redis.from_url(settings.REDIS_URL)
    database = client.connection_pool.connection_kwargs.get("db", 0)
    try:
        return sum(
            1
            for entry in client.client_list()
            if entry["cmd"] == "blpop" and int(entry["db"]) == database and entry["name"] != dispatch.CLIENT_NAME
        )
    finally:
        client.close()
