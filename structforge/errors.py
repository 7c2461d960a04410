"""The error services raise for input they refuse; the API answers it as a 400 naming each field."""

from typing import Any


class InvalidInput(Exception):
    """`errors` maps a field name to a list of problems (strings, or dicts such as {"location", "message"})."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__(errors)
        self.errors = errors

    @classmethod
    def field(cls, name: str, message: str) -> "InvalidInput":
        return cls({name: [message]})


class QuotaExceeded(Exception):
    """A per-user quota (runs per day, workflows, schedules) is used up: the API answers 429."""


class LimitReached(Exception):
    """A workflow at its concurrency limit refuses new runs (`on_limit: skip`): the API answers 409."""
