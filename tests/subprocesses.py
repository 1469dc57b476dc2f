"""Helpers to run the project's real processes (manage.py, Celery workers) from tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).parent / "celery")
SERVICE_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_BACKEND",
    "DEBUG",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def project_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS and not k.startswith("PYTEST")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def worker_env(**overrides: str) -> dict[str, str]:
    """The environment of a subprocess (a Celery worker) working on this test's database and broker."""
    from django.conf import settings

    from smms.lib.bench import database_url

    values = {
        "DJANGO_SETTINGS_MODULE": "smms.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    return project_env(**{**values, **overrides})


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def start_worker(env: dict[str, str], queues: str = "default", log: Path | None = None) -> subprocess.Popen:
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 -- closed with the process
    return subprocess.Popen(
        [CELERY, "-A", "smms", "worker", "-Q", queues, "--pool", "solo", "--loglevel", "INFO",
         "--without-mingle", "--without-gossip", "--hostname", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for(check: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process died (code {proc.returncode}) while waiting for {what}")
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
