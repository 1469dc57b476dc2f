"""What the benchmark commands share: real Celery worker processes, their CPU and memory, and Redis
restarted under them. Linux only (/proc), as the benchmarks' machines are."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "",
               "--appendonly", "no"]  # fmt: skip


def start_worker(
    *, queues: str, concurrency: int, env: dict[str, str], pool: str = "prefork", name: str = "bench"
) -> subprocess.Popen[bytes]:
    """A real Celery worker on ``queues``, with this process's settings plus ``env``."""
    full = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "smms.settings.test"),
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        **env,
    }
    celery = str(Path(sys.executable).parent / "celery")
    return subprocess.Popen(  # noqa: S603
        [celery, "-A", "smms", "worker", "-Q", queues, "--pool", pool, "--concurrency", str(concurrency),
         "--loglevel", os.environ.get("BENCH_LOGLEVEL", "WARNING"), "--without-mingle", "--without-gossip",
         "--hostname", f"{name}-{time.monotonic_ns()}@%h"],
        env=full, cwd=settings.BASE_DIR,
    )  # fmt: skip


BENCH_DATABASE = "smms_bench"


def require_bench_database() -> None:
    """Refuse to run a benchmark that writes at scale (and rebuilds indexes) anywhere but the throwaway database
    `make bench-db` recreates."""
    from django.core.management.base import CommandError
    from django.db import connection

    name = connection.settings_dict.get("NAME")
    if connection.vendor != "postgresql" or name != BENCH_DATABASE:
        raise CommandError(
            f"benchmarks write millions of rows: they run on PostgreSQL's {BENCH_DATABASE} database only "
            f"(this is {connection.vendor} {name!r}); use the Makefile's bench targets"
        )


def database_url() -> str:
    """The URL of the database this process uses (a test database included), for the workers it starts."""
    from urllib.parse import quote

    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def process_tree(worker: subprocess.Popen[bytes]) -> list[int]:
    """The worker's main process and its pool's children."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    pids = [worker.pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in children.read_text().split()]
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all cores spent on anything but idling and waiting, since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Where the CPU went from now on: the workers' processes, this process (the simulator and the dispatcher
    the benchmarks run in it), and the rest of the machine (PostgreSQL, Redis, the kernel)."""

    def __init__(self, workers: list[subprocess.Popen[bytes]]) -> None:
        self.workers = workers
        self.started = time.perf_counter()
        self.before = (self._workers_cpu(), time.process_time(), machine_busy_seconds())

    def _workers_cpu(self) -> float:
        return sum(cpu_seconds(process_tree(worker)) for worker in self.workers)

    def report(self, items: int, what: str) -> str:
        elapsed = time.perf_counter() - self.started
        workers = self._workers_cpu() - self.before[0]
        own = time.process_time() - self.before[1]
        rest = max(0.0, machine_busy_seconds() - self.before[2] - workers - own)
        return (
            f"CPU seconds over the run: workers {workers:.1f}, simulator and dispatcher {own:.1f}, the rest "
            f"(PostgreSQL, Redis, system) {rest:.1f}, of {elapsed * (os.cpu_count() or 1):.1f} available; "
            f"workers' CPU per {what} {workers / max(items, 1) * 1e6:.0f} µs"
        )


def peak_rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def restart_redis(url: str) -> None:
    """Stop Redis without saving (what it held is lost, as in a crash) and start it again."""
    import redis

    client = redis.Redis.from_url(url)
    with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it goes
        client.shutdown(nosave=True)
    subprocess.run(REDIS_START, check=True, capture_output=True)  # noqa: S603
    for _ in range(50):
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("Redis did not come back")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
