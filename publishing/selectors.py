"""Reads of publishing, scoped to the acting organization."""

from __future__ import annotations

from typing import Any

from accounts import selectors as account_selectors
from accounts.models import Organization, SocialAccountStatus


def index_context(*, org: Organization) -> dict[str, Any]:
    """The accounts a post can go to: connected ones, with their groups ("all French accounts")."""
    return {
        "accounts": account_selectors.social_account_list(org=org, status=SocialAccountStatus.CONNECTED),
        "groups": account_selectors.account_group_list(org=org),
    }


def campaigns_context(*, org: Organization) -> dict[str, Any]:
    return {"groups": account_selectors.account_group_list(org=org)}
