"""Two workers given the same delivery at the same time: it is sent once (claims on real PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from crm_bridge import services
from crm_bridge.models import WebhookDelivery
from tests.crm_bridge.conftest import HOLD


def _in_a_worker(delivery_id: int, outcomes: list[str], start: threading.Barrier | None = None) -> threading.Thread:
    def run() -> None:
        try:
            if start is not None:
                start.wait(timeout=10)
            outcomes.append(services.webhook_deliver(delivery_id=delivery_id))
        finally:
            connection.close()  # each thread has its own database connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_while_one_worker_is_sending_another_gets_nothing_to_do(hooked, receiver):
    delivery = WebhookDelivery.objects.create(endpoint=hooked, event="alert.opened")
    receiver.answer(HOLD)
    outcomes: list[str] = []
    first = _in_a_worker(delivery.id, outcomes)
    assert receiver.arrived.wait(timeout=10)  # the first worker claimed it and its request is in flight
    assert WebhookDelivery.objects.get(id=delivery.id).status == "sending"
    assert services.webhook_deliver(delivery_id=delivery.id) == "skipped"  # the competitor won: we do nothing
    receiver.release.set()
    first.join(timeout=10)
    assert outcomes == ["succeeded"]
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


@pytest.mark.django_db(transaction=True)
def test_two_workers_starting_together_send_it_once(hooked, receiver):
    delivery = WebhookDelivery.objects.create(endpoint=hooked, event="alert.opened")
    outcomes: list[str] = []
    start = threading.Barrier(2)
    workers = [_in_a_worker(delivery.id, outcomes, start) for _ in range(2)]
    for worker in workers:
        worker.join(timeout=10)
    assert sorted(outcomes) == ["skipped", "succeeded"]
    assert len(receiver.requests) == 1
