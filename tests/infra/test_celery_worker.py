"""A real Celery worker subprocess on Redis executes what the web side enqueued after commit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Invitation
from smms.celery import app
from smms.tasks import worker_heartbeat
from tests.subprocesses import start_worker, stop, wait_for, worker_env


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_sends_the_invitation_the_web_enqueued_on_commit(personas, client_for, tmp_path, settings):
    app.control.purge()  # leftovers of earlier runs must not be mistaken for this test's task
    env = worker_env(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
    )
    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        response = client_for(personas.admin).post(reverse("members"), {"email": "new@acme.test", "role": "analyst"})
        assert response.status_code == 302
        invitation = Invitation.objects.get(email="new@acme.test")

        def sent() -> bool:
            invitation.refresh_from_db()
            return invitation.sent_at is not None

        wait_for(sent, timeout=60, what="the worker to send the invitation", proc=worker)
        mails = list((tmp_path / "mail").iterdir())
        assert len(mails) == 1
        assert f"/invitations/{invitation.token_encrypted}/" in mails[0].read_text()

        # The heartbeat task, run by the same worker, makes /health report a live worker.
        worker_heartbeat.delay()
        wait_for(
            lambda: client_for(personas.admin).get("/health").json()["worker"]["ok"],
            timeout=30,
            what="a worker heartbeat",
            proc=worker,
        )
    finally:
        stop(worker)
        print((tmp_path / "worker.log").read_text()[-3000:])


def test_a_message_routed_to_one_queue_lands_in_that_queue_only(db):
    import redis
    from django.conf import settings

    app.control.purge()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queues = [q.name for q in settings.CELERY_TASK_QUEUES]
    with app.connection_for_write() as conn:  # declare every queue and its binding, as a worker would
        for queue in app.amqp.queues.values():
            queue(conn.default_channel).declare()
    app.send_task("smms.tests.routing_probe", queue="publishing")
    try:
        assert {q: client.llen(q) for q in queues} == {q: int(q == "publishing") for q in queues}
    finally:
        app.control.purge()
