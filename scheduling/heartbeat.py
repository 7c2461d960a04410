"""The scheduler's "I am alive" mark, written by beat every few seconds and read by /healthz.

It lives in the cache: Redis in production (beat and web are separate processes), the local
memory cache in the standalone process (where beat runs in a thread of the web process).
"""

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "structforge:scheduler:heartbeat"


def beat() -> None:
    keep_s = max(60, int(settings.STRUCTFORGE_SCHEDULER_STALE_S * 10))
    cache.set(HEARTBEAT_KEY, timezone.now().timestamp(), timeout=keep_s)


def status() -> str:
    """ "ok" when the scheduler ticked within STRUCTFORGE_SCHEDULER_STALE_S, else why not."""
    try:
        last = cache.get(HEARTBEAT_KEY)
    except Exception as exc:  # the cache (Redis) being down is reported here, not raised
        return f"error: {exc.__class__.__name__}"
    if last is None:
        return "error: no heartbeat"
    age = timezone.now().timestamp() - float(last)
    if age > settings.STRUCTFORGE_SCHEDULER_STALE_S:
        return f"error: last tick {age:.0f} s ago"
    return "ok"
