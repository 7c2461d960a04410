"""A real web server (daphne or uvicorn) in a subprocess, and the clients the tests talk to it with."""

import os
import subprocess
import sys
import time

import httpx
from django.conf import settings
from websockets.sync.client import connect

from tests.factories import PASSWORD
from tests.workers import ROOT, database_url, free_port, stop_process_group

TIMEOUT_S = 30


SERVER_COMMANDS = {
    "daphne": ["daphne", "-b", "127.0.0.1", "-p", "{port}"],
    "uvicorn": ["uvicorn", "--host", "127.0.0.1", "--port", "{port}"],
}


class WebServer:
    """`daphne` or `uvicorn structforge.asgi:application` in a subprocess, on the test database and Redis."""

    def __init__(self, server: str, log_path, *, extra_env: dict[str, str] | None = None) -> None:
        self.server = server
        self.port = free_port()
        self.log_path = log_path
        self.log_file = log_path.open("w")
        env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL, "PYTHONUNBUFFERED": "1"}
        env |= extra_env or {}
        command = [sys.executable, "-m", *(part.format(port=self.port) for part in SERVER_COMMANDS[server])]
        command.append("structforge.asgi:application")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 60) -> "WebServer":
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                httpx.get(f"{self.url}/healthz", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.server} did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        stop_process_group(self.process)
        self.log_file.close()


def api_token(web: WebServer, user) -> str:
    response = httpx.post(
        f"{web.url}/api/v1/auth/token/", json={"username": user.username, "password": PASSWORD}, timeout=TIMEOUT_S
    )
    assert response.status_code in (200, 201), response.text
    return response.json()["token"]


def open_socket(web: WebServer, path: str, token: str):
    # Browsers always send an Origin; this client says where it comes from too.
    return connect(f"{web.ws_url}{path}?token={token}", origin=web.url, proxy=None, open_timeout=TIMEOUT_S)
