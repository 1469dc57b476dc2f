"""Publishing API: campaigns (CRUD), posts with their approval workflow, and deliveries with their audit trail.

Every change goes through publishing.services, which decide who may do what: a community manager asking to
approve gets the services' 403, a post in the wrong state their 409.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors as account_selectors
from accounts.models import AccountGroup, Organization, SocialAccount
from accounts.roles import Perm
from publishing import imports, selectors, services
from publishing.models import Campaign, Delivery, DeliveryEvent, MediaAsset, Post, PostImport, PostMedia
from smms.api.base import OrgScopedViewSet
from smms.errors import ValidationFailed

from .serializers import (
    CampaignInputSerializer,
    CampaignOutputSerializer,
    DeliveryDetailOutputSerializer,
    DeliveryFilterSerializer,
    DeliveryOutputSerializer,
    LookupFilterSerializer,
    MediaAssetInputSerializer,
    MediaAssetOutputSerializer,
    PostFilterSerializer,
    PostImportInputSerializer,
    PostImportOutputSerializer,
    PostInputSerializer,
    PostOutputSerializer,
    QueueSlotsInputSerializer,
    QueueSlotsOutputSerializer,
    ScheduleInputSerializer,
    SendBackInputSerializer,
)


def _filtered(queryset: QuerySet[Any], filter_class: type[LookupFilterSerializer], request: Request) -> QuerySet[Any]:
    """The list narrowed by its query parameters, validated: a malformed one is a 400, not an ignored filter."""
    params = filter_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return queryset.filter(**{filter_class.lookups[name]: value for name, value in params.validated_data.items()})


class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet):
    """Campaigns group posts and tag their links with a UTM campaign."""

    scope_area = "publishing"
    write_perm = Perm.APPROVE_POSTS
    queryset = Campaign.objects.none()
    serializer_class = CampaignOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Campaign]:  # type: ignore[override]
        return Campaign.objects.filter(organization=org).select_related("owner")

    @extend_schema(request=CampaignInputSerializer, responses={201: CampaignOutputSerializer})
    def create(self, request: Request) -> Response:
        data = CampaignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_save(actor=self.actor, **data.validated_data)
        return Response(CampaignOutputSerializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CampaignInputSerializer, responses=CampaignOutputSerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        data = CampaignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_save(
            actor=self.actor, campaign=campaign, owner=campaign.owner, **data.validated_data
        )
        return Response(CampaignOutputSerializer(campaign).data)

    @extend_schema(responses={204: None, 409: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.campaign_delete(campaign=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostViewSet(mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Posts: composed for accounts (one delivery each), sent for approval, approved or sent back, scheduled,
    cancelled."""

    scope_area = "publishing"
    write_perm = Perm.COMPOSE_POSTS
    queryset = Post.objects.none()
    serializer_class = PostOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Post]:  # type: ignore[override]
        return (
            Post.objects.filter(organization=org)
            .select_related("author")
            .prefetch_related(
                "variants",
                Prefetch("deliveries", Delivery.objects.select_related("account").order_by("id")),
                Prefetch("media", PostMedia.objects.order_by("position")),
            )
        )

    @extend_schema(parameters=[PostFilterSerializer], responses=PostOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(_filtered(self.get_queryset(), PostFilterSerializer, request))
        return self.get_paginated_response(PostOutputSerializer(page, many=True).data)

    @extend_schema(request=PostInputSerializer, responses={201: PostOutputSerializer})
    def create(self, request: Request) -> Response:
        composition = self._composition(request)
        composition["media"] = composition["media"] or ()
        composition["first_comment"] = composition["first_comment"] or ""
        post = services.post_create(actor=self.actor, **composition)
        return self._answer(post, status.HTTP_201_CREATED)

    @extend_schema(request=PostInputSerializer, responses={200: PostOutputSerializer, 409: None})
    def update(self, request: Request, pk: str | None = None) -> Response:
        """Rewrite a draft (new, or sent back); a submitted post cannot change under its approver (409)."""
        post = self.get_object()
        return self._answer(services.post_update(post=post, actor=self.actor, **self._composition(request)))

    def _composition(self, request: Request) -> dict[str, Any]:
        data = PostInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return {
            "text": data.validated_data["text"],
            "accounts": self._accounts(data.validated_data["account_ids"]),
            "variants": data.validated_data["variants"],
            "scheduled_at": data.validated_data["scheduled_at"],
            "campaign": self._campaign(data.validated_data["campaign_id"]),
            "media": self._media(data.validated_data["media_ids"]),
            "first_comment": data.validated_data["first_comment"],
        }

    def _media(self, ids: Sequence[int] | None) -> list[MediaAsset] | None:
        return None if ids is None else selectors.media_asset_list(org=self.org, asset_ids=ids)

    def _accounts(self, ids: Sequence[int]) -> Sequence[SocialAccount]:
        accounts = list(account_selectors.social_account_list(org=self.org).filter(id__in=ids))
        if len(accounts) != len(set(ids)):  # another organization's, or none at all: the same answer
            raise ValidationFailed(_("Some accounts are not in this organization."), field="accounts")
        return accounts

    def _campaign(self, campaign_id: int | None) -> Campaign | None:
        if campaign_id is None:
            return None
        campaign = Campaign.objects.filter(organization=self.org, id=campaign_id).first()
        if campaign is None:
            raise ValidationFailed(_("This campaign is not in this organization."), field="campaign")
        return campaign

    def _answer(self, post: Post, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.scoped_queryset(self.org).get(id=post.id)  # with its variants and deliveries, in three queries
        return Response(PostOutputSerializer(fresh).data, status=code)

    def _change(
        self,
        service: Callable[..., Post],
        data_class: type[serializers.Serializer] | None = None,  # type: ignore[type-arg]
    ) -> Response:
        """Call ``service`` on the post, with the request's fields validated by ``data_class`` (named as the
        service's arguments). Another organization's post is a 404 before its input is even read."""
        post = self.get_object()
        fields: dict[str, Any] = {}
        if data_class is not None:
            data = data_class(data=self.request.data)
            data.is_valid(raise_exception=True)
            fields = dict(data.validated_data)
        return self._answer(service(post=post, actor=self.actor, **fields))

    @extend_schema(request=None, responses=PostOutputSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        return self._change(services.post_submit)

    @extend_schema(request=None, responses=PostOutputSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve a post awaiting approval; with a planned time still ahead it is scheduled at once."""
        return self._change(services.post_approve)

    @extend_schema(request=SendBackInputSerializer, responses=PostOutputSerializer)
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request: Request, pk: str | None = None) -> Response:
        return self._change(services.post_send_back, SendBackInputSerializer)

    @extend_schema(request=ScheduleInputSerializer, responses=PostOutputSerializer)
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        return self._change(services.post_schedule, ScheduleInputSerializer)

    @extend_schema(request=None, responses=PostOutputSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._change(services.post_cancel)

    @extend_schema(request=None, responses={200: PostOutputSerializer, 400: None, 409: None})
    @action(detail=True, methods=["post"])
    def queue(self, request: Request, pk: str | None = None) -> Response:
        """Add the post to its accounts' queues: each delivery at its account's next free slot. Scheduled at
        once when the caller may approve; otherwise the slots are kept until the post is approved. An account
        without slots is a 400 naming it."""
        return self._change(services.post_queue)


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Deliveries: one post on one account, as the engine publishes it. Read-only."""

    scope_area = "publishing"
    write_perm = Perm.COMPOSE_POSTS
    queryset = Delivery.objects.none()
    serializer_class = DeliveryOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Delivery]:  # type: ignore[override]
        deliveries = selectors.delivery_list(org=org)
        if self.action == "retrieve":
            trail = DeliveryEvent.objects.select_related("actor").order_by("at", "id")
            deliveries = deliveries.prefetch_related(Prefetch("events", trail))
        return deliveries

    @extend_schema(parameters=[DeliveryFilterSerializer], responses=DeliveryOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(_filtered(self.get_queryset(), DeliveryFilterSerializer, request))
        return self.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)

    @extend_schema(responses=DeliveryDetailOutputSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(DeliveryDetailOutputSerializer(self.get_object()).data)


def _queue_slots_data(org: Organization, account: SocialAccount) -> dict[str, Any]:
    schedule = selectors.queue_schedule(org=org, account=account)
    upcoming = selectors.queue_upcoming(org=org, account=account)
    data = {
        "account": account.id,
        "timezone": schedule.timezone if schedule else None,
        "slots": [{"weekday": s.weekday, "time": s.time} for s in schedule.slots.all()] if schedule else [],
        "upcoming": [{"at": e.at, "post_ids": [d.post_id for d in e.deliveries]} for e in upcoming],
    }
    return QueueSlotsOutputSerializer(data).data  # type: ignore[no-any-return]


class QueueSlotsViewSet(OrgScopedViewSet):
    """The weekly queue slots of one social account: read them with the next slots, or replace them all."""

    scope_area = "publishing"
    write_perm = Perm.APPROVE_POSTS
    queryset = SocialAccount.objects.none()
    serializer_class = QueueSlotsOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[SocialAccount]:  # type: ignore[override]
        return account_selectors.social_account_list(org=org)

    def _answer(self, account: SocialAccount) -> Response:
        return Response(_queue_slots_data(self.org, account))

    @extend_schema(responses=QueueSlotsOutputSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(self.get_object())

    @extend_schema(request=QueueSlotsInputSerializer, responses=QueueSlotsOutputSerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        account = self.get_object()
        data = QueueSlotsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.slots_set(
            actor=self.actor,
            account=account,
            tz=data.validated_data["timezone"],
            slots=[(slot["weekday"], slot["time"]) for slot in data.validated_data["slots"]],
        )
        return self._answer(account)


class GroupQueueSlotsViewSet(OrgScopedViewSet):
    """The same weekly queue slots on every account of an account group, replaced at once."""

    scope_area = "publishing"
    write_perm = Perm.APPROVE_POSTS
    queryset = AccountGroup.objects.none()
    serializer_class = QueueSlotsOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[AccountGroup]:  # type: ignore[override]
        return account_selectors.account_group_list(org=org)

    @extend_schema(request=QueueSlotsInputSerializer, responses=QueueSlotsOutputSerializer(many=True))
    def update(self, request: Request, pk: str | None = None) -> Response:
        """Replace the slots of every account of the group; answers each account's slots and next slots."""
        group = self.get_object()
        data = QueueSlotsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.slots_set(
            actor=self.actor,
            group=group,
            tz=data.validated_data["timezone"],
            slots=[(slot["weekday"], slot["time"]) for slot in data.validated_data["slots"]],
        )
        accounts = account_selectors.social_account_list(org=self.org).filter(groups=group).order_by("id")
        return Response([_queue_slots_data(self.org, account) for account in accounts])


class MediaAssetViewSet(mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Images for posts: upload one (multipart), then name its id in a post's `media_ids`."""

    scope_area = "publishing"
    write_perm = Perm.COMPOSE_POSTS
    queryset = MediaAsset.objects.none()
    serializer_class = MediaAssetOutputSerializer
    parser_classes = [MultiPartParser, FormParser]

    def scoped_queryset(self, org: Organization) -> QuerySet[MediaAsset]:  # type: ignore[override]
        return MediaAsset.objects.filter(organization=org)

    @extend_schema(
        request={"multipart/form-data": MediaAssetInputSerializer}, responses={201: MediaAssetOutputSerializer}
    )
    def create(self, request: Request) -> Response:
        data = MediaAssetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        asset = services.media_asset_upload(
            actor=self.actor, file=upload, name=upload.name, alt_text=data.validated_data["alt_text"]
        )
        return Response(MediaAssetOutputSerializer(asset).data, status=status.HTTP_201_CREATED)


class PostImportViewSet(mixins.RetrieveModelMixin, OrgScopedViewSet):
    """CSV imports of posts: upload a file, follow its check and import, read the per-row report, and import
    the good rows only of a file with problems."""

    scope_area = "publishing"
    write_perm = Perm.COMPOSE_POSTS
    queryset = PostImport.objects.none()
    serializer_class = PostImportOutputSerializer
    parser_classes = [MultiPartParser, FormParser]

    def scoped_queryset(self, org: Organization) -> QuerySet[PostImport]:  # type: ignore[override]
        return PostImport.objects.filter(organization=org).select_related("uploaded_by")

    @extend_schema(
        request={"multipart/form-data": PostImportInputSerializer}, responses={201: PostImportOutputSerializer}
    )
    def create(self, request: Request) -> Response:
        """Upload a CSV; it is checked (and, without problems or in `good_rows` mode, imported) in the
        background: follow `status` and the counts on the import."""
        data = PostImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        job = imports.post_import_start(
            actor=self.actor, file_name=upload.name, data=upload.read(imports.MAX_BYTES + 1),
            mode=data.validated_data["mode"],
        )  # fmt: skip
        return Response(PostImportOutputSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: PostImportOutputSerializer, 409: None})
    @action(detail=True, methods=["post"], url_path="import-good-rows")
    def import_good_rows(self, request: Request, pk: str | None = None) -> Response:
        """Import the rows without a problem of a checked file that has some (status `invalid`)."""
        job = imports.post_import_good_rows(post_import=self.get_object(), actor=self.actor)
        return Response(PostImportOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)
