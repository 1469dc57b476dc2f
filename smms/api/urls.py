"""Every /api/v1/ route. A SimpleRouter: no format-suffix routes, one URL per resource."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import views as account_views
from analytics.api import views as analytics_views
from crm_bridge.api import views as crm_views
from listening.api import views as listening_views
from moderation.api import views as moderation_views
from publishing.api import views as publishing_views

router = SimpleRouter()
router.register("social-accounts", account_views.SocialAccountViewSet, basename="social-account")
router.register("account-groups", account_views.AccountGroupViewSet, basename="account-group")
router.register("members", account_views.MemberViewSet, basename="member")
router.register("teams", account_views.TeamViewSet, basename="team")
router.register("topics", listening_views.TopicViewSet, basename="topic")
router.register("mentions", listening_views.MentionViewSet, basename="mention")
router.register("campaigns", publishing_views.CampaignViewSet, basename="campaign")
router.register("posts", publishing_views.PostViewSet, basename="post")
router.register("deliveries", publishing_views.DeliveryViewSet, basename="delivery")
router.register("post-imports", publishing_views.PostImportViewSet, basename="post-import")
router.register("media", publishing_views.MediaAssetViewSet, basename="media-asset")
router.register("conversations", moderation_views.ConversationViewSet, basename="conversation")
router.register("messages", moderation_views.MessageViewSet, basename="message")
router.register("network-actions", moderation_views.NetworkActionViewSet, basename="network-action")
router.register("queues", moderation_views.QueueViewSet, basename="queue")
router.register("agents", moderation_views.AgentViewSet, basename="agent")
router.register("canned-replies", moderation_views.CannedReplyViewSet, basename="canned-reply")
router.register("vips", moderation_views.VipViewSet, basename="vip")
router.register("moderation-audit", moderation_views.AuditViewSet, basename="moderation-audit")
router.register("webhooks", crm_views.WebhookEndpointViewSet, basename="webhook")
router.register("analytics/deliveries", analytics_views.DeliveryMetricsViewSet, basename="analytics-delivery")
router.register("analytics/accounts", analytics_views.AccountFiguresViewSet, basename="analytics-account")
router.register("analytics/campaigns", analytics_views.CampaignFiguresViewSet, basename="analytics-campaign")

urlpatterns = [
    *router.urls,
    path(
        "social-accounts/<int:pk>/queue-slots/",
        publishing_views.QueueSlotsViewSet.as_view({"get": "retrieve", "put": "update"}),
        name="social-account-queue-slots",
    ),
    path(
        "account-groups/<int:pk>/queue-slots/",
        publishing_views.GroupQueueSlotsViewSet.as_view({"put": "update"}),
        name="account-group-queue-slots",
    ),
]
