"""Reads of the CRM bridge, scoped to the acting organization."""

from __future__ import annotations

from typing import Any

from accounts import selectors as account_selectors
from accounts.models import Organization


def index_context(*, org: Organization) -> dict[str, Any]:
    return {"api_keys": account_selectors.api_key_list(org=org)}
