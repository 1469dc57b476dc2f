"""The embedded default: no DATABASE_URL and no broker service; SQLite and kombu's filesystem transport."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.subprocesses import manage, project_env, start_worker, stop, wait_for

CREATE_INVITATION = """
from accounts import services
from accounts.models import Membership
owner = Membership.objects.get(user__email='owner@demo.smms.test')
invitation = services.invitation_create(actor=owner, email='embedded@example.test', role='analyst')
print(invitation.id)
"""
SENT_AT = "from accounts.models import Invitation; print(Invitation.objects.get(id={id}).sent_at is not None)"
HEALTH = "import json; from smms.health import health_report; print(json.dumps(health_report()))"


@pytest.mark.worker
def test_a_fresh_machine_runs_on_sqlite_and_a_serverless_broker(tmp_path):
    env = project_env(
        DJANGO_SETTINGS_MODULE="smms.settings.local", SMMS_VAR_DIR=str(tmp_path / "var"), SMMS_SIMULATOR_URL="off"
    )
    manage("migrate", "--noinput", env=env)
    assert "owner@demo.smms.test" in manage("seed_demo", env=env)
    database = tmp_path / "var" / "smms.sqlite3"
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM accounts_membership").fetchone()[0] == 5

    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        invitation_id = manage("shell", "-c", CREATE_INVITATION, env=env).strip().splitlines()[-1]
        wait_for(
            lambda: manage("shell", "-c", SENT_AT.format(id=invitation_id), env=env).strip().endswith("True"),
            timeout=90,
            what="the worker to run the task through the filesystem broker",
            proc=worker,
        )
        report = json.loads(manage("shell", "-c", HEALTH, env=env).strip().splitlines()[-1])
        assert report["database"] == {"ok": True, "vendor": "sqlite"}
        assert report["broker"]["ok"] is True
        assert "filesystem" in report["broker"]["transport"].lower()
    finally:
        stop(worker)
    assert "embedded@example.test" in (tmp_path / "worker.log").read_text()  # the console e-mail backend
