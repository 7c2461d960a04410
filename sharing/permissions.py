"""The DRF permission class every workflow-scoped view uses."""

from rest_framework.permissions import BasePermission

from sharing.roles import Role, role_at_least


class HasObjectRole(BasePermission):
    """The caller's role on the object (annotated as `role` by the visibility selector) must reach
    the role the view requires for this action (`view.required_roles[action]`, viewer by default).

    Objects the caller cannot see never reach this check: the view's queryset leaves them out,
    so they answer 404. This only turns "seen but not allowed" into 403.
    """

    message = "Your role on this workflow does not allow this action."

    def has_object_permission(self, request, view, obj) -> bool:
        required = getattr(view, "required_roles", {}).get(view.action, Role.VIEWER)
        return role_at_least(getattr(obj, "role", None), required)
