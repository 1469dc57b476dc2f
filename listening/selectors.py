"""Reads of listening, scoped to the acting organization."""

from __future__ import annotations

from typing import Any

from accounts import selectors as account_selectors
from accounts.models import Organization, SocialAccountStatus


def index_context(*, org: Organization) -> dict[str, Any]:
    return {"accounts": account_selectors.social_account_list(org=org, status=SocialAccountStatus.CONNECTED)}
