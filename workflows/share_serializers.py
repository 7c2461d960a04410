from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework import serializers

from sharing.models import AuditEvent, Grant, ShareLink
from sharing.roles import LINK_ROLES, SHAREABLE_ROLES


class GrantSerializer(serializers.ModelSerializer):
    """A share: `user` (a username) or `group` (a group name), and the role given."""

    user = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    group = serializers.SlugRelatedField(
        slug_field="name", queryset=Group.objects.all(), required=False, allow_null=True
    )
    role = serializers.ChoiceField(choices=SHAREABLE_ROLES)
    granted_by = serializers.CharField(source="granted_by.username", read_only=True, default=None)

    class Meta:
        model = Grant
        fields = ["id", "user", "group", "role", "granted_by", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, data):
        if self.instance is None and bool(data.get("user")) == bool(data.get("group")):
            raise serializers.ValidationError({"user": ["Name either a user or a group to share with."]})
        return data


class GrantRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=SHAREABLE_ROLES)


class ShareLinkSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    role = serializers.ChoiceField(choices=LINK_ROLES)
    max_uses = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)

    class Meta:
        model = ShareLink
        fields = [
            "id",
            "role",
            "label",
            "expires_at",
            "max_uses",
            "use_count",
            "token_prefix",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["use_count", "token_prefix", "created_at"]


class ShareLinkCreatedSerializer(ShareLinkSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown this once; only a digest is stored.")
    url = serializers.CharField(read_only=True)

    class Meta(ShareLinkSerializer.Meta):
        fields = [*ShareLinkSerializer.Meta.fields, "token", "url"]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None)

    class Meta:
        model = AuditEvent
        fields = ["id", "action", "actor", "details", "created_at"]
        read_only_fields = fields


class TransferSerializer(serializers.Serializer):
    user = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())
