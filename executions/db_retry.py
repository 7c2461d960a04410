"""Riding out a database restart: a write that lost its connection is retried once the database is back."""

import functools
import logging
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def retry_on_disconnect(func: Callable[P, R]) -> Callable[P, R]:
    """Retry `func` with backoff for up to STRUCTFORGE_DB_RETRY_S while the database is unreachable.

    Only at the outermost level: inside a transaction a lost connection means the transaction is
    gone, so the error goes up to whoever opened it. `func` must be safe to run twice (every
    checkpoint write sets absolute values and is fenced by the attempt).
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        deadline = time.monotonic() + settings.STRUCTFORGE_DB_RETRY_S
        delay = 0.2
        while True:
            try:
                return func(*args, **kwargs)
            except (OperationalError, InterfaceError) as exc:
                if connection.in_atomic_block or time.monotonic() + delay > deadline or not _disconnected(exc):
                    raise
                logger.warning("database unreachable in %s (%s); retrying in %.1f s", func.__name__, exc, delay)
                connection.close()
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    return wrapper


def _disconnected(exc: DatabaseError) -> bool:
    # A lost or refused connection, not a query error: those are not worth retrying.
    return isinstance(exc, InterfaceError) or connection.connection is None or not connection.is_usable()
