"""Explicit input and output serializers of the publishing API."""

from __future__ import annotations

from typing import ClassVar

from rest_framework import serializers

from accounts.models import SocialAccount
from publishing.models import (
    Campaign,
    Delivery,
    DeliveryEvent,
    DeliveryState,
    ImportMode,
    MediaAsset,
    Post,
    PostImport,
    PostStatus,
    PostVariant,
)


class CampaignOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    owner = serializers.EmailField(source="owner.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Campaign
        fields = ["id", "name", "goal", "starts_on", "ends_on", "utm_campaign", "owner", "created_at", "updated_at"]
        read_only_fields = fields


class CampaignInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=120)
    goal = serializers.CharField(allow_blank=True, required=False, default="")
    starts_on = serializers.DateField(required=False, allow_null=True, default=None)
    ends_on = serializers.DateField(required=False, allow_null=True, default=None)
    utm_campaign = serializers.CharField(
        max_length=80, allow_blank=True, required=False, default="", help_text="Defaults to the name, slugified."
    )


class AccountRefSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = SocialAccount
        fields = ["id", "platform", "handle"]
        read_only_fields = fields


class DeliveryOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    account = AccountRefSerializer(read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "post", "account", "state", "due_at", "next_attempt_at", "attempts", "remote_id", "remote_url",
            "published_at", "last_error", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class DeliveryEventOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    actor = serializers.EmailField(
        source="actor.email", read_only=True, allow_null=True, default=None, help_text="None for the engine."
    )

    class Meta:
        model = DeliveryEvent
        fields = ["at", "from_state", "to_state", "actor", "detail"]
        read_only_fields = fields


class DeliveryDetailOutputSerializer(DeliveryOutputSerializer):
    events = DeliveryEventOutputSerializer(many=True, read_only=True, help_text="The audit trail, oldest first.")

    class Meta(DeliveryOutputSerializer.Meta):
        fields = [*DeliveryOutputSerializer.Meta.fields, "events"]
        read_only_fields = fields


class LookupFilterSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Query parameters of a list, each narrowing it with the ORM lookup ``lookups`` names."""

    lookups: ClassVar[dict[str, str]]


class DeliveryFilterSerializer(LookupFilterSerializer):
    lookups: ClassVar = {"state": "state", "post": "post_id", "account": "account_id"}

    state = serializers.ChoiceField(choices=DeliveryState.choices, required=False)
    post = serializers.IntegerField(required=False)
    account = serializers.IntegerField(required=False)


class PostVariantOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = PostVariant
        fields = ["platform", "text", "link"]
        read_only_fields = fields


class MediaAssetOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = MediaAsset
        fields = ["id", "name", "mime_type", "size", "width", "height", "alt_text", "sha256", "created_at"]
        read_only_fields = fields


class MediaAssetInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    file = serializers.FileField(help_text="A JPEG, PNG, GIF or WebP image; its type is read from its bytes.")
    alt_text = serializers.CharField(required=False, allow_blank=True, default="", help_text="Alternative text.")


class PostOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    author = serializers.EmailField(source="author.email", read_only=True, allow_null=True, default=None)
    variants = PostVariantOutputSerializer(many=True, read_only=True)
    deliveries = DeliveryOutputSerializer(many=True, read_only=True)
    media_ids = serializers.SerializerMethodField(help_text="The post's images, in order.")

    class Meta:
        model = Post
        fields = [
            "id", "text", "status", "campaign", "author", "scheduled_at", "variants", "media_ids", "first_comment",
            "deliveries", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_media_ids(self, post: Post) -> list[int]:
        return [link.asset_id for link in post.media.all()]


class VariantInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    text = serializers.CharField(allow_blank=True, required=False, default="")
    link = serializers.URLField(max_length=1000, allow_blank=True, required=False, default="")


class PostInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    text = serializers.CharField()
    account_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    variants = serializers.DictField(
        child=VariantInputSerializer(),
        required=False,
        default=dict,
        help_text='The text (and link) a network\'s accounts get instead of `text`: {"x": {"text": "…"}}.',
    )
    campaign_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    media_ids = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Images uploaded with POST /api/v1/media/, in order. Omitted on PUT: the draft keeps its images.",
    )
    first_comment = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="Posted under the post on Facebook and Instagram. Omitted on PUT: the draft keeps its own.",
    )


class PostFilterSerializer(LookupFilterSerializer):
    lookups: ClassVar = {
        "status": "status",
        "campaign": "campaign_id",
        "account": "deliveries__account_id",  # one delivery per post and account: no duplicate rows
        "scheduled_after": "scheduled_at__gte",
        "scheduled_before": "scheduled_at__lt",
    }

    status = serializers.ChoiceField(choices=PostStatus.choices, required=False)
    campaign = serializers.IntegerField(required=False)
    account = serializers.IntegerField(required=False, help_text="Posts with a delivery to this account.")
    scheduled_after = serializers.DateTimeField(required=False)
    scheduled_before = serializers.DateTimeField(required=False)


class SendBackInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    comment = serializers.CharField(allow_blank=True, help_text="What the author should change.")


class ScheduleInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Defaults to the post's planned time."
    )


class QueueSlotSerializer(serializers.Serializer):  # type: ignore[type-arg]
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday … 6 = Sunday.")
    time = serializers.TimeField(format="%H:%M", help_text="Local time of day in the schedule's time zone.")


class QueueUpcomingSerializer(serializers.Serializer):  # type: ignore[type-arg]
    at = serializers.DateTimeField()
    post_ids = serializers.ListField(child=serializers.IntegerField(), help_text="Posts booked in it; empty: free.")


class QueueSlotsOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    account = serializers.IntegerField()
    timezone = serializers.CharField(allow_null=True, help_text="None until slots are first set.")
    slots = QueueSlotSerializer(many=True)
    upcoming = QueueUpcomingSerializer(many=True, help_text="The next 10 slots after now.")


class QueueSlotsInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    timezone = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="Defaults to the schedule's, else yours."
    )
    slots = QueueSlotSerializer(many=True, allow_empty=True, help_text="Replaces every slot; empty clears the queue.")


class PostImportProblemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    row = serializers.IntegerField(help_text="As a spreadsheet numbers it: the header is row 1.")
    column = serializers.CharField(help_text="Empty for a problem of the whole row.")
    message = serializers.CharField()


class PostImportOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    uploaded_by = serializers.EmailField(source="uploaded_by.email", read_only=True, allow_null=True, default=None)
    report = PostImportProblemSerializer(many=True, read_only=True, help_text="Every problem of every row.")
    posts = serializers.SerializerMethodField(help_text="The ids of the posts the import made, once imported.")

    class Meta:
        model = PostImport
        fields = [
            "id", "file_name", "status", "mode", "rows_total", "rows_checked", "rows_good", "rows_imported", "report",
            "error", "uploaded_by", "posts", "created_at", "updated_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_posts(self, job: PostImport) -> list[int]:
        return list(job.posts.order_by("id").values_list("id", flat=True))


class PostImportInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    file = serializers.FileField(help_text="UTF-8 CSV, comma or semicolon separated, at most 2 MB and 5,000 rows.")
    mode = serializers.ChoiceField(
        choices=ImportMode.choices,
        required=False,
        default=ImportMode.ALL,
        help_text="`all`: nothing is imported while a row has a problem; `good_rows`: the good rows are imported.",
    )
