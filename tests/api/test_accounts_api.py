"""The accounts API: scopes, roles, organization scoping, the error envelope and cursor pagination."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import SocialAccount
from tests.factories import AccountGroupFactory, SocialAccountFactory

ACCOUNTS = "/api/v1/social-accounts/"


def test_an_api_key_lists_only_its_organizations_accounts_and_never_tokens(personas, api_key_client):
    mine = SocialAccountFactory(organization=personas.org, access_token="super-secret-token")
    SocialAccountFactory(organization=personas.other_org)
    response = api_key_client(personas.admin, ["accounts:read"]).get(ACCOUNTS)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [mine.id]
    assert "super-secret-token" not in response.content.decode()
    assert "access_token" not in response.json()["results"][0]


def test_a_key_without_the_scope_gets_403_in_the_envelope(personas, api_key_client):
    client = api_key_client(personas.admin, ["members:read"])
    response = client.get(ACCOUNTS)
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "status": 403,
            "code": "permission_denied",
            "message": "This API key lacks the scope accounts:read.",
            "fields": {},
        }
    }


def test_a_read_scope_does_not_allow_writes(personas, api_key_client):
    account = SocialAccountFactory(organization=personas.org)
    reader = api_key_client(personas.admin, ["accounts:read"])
    assert reader.post(f"{ACCOUNTS}{account.id}/disconnect/").status_code == 403
    writer = api_key_client(personas.admin, ["accounts:read", "accounts:write"])
    assert writer.post(f"{ACCOUNTS}{account.id}/disconnect/").status_code == 200
    assert SocialAccount.objects.get(id=account.id).status == "disconnected"


def test_unknown_and_revoked_keys_get_401(personas):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key smms_nope_nope")
    response = client.get(ACCOUNTS)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert APIClient().get(ACCOUNTS).status_code == 401


def test_an_analyst_gets_403_on_account_and_member_management(personas, api_client_for):
    account = SocialAccountFactory(organization=personas.org)
    client = api_client_for(personas.analyst)
    assert client.get(ACCOUNTS).status_code == 200
    assert client.patch(f"{ACCOUNTS}{account.id}/", {"display_name": "x"}, format="json").status_code == 403
    assert client.post(f"{ACCOUNTS}{account.id}/disconnect/").status_code == 403
    assert client.patch(f"/api/v1/members/{personas.agent.id}/", {"role": "owner"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/members/{personas.agent.id}/").status_code == 403
    assert client.post("/api/v1/account-groups/", {"name": "G"}, format="json").status_code == 403


def test_an_admin_manages_groups_through_the_api(personas, api_client_for):
    account = SocialAccountFactory(organization=personas.org)
    client = api_client_for(personas.admin)
    created = client.post("/api/v1/account-groups/", {"name": "France", "account_ids": [account.id]}, format="json")
    assert created.status_code == 201
    assert created.json()["account_ids"] == [account.id]
    duplicate = client.post("/api/v1/account-groups/", {"name": "France"}, format="json")
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["fields"] == {"name": ["A group with this name exists."]}


def test_validation_errors_name_the_fields(personas, api_client_for):
    response = api_client_for(personas.admin).post("/api/v1/account-groups/", {"name": ""}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert "name" in body["fields"]


def test_another_organizations_group_ids_are_refused(personas, api_client_for):
    theirs = SocialAccountFactory(organization=personas.other_org)
    response = api_client_for(personas.admin).post(
        "/api/v1/account-groups/", {"name": "Mixed", "account_ids": [theirs.id]}, format="json"
    )
    assert response.status_code == 400
    assert not personas.org.account_groups.filter(name="Mixed").exists()


def test_cursor_pagination_walks_every_account_once_even_when_rows_are_added(personas, api_key_client):
    created = [SocialAccountFactory(organization=personas.org).id for _ in range(7)]
    client = api_key_client(personas.admin, ["accounts:read"])
    seen, url = [], f"{ACCOUNTS}?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [a["id"] for a in page["results"]]
        if len(seen) == 3:
            created.append(SocialAccountFactory(organization=personas.org).id)
        url = page["next"]
    assert seen == sorted(created)


def test_the_account_list_costs_the_same_queries_for_5_or_50_accounts(personas, api_key_client):
    client = api_key_client(personas.admin, ["accounts:read"])
    group = AccountGroupFactory(organization=personas.org)
    client.get(ACCOUNTS)  # the key's first use records last_used_at; later uses within a minute do not

    def count(n: int) -> int:
        for _ in range(n):
            group.accounts.add(SocialAccountFactory(organization=personas.org))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{ACCOUNTS}?page_size=100").status_code == 200
        return len(ctx.captured_queries)

    assert count(5) == count(45)


@pytest.mark.parametrize("role_name", ["analyst", "agent", "lead"])
def test_members_can_be_listed_by_every_member(personas, api_client_for, role_name):
    response = api_client_for(getattr(personas, role_name)).get("/api/v1/members/")
    assert response.status_code == 200
    emails = {m["email"] for m in response.json()["results"]}
    assert "boss@globex.test" not in emails
    assert "owner@acme.test" in emails
