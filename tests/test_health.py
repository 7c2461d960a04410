"""`GET /healthz`: 200 when every part answers, 503 naming the part that does not."""

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

import structforge.health
from scheduling import heartbeat

pytestmark = pytest.mark.django_db

# Nothing listens on port 1, so a connection is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def parts(response) -> dict:
    body = response.json()
    return {part: body[part] for part in ("database", "broker")}


@pytest.fixture(autouse=True)
def scheduler_ticking():
    """The scheduler has just marked its heartbeat, as a running beat does every few seconds."""
    heartbeat.beat()
    yield
    cache.delete(heartbeat.HEARTBEAT_KEY)


def test_healthz_is_200_when_database_broker_and_scheduler_answer(api_client):
    response = api_client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert parts(response) == {"database": "ok", "broker": "ok"}
    assert response.json()["scheduler"] == "ok"


def test_healthz_is_503_naming_the_scheduler_when_it_never_ticked(api_client):
    cache.delete(heartbeat.HEARTBEAT_KEY)

    response = api_client.get("/healthz")

    assert response.status_code == 503
    assert (parts(response), response.json()["scheduler"]) == (
        {"database": "ok", "broker": "ok"},
        "error: no heartbeat",
    )


def test_healthz_is_503_naming_the_scheduler_when_its_last_tick_is_old(api_client, settings):
    settings.STRUCTFORGE_SCHEDULER_STALE_S = 30
    cache.set(heartbeat.HEARTBEAT_KEY, timezone.now().timestamp() - 45)

    response = api_client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["scheduler"] == "error: last tick 45 s ago"


def test_healthz_is_503_naming_the_broker_when_redis_is_unreachable(api_client, settings):
    settings.REDIS_URL = UNREACHABLE_REDIS

    response = api_client.get("/healthz")

    assert response.status_code == 503
    assert parts(response) == {"database": "ok", "broker": "error: ConnectionError"}


def test_healthz_is_503_naming_the_database_when_it_is_down(api_client, monkeypatch):
    class DownConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(structforge.health, "connection", DownConnection())

    response = api_client.get("/healthz")

    assert response.status_code == 503
    assert parts(response)["database"] == "error: OperationalError"


def test_healthz_is_503_when_both_are_down(api_client, settings, monkeypatch):
    class DownConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    settings.REDIS_URL = UNREACHABLE_REDIS
    monkeypatch.setattr(structforge.health, "connection", DownConnection())

    response = api_client.get("/healthz")

    assert response.status_code == 503
    assert parts(response) == {"database": "error: OperationalError", "broker": "error: ConnectionError"}


def test_healthz_needs_no_credentials_and_only_answers_get(api_client):
    assert api_client.get("/healthz").status_code == 200
    assert api_client.post("/healthz").status_code == 405
