import time

from smms import health


def test_health_reports_database_broker_and_a_recent_worker(db, client):
    health.heartbeat_record()
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["broker"]["ok"] is True
    assert body["worker"]["ok"] is True
    assert body["worker"]["last_heartbeat_age_seconds"] < 5


def test_a_stale_heartbeat_degrades_health_without_failing_it(db, client, settings):
    health.heartbeat_record(now=time.time() - settings.SMMS_WORKER_HEARTBEAT_MAX_AGE - 10)
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["worker"]["ok"] is False
