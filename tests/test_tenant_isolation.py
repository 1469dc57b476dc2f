"""Every URL that takes an id answers 404 when the id belongs to another organization.

The test walks the whole URL configuration, so a new URL with an id fails here until it is listed in
ID_URLS (how to reach it with another organization's object) or in EXEMPT (with the reason).
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# url name → (HTTP method, {kwarg: key of the object in org_objects, "pk" means the object's id})
ID_URLS = {
    "member_role": ("post", {"member_id": "member"}),
    "member_remove": ("post", {"member_id": "member"}),
    "invitation_revoke": ("post", {"invitation_id": "invitation"}),
    "team_edit": ("get", {"team_id": "team"}),
    "team_delete": ("post", {"team_id": "team"}),
    "group_edit": ("get", {"group_id": "group"}),
    "group_delete": ("post", {"group_id": "group"}),
    "social_account_edit": ("get", {"account_id": "account"}),
    "social_account_disconnect": ("post", {"account_id": "account"}),
    "api_key_revoke": ("post", {"api_key_id": "api_key"}),
    "social-account-detail": ("get", {"pk": "account"}),
    "social-account-disconnect": ("post", {"pk": "account"}),
    "account-group-detail": ("get", {"pk": "group"}),
    "member-detail": ("get", {"pk": "member"}),
    "connect_pick": ("get", {"pending_id": "pending"}),
    "topic_detail": ("get", {"topic_id": "topic"}),
    "topic_stream": ("get", {"topic_id": "topic"}),
    "topic_edit": ("get", {"topic_id": "topic"}),
    "topic_delete": ("post", {"topic_id": "topic"}),
    "export_start": ("post", {"topic_id": "topic"}),
    "export_progress": ("get", {"export_id": "export"}),
    "export_download": ("get", {"export_id": "export"}),
    "alert_acknowledge": ("post", {"alert_id": "alert"}),
    "alert_resolve": ("post", {"alert_id": "alert"}),
    "mention_sentiment": ("post", {"mention_id": "mention"}),
    "topic-detail": ("get", {"pk": "topic"}),
    "topic-mentions": ("get", {"pk": "topic"}),
    "mention-detail": ("get", {"pk": "mention"}),
    "analytics_account": ("get", {"account_id": "account"}),
    "analytics_campaign": ("get", {"campaign_id": "campaign"}),
    "analytics_post_metrics": ("get", {"post_id": "post"}),
    "analytics-delivery-detail": ("get", {"pk": "post_delivery"}),
    "analytics-account-detail": ("get", {"pk": "account"}),
    "analytics-campaign-detail": ("get", {"pk": "campaign"}),
    "webhook_detail": ("get", {"endpoint_id": "webhook"}),
    "webhook_edit": ("get", {"endpoint_id": "webhook"}),
    "webhook_delete": ("post", {"endpoint_id": "webhook"}),
    "webhook_rotate_secret": ("post", {"endpoint_id": "webhook"}),
    "webhook_test": ("post", {"endpoint_id": "webhook"}),
    "webhook_redeliver": ("post", {"delivery_id": "delivery"}),
    "webhook-detail": ("get", {"pk": "webhook"}),
    "webhook-deliveries": ("get", {"pk": "webhook"}),
    "webhook-rotate-secret": ("post", {"pk": "webhook"}),
    "webhook-test": ("post", {"pk": "webhook"}),
    "post_detail": ("get", {"post_id": "post"}),
    "post_submit": ("post", {"post_id": "post"}),
    "post_approve": ("post", {"post_id": "post"}),
    "post_schedule": ("post", {"post_id": "post"}),
    "post_send_back": ("post", {"post_id": "post"}),
    "post_cancel": ("post", {"post_id": "post"}),
    "post_move": ("post", {"post_id": "post"}),
    "post_edit": ("get", {"post_id": "post"}),
    "media_file": ("get", {"asset_id": "media_asset"}),
    "campaign_edit": ("get", {"campaign_id": "campaign"}),
    "campaign-detail": ("get", {"pk": "campaign"}),
    "post-detail": ("get", {"pk": "post"}),
    "post-submit": ("post", {"pk": "post"}),
    "post-approve": ("post", {"pk": "post"}),
    "post-send-back": ("post", {"pk": "post"}),
    "post-schedule": ("post", {"pk": "post"}),
    "post-cancel": ("post", {"pk": "post"}),
    "delivery-detail": ("get", {"pk": "post_delivery"}),
    "post_queue": ("post", {"post_id": "post"}),
    "queue_account": ("get", {"account_id": "account"}),
    "queue_group": ("get", {"group_id": "group"}),
    "queue_account_best": ("post", {"account_id": "account"}),
    "media-asset-detail": ("get", {"pk": "media_asset"}),
    "post-queue": ("post", {"pk": "post"}),
    "social-account-queue-slots": ("get", {"pk": "account"}),
    "account-group-queue-slots": ("put", {"pk": "group"}),
    "post_import_detail": ("get", {"import_id": "post_import"}),
    "post_import_progress": ("get", {"import_id": "post_import"}),
    "post_import_good_rows": ("post", {"import_id": "post_import"}),
    "post-import-detail": ("get", {"pk": "post_import"}),
    "post-import-import-good-rows": ("post", {"pk": "post_import"}),
    "notification_open": ("post", {"notification_id": "notification"}),
    "notification_read": ("post", {"notification_id": "notification"}),
    "team-detail": ("get", {"pk": "team"}),
    "conversation_detail": ("get", {"conversation_id": "conversation"}),
    "conversation_status": ("post", {"conversation_id": "conversation"}),
    "conversation-detail": ("get", {"pk": "conversation"}),
    "conversation-status": ("post", {"pk": "conversation"}),
    "conversation_thread": ("get", {"conversation_id": "conversation"}),
    "conversation_presence": ("post", {"conversation_id": "conversation"}),
    "conversation_reply": ("post", {"conversation_id": "conversation"}),
    "conversation_note": ("post", {"conversation_id": "conversation"}),
    "conversation_take": ("post", {"conversation_id": "conversation"}),
    "conversation_release": ("post", {"conversation_id": "conversation"}),
    "conversation_assign": ("post", {"conversation_id": "conversation"}),
    "conversation_move": ("post", {"conversation_id": "conversation"}),
    "conversation_escalate": ("post", {"conversation_id": "conversation"}),
    "conversation_priority": ("post", {"conversation_id": "conversation"}),
    "message_act": ("post", {"message_id": "message"}),
    "network_action_retry": ("post", {"action_id": "network_action"}),
    "inbox_agent_update": ("post", {"membership_id": "member"}),
    "inbox_queue_edit": ("get", {"queue_id": "queue"}),
    "inbox_queue_delete": ("post", {"queue_id": "queue"}),
    "inbox_canned_edit": ("get", {"canned_id": "canned"}),
    "inbox_vip_remove": ("post", {"vip_id": "vip"}),
    "saved_view_delete": ("post", {"view_id": "saved_view"}),
    "conversation-assign": ("post", {"pk": "conversation"}),
    "conversation-take": ("post", {"pk": "conversation"}),
    "conversation-release": ("post", {"pk": "conversation"}),
    "conversation-move": ("post", {"pk": "conversation"}),
    "conversation-escalate": ("post", {"pk": "conversation"}),
    "conversation-priority": ("post", {"pk": "conversation"}),
    "conversation-reply": ("post", {"pk": "conversation"}),
    "conversation-notes": ("post", {"pk": "conversation"}),
    "message-detail": ("get", {"pk": "message"}),
    "message-act": ("post", {"pk": "message"}),
    "network-action-detail": ("get", {"pk": "network_action"}),
    "network-action-retry": ("post", {"pk": "network_action"}),
    "queue-detail": ("get", {"pk": "queue"}),
    "agent-detail": ("patch", {"pk": "member"}),
    "canned-reply-detail": ("get", {"pk": "canned"}),
    "vip-detail": ("delete", {"pk": "vip"}),
}
EXEMPT = {
    "invitation_accept": "addressed by a secret token, not an id: the token is the permission",
    "password_reset_confirm": "addressed by a signed token for one user, not an organization's object",
    "connect_start": "addressed by a network name, not an organization's object",
    "connect_callback": "addressed by a network name; the flow state lives in the caller's session",
    "connect_password": "addressed by a network name, not an organization's object",
    "media_public": "addressed by a signed, expiring token naming one image: the signature is the permission",
}


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":  # superuser-only Django admin, outside organizations by design
                continue
            yield from _walk(p.url_patterns, prefix)
        elif isinstance(p, URLPattern):
            params = set(getattr(p.pattern, "converters", {})) | set(p.pattern.regex.groupindex)
            if params:
                yield p.name, params


def test_every_url_with_an_id_is_covered():
    found = dict(_walk(get_resolver().url_patterns))
    missing = {name for name in found if name not in ID_URLS and name not in EXEMPT}
    assert not missing, f"add these URLs to ID_URLS or EXEMPT: {sorted(missing)}"
    for name, (_method, kwargs) in ID_URLS.items():
        assert set(kwargs) == found[name], name


@pytest.mark.parametrize("name", sorted(ID_URLS))
def test_another_organizations_id_is_404(name, personas, org_objects, client_for):
    method, kwargs = ID_URLS[name]
    theirs = {kw: org_objects["theirs"][key].id for kw, key in kwargs.items()}
    client = client_for(personas.owner)  # the most powerful role of the other organization
    response = getattr(client, method)(reverse(name, kwargs=theirs))
    assert response.status_code == 404
    for obj in org_objects["theirs"].values():  # and nothing of theirs changed
        before = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
        obj.refresh_from_db()
        assert before == {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.mark.parametrize("name", sorted(n for n, (m, _k) in ID_URLS.items() if m == "get"))
def test_my_own_id_is_found(name, personas, org_objects, client_for):
    _method, kwargs = ID_URLS[name]
    mine = {kw: org_objects["mine"][key].id for kw, key in kwargs.items()}
    assert client_for(personas.owner).get(reverse(name, kwargs=mine)).status_code == 200
