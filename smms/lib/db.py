"""Database helpers shared by the apps."""

from __future__ import annotations

from django.db import connection


def commit_without_waiting_for_disk() -> None:
    """Inside ``transaction.atomic()``: let this transaction's COMMIT return before PostgreSQL has flushed it
    to disk (``synchronous_commit = off``, for this transaction only). A crash of PostgreSQL within the next
    fraction of a second can then lose it, never corrupt anything: use it only where a lost commit is
    redone by design. No-op on other databases."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
