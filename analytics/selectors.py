"""Reads of analytics, scoped to the acting organization."""

from __future__ import annotations

from typing import Any

from accounts import selectors as account_selectors
from accounts.models import Organization


def index_context(*, org: Organization) -> dict[str, Any]:
    """Accounts per network and status: the first figures an organization has before any conversation."""
    return account_selectors.social_account_summary(org=org)
