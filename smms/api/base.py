"""The base class of every API view: authentication, permissions and organization scoping in one place.

Subclasses declare ``scope_area`` (API-key scopes ``<area>:read`` / ``<area>:write``), ``read_perm`` and
``write_perm`` (role permissions for signed-in users), and implement ``scoped_queryset(org)``. They cannot
override ``get_queryset``, so no endpoint can forget the organization filter.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import ApiKey, Membership, Organization
from accounts.roles import Perm, Role, refusal, role_allows


class OrgAccessPermission(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        safe = request.method in permissions.SAFE_METHODS
        if isinstance(request.auth, ApiKey):
            scope = f"{view.scope_area}:{'read' if safe else 'write'}"  # type: ignore[attr-defined]
            if scope not in request.auth.scopes:
                raise exceptions.PermissionDenied(_("This API key lacks the scope %(scope)s.") % {"scope": scope})
            return True
        membership = getattr(request._request, "membership", None)
        if membership is None:
            raise exceptions.PermissionDenied(_("You are not a member of any organization."))
        perm = view.read_perm if safe else view.write_perm  # type: ignore[attr-defined]
        if not role_allows(membership.role, perm):
            raise exceptions.PermissionDenied(refusal(membership.role, perm))
        return True


class OrgScopedViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    permission_classes = [OrgAccessPermission]
    scope_area: ClassVar[str]
    read_perm: ClassVar[Perm] = Perm.VIEW
    write_perm: ClassVar[Perm]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must implement scoped_queryset(org), not get_queryset().")

    @property
    def org(self) -> Organization:
        auth = self.request.auth
        if isinstance(auth, ApiKey):
            return auth.organization
        return self.request._request.membership.organization  # type: ignore[attr-defined]

    @property
    def actor(self) -> Membership:
        """Who acts, for the services' permission checks. An API key acts as an admin of its organization,
        narrowed by its scopes (checked before the view runs)."""
        auth = self.request.auth
        if isinstance(auth, ApiKey):
            return Membership(organization=auth.organization, user=auth.created_by, role=Role.ADMIN)
        return self.request._request.membership  # type: ignore[attr-defined, no-any-return]

    def scoped_queryset(self, org: Organization) -> QuerySet[Model]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Model]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request organization
            return self.queryset  # type: ignore[return-value]
        return self.scoped_queryset(self.org)
