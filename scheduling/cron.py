"""Cron expressions: parse, validate, describe, and the fire times they give in an IANA timezone.

Pure: no database, no clock (callers pass the instant to count from). cronsim does the field
parsing and the calendar walk; this module adds the macros and a DST policy of its own
(docs/scheduling.md, "Cron and DST"):

- An expression that names particular hours (the hour field is not every hour: `30 2 * * *`,
  `0 9-17 * * 1-5`, `@daily`) is a *wall-clock* schedule. It is walked in naive local time and
  each match is placed on the timeline: a local time that does not exist (spring forward) runs
  once, at the first valid instant after the gap; a local time that happens twice (fall back)
  runs once, on its first pass.
- An expression that fires in every hour of the day (`*/5 * * * *`, `*/2 * * * * *`,
  `@hourly`) is an *elapsed-time* schedule: it is walked on the real timeline, so it neither
  stops for an hour in autumn nor fires a burst in spring.

Both modes give instants that strictly increase and whose local time matches the expression
(or, for a skipped local time, is the end of the gap).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, available_timezones

from cronsim import CronSim, CronSimError
from cronsim.cronsim import Field

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Field names as a user reads them, seconds first (cronsim's order).
FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")
FIELD_RULES = {
    "second": "0-59",
    "minute": "0-59",
    "hour": "0-23",
    "day-of-month": "1-31, L or LW",
    "month": "1-12 or JAN-DEC",
    "day-of-week": "0-7 or SUN-SAT (0 and 7 are Sunday), with L or #n",
}
MAX_EXPRESSION_LENGTH = 200
ALL_HOURS = frozenset(range(24))


class CronError(ValueError):
    """An expression or timezone that cannot be used; the message says which part and why, and
    `field` whether the expression or the timezone is at fault."""

    def __init__(self, message: str, *, field: str = "cron_expression") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Cron:
    """A validated expression in a timezone. `fields` always has six parts, seconds first."""

    expression: str
    fields: tuple[str, ...]
    timezone: ZoneInfo
    wall_clock: bool

    @property
    def six_field(self) -> str:
        return " ".join(self.fields)


# --- Parsing and validation -------------------------------------------------------------------------


@cache
def _timezone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA timezone by name; anything else (paths, abbreviations, typos) is refused."""
    if not isinstance(name, str) or name not in _timezone_names():
        raise CronError(f"Unknown timezone {name!r}: use an IANA name such as Europe/Berlin or UTC.", field="timezone")
    return ZoneInfo(name)


def expand(expression: str) -> tuple[str, ...]:
    """The six fields (seconds first) of an expression, a macro or a 5-field form; checks only the shape."""
    if not isinstance(expression, str) or not expression.strip():
        raise CronError("Enter a cron expression, such as '0 * * * *' or '@daily'.")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CronError(f"A cron expression has at most {MAX_EXPRESSION_LENGTH} characters.")
    text = " ".join(expression.split())
    if text.startswith("@"):
        macro = text.lower()
        if macro not in MACROS:
            raise CronError(
                f"Unknown macro {text!r}: use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly."
            )
        text = MACROS[macro]
    parts = text.upper().split(" ")
    if len(parts) == 5:
        return ("0", *parts)
    if len(parts) == 6:
        return tuple(parts)
    raise CronError(
        f"A cron expression has 5 fields (minute hour day-of-month month day-of-week), 6 with a leading "
        f"seconds field, or is a macro such as @daily; {expression.strip()!r} has {len(parts)}."
    )


def _parsed_field(position: int, value: str) -> set:
    try:
        return Field(position).parse(value)
    except (CronSimError, ValueError, IndexError) as exc:
        name = FIELD_NAMES[position]
        raise CronError(
            f"Bad {name} field {value!r}: use {FIELD_RULES[name]}, *, ranges (1-5), lists (1,3) or steps (*/2)."
        ) from exc


def parse(expression: str, timezone: str = "UTC") -> Cron:
    """Validate an expression and a timezone together; raise CronError naming the bad part."""
    return _parse(expression, timezone)


@lru_cache(maxsize=4096)  # beat parses each due schedule's expression; most repeat
def _parse(expression: str, timezone: str) -> Cron:
    zone = parse_timezone(timezone)
    fields = expand(expression)
    parsed = [_parsed_field(position, value) for position, value in enumerate(fields)]
    try:
        CronSim(" ".join(fields), datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        # Every field parsed alone, so what is left is a day that no listed month has.
        raise CronError(
            f"Bad day-of-month field {fields[3]!r}: none of the months in {fields[4]!r} has that day."
        ) from exc
    cron = Cron(
        expression=" ".join(expression.split()),
        fields=fields,
        timezone=zone,
        wall_clock=not ALL_HOURS.issubset(parsed[2]),
    )
    if next_after(cron, datetime(2000, 1, 1, tzinfo=UTC)) is None:
        raise CronError(f"{cron.expression!r} never matches a date.")
    return cron


def describe(cron: Cron) -> str:
    """A human-readable sentence ("At 02:30, Monday through Friday")."""
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    try:
        text = ExpressionDescriptor(cron.six_field, options).get_description()
    except Exception:  # the descriptor is cosmetic: never let it refuse a valid expression
        text = cron.expression
    return text if cron.timezone.key == "UTC" else f"{text} ({cron.timezone.key})"


# --- Fire times ---------------------------------------------------------------------------------------


def _local_naive(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _exists(naive: datetime, zone: ZoneInfo) -> bool:
    # Through UTC: astimezone() to the zone a datetime already has returns it unchanged.
    return _local_naive(naive.replace(tzinfo=zone, fold=0).astimezone(UTC), zone) == naive


def _gap_end(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose local time is not earlier than `naive`, a local time inside a DST gap."""
    # With fold=1 a gap time is read with the offset after the change, with fold=0 with the one
    # before; the change lies between the two readings. Local time only moves forward in there,
    # so bisect on whole seconds (transitions fall on whole seconds).
    readings = [naive.replace(tzinfo=zone, fold=fold).timestamp() for fold in (0, 1)]
    low, high = int(min(readings)) - 1, int(max(readings)) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if _local_naive(datetime.fromtimestamp(middle, UTC), zone) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _wall_clock_candidates(cron: Cron, after: datetime) -> Iterator[datetime]:
    # cronsim walks naive datetimes with plain arithmetic: the local calendar, no DST.
    zone = cron.timezone
    start = _local_naive(after, zone)
    while True:
        for naive in CronSim(cron.six_field, start):
            if _exists(naive, zone):
                yield naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
                continue
            end = _gap_end(naive, zone)
            yield end
            # Every other match inside the gap lands on the same instant: walk on from its end.
            start = _local_naive(end, zone) - timedelta(seconds=1)
            break
        else:
            return


def _elapsed_candidates(cron: Cron, after: datetime) -> Iterator[datetime]:
    # cronsim walks an aware datetime by ticking in UTC: the real timeline. Six-field input
    # keeps its Debian-cron special case (which would apply only to 5-field forms) out.
    for aware in CronSim(cron.six_field, after.astimezone(cron.timezone)):
        yield aware.astimezone(UTC)


def iter_after(cron: Cron, after: datetime) -> Iterator[datetime]:
    """Fire times (UTC, strictly increasing) strictly after the aware instant `after`."""
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    after = after.astimezone(UTC)
    candidates = _wall_clock_candidates if cron.wall_clock else _elapsed_candidates
    last = after
    for instant in candidates(cron, after):
        # A repeated local time read on its second pass, or several gap times placed on the
        # same instant, come out at or before the last one: each instant fires once.
        if instant > last:
            last = instant
            yield instant


def next_after(cron: Cron, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`, or None when there is none within 50 years."""
    return next(iter_after(cron, after), None)


def next_times(cron: Cron, after: datetime, count: int) -> list[datetime]:
    times = []
    for instant in iter_after(cron, after):
        times.append(instant)
        if len(times) >= count:
            break
    return times


def matches(cron: Cron, instant: datetime) -> bool:
    """Does the local time of `instant` satisfy every field? (Gap placements excepted: see module doc.)"""
    local = instant.astimezone(cron.timezone)
    probe = CronSim(cron.six_field, datetime(2000, 1, 1, tzinfo=UTC))
    if local.microsecond:
        return False
    if not (local.second in probe.seconds and local.minute in probe.minutes and local.hour in probe.hours):
        return False
    return local.month in probe.months and probe.match_day(local.date())
