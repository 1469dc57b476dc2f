"""Database helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection


def commit_without_waiting_for_disk() -> None:
    """Inside ``transaction.atomic()``: let this transaction's COMMIT return before PostgreSQL has flushed it
    to disk (``synchronous_commit = off``, for this transaction only). A crash of PostgreSQL within the next
    fraction of a second can then lose it, never corrupt anything: use it only where a lost commit is
    redone by design. No-op on other databases."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def db_datetime(moment: datetime) -> Any:
    """A datetime as the database takes it in raw SQL (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(moment)


def update_returning(sql: str, params: Sequence[Any], column: str = "id") -> list[Any]:
    """Run a claiming ``UPDATE`` and return ``column`` of the rows it changed, in one statement (PostgreSQL,
    and SQLite >= 3.35): Django's update() only counts them, and a read followed by a write could see rows
    another claim takes meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {column}", params)
        return [row[0] for row in cursor.fetchall()]
