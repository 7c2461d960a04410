from datetime import UTC, datetime

import pytest
import time_machine
from django.db.models import Min
from django.utils import timezone

from executions.models import Execution
from executions.signals import execution_finished
from scheduling import services
from scheduling.beat import UserSchedules
from scheduling.models import ScheduledTask, ScheduleFire
from workflows.services import workflow_create

# A Monday, at a whole minute.
START = datetime(2025, 1, 6, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """Time stands still at START until a test moves it."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


class Beat:
    """The scheduler's user-schedule loop in this process, driven by a frozen clock."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.schedules = UserSchedules(now=timezone.now())

    def tick(self) -> None:
        self.schedules.tick()
        # What a worker does with the message beat sends once the fires are committed.
        services.scheduled_runs_start(fire_ids=ScheduleFire.objects.filter(status="fired").values_list("id", flat=True))

    def at(self, when: datetime) -> None:
        """Move the clock to `when` and tick once."""
        self.clock.move_to(when)
        self.tick()

    def run_until(self, end: datetime) -> None:
        """Tick at every planned fire time up to `end`, as a beat that never sleeps too long would."""
        self.tick()
        for _ in range(10_000):
            upcoming = ScheduledTask.objects.filter(enabled=True, fire_at__isnull=False).aggregate(at=Min("fire_at"))
            when = upcoming["at"]
            if when is None or when > end:
                break
            self.at(max(when, timezone.now()))
        else:
            raise AssertionError(f"a schedule due before {end} does not fire")
        self.clock.move_to(end)
        self.tick()


@pytest.fixture
def beat(db, clock):
    return Beat(clock)


@pytest.fixture
def workflow(alice):
    return workflow_create(
        owner=alice,
        name="Nightly report",
        definition={"nodes": [{"id": "start", "type": "noop"}], "edges": [], "settings": {}},
    )


def finish(execution: Execution, status: str) -> None:
    """End a run as a worker would: write its final state, then send the signal."""
    Execution.objects.filter(pk=execution.pk).update(status=status, finished_at=timezone.now())
    execution_finished.send(sender=Execution, execution_id=execution.pk, status=status)
