import django_filters
from django.db.models import Q

from sharing.roles import Role
from workflows.models import Folder, Workflow
from workflows.selectors import folder_subtree_ids, folders_of


class NumberInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    """Comma-separated numbers, each validated, so `?tag=abc` is a 400 rather than a database error."""


class FolderFilter(django_filters.FilterSet):
    # Choices are the caller's folders only, so another user's folder id answers like a missing one.
    parent = django_filters.ModelChoiceFilter(
        queryset=lambda request: folders_of(user=request.user), help_text="Folders directly in this folder."
    )

    class Meta:
        model = Folder
        fields = ["parent"]


class WorkflowFilter(django_filters.FilterSet):
    folder = django_filters.NumberFilter(method="filter_folder", help_text="Workflows in this folder.")
    include_subfolders = django_filters.BooleanFilter(
        method="filter_noop", help_text="With `folder`: also the workflows of every folder below it."
    )
    tag = NumberInFilter(
        field_name="tags", method="filter_tag", help_text="Workflows carrying any of these tag ids (comma-separated)."
    )
    search = django_filters.CharFilter(method="filter_search", help_text="Words in the name or description.")
    shared = django_filters.BooleanFilter(method="filter_shared", help_text="Only workflows others shared with you.")
    role = django_filters.ChoiceFilter(choices=Role.choices, help_text="Only workflows where your role is this.")

    class Meta:
        model = Workflow
        fields: list[str] = []

    def filter_noop(self, queryset, name, value):
        return queryset

    def filter_folder(self, queryset, name, value):
        if not self.form.cleaned_data.get("include_subfolders"):
            return queryset.filter(folder_id=value)
        folder = Folder.objects.filter(pk=value).only("id", "owner_id").first()
        if folder is None:
            return queryset.none()
        return queryset.filter(folder_id__in=folder_subtree_ids(folder=folder))

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__in=value).distinct()

    def filter_search(self, queryset, name, value):
        query = Q()
        for word in value.split():
            query &= Q(name__icontains=word) | Q(description__icontains=word)
        return queryset.filter(query)

    def filter_shared(self, queryset, name, value):
        owned = Q(owner=self.request.user)
        return queryset.exclude(owned) if value else queryset.filter(owned)
