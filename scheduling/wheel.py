"""The timing wheel that tells the scheduler which schedules are due, whatever their number. Pure.

One wheel of `slots` one-second buckets covers the next `slots` seconds; later timers wait in an
overflow min-heap and drop into their bucket as the wheel turns towards them. So:

- `add` (a new or moved timer) is O(1) within the horizon, O(log n) beyond it;
- `remove` is O(1): timers are looked up by key, and a bucket entry whose time no longer matches
  its key's current time is dropped when its bucket comes round (lazy deletion);
- `pop_due` costs O(1) per elapsed second plus O(1) per timer it returns, and never looks at a
  timer that is not due: no scan of all timers, ever.

Times are plain floats (seconds since the epoch); keys are anything hashable (schedule ids).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable


class TimingWheel:
    def __init__(self, *, now: float, slots: int = 3600) -> None:
        if slots < 2:
            raise ValueError("a wheel needs at least two slots")
        self._slots: list[list[tuple[float, Hashable]]] = [[] for _ in range(slots)]
        self._size = slots
        # The second the wheel points at: every bucket before it has been emptied.
        self._cursor = math.floor(now)
        self._overflow: list[tuple[float, int, Hashable]] = []
        self._sequence = 0  # breaks ties in the heap between keys that do not compare
        self._times: dict[Hashable, float] = {}
        self._in_slots = 0  # bucket entries, stale ones included

    def __len__(self) -> int:
        return len(self._times)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._times

    def time_of(self, key: Hashable) -> float | None:
        return self._times.get(key)

    def add(self, key: Hashable, at: float) -> None:
        """Set `key` to fire at `at` (replacing any earlier time); a time in the past is due at once."""
        if self._times.get(key) == at:
            return
        self._times[key] = at
        self._place(key, at)

    def remove(self, key: Hashable) -> None:
        self._times.pop(key, None)

    def clear(self) -> None:
        for bucket in self._slots:
            bucket.clear()
        self._overflow.clear()
        self._times.clear()
        self._in_slots = 0

    def _place(self, key: Hashable, at: float) -> None:
        second = max(math.floor(at), self._cursor)
        if second < self._cursor + self._size:
            self._slots[second % self._size].append((at, key))
            self._in_slots += 1
        else:
            self._sequence += 1
            heapq.heappush(self._overflow, (at, self._sequence, key))

    def _refill(self) -> None:
        """Move overflow timers that came within the horizon into their buckets."""
        horizon = self._cursor + self._size
        while self._overflow and self._overflow[0][0] < horizon:
            at, _, key = heapq.heappop(self._overflow)
            if self._times.get(key) == at:
                self._place(key, at)

    def _take(self, bucket: list, now: float, due: list) -> None:
        """Move the live, due timers of `bucket` to `due`; keep the live ones due later this second."""
        later = []
        for at, key in bucket:
            if self._times.get(key) != at:
                continue  # removed or moved since
            if at <= now:
                del self._times[key]
                due.append((at, key))
            else:
                later.append((at, key))
        self._in_slots -= len(bucket) - len(later)
        bucket[:] = later

    def pop_due(self, now: float) -> list[tuple[float, Hashable]]:
        """Remove and return every timer due at or before `now`, as (time, key), earliest first."""
        due: list[tuple[float, Hashable]] = []
        target = math.floor(now)
        if target - self._cursor >= self._size:
            # A long jump (the process slept, or a test moved the clock): every bucket is due.
            for bucket in self._slots:
                self._take(bucket, now, due)
            self._cursor = target
            while self._overflow and self._overflow[0][0] <= now:
                at, _, key = heapq.heappop(self._overflow)
                if self._times.get(key) == at:
                    del self._times[key]
                    due.append((at, key))
        while True:
            self._refill()
            if self._in_slots:
                self._take(self._slots[self._cursor % self._size], now, due)
            if self._cursor >= target:
                break
            self._cursor += 1
        due.sort(key=lambda item: item[0])
        return due

    def next_time(self, now: float) -> float | None:
        """When the next timer is due, if it is in the current bucket or the overflow; else the next
        bucket boundary (the caller wakes up then anyway). None when the wheel is empty."""
        if not self._times:
            return None
        bucket = self._slots[self._cursor % self._size]
        pending = [at for at, key in bucket if self._times.get(key) == at]
        if pending:
            return min(pending)
        if not self._in_slots and self._overflow:
            return max(self._overflow[0][0], float(self._cursor + 1))
        return float(self._cursor + 1)
