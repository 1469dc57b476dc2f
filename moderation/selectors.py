"""Reads of moderation, scoped to the acting organization."""

from __future__ import annotations

from typing import Any

from accounts import selectors as account_selectors
from accounts.models import Organization, SocialAccountStatus


def index_context(*, org: Organization) -> dict[str, Any]:
    """The accounts whose comments, mentions and messages feed the inbox, and the teams that work it."""
    return {
        "accounts": account_selectors.social_account_list(org=org, status=SocialAccountStatus.CONNECTED),
        "teams": account_selectors.team_list(org=org),
    }
