"""`make chaos-publish` in small, as part of `make test`: real workers publish under 5xx answers, 429 bursts and
lost answers, while pool processes are killed with SIGKILL and Redis is restarted once; the command compares
SMMS's records with the simulator's and fails on any duplicate or lost post."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_under_faults_kills_and_a_redis_restart_every_post_is_published_once(settings):
    out = io.StringIO()
    call_command(
        "bench_publish", "--chaos", "--posts", "240", "--accounts", "12", "--workers", "1", "--concurrency", "3",
        "--timeout", "300", stdout=out,
    )  # fmt: skip
    report = out.getvalue()
    assert "240 deliveries (chaos" in report
    assert "duplicates: 0, lost: 0" in report
    assert "Redis restarted once" in report
    kills = int(re.search(r"chaos: (\d+) workers or pool processes killed", report).group(1))
    assert kills >= 1
    assert re.search(r"240 published, 0 failed|, \d+ failed \(0 without a reason\)", report)
