"""Explicit input and output serializers of the accounts API. Outputs never include tokens."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import AccountGroup, Membership, SocialAccount
from accounts.roles import Role


class AccountGroupRefSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = AccountGroup
        fields = ["id", "name"]


class SocialAccountOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    groups = AccountGroupRefSerializer(many=True, read_only=True)

    class Meta:
        model = SocialAccount
        fields = [
            "id",
            "platform",
            "handle",
            "remote_id",
            "display_name",
            "avatar_url",
            "status",
            "token_expires_at",
            "scopes",
            "last_error",
            "last_error_at",
            "groups",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SocialAccountUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    display_name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    group_ids = serializers.ListField(child=serializers.IntegerField(), required=False)


class AccountGroupOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    account_ids = serializers.PrimaryKeyRelatedField(source="accounts", many=True, read_only=True)

    class Meta:
        model = AccountGroup
        fields = ["id", "name", "description", "account_ids", "created_at"]
        read_only_fields = fields


class AccountGroupInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=240, allow_blank=True, required=False, default="")
    account_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class MemberOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "created_at"]
        read_only_fields = fields


class MemberUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    role = serializers.ChoiceField(choices=Role.choices)
