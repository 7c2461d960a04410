from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workflows.models import Folder, OnLimit, Secret, Tag, Workflow, WorkflowVersion
from workflows.selectors import folders_of, tags_of


# The queryset is only known per request, so the schema cannot derive the id type from it.
@extend_schema_field(OpenApiTypes.INT)
class CallerScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A reference to one of the caller's own folders or tags; anything else reads as "does not exist"."""

    def __init__(self, *, selector, **kwargs):
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.selector(user=self.context["request"].user)


def folder_field(**kwargs) -> CallerScopedPrimaryKeyField:
    return CallerScopedPrimaryKeyField(selector=folders_of, allow_null=True, required=False, **kwargs)


class FolderSerializer(serializers.ModelSerializer):
    parent = folder_field()

    class Meta:
        model = Folder
        fields = ["id", "name", "parent", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class FolderDeleteQuerySerializer(serializers.Serializer):
    move_content = serializers.BooleanField(
        default=False, help_text="Move the folder's sub-folders and workflows to its parent before deleting it."
    )


class TagSerializer(serializers.ModelSerializer):
    colour = serializers.RegexField(
        r"^#[0-9a-fA-F]{6}$",
        required=False,
        error_messages={"invalid": "Give a hex colour such as #2563eb."},
    )

    class Meta:
        model = Tag
        fields = ["id", "name", "colour", "created_at"]
        read_only_fields = ["created_at"]


class WorkflowInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False)
    folder = folder_field()
    tags = CallerScopedPrimaryKeyField(selector=tags_of, many=True, required=False)
    definition = serializers.JSONField(
        required=False, help_text="The workflow's DAG: nodes, edges and settings (see the definition format)."
    )
    # The upper bound is the database column's: a larger number would fail there as a 500.
    max_concurrency = serializers.IntegerField(min_value=1, max_value=2_147_483_647, allow_null=True, required=False)
    on_limit = serializers.ChoiceField(
        choices=OnLimit.choices,
        required=False,
        help_text="With max_concurrency reached: queue the run, skip (refuse) it, or cancel the oldest run.",
    )
    changelog = serializers.CharField(
        allow_blank=True,
        required=False,
        write_only=True,
        help_text="Recorded on the version a definition change creates.",
    )

    def __init__(self, *args, full_update: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # PUT replaces the workflow, so its name and definition must both be given.
        if full_update:
            self.fields["definition"].required = True


class WorkflowListSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    role = serializers.CharField(read_only=True)
    tags = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Workflow
        fields = [
            "id",
            "name",
            "description",
            "folder",
            "tags",
            "max_concurrency",
            "on_limit",
            "version",
            "published_version",
            "owner",
            "role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WorkflowSerializer(WorkflowListSerializer):
    class Meta(WorkflowListSerializer.Meta):
        fields = [*WorkflowListSerializer.Meta.fields[:5], "definition", *WorkflowListSerializer.Meta.fields[5:]]
        read_only_fields = fields


class WorkflowVersionListSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)
    is_published = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowVersion
        fields = ["number", "changelog", "created_by", "created_at", "is_published"]
        read_only_fields = fields

    def get_is_published(self, version: WorkflowVersion) -> bool:
        return version.number == self.context["workflow"].published_version


class WorkflowVersionSerializer(WorkflowVersionListSerializer):
    class Meta(WorkflowVersionListSerializer.Meta):
        fields = [*WorkflowVersionListSerializer.Meta.fields, "definition"]
        read_only_fields = fields


class VersionDiffQuerySerializer(serializers.Serializer):
    # `from` is a Python keyword, so the fields are declared under other names and renamed.
    from_ = serializers.IntegerField(min_value=1, help_text="The older version number.")
    to = serializers.IntegerField(min_value=1, help_text="The newer version number.")

    def to_internal_value(self, data):
        # Only the parameters given, so a missing one reads "required" rather than "may not be null".
        data = {field: data[param] for param, field in (("from", "from_"), ("to", "to")) if param in data}
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = exc.detail
            if "from_" in errors:
                errors["from"] = errors.pop("from_")
            raise serializers.ValidationError(errors) from exc


class FieldChangeSerializer(serializers.Serializer):
    path = serializers.CharField()
    to = serializers.JSONField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.JSONField(allow_null=True)
        return fields


class NodeChangeSerializer(serializers.Serializer):
    id = serializers.CharField()
    changes = FieldChangeSerializer(many=True)


class NodesDiffSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = NodeChangeSerializer(many=True)


class EdgesDiffSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.DictField())
    removed = serializers.ListField(child=serializers.DictField())


class VersionDiffSerializer(serializers.Serializer):
    nodes = NodesDiffSerializer()
    edges = EdgesDiffSerializer()
    settings = FieldChangeSerializer(many=True)


# --- Secrets --------------------------------------------------------------------------------------

SECRET_VALUE_MAX_LENGTH = 65_536


class SecretSerializer(serializers.ModelSerializer):
    """A secret as the API shows it: never its value, which is only ever written."""

    value = serializers.CharField(
        write_only=True,
        trim_whitespace=False,  # a secret is used exactly as given, blanks included
        max_length=SECRET_VALUE_MAX_LENGTH,
        style={"input_type": "password"},
        help_text="The secret itself. Stored encrypted and never returned; node params read it as "
        "`{{ secrets.NAME }}`.",
    )

    class Meta:
        model = Secret
        fields = ["id", "name", "description", "value", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class SecretUpdateSerializer(SecretSerializer):
    """On PUT and PATCH the value may be left out: the stored one is kept."""

    def get_fields(self):
        fields = super().get_fields()
        fields["value"].required = False
        return fields
