"""Admission on the standalone database (SQLite), where timestamps come back from raw SQL naive."""

import os
import subprocess
import sys

import pytest

from tests.workers import ROOT

pytestmark = pytest.mark.integration

SCRIPT = """
from django.contrib.auth import get_user_model
from django.utils import timezone
from executions import admission
from executions.models import AdmissionTurn, Execution, Trigger
from executions.services import execution_start
from workflows.services import workflow_create

definition = {"nodes": [{"id": "x", "type": "noop"}], "edges": [], "settings": {}}
served, waiting = (get_user_model().objects.create(username=name) for name in ("served", "waiting"))
AdmissionTurn.objects.create(owner=served, last_admitted_at=timezone.now())
for user in (served, waiting):
    workflow = workflow_create(owner=user, name=user.username, definition=definition)
    execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=user)
order = [Execution.objects.get(pk=admission.admit_next().execution_id).owner.username for _ in range(2)]
print(",".join(order))
"""


def test_the_owner_served_longest_ago_goes_first_on_sqlite(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env["STRUCTFORGE_VAR_DIR"] = str(tmp_path)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)

    done = subprocess.run(
        [*manage, "shell", "-c", SCRIPT], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )

    assert done.stdout.strip().splitlines()[-1] == "waiting,served"
