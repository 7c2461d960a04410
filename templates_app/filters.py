import django_filters
from django.db.models import Exists, OuterRef, Q

from templates_app.models import Template
from templates_app.selectors import SCOPES, template_scope_filter

ORDERINGS = {
    "usage": ["-usage_count", "-updated_at", "-id"],
    "recent": ["-updated_at", "-id"],
}


class TemplateFilter(django_filters.FilterSet):
    scope = django_filters.ChoiceFilter(
        choices=[(scope, scope) for scope in SCOPES],
        method="filter_scope",
        help_text="system: shipped with StructForge; mine: yours; shared: shared with you; public: the marketplace.",
    )
    search = django_filters.CharFilter(method="filter_search", help_text="Words in the name, description or category.")
    category = django_filters.CharFilter(field_name="category", lookup_expr="iexact")
    tag = django_filters.CharFilter(
        method="filter_tag", help_text="Templates carrying any of these tags (comma-separated)."
    )
    ordering = django_filters.ChoiceFilter(
        choices=[(name, name) for name in ORDERINGS],
        method="filter_ordering",
        help_text="usage (the default: most used first) or recent (last changed first).",
    )

    class Meta:
        model = Template
        fields: list[str] = []

    def filter_scope(self, queryset, name, value):
        return queryset.filter(template_scope_filter(user=self.request.user, scope=value))

    def filter_search(self, queryset, name, value):
        query = Q()
        for word in value.split():
            query &= Q(name__icontains=word) | Q(description__icontains=word) | Q(category__icontains=word)
        return queryset.filter(query)

    def filter_tag(self, queryset, name, value):
        names = [tag.strip().lower() for tag in value.split(",") if tag.strip()]
        # Exists rather than a join, so a template with two matching tags is listed once.
        tagged = Template.tags.through.objects.filter(template_id=OuterRef("pk"), templatetag__name__in=names)
        return queryset.filter(Exists(tagged))

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*ORDERINGS[value])
