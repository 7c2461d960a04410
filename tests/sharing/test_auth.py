"""Token login and logout (`/api/v1/auth/token/`, `/api/v1/auth/logout/`), 401s and login throttling."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.factories import PASSWORD, UserFactory, WorkflowFactory
from workflows.models import Folder

pytestmark = [pytest.mark.django_db]

LOGIN = "/api/v1/auth/token/"
LOGOUT = "/api/v1/auth/logout/"
REFUSED = {"non_field_errors": ["Unable to log in with the username and password given."]}
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN_TTL = settings.REST_KNOX["TOKEN_TTL"]


@pytest.fixture(autouse=True)
def empty_cache():
    # The login throttle counts attempts in the cache; every test starts with none.
    cache.clear()
    yield
    cache.clear()


def log_in(client: APIClient, username: str = "alice", password: str = PASSWORD) -> str:
    response = client.post(LOGIN, {"username": username, "password": password})
    assert response.status_code == 200, response.json()
    return response.json()["token"]


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def login_limit() -> int:
    limit, _ = ScopedRateThrottle().parse_rate(ScopedRateThrottle.THROTTLE_RATES["login"])
    return limit


# --- Login ----------------------------------------------------------------------------------------


def test_login_with_the_right_password_returns_a_token_and_its_expiry(alice, api_client):
    with time_machine.travel(NOW, tick=False):
        response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    assert len(body["token"]) == 64
    assert datetime.fromisoformat(body["expiry"]) == NOW + TOKEN_TTL
    assert AuthToken.objects.filter(user=alice).count() == 1


def test_the_token_authenticates_api_requests_as_its_user(alice, api_client):
    workflow = WorkflowFactory(owner=alice)
    client = token_client(log_in(api_client))

    listed = client.get("/api/v1/workflows/")
    created = client.post("/api/v1/folders/", {"name": "Reports"})

    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == [workflow.pk]
    assert created.status_code == 201
    assert Folder.objects.get().owner == alice


def test_the_database_stores_only_the_digest_of_a_token(alice, api_client):
    token = log_in(api_client)

    row = AuthToken.objects.get(user=alice)
    assert row.digest == hashlib.sha512(token.encode()).hexdigest()
    # knox keeps the first 15 characters to find the row; the token itself is nowhere.
    assert row.token_key == token[:15]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AuthToken._meta.db_table}")
        stored = [str(value) for record in cursor.fetchall() for value in record]
    assert stored
    assert not [value for value in stored if token in value]


def test_each_login_issues_a_new_token_and_both_work(alice, api_client):
    first, second = log_in(api_client), log_in(api_client)

    assert first != second
    assert AuthToken.objects.filter(user=alice).count() == 2
    assert token_client(first).get("/api/v1/workflows/").status_code == 200
    assert token_client(second).get("/api/v1/workflows/").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("alice", PASSWORD.upper()), ("nobody", PASSWORD), ("ALICE", PASSWORD)],
)
def test_login_with_wrong_credentials_is_refused_the_same_way(alice, api_client, username, password):
    response = api_client.post(LOGIN, {"username": username, "password": password})

    assert response.status_code == 400
    assert response.json() == REFUSED
    assert AuthToken.objects.count() == 0


def test_an_inactive_user_cannot_log_in(api_client):
    UserFactory(username="carol", is_active=False)

    response = api_client.post(LOGIN, {"username": "carol", "password": PASSWORD})

    assert response.status_code == 400
    assert response.json() == REFUSED
    assert AuthToken.objects.count() == 0


def test_login_without_username_and_password_names_both(api_client):
    response = api_client.post(LOGIN, {})

    assert response.status_code == 400
    assert response.json() == {"username": ["This field is required."], "password": ["This field is required."]}


def test_login_with_a_blank_password_names_password(alice, api_client):
    response = api_client.post(LOGIN, {"username": "alice", "password": ""})

    assert response.status_code == 400
    assert response.json() == {"password": ["This field may not be blank."]}
    assert AuthToken.objects.count() == 0


def test_login_accepts_a_form_encoded_body(alice, api_client):
    response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="multipart")

    assert response.status_code == 200
    assert AuthToken.objects.filter(user=alice).count() == 1


def test_login_ignores_a_stale_authorization_header(alice, api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200


def test_login_only_answers_post(api_client):
    assert api_client.get(LOGIN).status_code == 405


# --- Tokens on other endpoints --------------------------------------------------------------------


def test_an_unknown_token_is_401(alice, api_client):
    response = token_client("0" * 64).get("/api/v1/workflows/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_that_is_not_utf8_is_401(api_client):
    response = token_client("\xff" * 64).get("/api/v1/workflows/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_token_header_without_a_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token")

    response = api_client.get("/api/v1/workflows/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token header. No credentials provided."}


def test_a_request_without_credentials_is_401(api_client):
    response = api_client.get("/api/v1/workflows/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_stops_working_once_it_expires_and_is_deleted(alice, api_client):
    with time_machine.travel(NOW, tick=False):
        token = log_in(api_client)

    with time_machine.travel(NOW + TOKEN_TTL + timedelta(seconds=1), tick=False):
        response = token_client(token).get("/api/v1/workflows/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert AuthToken.objects.count() == 0


def test_logging_in_again_deletes_the_users_expired_tokens(alice, api_client):
    with time_machine.travel(NOW, tick=False):
        log_in(api_client)

    with time_machine.travel(NOW + TOKEN_TTL + timedelta(seconds=1), tick=False):
        fresh = log_in(api_client)
        assert token_client(fresh).get("/api/v1/workflows/").status_code == 200

    assert AuthToken.objects.count() == 1


def test_using_a_token_extends_its_life(alice, api_client):
    with time_machine.travel(NOW, tick=False):
        token = log_in(api_client)
    with time_machine.travel(NOW + TOKEN_TTL / 2, tick=False):
        assert token_client(token).get("/api/v1/workflows/").status_code == 200

    later = NOW + TOKEN_TTL + timedelta(seconds=1)  # past the expiry the login gave
    with time_machine.travel(later, tick=False):
        response = token_client(token).get("/api/v1/workflows/")

    assert response.status_code == 200
    assert AuthToken.objects.get().expiry == later + TOKEN_TTL


def test_a_deactivated_users_token_is_401(alice, api_client):
    token = log_in(api_client)
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    response = token_client(token).get("/api/v1/workflows/")

    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


# --- Logout ---------------------------------------------------------------------------------------


def test_logout_revokes_the_token_it_was_called_with(alice, api_client):
    token = log_in(api_client)
    client = token_client(token)

    response = client.post(LOGOUT)

    assert response.status_code == 204
    assert AuthToken.objects.count() == 0
    after = client.get("/api/v1/workflows/")
    assert (after.status_code, after.json()) == (401, {"detail": "Invalid token."})


def test_logout_leaves_the_users_other_tokens_working(alice, api_client):
    first, second = log_in(api_client), log_in(api_client)

    response = token_client(first).post(LOGOUT)

    assert response.status_code == 204
    assert list(AuthToken.objects.values_list("token_key", flat=True)) == [second[:15]]
    assert token_client(first).get("/api/v1/workflows/").status_code == 401
    assert token_client(second).get("/api/v1/workflows/").status_code == 200


def test_logout_of_a_session_answers_204_and_keeps_every_token(alice, api_client):
    token = log_in(api_client)
    session = APIClient()
    session.force_login(alice)

    response = session.post(LOGOUT)

    assert response.status_code == 204
    assert AuthToken.objects.count() == 1
    assert token_client(token).get("/api/v1/workflows/").status_code == 200


def test_logout_without_credentials_is_401(alice, api_client):
    log_in(api_client)

    response = APIClient().post(LOGOUT)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert AuthToken.objects.count() == 1


def test_logout_with_an_unknown_token_is_401_and_revokes_nothing(alice, api_client):
    log_in(api_client)

    response = token_client("0" * 64).post(LOGOUT)

    assert response.status_code == 401
    assert AuthToken.objects.count() == 1


# --- Throttling -----------------------------------------------------------------------------------


def test_login_attempts_beyond_the_configured_rate_are_429(alice, api_client):
    limit = login_limit()
    with time_machine.travel(NOW, tick=False):
        answers = [api_client.post(LOGIN, {"username": "alice", "password": "wrong"}).status_code for _ in range(limit)]
        refused = api_client.post(LOGIN, {"username": "alice", "password": "wrong"})

    assert answers == [400] * limit
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Request was throttled.")
    assert int(refused["Retry-After"]) > 0


def test_a_throttled_client_cannot_log_in_even_with_the_right_password(alice, api_client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    with time_machine.travel(NOW, tick=False):
        for _ in range(3):
            api_client.post(LOGIN, {"username": "alice", "password": "wrong"})

        response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 429
    assert response.json() == {"detail": "Request was throttled. Expected available in 60 seconds."}
    assert response["Retry-After"] == "60"
    assert AuthToken.objects.count() == 0


def test_successful_logins_count_against_the_rate_too(alice, api_client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    with time_machine.travel(NOW, tick=False):
        log_in(api_client)
        log_in(api_client)

        response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 429
    assert AuthToken.objects.count() == 2


def test_the_login_throttle_lifts_after_the_window(alice, api_client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    with time_machine.travel(NOW, tick=False):
        for _ in range(2):
            api_client.post(LOGIN, {"username": "alice", "password": "wrong"})
        assert api_client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 429

    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200


def test_the_login_throttle_counts_each_client_address_apart(alice, api_client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    with time_machine.travel(NOW, tick=False):
        for _ in range(2):
            api_client.post(LOGIN, {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
        throttled = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
        other = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2")

    assert (throttled.status_code, other.status_code) == (429, 200)


def test_the_login_throttle_does_not_limit_other_endpoints(alice, api_client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "1/min"})
    with time_machine.travel(NOW, tick=False):
        client = token_client(log_in(api_client))

        answers = [client.get("/api/v1/workflows/").status_code for _ in range(5)]

    assert answers == [200] * 5


def test_a_forged_forwarded_for_header_does_not_escape_the_login_throttle(alice, api_client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    with time_machine.travel(NOW, tick=False):
        answers = [
            api_client.post(
                LOGIN, {"username": "alice", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}"
            ).status_code
            for attempt in range(4)
        ]

    assert answers == [400, 400, 429, 429]


def test_behind_a_configured_proxy_the_login_throttle_counts_the_forwarded_client(
    alice, api_client, monkeypatch, settings
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "1/min"})
    with time_machine.travel(NOW, tick=False):
        first = api_client.post(LOGIN, {"username": "alice", "password": "wrong"}, HTTP_X_FORWARDED_FOR="203.0.113.1")
        again = api_client.post(LOGIN, {"username": "alice", "password": "wrong"}, HTTP_X_FORWARDED_FOR="203.0.113.1")
        other = api_client.post(LOGIN, {"username": "alice", "password": "wrong"}, HTTP_X_FORWARDED_FOR="203.0.113.2")

    assert (first.status_code, again.status_code, other.status_code) == (400, 429, 400)
