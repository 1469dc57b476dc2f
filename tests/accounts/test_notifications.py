"""Notifications: who is told of each editorial step (exactly the people concerned, never the actor), the bell and
the notifications page, and the e-mail copy: sent once, in the recipient's language, unless they turned it off."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Notification
from accounts.roles import Role
from accounts.tasks import notification_send_email, notifications_email_unsent
from publishing import services
from publishing.models import Delivery
from tests.factories import MembershipFactory, SocialAccountFactory, TeamFactory

HOSTILE = "<script>alert('x')</script> Spring"


@pytest.fixture
def account(personas):
    return SocialAccountFactory(organization=personas.org, platform="mastodon")


def submitted(author, account, text="Spring is here"):
    post = services.post_create(actor=author, text=text, accounts=[account])
    return services.post_submit(post=post, actor=author)


def told(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient__email", flat=True))


# --- who is told ------------------------------------------------------------------------------------------------
def test_a_submission_tells_every_member_who_may_approve_it(personas, account):
    submitted(personas.agent, account)
    assert told("post_submitted") == {"owner@acme.test", "admin@acme.test", "lead@acme.test"}


def test_a_submission_never_tells_its_author_even_an_approver(personas, account):
    submitted(personas.lead, account)  # four eyes: the lead cannot approve it, the others can
    assert told("post_submitted") == {"owner@acme.test", "admin@acme.test"}


def test_a_submission_restricted_to_team_leads_tells_only_the_teams_leads_admins_and_owners(personas, account):
    other_lead = MembershipFactory(organization=personas.org, role=Role.TEAM_LEAD, user__email="lead2@acme.test")
    social = TeamFactory(organization=personas.org, name="Social")
    social.members.add(personas.agent, personas.lead)
    account_services.approval_policy_save(
        actor=personas.owner, team=social, requires_approval=True, approvers="team_leads", self_approval=False
    )
    submitted(personas.agent, account)
    assert told("post_submitted") == {"owner@acme.test", "admin@acme.test", "lead@acme.test"}
    assert other_lead.user.email not in told("post_submitted")
    assert Notification.objects.filter(organization=personas.other_org).count() == 0


def test_approving_tells_the_author_and_nobody_else(personas, account):
    post = submitted(personas.agent, account)
    services.post_approve(post=post, actor=personas.lead)
    [note] = Notification.objects.filter(kind="post_approved")
    assert note.recipient == personas.agent.user
    assert note.link == reverse("post_detail", args=[post.id])
    assert note.sentence == f"{personas.lead.user} approved your post: “Spring is here”"


def test_sending_back_tells_the_author_with_the_comment(personas, account):
    post = submitted(personas.agent, account)
    services.post_send_back(post=post, actor=personas.lead, comment="Shorter, please")
    [note] = Notification.objects.filter(kind="post_sent_back")
    assert (note.recipient, note.params["comment"]) == (personas.agent.user, "Shorter, please")


def test_a_direct_schedule_without_approval_tells_nobody(personas, account):
    account_services.approval_policy_save(
        actor=personas.owner, team=None, requires_approval=False, approvers="any", self_approval=False
    )
    post = services.post_create(actor=personas.agent, text="Go", accounts=[account])
    services.post_schedule(post=post, actor=personas.agent, at=post.created_at.replace(year=2031))
    assert not Notification.objects.exists()


def test_a_failed_delivery_tells_the_author_in_the_bell_and_e_mails_once(personas, account):
    post = services.post_create(actor=personas.agent, text="Spring", accounts=[account])
    delivery = Delivery.objects.get(post=post)
    Delivery.objects.filter(id=delivery.id).update(state="failed", last_error="Mastodon refused the post.")

    assert services.delivery_notify_failed(delivery_id=delivery.id) is True
    assert services.delivery_notify_failed(delivery_id=delivery.id) is False  # the task ran twice
    [note] = Notification.objects.filter(kind="delivery_failed")
    assert (note.recipient, note.params["reason"]) == (personas.agent.user, "Mastodon refused the post.")
    assert len(mail.outbox) == 1  # publishing's own e-mail: the notification does not send a second one


# --- e-mails ------------------------------------------------------------------------------------------------------
def test_each_notification_is_e_mailed_once_after_commit_even_if_the_task_runs_twice(
    personas, account, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post = submitted(personas.agent, account)
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test", "lead@acme.test", "owner@acme.test"]
    for note in Notification.objects.all():
        assert notification_send_email(note.id) is False
    assert len(mail.outbox) == 3
    [to_lead] = [m for m in mail.outbox if m.to == ["lead@acme.test"]]
    assert to_lead.subject == f"{personas.agent.user} submitted a post for your approval: “Spring is here”"
    assert f"> {post.text}" in to_lead.body
    assert f"/publishing/posts/{post.id}/" in to_lead.body


def test_nothing_is_e_mailed_when_the_transaction_rolls_back(personas, account, celery_eager):
    def submit_then_fail() -> None:
        with transaction.atomic():
            submitted(personas.agent, account)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        submit_then_fail()
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_the_sweep_e_mails_a_notification_whose_enqueue_was_lost_and_only_once(personas, account, celery_eager):
    submitted(personas.agent, account)  # its on-commit enqueue never runs: as if lost
    assert mail.outbox == []
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert notifications_email_unsent() == 3
        assert notifications_email_unsent() == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test", "lead@acme.test", "owner@acme.test"]


def test_the_e_mail_is_in_the_recipients_language_and_quotes_the_post_as_text(
    personas, account, celery_eager, django_capture_on_commit_callbacks
):
    personas.agent.user.language = "fr"
    personas.agent.user.save(update_fields=["language"])
    post = submitted(personas.agent, account, text=f"{HOSTILE}\nSecond line")
    with django_capture_on_commit_callbacks(execute=True):
        services.post_send_back(post=post, actor=personas.lead, comment="Plus court")
    [message] = [m for m in mail.outbox if m.to == ["agent@acme.test"]]
    assert "La publication\xa0:" in message.body  # "The post:" in French (with its non-breaking space)
    assert "The post:" not in message.body
    assert f"> {HOSTILE}\n> Second line" in message.body  # quoted as written: a plain-text e-mail, never HTML
    assert "\n" not in message.subject
    assert "Plus court" in message.body


def test_a_member_who_turned_e_mails_off_gets_the_notification_but_no_e_mail(
    personas, account, celery_eager, django_capture_on_commit_callbacks, client_for
):
    response = client_for(personas.lead).post(
        reverse("profile"),
        {"first_name": "Lee", "last_name": "Lead", "language": "en", "timezone": "Europe/Paris"},
    )  # the e-mail box left unticked
    assert response.status_code == 302
    personas.lead.user.refresh_from_db()
    assert personas.lead.user.notification_emails is False

    with django_capture_on_commit_callbacks(execute=True):
        submitted(personas.agent, account)
    assert "lead@acme.test" in told("post_submitted")
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test", "owner@acme.test"]


# --- the bell and the page ----------------------------------------------------------------------------------------
def test_the_bell_counts_unread_notifications_of_the_current_organization(personas, account, client_for):
    client = client_for(personas.lead)
    assert 'data-testid="bell-count"' not in client.get(reverse("notifications_bell")).content.decode()
    submitted(personas.agent, account)
    submitted(personas.agent, account, "Another")
    Notification.objects.create(organization=personas.other_org, recipient=personas.lead.user, kind="post_submitted")
    bell = client.get(reverse("notifications_bell")).content.decode()
    assert '<span class="badge bell-count" data-testid="bell-count">2</span>' in bell


def test_the_notifications_page_shows_text_as_text_and_marks_read(personas, account, client_for):
    post = submitted(personas.agent, account, text=HOSTILE)
    services.post_send_back(post=post, actor=personas.lead, comment="<b>bold</b> claim")
    client = client_for(personas.agent)
    page = client.get(reverse("notifications")).content.decode()
    assert "&lt;script&gt;" in page
    assert "<script>alert" not in page
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in page

    [note] = Notification.objects.filter(recipient=personas.agent.user)
    opened = client.post(reverse("notification_open", args=[note.id]))
    assert opened["Location"] == reverse("post_detail", args=[post.id])
    note.refresh_from_db()
    assert note.read_at is not None


def test_mark_one_and_mark_all_as_read(personas, account, client_for):
    submitted(personas.agent, account)
    submitted(personas.agent, account, "Another")
    first, second = Notification.objects.filter(recipient=personas.lead.user)
    client = client_for(personas.lead)
    client.post(reverse("notification_read", args=[first.id]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.read_at is not None, second.read_at is None) == (True, True)

    client.post(reverse("notifications_read_all"))
    assert not Notification.objects.filter(recipient=personas.lead.user, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=personas.owner.user, read_at__isnull=True).count() == 2


def test_someone_elses_notification_is_not_found(personas, account, client_for):
    submitted(personas.agent, account)
    owners = Notification.objects.get(recipient=personas.owner.user)
    client = client_for(personas.lead)
    assert client.post(reverse("notification_open", args=[owners.id])).status_code == 404
    assert client.post(reverse("notification_read", args=[owners.id])).status_code == 404
    owners.refresh_from_db()
    assert owners.read_at is None


def test_a_notification_missing_a_parameter_still_reads(personas):
    note = Notification.objects.create(organization=personas.org, recipient=personas.lead.user, kind="post_approved")
    assert note.sentence == " approved your post: “”"
