"""End to end in Chromium, with a real Celery worker and the simulator: a team lead assigns a conversation; the
agent, whose inbox is already open, sees it appear without reloading, opens it, picks a canned reply in French
and sends it; the reply is on the network. A second agent with the same conversation open is warned that
someone is there, then that they are replying."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Team
from listening import services as listening_services
from listening.models import PollCursor
from moderation import services
from moderation.models import Conversation, NetworkAction
from moderation.services import QueueSpec
from tests.accounts.test_connections import connect_mastodon
from tests.browser.test_connect_account import sign_in
from tests.factories import MembershipFactory
from tests.subprocesses import start_worker, stop, wait_for, worker_env

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def poll(account):
    listening_services.poll_cursors_ensure()
    cursor = PollCursor.objects.get(account=account, stream="mentions")
    return listening_services.account_poll(cursor_id=cursor.id)


def warning(tab, text):
    return tab.get_by_test_id("collision").filter(has_text=text)


@pytest.mark.django_db(transaction=True)
def test_assign_live_canned_french_reply_sent_and_collision_warning(
    live_server, browser, page, personas, simulator, settings, tmp_path
):
    settings.SMMS_LIVE_POLL_SECONDS = 1
    account = connect_mastodon(personas)
    other = MembershipFactory(
        organization=personas.org, user__email="agent2@acme.test", user__first_name="Bob", user__last_name="Other"
    )
    care = Team.objects.create(organization=personas.org, name="Care")
    care.members.add(personas.agent, other)
    services.queue_save(actor=personas.lead, spec=QueueSpec(name="Care queue", team=care, first_response_minutes=60))
    services.canned_reply_save(
        actor=personas.lead, name="Merci", language="fr",
        text="Merci {author_name}, nous regardons votre commande tout de suite. {agent_name}",
    )  # fmt: skip
    poll(account)
    simulator.generate(platform="mastodon", count=1, kind="mention", lang="fr", target=account.handle, hostile_rate=0)
    poll(account)
    conversation = Conversation.objects.get()
    assert conversation.queue.name == "Care queue"
    author = conversation.author_name or conversation.author_handle

    worker = start_worker(
        worker_env(SMMS_SIMULATOR_URL=settings.SMMS_SIMULATOR_URL), queues="publishing", log=tmp_path / "worker.log"
    )
    contexts = []
    try:

        def open_as(email):
            context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
            contexts.append(context)
            tab = context.new_page()
            tab.set_default_timeout(20_000)
            sign_in(tab, live_server.url, email)
            return tab

        agent = open_as("agent@acme.test")
        agent.goto(f"{live_server.url}/inbox/?assignee=mine")
        expect(agent.get_by_test_id("conversation-row")).to_have_count(0)

        # The team lead assigns it from the conversation's page.
        sign_in(page, live_server.url, "lead@acme.test")
        page.goto(f"{live_server.url}/inbox/conversations/{conversation.id}/")
        page.get_by_label("Assign to").select_option(label=str(personas.agent.user))
        page.get_by_role("button", name="Assign", exact=True).click()
        expect(page.get_by_text(f"Assigned to {personas.agent.user}.")).to_be_visible()

        # It appears in the agent's inbox, which was not reloaded.
        row = agent.get_by_test_id("conversation-row")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("row-assignee")).to_contain_text(str(personas.agent.user))

        # A colleague has the conversation open too.
        colleague = open_as("agent2@acme.test")
        colleague.goto(f"{live_server.url}/inbox/conversations/{conversation.id}/")

        row.get_by_role("link").click()
        expect(agent.get_by_test_id("conversation-assignee")).to_have_text(f"assigned to {personas.agent.user}")
        # (the lead's page is still open on it too, and is listed as well)
        expect(warning(agent, f"{other.user} is viewing this conversation.")).to_be_visible()
        expect(warning(colleague, f"{personas.agent.user} is viewing this conversation.")).to_be_visible()

        # The agent picks the message to answer (here their only one) ...
        agent.get_by_role("button", name="Answer this one").click()
        expect(agent.locator("#reply-to")).to_contain_text(f"Answering @{conversation.author_handle}")
        # ... and a canned reply in French, filled in for this person and this agent.
        agent.get_by_label("Canned reply").select_option(label="Merci (French)")
        box = agent.get_by_role("textbox", name="Reply", exact=True)
        expected = f"Merci {author}, nous regardons votre commande tout de suite. {personas.agent.user.first_name}"
        expect(box).to_have_value(expected)
        box.focus()
        expect(warning(colleague, f"{personas.agent.user} is replying to this conversation.")).to_be_visible(
            timeout=15_000
        )

        agent.get_by_role("button", name="Send the reply").click()
        expect(agent.get_by_text("Reply on its way to Mastodon.")).to_be_visible()
        # The worker sends it; the page (not reloaded) shows it sent.
        expect(agent.get_by_test_id("send-state")).to_contain_text("Sent")
        wait_for(lambda: NetworkAction.objects.filter(state="done").count() == 1, 30, "the reply", worker)
        [made] = [p for p in simulator.posts("mastodon") if expected in p["text"]]
        assert made["reply_to_id"] == conversation.messages.filter(direction="in").get().remote_id
        conversation.refresh_from_db()
        assert conversation.status == "waiting"
        assert conversation.first_response_at is not None
    finally:
        for context in contexts:
            context.close()
        stop(worker)
