"""Run the whole product in the foreground: platform simulator, demo data, web server, Celery worker, beat.

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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUEUES = "default,polling,publishing,sentiment"


def simulator_command(sim_port: int) -> list[str]:
    var = Path(os.environ.get("SMMS_VAR_DIR", ROOT / "var"))
    return [
        sys.executable, "-m", "simulator", "--port", str(sim_port), "--state", str(var / "simulator-state.pickle"),
        "--traffic", os.environ.get("SIM_TRAFFIC_RATE", "0.5"),
    ]  # fmt: skip


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


def wait_for(url: str, proc: subprocess.Popen[str], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 -- our own loopback URL
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    print(f"no answer from {url}", flush=True)
    return False


def pipe(name: str, stream: object) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sys.stdout.write(f"{name:>6} | {line}")
        sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--sim-port", type=int, default=int(os.environ.get("SIM_PORT", "8900")))
    args = parser.parse_args()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "smms.settings.local")
    env.setdefault("SMMS_BASE_URL", f"http://{args.host}:{args.port}")
    # The demo's published post shows figures within a couple of minutes, not after the schedule's first 10.
    env.setdefault("SMMS_METRICS_FIRST_FETCH_MINUTES", "1")

    procs: dict[str, subprocess.Popen[str]] = {}
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()

    def start(name: str, cmd: list[str]) -> None:
        proc = subprocess.Popen(  # noqa: S603 -- fixed commands, no shell
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        procs[name] = proc
        threading.Thread(target=pipe, args=(name, proc.stdout), daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    sim_url = env.get("SMMS_SIMULATOR_URL", f"http://127.0.0.1:{args.sim_port}")
    if sim_url.startswith(f"http://127.0.0.1:{args.sim_port}"):
        env["SMMS_SIMULATOR_URL"] = sim_url
        start("sim", simulator_command(args.sim_port))
        if not wait_for(f"{sim_url}/_sim/health", procs["sim"]):
            stopping.set()
        time.sleep(0.5)
        if procs["sim"].poll() is not None:  # another simulator answered: this one could not take the port
            print(f"the simulator could not start (is port {args.sim_port} taken?); stopping.", flush=True)
            stopping.set()
    if not stopping.is_set():
        # Demo data comes through the simulator: accounts connected by OAuth, mentions from its generator.
        seed = subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=False)  # noqa: S603
        if seed.returncode != 0:
            print("seed_demo failed; stopping.", flush=True)
            stopping.set()
    for name, cmd in commands(args.port, args.host).items():
        if not stopping.is_set():
            start(name, cmd)
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
