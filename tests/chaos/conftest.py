import os
import subprocess
import sys

import pytest

from tests.chaos.private_services import PrivatePostgres, PrivateRedis
from tests.workers import ROOT


@pytest.fixture
def private_redis(tmp_path):
    """A running `redis-server` of this test's own; killed at the end, whatever happened."""
    server = PrivateRedis(tmp_path)
    try:
        yield server.start()
    finally:
        server.kill()


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of this test's own with a migrated `structforge` database.

    Yields the cluster; its database's URL is `cluster.url("structforge")`. Stopped at once and
    removed at the end, whatever happened.
    """
    cluster = PrivatePostgres()
    try:
        cluster.init().start()
        url = cluster.create_database("structforge")
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, f"migrate failed:\n{migrate.stdout}\n{migrate.stderr[-5000:]}"
        yield cluster
    finally:
        cluster.remove()
