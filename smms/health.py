"""Health of the moving parts: database, broker and the Celery worker (via its last heartbeat)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

HEARTBEAT_KEY = "smms:worker-heartbeat"


def heartbeat_record(now: float | None = None) -> None:
    cache.set(HEARTBEAT_KEY, now if now is not None else time.time(), timeout=None)


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; report its text
        return {"ok": False, "error": str(exc)[:200]}
    return {"ok": True, "vendor": connection.vendor}


def _check_broker() -> dict[str, Any]:
    from smms.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}
    return {"ok": True, "transport": str(transport)}


def _check_worker() -> dict[str, Any]:
    try:
        last = cache.get(HEARTBEAT_KEY)
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200], "last_heartbeat_age_seconds": None}
    if last is None:
        return {"ok": False, "last_heartbeat_age_seconds": None}
    age = max(0.0, time.time() - float(last))
    return {"ok": age <= settings.SMMS_WORKER_HEARTBEAT_MAX_AGE, "last_heartbeat_age_seconds": round(age, 1)}


def health_report() -> dict[str, Any]:
    report = {"database": _check_database(), "broker": _check_broker(), "worker": _check_worker()}
    # The web tier can serve without a worker (writes queue up), so a missing worker degrades, not fails.
    if not (report["database"]["ok"] and report["broker"]["ok"]):
        status = "down"
    elif not report["worker"]["ok"]:
        status = "degraded"
    else:
        status = "ok"
    return {"status": status, **report}


@never_cache
@require_GET
def health_view(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=503 if report["status"] == "down" else 200)
