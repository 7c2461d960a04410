"""`GET /healthz`: is each part of the deployment reachable?"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the message says which
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _broker_status() -> str:
    if not settings.REDIS_URL:
        return "ok"  # the in-process broker of the standalone mode is up whenever this process is
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
    except redis.RedisError as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _worker_count() -> int:
    if not settings.REDIS_URL:
        from executions.worker import in_process_workers

        return in_process_workers()
    from structforge.celery import app

    try:
        return len(app.control.ping(timeout=0.5) or [])
    except Exception:  # the broker being down is reported under "broker"
        return 0


def _scheduler_status() -> str:
    # Beat (or the standalone process's beat thread) marks the cache every few seconds.
    from scheduling import heartbeat

    return heartbeat.status()


@require_GET
def healthz(request):
    report: dict[str, object] = {
        "database": _database_status(),
        "broker": _broker_status(),
        "scheduler": _scheduler_status(),
    }
    healthy = all(value == "ok" for value in report.values())
    report["workers"] = _worker_count() if report["broker"] == "ok" else 0
    return JsonResponse(report, status=200 if healthy else 503)
