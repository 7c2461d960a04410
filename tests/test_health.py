"""`GET /healthz`: 200 when every part answers, 503 naming the part that does not."""

import pytest
from django.db import OperationalError

import structforge.health

pytestmark = pytest.mark.django_db

# Nothing listens on port 1, so a connection is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def parts(response) -> dict:
    body = response.json()
    return {part: body[part] for part in ("database", "broker")}


def test_healthz_is_200_when_database_and_broker_answer(api_client):
    response = api_client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert parts(response) == {"database": "ok", "broker": "ok"}


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
