from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from templates_app.models import Template, TemplateVersion, Visibility
from templates_app.parameters import PARAMETER_TYPES
from workflows.serializers import folder_field


class ParameterSerializer(serializers.Serializer):
    """One declared parameter, as stored (every key present)."""

    name = serializers.CharField()
    type = serializers.ChoiceField(choices=PARAMETER_TYPES)
    label = serializers.CharField()
    default = serializers.JSONField(allow_null=True)
    required = serializers.BooleanField()
    description = serializers.CharField(allow_blank=True)


class GraphNodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    name = serializers.CharField(allow_null=True)


class GraphEdgeSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    branch = serializers.CharField(allow_null=True)


class GraphSerializer(serializers.Serializer):
    nodes = GraphNodeSerializer(many=True)
    edges = GraphEdgeSerializer(many=True)


def graph_of(definition: dict) -> dict:
    """The shape of a definition, for drawing it: nodes (id, type, name) and edges."""
    return {
        "nodes": [
            {"id": node["id"], "type": node["type"], "name": node.get("name")} for node in definition.get("nodes", [])
        ],
        "edges": [
            {"source": edge["source"], "target": edge["target"], "branch": edge.get("branch")}
            for edge in definition.get("edges", [])
        ],
    }


class TemplateListSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True, default=None)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    editable = serializers.SerializerMethodField(help_text="Whether the caller may change or delete it (its author).")

    class Meta:
        model = Template
        fields = [
            "id",
            "name",
            "description",
            "category",
            "tags",
            "scope",
            "visibility",
            "author",
            "version",
            "usage_count",
            "editable",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_editable(self, template: Template) -> bool:
        return not template.is_system and template.author_id == self.context["request"].user.pk


class TemplateSerializer(TemplateListSerializer):
    """A template's detail: its graph, parameters and definition; its shares only for its author."""

    parameters = ParameterSerializer(many=True, read_only=True)
    graph = serializers.SerializerMethodField()
    shared_with_users = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="username", help_text="Only shown to the template's author."
    )
    shared_with_groups = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name", help_text="Only shown to the template's author."
    )

    class Meta(TemplateListSerializer.Meta):
        fields = [
            *TemplateListSerializer.Meta.fields,
            "parameters",
            "graph",
            "definition",
            "shared_with_users",
            "shared_with_groups",
        ]
        read_only_fields = fields

    @extend_schema_field(GraphSerializer)
    def get_graph(self, template: Template) -> dict:
        return graph_of(template.definition)

    def to_representation(self, template: Template) -> dict:
        data = super().to_representation(template)
        if not self.get_editable(template):
            # Who else may see a template is its author's business.
            data.pop("shared_with_users")
            data.pop("shared_with_groups")
        return data


class TemplateInputSerializer(serializers.Serializer):
    """Create a template from a `definition` (with `parameters`) or from a `workflow` (and `version`)."""

    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    category = serializers.CharField(max_length=50, allow_blank=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=20)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    shared_with_users = serializers.SlugRelatedField(
        many=True, slug_field="username", queryset=get_user_model().objects.all(), required=False
    )
    shared_with_groups = serializers.SlugRelatedField(
        many=True, slug_field="name", queryset=Group.objects.all(), required=False
    )
    definition = serializers.JSONField(
        required=False, help_text="The workflow definition, with `{{ params.NAME }}` where parameters go."
    )
    parameters = serializers.JSONField(
        required=False, help_text="List of {name, type, label, default, required, description}."
    )
    workflow = serializers.IntegerField(
        required=False, min_value=1, help_text="Make the template from this workflow (one you can view)."
    )
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="With `workflow`: which version (the newest by default)."
    )
    changelog = serializers.CharField(allow_blank=True, required=False, help_text="Recorded on the new version.")

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating

    def validate(self, data):
        if not self.creating:
            fixed = [field for field in ("workflow", "version") if field in data]
            if fixed:
                raise serializers.ValidationError({field: ["This field cannot be changed."] for field in fixed})
            return data
        if "workflow" in data:
            extra = [field for field in ("definition", "parameters") if field in data]
            if extra:
                raise serializers.ValidationError(
                    {field: ["Give either a workflow or a definition."] for field in extra}
                )
        else:
            if "version" in data:
                raise serializers.ValidationError({"version": ["Only with `workflow`."]})
            missing = [field for field in ("name", "definition") if field not in data]
            if missing:
                raise serializers.ValidationError({field: ["This field is required."] for field in missing})
        return data


class TemplateVersionListSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = TemplateVersion
        fields = ["number", "changelog", "created_by", "created_at"]
        read_only_fields = fields


class TemplateVersionSerializer(TemplateVersionListSerializer):
    parameters = ParameterSerializer(many=True, read_only=True)
    graph = serializers.SerializerMethodField()

    class Meta(TemplateVersionListSerializer.Meta):
        fields = [*TemplateVersionListSerializer.Meta.fields, "parameters", "graph", "definition"]
        read_only_fields = fields

    @extend_schema_field(GraphSerializer)
    def get_graph(self, version: TemplateVersion) -> dict:
        return graph_of(version.definition)


class InstantiateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, help_text="The template's name by default.")
    description = serializers.CharField(allow_blank=True, required=False)
    folder = folder_field(help_text="One of your folders; none puts the workflow at the top.")
    params = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        default=dict,
        help_text="Values by parameter name; a secret parameter takes the name of one of your secrets.",
    )


class ApplyInputSerializer(serializers.Serializer):
    params = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        default=dict,
        help_text="Values that replace the ones used last time (e.g. for a parameter the new version added).",
    )
    changelog = serializers.CharField(allow_blank=True, required=False, default="")


class TemplateChangeSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    changelog = serializers.CharField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class TemplateLinkSerializer(serializers.Serializer):
    template = serializers.IntegerField(allow_null=True, help_text="Null when the template is gone or hidden from you.")
    template_name = serializers.CharField()
    template_version = serializers.IntegerField(help_text="The template version the workflow follows.")
    latest_version = serializers.IntegerField(allow_null=True)
    update_available = serializers.BooleanField()
    diff = serializers.JSONField(
        allow_null=True, help_text="What the newer version changes (as `workflows/{id}/diff/`)."
    )
    changes = TemplateChangeSerializer(many=True)
    params = serializers.DictField(child=serializers.JSONField(allow_null=True))
    params_needed = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Problems applying the newest version with these values would have, by parameter.",
    )
    customized = serializers.BooleanField(
        allow_null=True, help_text="Whether the workflow was edited since it last followed the template."
    )


class TemplateLinkAppliedSerializer(TemplateLinkSerializer):
    workflow_version = serializers.IntegerField(help_text="The workflow's version after applying.")
