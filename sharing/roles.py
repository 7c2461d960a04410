"""The four roles a user can hold on a workflow, ordered from least to most powerful, and the
django-guardian object permissions each one is made of. This is the one place that maps them."""

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EXECUTOR = "executor", "Executor"
    EDITOR = "editor", "Editor"
    OWNER = "owner", "Owner"


# Roles that can be given by a share (ownership is transferred instead), and by a link.
SHAREABLE_ROLES = (Role.VIEWER.value, Role.EXECUTOR.value, Role.EDITOR.value)
LINK_ROLES = (Role.VIEWER.value, Role.EXECUTOR.value)

ROLE_RANK: dict[str, int] = {Role.VIEWER: 1, Role.EXECUTOR: 2, Role.EDITOR: 3, Role.OWNER: 4}

# Object permissions on workflows.Workflow (codenames), cumulative from viewer to owner.
VIEW, EXECUTE, CHANGE = "view_workflow", "execute_workflow", "change_workflow"
DELETE, SHARE, PUBLISH = "delete_workflow", "share_workflow", "publish_workflow"
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.VIEWER: (VIEW,),
    Role.EXECUTOR: (VIEW, EXECUTE),
    Role.EDITOR: (VIEW, EXECUTE, CHANGE),
    Role.OWNER: (VIEW, EXECUTE, CHANGE, DELETE, SHARE, PUBLISH),
}
# The permission that tells each role apart from the one below it.
ROLE_MARKER: dict[str, str] = {Role.VIEWER: VIEW, Role.EXECUTOR: EXECUTE, Role.EDITOR: CHANGE, Role.OWNER: SHARE}


def role_at_least(role: str | None, minimum: str) -> bool:
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def higher_role(first: str | None, second: str | None) -> str | None:
    if first is None:
        return second
    if second is None:
        return first
    return first if ROLE_RANK[first] >= ROLE_RANK[second] else second
