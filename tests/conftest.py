import uuid

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.http_server import TestServer
from tests.workers import WorkerProcess


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    """The outsider: owns nothing of alice's and must see none of it."""
    return UserFactory(username="bob")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def alice_client(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def bob_client(bob):
    client = APIClient()
    client.force_authenticate(bob)
    return client


@pytest.fixture(autouse=True)
def fast_password_hasher(request, settings):
    """Hash test passwords with MD5: PBKDF2's deliberate slowness (about a second per user on a
    slow machine) cost more than most tests' own work. Not where a server process of the test's
    checks the passwords, with the project's own hashers."""
    if request.node.get_closest_marker("server_checks_passwords") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One real worker for the integration tests of the session."""
    # Messages left in the test Redis database by an earlier session would name executions
    # that no longer exist; they are harmless but slow the first tests down.
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    process = WorkerProcess(log_dir=tmp_path_factory.mktemp("workers")).wait_ready()
    yield process
    process.stop()


@pytest.fixture
def start_worker(django_db_setup, tmp_path):
    """Start extra workers inside one test; each is stopped (or already killed) at its end."""
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        process = WorkerProcess(log_dir=tmp_path, **kwargs).wait_ready()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def server():
    """A local HTTP server the workflows of a test can call (loopback is allowed in test workers)."""
    server = TestServer().start()
    yield server
    server.stop()


@pytest.fixture
def no_worker(settings):
    """Queues no worker listens to (the session's `worker` may be running): a run waits for the test to admit it."""
    settings.STRUCTFORGE_QUEUE_PREFIX = f"unheard-{uuid.uuid4().hex[:8]}-"
