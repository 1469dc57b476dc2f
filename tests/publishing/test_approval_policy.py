"""Approval rules per team, with the organization's default: who needs approval, who may approve, four eyes.
Enforced in the services, so the dashboard and the API obey the same rules; tests per role and per team."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import ApprovalPolicy
from accounts.roles import Role
from crm_bridge.models import WebhookDelivery, WebhookEndpoint
from publishing import services
from publishing.models import Delivery, DeliveryEvent, Post
from smms.errors import Forbidden, ValidationFailed
from tests.factories import MembershipFactory, SocialAccountFactory, TeamFactory

APPROVERS = [Role.OWNER, Role.ADMIN, Role.TEAM_LEAD]
NOT_APPROVERS = [Role.COMMUNITY_MANAGER, Role.ANALYST]


@pytest.fixture
def account(personas):
    return SocialAccountFactory(organization=personas.org, platform="mastodon")


def rules(personas, team=None, *, requires=True, approvers="any", self_approval=False):
    return account_services.approval_policy_save(
        actor=personas.owner, team=team, requires_approval=requires, approvers=approvers, self_approval=self_approval
    )


def team_of(personas, name, *members):
    team = TeamFactory(organization=personas.org, name=name)
    team.members.add(*members)
    return team


def draft(author, account, text="Spring is here"):
    return services.post_create(actor=author, text=text, accounts=[account])


def submitted(author, account, text="Spring is here"):
    return services.post_submit(post=draft(author, account, text), actor=author)


def later():
    return timezone.now() + timedelta(hours=1)


def details(post) -> list[str]:
    return list(DeliveryEvent.objects.filter(delivery__post=post).order_by("id").values_list("detail", flat=True))


# --- who needs approval ----------------------------------------------------------------------------------------
def test_by_default_a_community_manager_in_no_team_needs_approval(personas, account):
    post = draft(personas.agent, account)
    with pytest.raises(Forbidden) as refused:
        services.post_schedule(post=post, actor=personas.agent, at=later())
    assert refused.value.args[0] == "This post needs approval before it can be scheduled."
    assert Post.objects.get(id=post.id).status == "draft"


def test_a_community_manager_in_a_team_without_approval_schedules_directly(personas, account):
    rules(personas, team_of(personas, "Social", personas.agent), requires=False)
    post = services.post_schedule(post=draft(personas.agent, account), actor=personas.agent, at=later())

    assert post.status == "scheduled"
    assert Delivery.objects.get(post=post).state == "scheduled"
    assert details(post) == ["Scheduled without approval: the rules of Social do not require it."]


def test_the_organizations_default_can_drop_approval_for_members_in_no_team(personas, account):
    rules(personas, requires=False)
    post = services.post_schedule(post=draft(personas.agent, account), actor=personas.agent, at=later())
    assert post.status == "scheduled"
    assert details(post) == ["Scheduled without approval: the organization's rules do not require it."]


def test_a_team_without_its_own_rules_follows_the_organizations_default(personas, account):
    rules(personas, requires=False)
    team_of(personas, "Social", personas.agent)
    post = services.post_schedule(post=draft(personas.agent, account), actor=personas.agent, at=later())
    assert post.status == "scheduled"


def test_a_member_of_several_teams_needs_approval_if_any_of_them_requires_it(personas, account):
    rules(personas, team_of(personas, "Social", personas.agent), requires=False)
    rules(personas, team_of(personas, "Press", personas.agent), requires=True)
    with pytest.raises(Forbidden):
        services.post_schedule(post=draft(personas.agent, account), actor=personas.agent, at=later())

    post = submitted(personas.agent, account)
    assert details(post) == ["Sent for approval, as the rules of Press require."]


def test_a_community_manager_without_approval_still_cannot_schedule_someone_elses_draft(personas, account):
    rules(personas, requires=False)
    colleague = MembershipFactory(organization=personas.org, role=Role.COMMUNITY_MANAGER)
    with pytest.raises(Forbidden):
        services.post_schedule(post=draft(colleague, account), actor=personas.agent, at=later())


# --- who may approve, per role -----------------------------------------------------------------------------------
@pytest.mark.parametrize("role", APPROVERS)
def test_by_default_every_approver_role_may_approve_a_community_managers_post(personas, account, role):
    post = services.post_approve(post=submitted(personas.agent, account), actor=personas.of(role))
    assert post.status == "approved"


@pytest.mark.parametrize("role", NOT_APPROVERS)
def test_other_roles_may_not_approve_or_send_back(personas, account, role):
    post = submitted(personas.agent, account)
    with pytest.raises(Forbidden):
        services.post_approve(post=post, actor=personas.of(role))
    with pytest.raises(Forbidden):
        services.post_send_back(post=post, actor=personas.of(role), comment="No")
    assert Post.objects.get(id=post.id).status == "awaiting_approval"


# --- four eyes ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", APPROVERS)
def test_by_default_an_approver_schedules_their_own_post(personas, account, role):
    post = services.post_schedule(post=draft(personas.of(role), account), actor=personas.of(role), at=later())
    assert post.status == "scheduled"
    assert details(post) == ["Approved"]


@pytest.mark.parametrize("role", APPROVERS)
def test_under_four_eyes_no_approver_approves_their_own_post(personas, account, role):
    rules(personas)  # the organization's default, with self-approval off
    author = personas.of(role)
    post = submitted(author, account)
    with pytest.raises(Forbidden) as refused:
        services.post_approve(post=post, actor=author)
    assert refused.value.args[0] == "You cannot approve your own post: another approver must (four-eyes rule)."
    with pytest.raises(Forbidden):
        services.post_schedule(post=post, actor=author, at=later())
    with pytest.raises(Forbidden):  # nor skip the queue by scheduling their own draft
        services.post_schedule(post=draft(author, account, "Another"), actor=author, at=later())
    assert services.post_approve(post=post, actor=personas.owner if role != Role.OWNER else personas.admin)


def test_a_policy_may_let_approvers_approve_their_own_posts(personas, account):
    rules(personas, self_approval=True)
    post = services.post_schedule(post=draft(personas.lead, account), actor=personas.lead, at=later())
    assert post.status == "scheduled"
    assert details(post) == ["Approved"]


def test_four_eyes_follows_the_authors_teams(personas, account):
    rules(personas)
    rules(personas, team_of(personas, "Trusted", personas.lead), self_approval=True)
    post = services.post_approve(post=submitted(personas.lead, account), actor=personas.lead)
    assert post.status == "approved"
    with pytest.raises(Forbidden):  # the admin is in no team: the default's four eyes apply to them
        services.post_approve(post=submitted(personas.admin, account), actor=personas.admin)


# --- only the team's leads ---------------------------------------------------------------------------------------
@pytest.fixture
def leads_only(personas):
    """The agent's team "Social" is approved only by its own lead; another lead leads "Press"."""
    other_lead = MembershipFactory(organization=personas.org, role=Role.TEAM_LEAD, user__email="lead2@acme.test")
    social = team_of(personas, "Social", personas.agent, personas.lead)
    team_of(personas, "Press", other_lead)
    rules(personas, social, approvers="team_leads")
    return other_lead


def test_only_the_teams_own_leads_admins_and_owners_approve_when_the_team_says_so(personas, account, leads_only):
    post = submitted(personas.agent, account)
    with pytest.raises(Forbidden) as refused:
        services.post_approve(post=post, actor=leads_only)
    assert refused.value.args[0] == "Only the leads of Social, admins and owners may approve this post."
    with pytest.raises(Forbidden):
        services.post_send_back(post=post, actor=leads_only, comment="No")
    with pytest.raises(Forbidden):
        services.post_schedule(post=post, actor=leads_only, at=later())

    assert services.post_approve(post=post, actor=personas.lead).status == "approved"
    for role in (Role.ADMIN, Role.OWNER):
        other = submitted(personas.agent, account, f"For the {role}")
        assert services.post_approve(post=other, actor=personas.of(role)).status == "approved"


def test_a_team_member_who_is_not_a_lead_cannot_approve(personas, account, leads_only):
    """The agent is in Social too, but a community manager never approves."""
    colleague = MembershipFactory(organization=personas.org, role=Role.COMMUNITY_MANAGER)
    personas.agent.teams.first().members.add(colleague)
    with pytest.raises(Forbidden):
        services.post_approve(post=submitted(colleague, account), actor=personas.agent)


def test_a_default_restricted_to_team_leads_leaves_members_in_no_team_to_admins_and_owners(personas, account):
    rules(personas, approvers="team_leads")
    post = submitted(personas.agent, account)
    with pytest.raises(Forbidden) as refused:
        services.post_approve(post=post, actor=personas.lead)
    assert refused.value.args[0] == "Only admins and owners may approve this post."
    assert services.post_approve(post=post, actor=personas.admin).status == "approved"


# --- the rules themselves ------------------------------------------------------------------------------------------
def test_only_members_who_manage_teams_change_the_rules(personas):
    for role in NOT_APPROVERS:
        with pytest.raises(Forbidden):
            account_services.approval_policy_save(
                actor=personas.of(role), team=None, requires_approval=False, approvers="any", self_approval=False
            )
    policy = account_services.approval_policy_save(
        actor=personas.lead, team=None, requires_approval=False, approvers="any", self_approval=False
    )
    again = account_services.approval_policy_save(
        actor=personas.lead, team=None, requires_approval=True, approvers="team_leads", self_approval=True
    )
    assert again.id == policy.id
    assert ApprovalPolicy.objects.filter(organization=personas.org).count() == 1


def test_another_organizations_team_is_refused(personas):
    theirs = TeamFactory(organization=personas.other_org)
    with pytest.raises(ValidationFailed) as refused:
        rules(personas, theirs)
    assert refused.value.args[0] == "This team is not in this organization."


def test_the_database_keeps_one_default_per_organization_and_known_approvers(personas):
    rules(personas)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalPolicy.objects.create(organization=personas.org, team=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalPolicy.objects.create(organization=personas.org, team=TeamFactory(organization=personas.org),
                                      approvers="anyone")  # fmt: skip


# --- webhooks ------------------------------------------------------------------------------------------------------
def test_each_editorial_step_is_published_to_the_organizations_webhooks(personas, account):
    WebhookEndpoint.objects.create(
        organization=personas.org, url="https://crm.example/hook", secret="whsec_test",
        events=["post.submitted", "post.approved", "post.sent_back"],
    )  # fmt: skip
    post = submitted(personas.agent, account)
    services.post_send_back(post=post, actor=personas.lead, comment="Shorter, please")
    services.post_submit(post=post, actor=personas.agent)
    services.post_approve(post=post, actor=personas.lead)

    sent = list(WebhookDelivery.objects.order_by("id").values_list("event", "payload"))
    assert [event for event, _payload in sent] == [
        "post.submitted",
        "post.sent_back",
        "post.submitted",
        "post.approved",
    ]
    sent_back = sent[1][1]
    assert (sent_back["post"], sent_back["comment"], sent_back["actor"]) == (
        post.id,
        "Shorter, please",
        "lead@acme.test",
    )


def test_a_refused_approval_publishes_nothing(personas, account):
    WebhookEndpoint.objects.create(
        organization=personas.org, url="https://crm.example/hook", secret="whsec_test", events=["post.approved"]
    )
    post = submitted(personas.agent, account)
    with pytest.raises(Forbidden):
        services.post_approve(post=post, actor=personas.agent)
    assert not WebhookDelivery.objects.exists()


# --- the dashboard --------------------------------------------------------------------------------------------------
def test_the_composer_offers_schedule_instead_of_submit_when_no_approval_is_needed(personas, client_for, account):
    client = client_for(personas.agent)
    page = client.get(reverse("compose")).content.decode()
    assert ('value="submit"' in page, 'value="schedule"' in page) == (True, False)

    rules(personas, team_of(personas, "Social", personas.agent), requires=False)
    page = client.get(reverse("compose")).content.decode()
    assert ('value="submit"' in page, 'value="schedule"' in page) == (False, True)
    at = timezone.localtime(later()).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("compose"), {"text": "Go", "accounts": [account.id], "scheduled_at": at, "action": "schedule"})
    assert Post.objects.get().status == "scheduled"


def test_an_author_without_approval_schedules_a_saved_draft_from_its_page(personas, client_for, account):
    post = draft(personas.agent, account)
    client = client_for(personas.agent)
    page = client.get(reverse("post_detail", args=[post.id])).content.decode()
    assert (reverse("post_submit", args=[post.id]) in page, reverse("post_schedule", args=[post.id]) in page) == (
        True,
        False,
    )
    at = timezone.localtime(later()).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("post_schedule", args=[post.id]), {"at": at})
    assert Post.objects.get(id=post.id).status == "draft"  # refused: the default rules need approval

    rules(personas, team_of(personas, "Social", personas.agent), requires=False)
    page = client.get(reverse("post_detail", args=[post.id])).content.decode()
    assert reverse("post_schedule", args=[post.id]) in page
    response = client.post(reverse("post_schedule", args=[post.id]), {"at": at}, follow=True)
    assert "Post scheduled." in response.content.decode()
    assert Post.objects.get(id=post.id).status == "scheduled"


def test_the_composer_turns_a_schedule_into_a_submission_when_approval_is_needed(personas, client_for, account):
    rules(personas)
    at = timezone.localtime(later()).strftime("%Y-%m-%dT%H:%M")
    client_for(personas.lead).post(
        reverse("compose"), {"text": "Mine", "accounts": [account.id], "scheduled_at": at, "action": "schedule"}
    )
    assert Post.objects.get().status == "awaiting_approval"  # four eyes: the lead's own post waits


def test_the_approval_queue_shows_each_approver_only_what_they_may_approve(personas, client_for, account, leads_only):
    rules(personas)  # four eyes: nobody approves their own post
    from_social = submitted(personas.agent, account, "From the Social team")
    outsider = MembershipFactory(organization=personas.org, role=Role.COMMUNITY_MANAGER)  # in no team
    from_no_team = submitted(outsider, account, "From no team")
    from_press_lead = submitted(leads_only, account, "From the Press lead")

    def queue(member):
        return client_for(member).get(reverse("approvals")).content.decode()

    social_lead, press_lead, admin = queue(personas.lead), queue(leads_only), queue(personas.admin)
    assert [p.text in social_lead for p in (from_social, from_no_team, from_press_lead)] == [True, True, True]
    # not another team's restricted post, not their own
    assert [p.text in press_lead for p in (from_social, from_no_team, from_press_lead)] == [False, True, False]
    assert [p.text in admin for p in (from_social, from_no_team, from_press_lead)] == [True, True, True]


def test_the_approval_queue_reads_a_fixed_number_of_queries_per_author(personas, client_for, account, leads_only):
    client = client_for(personas.lead)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("approvals")).status_code == 200
        return len(captured)

    submitted(personas.agent, account, "One")
    one = queries()
    for n in range(3):
        submitted(personas.agent, account, f"More {n}")
    assert queries() == one


def test_a_refused_approval_in_the_dashboard_is_a_readable_message(personas, client_for, account, leads_only):
    post = submitted(personas.agent, account)
    response = client_for(leads_only).post(reverse("post_approve", args=[post.id]), {"next": "approvals"}, follow=True)
    assert "Only the leads of Social, admins and owners may approve this post." in response.content.decode()
    assert Post.objects.get(id=post.id).status == "awaiting_approval"


def test_the_post_page_hides_approval_from_who_may_not_approve(personas, client_for, account):
    rules(personas)
    post = submitted(personas.lead, account)
    own = client_for(personas.lead).get(reverse("post_detail", args=[post.id])).content.decode()
    assert reverse("post_approve", args=[post.id]) not in own
    other = client_for(personas.admin).get(reverse("post_detail", args=[post.id])).content.decode()
    assert reverse("post_approve", args=[post.id]) in other


def test_the_team_page_edits_the_teams_rules(personas, client_for):
    team = team_of(personas, "Social", personas.agent)
    url = reverse("team_edit", args=[team.id])
    assert client_for(personas.agent).get(url).status_code == 403
    client = client_for(personas.lead)
    assert "Approval rules" in client.get(url).content.decode()
    response = client.post(
        url, {"form": "policy", "policy-approvers": "team_leads", "policy-self_approval": "on"}
    )  # requires_approval unticked: the team's members schedule directly
    assert response.status_code == 302
    policy = ApprovalPolicy.objects.get(team=team)
    assert (policy.requires_approval, policy.approvers, policy.self_approval) == (False, "team_leads", True)
    team.refresh_from_db()
    assert team.name == "Social"  # the team's own form was not touched

    client.post(url, {"form": "policy", "policy-inherit": "on", "policy-approvers": "any"})
    assert not ApprovalPolicy.objects.filter(team=team).exists()


def test_the_teams_page_edits_the_organizations_default_and_rejects_bad_input(personas, client_for):
    client = client_for(personas.admin)
    response = client.post(reverse("teams"), {"form": "policy", "policy-approvers": "everybody"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ApprovalPolicy.objects.exists()
    client.post(
        reverse("teams"), {"form": "policy", "policy-requires_approval": "on", "policy-approvers": "team_leads"}
    )
    default = ApprovalPolicy.objects.get(team=None)
    assert (default.requires_approval, default.approvers, default.self_approval) == (True, "team_leads", False)


# --- the API ----------------------------------------------------------------------------------------------------------
def test_the_api_obeys_the_same_rules(personas, account, api_client_for, leads_only):
    post = submitted(personas.agent, account)
    refused = api_client_for(leads_only).post(f"/api/v1/posts/{post.id}/approve/")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Only the leads of Social, admins and owners may approve this post."
    own = submitted(personas.lead, account, "Mine")
    refused = api_client_for(personas.lead).post(f"/api/v1/posts/{own.id}/approve/")
    assert refused.status_code == 403
    assert "four-eyes" in refused.json()["error"]["message"]
    assert api_client_for(personas.lead).post(f"/api/v1/posts/{post.id}/approve/").status_code == 200


def test_the_api_reads_and_sets_a_teams_rules(personas, api_client_for, leads_only):
    social = personas.agent.teams.get()
    lead = api_client_for(personas.lead)
    listed = {t["name"]: t["approval"] for t in lead.get("/api/v1/teams/").json()["results"]}
    assert listed["Social"] == {"requires_approval": True, "approvers": "team_leads", "self_approval": False,
                                "inherited": False}  # fmt: skip
    assert listed["Press"]["inherited"] is True

    body = {"approval": {"requires_approval": False, "approvers": "any", "self_approval": False}}
    changed = lead.patch(f"/api/v1/teams/{social.id}/", body, format="json")
    assert changed.status_code == 200
    assert changed.json()["approval"]["requires_approval"] is False

    assert (
        lead.patch(f"/api/v1/teams/{social.id}/", {"approval": None}, format="json").json()["approval"]["inherited"]
        is True
    )
    bad = lead.patch(f"/api/v1/teams/{social.id}/", {"approval": {"approvers": "anyone"}}, format="json")
    assert bad.status_code == 400
    assert api_client_for(personas.agent).patch(f"/api/v1/teams/{social.id}/", body, format="json").status_code == 403


def test_the_api_sets_the_organizations_default(personas, api_client_for, api_key_client):
    assert api_client_for(personas.agent).get("/api/v1/teams/approval-default/").json() == {
        "requires_approval": True, "approvers": "any", "self_approval": True, "inherited": False,
    }  # fmt: skip
    body = {"requires_approval": False, "approvers": "any", "self_approval": True}
    assert api_client_for(personas.agent).put("/api/v1/teams/approval-default/", body, format="json").status_code == 403
    key = api_key_client(personas.admin, ["members:read", "members:write"])
    assert key.put("/api/v1/teams/approval-default/", body, format="json").json()["self_approval"] is True
    assert ApprovalPolicy.objects.get(organization=personas.org, team=None).requires_approval is False


def test_the_teams_list_says_which_teams_have_their_own_rules(personas, client_for):
    strict = team_of(personas, "Press", personas.agent)
    team_of(personas, "Social", personas.lead)
    rules(personas, strict, approvers="team_leads", self_approval=False)

    html = client_for(personas.admin).get(reverse("teams")).content.decode()

    def rules_of(team: str) -> str:
        row = next(row for row in html.split("<tr>") if f">{team}</a>" in row)
        return row.split('data-testid="team-rules">')[1].split("</td>")[0]

    assert rules_of("Press") == "Approval required · approved by the team’s leads · four eyes"  # noqa: RUF001
    assert "Organization default" in rules_of("Social")
