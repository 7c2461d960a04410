"""The four roles a user can hold on a workflow, ordered from least to most powerful."""

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EXECUTOR = "executor", "Executor"
    EDITOR = "editor", "Editor"
    OWNER = "owner", "Owner"


ROLE_RANK: dict[str, int] = {Role.VIEWER: 1, Role.EXECUTOR: 2, Role.EDITOR: 3, Role.OWNER: 4}


def role_at_least(role: str | None, minimum: str) -> bool:
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]
