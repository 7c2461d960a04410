"""The timing wheel (pure): due timers come out once, in order, whatever else it holds."""

import random

import pytest

from scheduling.wheel import TimingWheel

T0 = 1_700_000_000.0


def keys(due) -> list:
    return [key for _, key in due]


def test_timers_come_out_when_due_in_time_order_and_only_once():
    wheel = TimingWheel(now=T0, slots=60)
    wheel.add("b", T0 + 2)
    wheel.add("a", T0 + 1)
    wheel.add("c", T0 + 2.5)

    assert wheel.pop_due(T0 + 0.9) == []
    assert wheel.pop_due(T0 + 2.0) == [(T0 + 1, "a"), (T0 + 2, "b")]
    assert wheel.pop_due(T0 + 2.4) == []
    assert wheel.pop_due(T0 + 2.5) == [(T0 + 2.5, "c")]
    assert wheel.pop_due(T0 + 100) == []
    assert len(wheel) == 0


def test_a_timer_in_the_past_is_due_at_once():
    wheel = TimingWheel(now=T0, slots=60)
    wheel.add("late", T0 - 3600)

    assert wheel.pop_due(T0) == [(T0 - 3600, "late")]


def test_moving_a_timer_replaces_its_old_time_and_removing_it_cancels_it():
    wheel = TimingWheel(now=T0, slots=60)
    wheel.add("moved", T0 + 1)
    wheel.add("moved", T0 + 5)
    wheel.add("gone", T0 + 2)
    wheel.remove("gone")
    wheel.remove("never added")

    assert wheel.pop_due(T0 + 4) == []
    assert wheel.pop_due(T0 + 5) == [(T0 + 5, "moved")]
    assert "gone" not in wheel


def test_timers_beyond_the_horizon_wait_in_the_overflow_and_fire_on_time():
    wheel = TimingWheel(now=T0, slots=10)
    wheel.add("far", T0 + 95.5)
    wheel.add("near", T0 + 3)

    assert keys(wheel.pop_due(T0 + 50)) == ["near"]
    assert wheel.pop_due(T0 + 95.4) == []
    assert wheel.pop_due(T0 + 95.5) == [(T0 + 95.5, "far")]


def test_a_jump_longer_than_the_wheel_returns_everything_due_and_keeps_the_rest():
    wheel = TimingWheel(now=T0, slots=10)
    for offset in (1, 5, 9, 30, 500, 10_000):
        wheel.add(offset, T0 + offset)

    assert keys(wheel.pop_due(T0 + 600)) == [1, 5, 9, 30, 500]
    assert wheel.time_of(10_000) == T0 + 10_000
    assert keys(wheel.pop_due(T0 + 10_000)) == [10_000]


def test_next_time_is_the_earliest_timer_of_this_second_else_the_next_second():
    wheel = TimingWheel(now=T0, slots=60)
    assert wheel.next_time(T0) is None
    wheel.add("x", T0 + 0.25)
    assert wheel.next_time(T0) == T0 + 0.25
    wheel.pop_due(T0 + 0.3)
    wheel.add("y", T0 + 30)
    assert wheel.next_time(T0 + 0.3) == T0 + 1


@pytest.mark.parametrize("slots", [2, 7, 60, 3600])
def test_random_timers_match_a_sorted_list(slots):
    """Against the obvious model: every live timer pops exactly once, at or after its time, never early."""
    rng = random.Random(slots)
    wheel = TimingWheel(now=T0, slots=slots)
    model: dict[int, float] = {}
    now = T0
    popped: list[tuple[float, int]] = []
    for _ in range(3000):
        action = rng.random()
        key = rng.randrange(200)
        if action < 0.6:
            at = now + rng.uniform(-5, 5 * slots)
            wheel.add(key, at)
            model[key] = at
        elif action < 0.7:
            wheel.remove(key)
            model.pop(key, None)
        else:
            now += rng.uniform(0, 3 * slots / 4) if rng.random() < 0.9 else rng.uniform(0, 20 * slots)
            due = wheel.pop_due(now)
            expected = sorted((at, k) for k, at in model.items() if at <= now)
            assert sorted(due) == expected
            assert [at for at, _ in due] == sorted(at for at, _ in due)
            for _, k in due:
                del model[k]
            popped.extend(due)
    assert sorted(wheel.pop_due(now + 100 * slots)) == sorted((at, k) for k, at in model.items())
    assert len(wheel) == 0
    assert popped
