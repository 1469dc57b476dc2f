"""A worker killed with SIGKILL in the middle of a batch and Redis restarted once lose no mention and store
none twice: checked against the simulator's record of what it served."""

from __future__ import annotations

import os
import signal
import time

import pytest

from listening.models import Mention, PollCursor
from listening.services import account_poll, poll_cursors_ensure
from listening.tasks import account_poll as account_poll_task
from smms.celery import app
from smms.lib.bench import restart_redis
from tests.accounts.test_connections import connect_mastodon
from tests.subprocesses import start_worker, stop, worker_env


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_batch_and_a_redis_restart_lose_nothing_and_duplicate_nothing(
    personas, simulator, settings, tmp_path
):
    account = connect_mastodon(personas)
    poll_cursors_ensure()
    cursor_id = PollCursor.objects.get(account=account).id
    account_poll(cursor_id=cursor_id)  # the first poll sets the cursor
    simulator.generate(platform="mastodon", count=1500, kind="mention", target="maisonlumiere")
    expected = {p["id"] for p in simulator.posts("mastodon") if account.remote_id in p["mentions"]}
    app.control.purge()

    env = worker_env(
        SMMS_SIMULATOR_URL=settings.SMMS_SIMULATOR_URL,
        SMMS_POLL_CLAIM_SECONDS="3",  # a killed worker's claim expires quickly
    )
    worker = start_worker(env, queues="polling", log=tmp_path / "worker-1.log")
    stored = 0
    try:
        # Beat's job, done here: keep asking for the stream to be polled.
        killed = restarted = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            account_poll_task.delay(cursor_id)
            stored = Mention.objects.filter(organization=personas.org).count()
            if not killed and stored > 100:
                os.kill(worker.pid, signal.SIGKILL)  # mid-batch: pages are being stored
                worker.wait()
                killed = True
                restart_redis(settings.REDIS_URL)
                restarted = True
                worker = start_worker(env, queues="polling", log=tmp_path / "worker-2.log")
            if killed and stored >= len(expected):
                break
            time.sleep(0.3)
    finally:
        stop(worker)
    assert killed
    assert restarted
    ids = list(Mention.objects.filter(organization=personas.org).values_list("external_id", flat=True))
    assert len(ids) == len(set(ids))  # none twice
    assert set(ids) == expected  # none lost
