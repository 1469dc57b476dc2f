"""The beat task through a real Celery worker subprocess: rows made, due ones fetched from the simulator."""

from __future__ import annotations

import pytest

from analytics.models import DeliveryMetrics, MetricsSnapshot
from analytics.tasks import metrics_dispatch
from smms.celery import app
from tests.subprocesses import start_worker, stop, wait_for, worker_env

from .conftest import connect, publish


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_fetches_a_published_posts_figures(personas, simulator, settings, tmp_path):
    account = connect(personas, simulator, "mastodon")
    delivery = publish(personas, account, "Measured by a real worker")
    env = worker_env(
        SMMS_SIMULATOR_URL=settings.SMMS_SIMULATOR_URL,
        SMMS_METRICS_FIRST_FETCH_MINUTES="0",  # due at once, instead of ten minutes after publication
    )
    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        metrics_dispatch.apply_async(connection=conn)
    worker = start_worker(env, queues="polling", log=tmp_path / "worker.log")
    try:
        wait_for(
            lambda: DeliveryMetrics.objects.filter(delivery=delivery, fetch_count=1).exists(), 60, "the fetch", worker
        )
    finally:
        stop(worker)
    row = DeliveryMetrics.objects.get(delivery=delivery)
    assert row.likes is not None
    assert row.next_fetch_at is not None
    assert MetricsSnapshot.objects.filter(delivery=delivery).count() == 1
