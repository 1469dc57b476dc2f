"""Shared fixtures: personas of one organization (owner, admin, team lead, community manager, analyst) and an
outsider who owns another organization, so permission and isolation tests read alike."""

from __future__ import annotations

import io
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Membership, Notification, Organization, PendingConnection
from accounts.roles import Role
from crm_bridge.models import WebhookDelivery, WebhookEndpoint
from listening.models import Alert, Mention, MentionExport, Topic
from moderation.models import CannedReply, Conversation, Message, NetworkAction, Queue, SavedView, Vip
from publishing import services as publishing_services
from publishing.models import Delivery, PostImport
from tests.factories import (
    AccountGroupFactory,
    MembershipFactory,
    OrganizationFactory,
    SocialAccountFactory,
    TeamFactory,
)
from tests.images import TINY_PNG

# Playwright's sync API runs an event loop in the test thread; the ORM calls around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session", autouse=True)
def _real_services_are_up() -> None:
    """The suite runs against real PostgreSQL and Redis: a missing service fails the run, it is never skipped."""
    if not _reachable(settings.REDIS_URL, 6379):
        pytest.exit(f"Redis is not reachable at {settings.REDIS_URL}: start it (see README).", returncode=3)
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit("The test suite must run on PostgreSQL (DATABASE_URL).", returncode=3)


@dataclass
class Personas:
    org: Organization
    owner: Membership
    admin: Membership
    lead: Membership
    agent: Membership
    analyst: Membership
    other_org: Organization
    outsider: Membership

    def of(self, role: str) -> Membership:
        return {
            Role.OWNER: self.owner,
            Role.ADMIN: self.admin,
            Role.TEAM_LEAD: self.lead,
            Role.COMMUNITY_MANAGER: self.agent,
            Role.ANALYST: self.analyst,
        }[role]


@pytest.fixture
def personas(db) -> Personas:
    org = OrganizationFactory(name="Acme")
    other = OrganizationFactory(name="Globex")
    return Personas(
        org=org,
        owner=MembershipFactory(organization=org, role=Role.OWNER, user__email="owner@acme.test"),
        admin=MembershipFactory(organization=org, role=Role.ADMIN, user__email="admin@acme.test"),
        lead=MembershipFactory(organization=org, role=Role.TEAM_LEAD, user__email="lead@acme.test"),
        agent=MembershipFactory(organization=org, role=Role.COMMUNITY_MANAGER, user__email="agent@acme.test"),
        analyst=MembershipFactory(organization=org, role=Role.ANALYST, user__email="analyst@acme.test"),
        other_org=other,
        outsider=MembershipFactory(organization=other, role=Role.OWNER, user__email="boss@globex.test"),
    )


@pytest.fixture
def client_for():
    """client_for(membership) → a Django test client signed in as that member."""

    def make(membership: Membership) -> Client:
        client = Client()
        client.force_login(membership.user)
        return client

    return make


@pytest.fixture
def api_client_for():
    def make(membership: Membership) -> APIClient:
        client = APIClient()
        client.force_login(membership.user)
        return client

    return make


@pytest.fixture
def api_key_client():
    """api_key_client(membership, scopes) → an API client authenticated with a new key of that org."""

    def make(membership: Membership, scopes: list[str]) -> APIClient:
        _key, raw = services.api_key_create(actor=membership, name="test key", scopes=scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        return client

    return make


@pytest.fixture
def org_objects(personas):
    """One object of every kind in each organization, for isolation tests."""

    def build(org: Organization, membership: Membership) -> dict:
        account = SocialAccountFactory(organization=org)
        group = AccountGroupFactory(organization=org)
        group.accounts.add(account)
        team = TeamFactory(organization=org)
        team.members.add(membership)
        invitation = services.invitation_create(actor=membership, email=f"new@{org.slug}.test", role=Role.ANALYST)
        _key, _raw = services.api_key_create(actor=membership, name="k", scopes=["accounts:read"])
        pending = PendingConnection.objects.create(
            organization=org,
            user=membership.user,
            platform="mastodon",
            candidates="[]",
            expires_at=timezone.now() + timedelta(hours=1),
        )
        topic = Topic.objects.create(organization=org, name="Brand", query="brand")
        mention = Mention.objects.create(
            organization=org, platform="x", external_id=f"m-{org.slug}", kind="mention", author_id="1",
            author_handle="someone", text="brand", sentiment="neutral", published_at=timezone.now(),
        )  # fmt: skip
        alert = Alert.objects.create(
            organization=org, topic=topic, kind="volume", started_at=timezone.now(), observed=10, expected=1
        )
        export = MentionExport.objects.create(
            organization=org, topic=topic, status="done", rows_total=0,
            file=default_storage.save(f"exports/{org.id}/x/topic.csv", ContentFile("published_at\n")),
        )  # fmt: skip
        webhook = WebhookEndpoint.objects.create(
            organization=org, url=f"https://{org.slug}.example/hook", secret="whsec_test", events=["alert.opened"]
        )
        delivery = WebhookDelivery.objects.create(endpoint=webhook, event="alert.opened", payload={"n": 1})
        campaign = publishing_services.campaign_save(actor=membership, name="Spring")
        post = publishing_services.post_create(actor=membership, text="Hello", accounts=[account], campaign=campaign)
        post_import = PostImport.objects.create(
            organization=org, uploaded_by=membership.user, file_name="posts.csv", content="text,accounts\nHi,x:a\n",
            status="invalid", rows_total=2, rows_checked=2, rows_good=1,
            report=[{"row": 3, "column": "accounts", "message": "No X account @b in this organization."}],
        )  # fmt: skip
        media_asset = publishing_services.media_asset_upload(actor=membership, file=io.BytesIO(TINY_PNG), name="a.png")
        conversation = Conversation.objects.create(
            organization=org, account=account, platform=account.platform, kind="mention", thread_key="t:1",
            author_id="1", author_handle="someone", first_message_at=timezone.now(), last_message_at=timezone.now(),
            message_count=1, excerpt="brand",
        )  # fmt: skip
        message = Message.objects.create(
            conversation=conversation, organization=org, platform=account.platform, direction="in", remote_id="1",
            author_id="1", author_handle="someone", text="brand", created_at=timezone.now(),
        )  # fmt: skip
        queue = Queue.objects.create(organization=org, team=team, name="Support")
        network_action = NetworkAction.objects.create(
            organization=org, conversation=conversation, account=account, kind="like", target=message,
            state="failed", next_attempt_at=timezone.now(), error="refused",
        )  # fmt: skip
        return {
            "message": message,
            "queue": queue,
            "network_action": network_action,
            "canned": CannedReply.objects.create(organization=org, name="Thanks", language="en", text="Thanks!"),
            "vip": Vip.objects.create(organization=org, handle="journalist"),
            "saved_view": SavedView.objects.create(
                organization=org, owner=membership, name="Mine", query="assignee=mine"
            ),
            "conversation": conversation,
            "post_import": post_import,
            "media_asset": media_asset,
            "campaign": campaign,
            "post": post,
            "post_delivery": Delivery.objects.get(post=post),
            "webhook": webhook,
            "delivery": delivery,
            "topic": topic,
            "mention": mention,
            "alert": alert,
            "export": export,
            "pending": pending,
            "account": account,
            "group": group,
            "team": team,
            "member": membership,
            "invitation": invitation,
            "api_key": _key,
            "notification": Notification.objects.create(
                organization=org, recipient=membership.user, kind="post_submitted", link=f"/publishing/posts/{post.id}/"
            ),
        }

    return {"mine": build(personas.org, personas.owner), "theirs": build(personas.other_org, personas.outsider)}


@pytest.fixture
def celery_eager():
    """Run tasks inline, for unit tests of what a task does (the worker tests use a real worker)."""
    from smms.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    """Files a test stores (CSV exports) go to a folder of its own, removed with the test's tmp_path."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def simulator(settings):
    """A platform simulator on a loopback port, and the settings pointing every connector at it."""
    from simulator.app import Simulator
    from simulator.server import running_simulator
    from tests.connectors.conftest import SimAdmin

    with running_simulator(Simulator(seed=7)) as (_sim, base):
        settings.SMMS_SIMULATOR_URL = base
        yield SimAdmin(base)


@pytest.fixture(autouse=True)
def _fresh_routing_rules():
    """Each test routes with its own queues: none cached from another test's organization of the same id."""
    from moderation import routing

    routing._cache.clear()
    yield
    routing._cache.clear()


@pytest.fixture(autouse=True)
def _english_by_default():
    """Django keeps the language a request activated in its thread (LocaleMiddleware never deactivates):
    each test starts in the default language, whatever the previous test's requests chose."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
