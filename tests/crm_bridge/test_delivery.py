"""Delivering webhooks to a real HTTP receiver: what is sent, retries with backoff, 410, timeouts, give-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from crm_bridge import services, tasks
from crm_bridge.models import WebhookDelivery
from tests.crm_bridge.conftest import HOLD

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_the_receiver_gets_the_signed_json_envelope_with_every_header(personas, hooked, receiver, publish):
    assert publish("alert.opened", {"alert": {"id": 7, "topic": "Brand"}}) == 1
    [request] = receiver.requests
    delivery = WebhookDelivery.objects.get()
    assert request.path == "/hooks/smms"
    assert request.json == {
        "id": str(delivery.event_id),
        "event": "alert.opened",
        "created_at": delivery.created_at.isoformat(),
        "organization": personas.org.id,
        "data": {"alert": {"id": 7, "topic": "Brand"}},
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "SMMS-Webhooks/1"
    assert request.headers["SMMS-Event"] == "alert.opened"
    assert request.headers["SMMS-Delivery"] == str(delivery.event_id)
    assert services.webhook_signature_verify(hooked.secret, request.headers["SMMS-Signature"], request.body)
    assert not services.webhook_signature_verify("whsec_other", request.headers["SMMS-Signature"], request.body)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.last_response == '{"ok": true}'
    assert delivery.delivered_at is not None


def test_a_500_then_a_200_is_retried_after_the_backoff_and_succeeds_on_the_second_attempt(hooked, receiver, publish):
    receiver.answer(500, 200)
    with time_machine.travel(T0) as clock:
        publish()
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
        assert delivery.last_error == "The endpoint answered HTTP 500."
        assert T0 + timedelta(seconds=30) <= delivery.next_attempt_at <= T0 + timedelta(seconds=37)
        clock.shift(timedelta(seconds=20))
        assert tasks.webhooks_retry_due() == 0  # not due yet: nothing is sent early
        assert len(receiver.requests) == 1
        clock.shift(timedelta(seconds=20))
        assert tasks.webhooks_retry_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "succeeded",
        2,
        200,
        "",
    )
    first, second = receiver.requests
    assert first.body == second.body  # the same event, the same id: the receiver can deduplicate
    assert first.headers["SMMS-Delivery"] == second.headers["SMMS-Delivery"]
    assert first.headers["SMMS-Signature"] != second.headers["SMMS-Signature"]  # signed again, at send time


def test_it_gives_up_after_eight_attempts_over_about_a_day_with_a_readable_reason(hooked, receiver, publish):
    receiver.answer(*[503] * 8)
    with time_machine.travel(T0) as clock:
        publish()
        delivery = WebhookDelivery.objects.get()
        while delivery.status == "pending":
            clock.move_to(delivery.next_attempt_at)
            assert services.webhook_deliver(delivery_id=delivery.id) in ("retry", "failed")
            delivery.refresh_from_db()
        last_attempt_at = datetime.now(UTC)
    assert len(receiver.requests) == 8
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert delivery.last_error == "Gave up after 8 attempts. The last one: The endpoint answered HTTP 503."
    assert timedelta(hours=20) < last_attempt_at - T0 < timedelta(hours=30)


def test_a_410_gone_disables_the_endpoint_and_says_why(personas, hooked, receiver, publish):
    receiver.answer(410)
    publish()
    delivery = WebhookDelivery.objects.get()
    hooked.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 410)
    assert delivery.last_error == "The endpoint answered 410 Gone: SMMS disabled it."
    assert not hooked.is_active
    assert "410 Gone" in hooked.disabled_reason
    assert publish() == 0  # nothing more goes to it
    assert len(receiver.requests) == 1


def test_a_receiver_that_does_not_answer_in_time_becomes_a_readable_error_and_a_retry(
    hooked, receiver, publish, monkeypatch
):
    monkeypatch.setattr(services, "TIMEOUT", 0.5)
    receiver.answer(HOLD)
    publish()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error == "The endpoint did not answer within 0.5 seconds."


def test_a_refused_connection_is_a_readable_error_and_a_retry(endpoint_for, publish):
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint_for(f"http://127.0.0.1:{port}/hook")
    publish()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.last_error.startswith("SMMS could not connect to 127.0.0.1: ")


def test_a_redirect_is_not_followed(hooked, receiver, publish):
    receiver.answer((302, b"", {"Location": "http://127.0.0.1:9/elsewhere"}))
    publish()
    delivery = WebhookDelivery.objects.get()
    assert len(receiver.requests) == 1
    assert delivery.status == "pending"
    assert delivery.last_status_code == 302
    assert "a redirect to http://127.0.0.1:9/elsewhere" in delivery.last_error


def test_only_the_first_two_kilobytes_of_an_answer_are_kept(hooked, receiver, publish):
    receiver.answer((200, b"x" * 10_000, {}))
    publish()
    assert WebhookDelivery.objects.get().last_response == "x" * 2048


def test_a_delivery_that_is_not_due_yet_is_left_alone(hooked, receiver):
    delivery = WebhookDelivery.objects.create(
        endpoint=hooked, event="alert.opened", next_attempt_at=datetime.now(UTC) + timedelta(minutes=5)
    )
    assert services.webhook_deliver(delivery_id=delivery.id) == "skipped"
    assert services.webhook_deliver(delivery_id=delivery.id + 1000) == "skipped"  # gone: quietly nothing
    assert receiver.requests == []


def test_a_delivery_whose_worker_died_mid_send_is_taken_back_by_the_sweep(hooked, receiver, celery_eager):
    now = datetime.now(UTC)
    stuck = WebhookDelivery.objects.create(
        endpoint=hooked, event="alert.opened", status="sending", attempts=1, claimed_until=now - timedelta(seconds=1)
    )
    exhausted = WebhookDelivery.objects.create(
        endpoint=hooked, event="alert.opened", status="sending", attempts=8, claimed_until=now - timedelta(seconds=1)
    )
    held = WebhookDelivery.objects.create(
        endpoint=hooked, event="alert.opened", status="sending", attempts=1, claimed_until=now + timedelta(minutes=5)
    )
    assert tasks.webhooks_retry_due() == 1
    stuck.refresh_from_db(), exhausted.refresh_from_db(), held.refresh_from_db()
    assert (stuck.status, stuck.attempts) == ("succeeded", 2)  # the interrupted attempt counts
    assert exhausted.status == "failed"
    assert exhausted.last_error == "The worker sending it stopped before the answer was recorded."
    assert held.status == "sending"  # a live worker's claim is respected
    assert len(receiver.requests) == 1


def test_a_first_attempt_whose_task_was_lost_is_sent_by_the_sweep_a_minute_later(hooked, receiver, celery_eager):
    with time_machine.travel(T0) as clock:
        delivery = WebhookDelivery.objects.create(endpoint=hooked, event="alert.opened")  # its task never ran
        assert tasks.webhooks_retry_due() == 0  # the queued task is expected to send it
        clock.shift(timedelta(seconds=61))
        assert tasks.webhooks_retry_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"


def test_a_disabled_endpoints_pending_delivery_fails_without_being_sent(hooked, receiver):
    delivery = WebhookDelivery.objects.create(endpoint=hooked, event="alert.opened")
    hooked.is_active = False
    hooked.save()
    assert services.webhook_deliver(delivery_id=delivery.id) == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error == "The endpoint is disabled: nothing was sent."
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1"),
        ("http://localhost/hook", None),
        ("http://10.1.2.3/hook", "10.1.2.3"),
        ("http://192.168.0.10/hook", "192.168.0.10"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://[::1]/hook", "::1"),
        ("http://[::ffff:127.0.0.1]/hook", None),
        ("http://0.0.0.0/hook", "0.0.0.0"),  # noqa: S104 - an address to refuse, not to bind
    ],
)
def test_in_production_a_private_address_is_refused_when_registering(personas, settings, url, address):
    from smms.errors import ValidationFailed

    settings.SMMS_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ValidationFailed) as refused:
        services.webhook_endpoint_save(actor=personas.admin, url=url, events=["alert.opened"])
    assert refused.value.field == "url"
    assert "a private address: webhooks only go to public addresses" in refused.value.message
    if address:
        assert f"resolves to {address}," in refused.value.message


def test_in_production_a_public_address_is_accepted(personas, settings):
    settings.SMMS_WEBHOOKS_ALLOW_PRIVATE = False
    endpoint = services.webhook_endpoint_save(
        actor=personas.admin, url="https://93.184.215.14/hook", events=["alert.opened"]
    )
    assert endpoint.url == "https://93.184.215.14/hook"


def test_in_production_a_host_that_turned_private_after_registering_is_refused_at_connect_time(
    hooked, receiver, publish, settings
):
    settings.SMMS_WEBHOOKS_ALLOW_PRIVATE = False  # e.g. its DNS now answers 127.0.0.1
    publish()
    delivery = WebhookDelivery.objects.get()
    assert receiver.requests == []
    assert delivery.status == "failed"  # permanent: no retry against our own network
    assert delivery.last_error == (
        "127.0.0.1 resolves to 127.0.0.1, a private address: webhooks only go to public addresses."
    )


def test_the_readme_receiver_verifies_what_smms_sends(hooked, receiver, publish):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    snippet = readme.split("## Webhooks", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 - our own documentation, checked against the real thing
    publish()
    [request] = receiver.requests
    assert namespace["verify"](hooked.secret, request.headers["SMMS-Signature"], request.body)
    assert not namespace["verify"](hooked.secret, request.headers["SMMS-Signature"], request.body + b" ")
    assert not namespace["verify"]("whsec_wrong", request.headers["SMMS-Signature"], request.body)
