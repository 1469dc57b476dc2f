"""Every periodic task of SMMS, each with the reason it runs on a schedule."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Proves that beat and at least one worker are alive; /health reports the age of the last beat.
    "worker-heartbeat": {"task": "smms.tasks.worker_heartbeat", "schedule": 30.0},
    # An on-commit enqueue can be lost (crash between commit and publish): re-send what is still unsent.
    "invitations-resend-unsent": {"task": "accounts.tasks.invitations_send_pending", "schedule": 300.0},
    # The same for notification e-mails: one whose enqueue was lost is sent by this sweep (once: the task claims it).
    "notifications-email-unsent": {"task": "accounts.tasks.notifications_email_unsent", "schedule": 120.0},
    # Mentions arrive by polling (no webhooks here): due streams are dispatched to the polling queue.
    "listening-polls-dispatch": {"task": "listening.tasks.polls_dispatch", "schedule": 15.0},
    # Fires must be caught within a minute: topics with recent mentions are checked every 15 seconds.
    "listening-fires-detect": {"task": "listening.tasks.fires_detect", "schedule": 15.0},
    # An on-commit enqueue can be lost and a worker can die mid-export: re-send queued or dead exports.
    "listening-exports-sweep": {"task": "listening.exports.sweep", "schedule": 60.0},
    # Exports hold an organization's mentions: delete files and rows after 7 days.
    "listening-exports-purge": {"task": "listening.exports.purge", "schedule": 3600.0},
    # Published posts' figures are fetched on a decaying schedule (10 min after publication first): rows are made
    # for newly published deliveries and the due ones handed to the polling queue every minute.
    "analytics-metrics-dispatch": {"task": "analytics.tasks.metrics_dispatch", "schedule": 60.0},
    # Webhook retries are due at their own times (30 s to 12 h of backoff), and an on-commit enqueue or a worker
    # can be lost mid-delivery: sending what has come due every 30 s covers all three.
    "webhooks-retry-due": {"task": "crm_bridge.tasks.webhooks_retry_due", "schedule": 30.0},
    # Scheduled posts must go out within seconds of their time: every due delivery is queued every 2 seconds.
    "publishing-deliveries-dispatch": {"task": "publishing.tasks.deliveries_dispatch", "schedule": 2.0},
    # A worker can die between the network's answer and the record: reconcile expired claims every minute.
    "publishing-deliveries-recover": {"task": "publishing.tasks.deliveries_recover", "schedule": 60.0},
    # An on-commit enqueue can be lost and a worker can die mid-import: re-send CSV imports left waiting.
    "publishing-imports-recover": {"task": "publishing.tasks.post_imports_recover", "schedule": 60.0},
    # Replies and moderation actions retried after a failure come due at their own times, and an on-commit
    # enqueue can be lost: what is due is handed to the workers every 5 seconds.
    "moderation-actions-dispatch": {"task": "moderation.tasks.network_actions_dispatch", "schedule": 5.0},
    # A worker can die between the network's answer and the record: reconcile expired claims every minute.
    "moderation-actions-recover": {"task": "moderation.tasks.network_actions_recover", "schedule": 60.0},
    # Automatic queues are asked to assign as conversations arrive; a lost enqueue, an agent's capacity freeing
    # up or a conversation released are caught by this sweep.
    "moderation-queues-assign": {"task": "moderation.tasks.queues_assign_sweep", "schedule": 30.0},
    # Response times are promised per queue: breaches are told to the assignee and the leads within 30 s.
    "moderation-sla-breaches": {"task": "moderation.tasks.sla_breaches_notify", "schedule": 30.0},
    # Presence rows (who has a conversation open) only matter for seconds: old ones are deleted hourly.
    "moderation-presence-purge": {"task": "moderation.tasks.presence_purge", "schedule": 3600.0},
    # Access tokens expire (X and Bluesky every 2 hours): refresh them before they do, not on first failure.
    "tokens-refresh-expiring": {"task": "accounts.tasks.social_accounts_refresh_expiring", "schedule": 300.0},
}
