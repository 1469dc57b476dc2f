"""Explicit input and output serializers of the accounts API. Outputs never include tokens."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import AccountGroup, Approvers, Membership, SocialAccount, Team
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


class ApprovalPolicySerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Approval rules: input and output alike. ``inherited`` (output only) says a team follows the default."""

    requires_approval = serializers.BooleanField()
    approvers = serializers.ChoiceField(choices=Approvers.choices)
    self_approval = serializers.BooleanField()
    inherited = serializers.BooleanField(read_only=True)


class TeamOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    member_ids = serializers.PrimaryKeyRelatedField(source="members", many=True, read_only=True)
    approval = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "description", "member_ids", "approval", "created_at"]
        read_only_fields = fields

    @extend_schema_field(ApprovalPolicySerializer)
    def get_approval(self, team: Team) -> dict[str, Any]:
        own = getattr(team, "approval_policy", None)
        policy = own or self.context["default_policy"]
        return {**ApprovalPolicySerializer(policy).data, "inherited": own is None}


class TeamApprovalInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """``approval``: the team's own rules, or null to follow the organization's default."""

    approval = ApprovalPolicySerializer(allow_null=True)
