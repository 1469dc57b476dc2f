"""A real Celery worker killed with SIGKILL while the network is answering its post leaves the delivery in
publishing; the recovery sweep finds the post on the network and records it: one post, never two."""

from __future__ import annotations

import os
import signal

import pytest

from publishing import services
from publishing.models import Delivery
from publishing.tasks import delivery_publish as delivery_publish_task
from smms.celery import app
from tests.accounts.test_connections import connect_x
from tests.subprocesses import start_worker, stop, wait_for, worker_env

from .conftest import made, schedule

# A broker database of its own: no other test's worker takes this test's messages, nor this worker theirs.
BROKER_DB = 13


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_publish_is_recovered_without_a_second_post(personas, simulator, settings, tmp_path):
    account = connect_x(personas, simulator)
    delivery = schedule(personas, account, "Posted while the worker died")
    # The network makes the post, then keeps the worker waiting for its answer: time enough to kill it.
    simulator.config(lost_delay=8)
    simulator.faults({"kind": "lost", "mode": "timeout", "platform": "x", "methods": ["POST"], "path": "/2/tweets$"})

    broker = f"{settings.REDIS_URL.rsplit('/', 1)[0]}/{BROKER_DB}"
    env = worker_env(
        CELERY_BROKER_URL=broker,
        SMMS_SIMULATOR_URL=settings.SMMS_SIMULATOR_URL,
        SMMS_PUBLISH_CLAIM_SECONDS="2",  # the dead worker's claim expires quickly
    )
    with app.connection_for_write(broker) as conn:
        conn.default_channel.client.flushdb()
        delivery_publish_task.apply_async(args=[delivery.id], connection=conn)
    worker = start_worker(env, queues="publishing", log=tmp_path / "worker.log")
    try:
        wait_for(lambda: len(made(simulator, "x", "Posted while the worker died")) == 1, 90, "the post", worker)
        os.kill(worker.pid, signal.SIGKILL)  # between the network's work and the record
        worker.wait()
    finally:
        stop(worker)

    delivery.refresh_from_db()
    assert delivery.state == "publishing"
    wait_for(lambda: services.deliveries_recover_stuck() == 1, 10, "the claim to expire")

    [post] = made(simulator, "x", "Posted while the worker died")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.remote_id) == ("published", post["id"])
    assert services.delivery_publish(delivery_id=delivery.id) == "skipped"
    assert Delivery.objects.filter(state="publishing").count() == 0
