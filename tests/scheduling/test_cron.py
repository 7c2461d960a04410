"""Cron: the exact fire times of expressions in timezones, DST included, and what is refused (pure)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling import cron


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fire_times(expression: str, timezone: str, after: str, count: int = 3) -> list[str]:
    parsed = cron.parse(expression, timezone)
    return [instant.strftime("%Y-%m-%dT%H:%M:%SZ") for instant in cron.next_times(parsed, utc(after), count)]


# (expression, timezone, after, the next fire times in UTC)
FIRE_TIMES = [
    # Plain 5-field expressions
    ("*/15 * * * *", "UTC", "2025-01-01T00:07:00Z", ["2025-01-01T00:15:00Z", "2025-01-01T00:30:00Z"]),
    ("0 9 * * 1-5", "Europe/Berlin", "2025-01-03T12:00:00Z", ["2025-01-06T08:00:00Z", "2025-01-07T08:00:00Z"]),
    ("0 0 L * *", "UTC", "2024-02-01T00:00:00Z", ["2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z"]),
    ("0 12 * * MON#1", "UTC", "2025-01-01T00:00:00Z", ["2025-01-06T12:00:00Z", "2025-02-03T12:00:00Z"]),
    ("5 4 * * SUN", "Asia/Tokyo", "2025-01-01T00:00:00Z", ["2025-01-04T19:05:00Z", "2025-01-11T19:05:00Z"]),
    # 6-field: a leading seconds field
    ("*/2 * * * * *", "UTC", "2025-01-01T00:00:01Z", ["2025-01-01T00:00:02Z", "2025-01-01T00:00:04Z"]),
    ("15 10 * * * *", "UTC", "2025-01-01T00:00:00Z", ["2025-01-01T00:10:15Z", "2025-01-01T01:10:15Z"]),
    ("0 30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", ["2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"]),
    # Macros
    ("@hourly", "UTC", "2025-01-01T00:00:00Z", ["2025-01-01T01:00:00Z", "2025-01-01T02:00:00Z"]),
    ("@daily", "Europe/Berlin", "2025-01-01T12:00:00Z", ["2025-01-01T23:00:00Z", "2025-01-02T23:00:00Z"]),
    ("@midnight", "UTC", "2025-01-01T12:00:00Z", ["2025-01-02T00:00:00Z"]),
    ("@weekly", "Europe/Berlin", "2025-01-01T00:00:00Z", ["2025-01-04T23:00:00Z", "2025-01-11T23:00:00Z"]),
    ("@monthly", "Asia/Tokyo", "2025-01-15T00:00:00Z", ["2025-01-31T15:00:00Z", "2025-02-28T15:00:00Z"]),
    ("@yearly", "America/New_York", "2025-06-01T00:00:00Z", ["2026-01-01T05:00:00Z", "2027-01-01T05:00:00Z"]),
    ("@annually", "UTC", "2025-06-01T00:00:00Z", ["2026-01-01T00:00:00Z"]),
    # Europe/Berlin, spring forward 2025-03-30: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    # 02:30 does not exist: it runs once, at 03:00 CEST; the next day at 02:30 CEST.
    ("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", ["2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"]),
    # Four non-existent times in the gap run once, together, at 03:00 CEST.
    ("*/15 2 * * *", "Europe/Berlin", "2025-03-30T00:50:00Z", ["2025-03-30T01:00:00Z", "2025-03-31T00:00:00Z"]),
    # Every hour follows elapsed time: 01:00 CET, then 03:00 CEST, an hour later.
    ("0 * * * *", "Europe/Berlin", "2025-03-29T23:30:00Z", ["2025-03-30T00:00:00Z", "2025-03-30T01:00:00Z"]),
    ("*/10 * * * * *", "Europe/Berlin", "2025-03-30T00:59:45Z", ["2025-03-30T00:59:50Z", "2025-03-30T01:00:00Z"]),
    # Europe/Berlin, fall back 2025-10-26: 03:00 CEST becomes 02:00 CET (01:00 UTC).
    # 02:30 happens twice: it runs once, on the first pass (CEST); the next day at 02:30 CET.
    ("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", ["2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"]),
    # Counting from inside the second pass, the repeated 02:30 does not run again.
    ("30 2 * * *", "Europe/Berlin", "2025-10-26T01:10:00Z", ["2025-10-27T01:30:00Z"]),
    (
        "*/15 2 * * *",
        "Europe/Berlin",
        "2025-10-26T00:50:00Z",
        ["2025-10-27T01:00:00Z", "2025-10-27T01:15:00Z"],
    ),
    # Every hour follows elapsed time: 02:00 CEST, 02:00 CET, 03:00 CET, one hour apart.
    (
        "0 * * * *",
        "Europe/Berlin",
        "2025-10-25T23:30:00Z",
        ["2025-10-26T00:00:00Z", "2025-10-26T01:00:00Z", "2025-10-26T02:00:00Z"],
    ),
    # America/New_York, spring forward 2025-03-09: 02:00 EST becomes 03:00 EDT (07:00 UTC).
    ("30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z", ["2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"]),
    ("0 3 * * *", "America/New_York", "2025-03-08T12:00:00Z", ["2025-03-09T07:00:00Z", "2025-03-10T07:00:00Z"]),
    (
        "*/30 * * * * *",
        "America/New_York",
        "2025-03-09T06:59:15Z",
        ["2025-03-09T06:59:30Z", "2025-03-09T07:00:00Z", "2025-03-09T07:00:30Z"],
    ),
    # America/New_York, fall back 2025-11-02: 02:00 EDT becomes 01:00 EST (06:00 UTC).
    ("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", ["2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"]),
    ("30 1 * * *", "America/New_York", "2025-11-02T05:45:00Z", ["2025-11-03T06:30:00Z"]),
    ("0 2 * * *", "America/New_York", "2025-11-01T12:00:00Z", ["2025-11-02T07:00:00Z", "2025-11-03T07:00:00Z"]),
    (
        "@hourly",
        "America/New_York",
        "2025-11-02T04:30:00Z",
        ["2025-11-02T05:00:00Z", "2025-11-02T06:00:00Z", "2025-11-02T07:00:00Z"],
    ),
    # Midnight does not exist in Havana on 2025-03-09 (00:00 CST becomes 01:00 CDT).
    ("@daily", "America/Havana", "2025-03-08T12:00:00Z", ["2025-03-09T05:00:00Z", "2025-03-10T04:00:00Z"]),
    # A half-hour shift (Lord Howe Island, 2025-10-05 02:00 becomes 02:30).
    ("15 2 * * *", "Australia/Lord_Howe", "2025-10-04T12:00:00Z", ["2025-10-04T15:30:00Z", "2025-10-05T15:15:00Z"]),
]


@pytest.mark.parametrize(("expression", "timezone", "after", "expected"), FIRE_TIMES)
def test_next_fire_times(expression, timezone, after, expected):
    assert fire_times(expression, timezone, after, len(expected)) == expected


def test_an_expression_is_read_in_its_own_timezone_the_same_instant_differs_by_zone():
    assert fire_times("0 9 * * *", "UTC", "2025-07-01T00:00:00Z", 1) == ["2025-07-01T09:00:00Z"]
    assert fire_times("0 9 * * *", "Europe/Berlin", "2025-07-01T00:00:00Z", 1) == ["2025-07-01T07:00:00Z"]
    assert fire_times("0 9 * * *", "America/New_York", "2025-07-01T00:00:00Z", 1) == ["2025-07-01T13:00:00Z"]


def test_fire_times_are_strictly_after_the_start_even_with_microseconds():
    assert fire_times("*/2 * * * * *", "UTC", "2025-01-01T00:00:02.500000Z", 1) == ["2025-01-01T00:00:04Z"]
    assert fire_times("*/2 * * * * *", "UTC", "2025-01-01T00:00:02Z", 1) == ["2025-01-01T00:00:04Z"]


def test_a_day_that_rarely_exists_is_found_years_ahead():
    assert fire_times("0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", 1) == ["2028-02-29T00:00:00Z"]


def test_day_of_month_and_day_of_week_both_restricted_mean_either_as_in_cron():
    # The 29th of February or any Monday in February.
    assert fire_times("0 0 29 2 MON", "UTC", "2024-03-01T00:00:00Z", 2) == [
        "2025-02-03T00:00:00Z",
        "2025-02-10T00:00:00Z",
    ]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "Enter a cron expression, such as '0 * * * *' or '@daily'."),
        ("   ", "Enter a cron expression, such as '0 * * * *' or '@daily'."),
        (
            "* * * *",
            "A cron expression has 5 fields (minute hour day-of-month month day-of-week), 6 with a leading "
            "seconds field, or is a macro such as @daily; '* * * *' has 4.",
        ),
        (
            "* * * * * * *",
            "A cron expression has 5 fields (minute hour day-of-month month day-of-week), 6 with a leading "
            "seconds field, or is a macro such as @daily; '* * * * * * *' has 7.",
        ),
        ("61 * * * *", "Bad minute field '61': use 0-59, *, ranges (1-5), lists (1,3) or steps (*/2)."),
        ("* 24 * * *", "Bad hour field '24': use 0-23, *, ranges (1-5), lists (1,3) or steps (*/2)."),
        ("0 0 0 * *", "Bad day-of-month field '0': use 1-31, L or LW, *, ranges (1-5), lists (1,3) or steps (*/2)."),
        ("0 0 * 13 *", "Bad month field '13': use 1-12 or JAN-DEC, *, ranges (1-5), lists (1,3) or steps (*/2)."),
        (
            "0 0 * * MON#6",
            "Bad day-of-week field 'MON#6': use 0-7 or SUN-SAT (0 and 7 are Sunday), with L or #n, *, ranges (1-5), "
            "lists (1,3) or steps (*/2).",
        ),
        ("60 * * * * *", "Bad second field '60': use 0-59, *, ranges (1-5), lists (1,3) or steps (*/2)."),
        ("*/0 * * * *", "Bad minute field '*/0': use 0-59, *, ranges (1-5), lists (1,3) or steps (*/2)."),
        ("5-1 * * * *", "Bad minute field '5-1': use 0-59, *, ranges (1-5), lists (1,3) or steps (*/2)."),
        ("a * * * *", "Bad minute field 'A': use 0-59, *, ranges (1-5), lists (1,3) or steps (*/2)."),
        ("0 0 30 2 *", "Bad day-of-month field '30': none of the months in '2' has that day."),
        (
            "@reboot",
            "Unknown macro '@reboot': use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly.",
        ),
        ("0 " * 101, "A cron expression has at most 200 characters."),
    ],
)
def test_invalid_expressions_are_refused_naming_the_bad_field(expression, message):
    with pytest.raises(cron.CronError) as refused:
        cron.parse(expression, "UTC")

    assert str(refused.value) == message
    assert refused.value.field == "cron_expression"


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "europe/berlin", "", "+02:00"])
def test_unknown_timezones_are_refused_naming_the_timezone(name):
    with pytest.raises(cron.CronError) as refused:
        cron.parse("0 * * * *", name)

    assert str(refused.value) == f"Unknown timezone {name!r}: use an IANA name such as Europe/Berlin or UTC."
    assert refused.value.field == "timezone"


@pytest.mark.parametrize(
    ("expression", "timezone", "description"),
    [
        ("*/2 * * * * *", "UTC", "Every 2 seconds"),
        ("30 2 * * *", "UTC", "At 02:30"),
        ("0 9 * * 1-5", "Europe/Berlin", "At 09:00, Monday through Friday (Europe/Berlin)"),
        ("@daily", "UTC", "At 00:00"),
        ("@hourly", "UTC", "Every hour"),
    ],
)
def test_descriptions_read_as_sentences(expression, timezone, description):
    assert cron.describe(cron.parse(expression, timezone)) == description


def test_macros_and_letters_are_case_insensitive_and_spacing_is_normalised():
    assert cron.parse("@DAILY", "UTC").fields == ("0", "0", "0", "*", "*", "*")
    assert cron.parse("  0   9 * * mon-fri ", "UTC").expression == "0 9 * * mon-fri"
    assert fire_times("0 9 * * mon-fri", "UTC", "2025-01-03T12:00:00Z", 1) == ["2025-01-06T09:00:00Z"]


# --- Properties --------------------------------------------------------------------------------------

FIELD_VALUES = {
    "second": st.sampled_from(["0", "*/2", "*/15", "30", "5,35", "*"]),
    "minute": st.sampled_from(["*", "0", "*/5", "30", "0,30", "15-45/10", "59"]),
    "hour": st.sampled_from(["*", "0", "2", "*/3", "1-3", "9-17", "23", "2,14"]),
    "day": st.sampled_from(["*", "1", "15", "L", "1-7", "*/10", "29"]),
    "month": st.sampled_from(["*", "1", "3", "3,10,11", "*/2", "10-12"]),
    "weekday": st.sampled_from(["*", "0", "1-5", "SUN", "MON#1", "6", "5L"]),
}
ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/New_York", "America/Havana", "Australia/Lord_Howe", "Asia/Kolkata"]
)
# DST changes of 2025 in the zones above (Berlin, New York, Havana, Lord Howe).
TRANSITIONS = [
    utc(text)
    for text in (
        "2025-03-30T01:00:00Z",
        "2025-10-26T01:00:00Z",
        "2025-03-09T07:00:00Z",
        "2025-11-02T06:00:00Z",
        "2025-03-09T05:00:00Z",
        "2025-11-02T05:00:00Z",
        "2025-04-05T15:00:00Z",
        "2025-10-04T15:30:00Z",
    )
]
# Anywhere in three years, and often within a few hours before or after a DST change.
STARTS = st.one_of(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda transition, seconds: transition + timedelta(seconds=seconds),
        st.sampled_from(TRANSITIONS),
        st.integers(min_value=-3 * 3600, max_value=3 * 3600),
    ),
)


def _gap_end(instant: datetime, zone: ZoneInfo) -> bool:
    """Did the local clock jump forward right at `instant` (a skipped local time placed here)?"""
    before = (instant - timedelta(seconds=1)).astimezone(zone)
    return instant.astimezone(zone).utcoffset() > before.utcoffset()


@settings(max_examples=300, deadline=None)
@given(
    six=st.booleans(),
    second=FIELD_VALUES["second"],
    minute=FIELD_VALUES["minute"],
    hour=FIELD_VALUES["hour"],
    day=FIELD_VALUES["day"],
    month=FIELD_VALUES["month"],
    weekday=FIELD_VALUES["weekday"],
    timezone=ZONES,
    start=STARTS,
)
def test_fire_times_strictly_increase_and_all_match_the_expression(
    six, second, minute, hour, day, month, weekday, timezone, start
):
    expression = " ".join([second] * six + [minute, hour, day, month, weekday])
    try:
        parsed = cron.parse(expression, timezone)
    except cron.CronError:
        return  # an impossible combination (day 29 of a 28-day month only): refused, nothing to walk
    times = cron.next_times(parsed, start, 12)

    assert times, expression
    assert times[0] > start
    assert all(later > earlier for earlier, later in zip(times, times[1:], strict=False))
    for instant in times:
        # Every fire time matches the expression in local time, except a local time that does
        # not exist, which fires at the end of its gap.
        assert cron.matches(parsed, instant) or (parsed.wall_clock and _gap_end(instant, parsed.timezone)), (
            expression,
            timezone,
            instant,
        )


@settings(max_examples=60, deadline=None)
@given(timezone=ZONES, start=STARTS, step=st.sampled_from([1, 2, 5, 10, 30]))
def test_an_every_n_seconds_schedule_never_pauses_or_bursts_across_dst(timezone, start, step):
    parsed = cron.parse(f"*/{step} * * * * *", timezone)
    times = cron.next_times(parsed, start, 50)

    gaps = {(later - earlier).total_seconds() for earlier, later in zip(times, times[1:], strict=False)}
    # Elapsed time: every gap is the step, or shorter where a minute boundary resets the count.
    assert max(gaps) <= step
