"""Run the whole product in the foreground: web server, Celery worker and Celery beat.

Ctrl-C (or SIGTERM) stops every process it started; if one of them dies, the others are stopped too, so a
broken part is never hidden behind a dashboard that still answers.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUEUES = "default,polling,publishing,sentiment"


def commands(port: int, host: str) -> dict[str, list[str]]:
    var = Path(os.environ.get("SMMS_VAR_DIR", ROOT / "var"))
    return {
        "web": [sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [
            str(BIN / "celery"), "-A", "smms", "worker", "-Q", QUEUES, "--pool", "threads",
            "--concurrency", "4", "--loglevel", "INFO", "--without-mingle", "--without-gossip",
        ],
        "beat": [
            str(BIN / "celery"), "-A", "smms", "beat", "--loglevel", "INFO",
            "--schedule", str(var / "celerybeat-schedule"),
        ],
    }  # fmt: skip


def pipe(name: str, stream: object) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sys.stdout.write(f"{name:>6} | {line}")
        sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    args = parser.parse_args()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "smms.settings.local")
    env.setdefault("SMMS_BASE_URL", f"http://{args.host}:{args.port}")

    procs: dict[str, subprocess.Popen[str]] = {}
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, cmd in commands(args.port, args.host).items():
        proc = subprocess.Popen(  # noqa: S603 -- fixed commands, no shell
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        procs[name] = proc
        threading.Thread(target=pipe, args=(name, proc.stdout), daemon=True).start()
    print(f"SMMS is starting on http://{args.host}:{args.port}/ (Ctrl-C stops everything)", flush=True)

    exit_code = 0
    while not stopping.is_set():
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping the rest.", flush=True)
                exit_code = proc.returncode or 1
                stopping.set()
                break
        time.sleep(0.5)

    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 10
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    print("SMMS stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
