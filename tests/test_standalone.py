"""`make run`'s process: SQLite, in-process broker, worker and channel layer, no PostgreSQL or Redis."""

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.workers import ROOT

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def standalone(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "STRUCTFORGE_VAR_DIR": str(tmp_path),
        "DJANGO_SUPERUSER_USERNAME": "admin",
        "DJANGO_SUPERUSER_PASSWORD": "standalone-test-password",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "ensure_admin"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log = (tmp_path / "standalone.log").open("w")
    process = subprocess.Popen(
        [*manage, "standalone", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").json().get("workers", 0) >= 1:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=15)
    log.close()


def test_the_standalone_process_serves_the_api_and_runs_workflows_to_the_end(standalone):
    token = httpx.post(
        f"{standalone}/api/v1/auth/token/", json={"username": "admin", "password": "standalone-test-password"}
    ).json()["token"]
    auth = {"Authorization": f"Token {token}"}
    definition = {
        "nodes": [
            {"id": "greet", "type": "set", "params": {"values": {"text": "hello {{ input.name }}"}}},
            {"id": "pause", "type": "delay", "params": {"seconds": 0.2}},
        ],
        "edges": [{"source": "greet", "target": "pause"}],
    }
    workflow = httpx.post(
        f"{standalone}/api/v1/workflows/", json={"name": "Hello", "definition": definition}, headers=auth
    ).json()

    response = httpx.post(
        f"{standalone}/api/v1/workflows/{workflow['id']}/run/",
        json={"mode": "sync", "input": {"name": "world"}},
        headers=auth,
        timeout=30,
    )

    assert response.status_code == 200
    assert response.json()["status"] == "success"
    assert response.json()["output"] == {"pause": {"greet": {"text": "hello world"}}}
    health = httpx.get(f"{standalone}/healthz").json()
    assert {part: health[part] for part in ("database", "broker", "workers")} == {
        "database": "ok",
        "broker": "ok",
        "workers": 1,
    }
