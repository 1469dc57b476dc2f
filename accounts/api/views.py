"""Accounts API: social accounts, account groups and members of the caller's organization."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.models import AccountGroup, Membership, Organization, SocialAccount, Team
from accounts.roles import Perm
from smms.api.base import OrgScopedViewSet

from .serializers import (
    AccountGroupInputSerializer,
    AccountGroupOutputSerializer,
    ApprovalPolicySerializer,
    MemberOutputSerializer,
    MemberUpdateSerializer,
    SocialAccountOutputSerializer,
    SocialAccountUpdateSerializer,
    TeamApprovalInputSerializer,
    TeamOutputSerializer,
)


class SocialAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Social accounts the organization manages. Tokens are never returned."""

    scope_area = "accounts"
    write_perm = Perm.MANAGE_SOCIAL_ACCOUNTS
    queryset = SocialAccount.objects.none()
    serializer_class = SocialAccountOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[SocialAccount]:  # type: ignore[override]
        params = self.request.query_params
        return selectors.social_account_list(org=org, platform=params.get("platform"), status=params.get("status"))

    @extend_schema(request=SocialAccountUpdateSerializer, responses=SocialAccountOutputSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        account = self.get_object()
        data = SocialAccountUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.social_account_update(
            account=account,
            actor=self.actor,
            display_name=data.validated_data.get("display_name", account.display_name),
            group_ids=data.validated_data.get("group_ids", [g.id for g in account.groups.all()]),
        )
        return Response(SocialAccountOutputSerializer(account).data)

    @extend_schema(request=None, responses=SocialAccountOutputSerializer)
    @action(detail=True, methods=["post"])
    def disconnect(self, request: Request, pk: str | None = None) -> Response:
        account = services.social_account_disconnect(account=self.get_object(), actor=self.actor)
        return Response(SocialAccountOutputSerializer(account).data)


class AccountGroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet):
    """Groups of accounts (by brand, region, language)."""

    scope_area = "accounts"
    write_perm = Perm.MANAGE_ACCOUNT_GROUPS
    queryset = AccountGroup.objects.none()
    serializer_class = AccountGroupOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[AccountGroup]:  # type: ignore[override]
        return selectors.account_group_list(org=org)

    @extend_schema(request=AccountGroupInputSerializer, responses={201: AccountGroupOutputSerializer})
    def create(self, request: Request) -> Response:
        data = AccountGroupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = services.account_group_save(
            actor=self.actor,
            name=data.validated_data["name"],
            description=data.validated_data["description"],
            account_ids=data.validated_data["account_ids"],
        )
        group = selectors.account_group_get(org=self.org, group_id=group.id)
        return Response(AccountGroupOutputSerializer(group).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AccountGroupInputSerializer, responses=AccountGroupOutputSerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        group = self.get_object()
        data = AccountGroupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.account_group_save(
            actor=self.actor,
            group=group,
            name=data.validated_data["name"],
            description=data.validated_data["description"],
            account_ids=data.validated_data["account_ids"],
        )
        group = selectors.account_group_get(org=self.org, group_id=group.id)
        return Response(AccountGroupOutputSerializer(group).data)

    def perform_destroy(self, instance: AccountGroup) -> None:
        services.account_group_delete(group=instance, actor=self.actor)


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet):
    """Members of the organization and their roles."""

    scope_area = "members"
    write_perm = Perm.MANAGE_MEMBERS
    queryset = Membership.objects.none()
    serializer_class = MemberOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Membership]:  # type: ignore[override]
        return selectors.member_list(org=org)

    @extend_schema(request=MemberUpdateSerializer, responses=MemberOutputSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        member = self.get_object()
        data = MemberUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.membership_change_role(membership=member, role=data.validated_data["role"], actor=self.actor)
        return Response(MemberOutputSerializer(member).data)

    def perform_destroy(self, instance: Membership) -> None:
        services.membership_remove(membership=instance, actor=self.actor)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Teams with their approval rules. PATCH ``{"approval": {...}}`` sets a team's own rules, ``null`` makes
    it follow the organization's default (read and set at ``approval-default/``)."""

    scope_area = "members"
    write_perm = Perm.MANAGE_TEAMS
    queryset = Team.objects.none()
    serializer_class = TeamOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Team]:  # type: ignore[override]
        return selectors.team_list(org=org).select_related("approval_policy")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["default_policy"] = selectors.approval_policy_default(org=self.org)
        return context

    @extend_schema(request=TeamApprovalInputSerializer, responses=TeamOutputSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        team = self.get_object()
        data = TeamApprovalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rules = data.validated_data["approval"]
        if rules is None:
            services.approval_policy_reset(actor=self.actor, team=team)
        else:
            services.approval_policy_save(actor=self.actor, team=team, **rules)
        team = selectors.team_list(org=self.org).select_related("approval_policy").get(id=team.id)
        return Response(TeamOutputSerializer(team, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], responses=ApprovalPolicySerializer)
    @extend_schema(methods=["PUT"], request=ApprovalPolicySerializer, responses=ApprovalPolicySerializer)
    @action(detail=False, methods=["get", "put"], url_path="approval-default")
    def approval_default(self, request: Request) -> Response:
        """The organization's default approval rules, for members in no team and teams without their own."""
        if request.method == "PUT":
            data = ApprovalPolicySerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.approval_policy_save(actor=self.actor, team=None, **data.validated_data)
        policy = selectors.approval_policy_default(org=self.org)
        return Response({**ApprovalPolicySerializer(policy).data, "inherited": False})
