"""python -m simulator [--host 127.0.0.1] [--port 8900] [--seed 42] [--traffic RATE]"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

from .app import Simulator, from_environment
from .server import build_server
from .world import load_world, save_world


def main() -> int:
    parser = argparse.ArgumentParser(description="SMMS platform simulator")
    parser.add_argument("--host", default=os.environ.get("SIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SIM_PORT", "8900")))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--traffic", type=float, default=float(os.environ.get("SIM_TRAFFIC_RATE", "0")),
                        help="items per second of background traffic (0: none)")  # fmt: skip
    parser.add_argument("--state", default=os.environ.get("SIM_STATE", ""),
                        help="file that keeps the world across restarts (empty: memory only)")  # fmt: skip
    args = parser.parse_args()
    if args.seed is not None:
        os.environ["SIM_SEED"] = str(args.seed)
    logging.basicConfig(level=os.environ.get("SIM_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    sim = from_environment()
    if args.state and load_world(sim.world, args.state):
        logging.getLogger("simulator").info("world restored from %s", args.state)
    server = build_server(sim, args.host, args.port)
    if args.state:
        threading.Thread(target=_autosave, args=(sim, args.state), daemon=True).start()
    if args.traffic > 0:
        sim.traffic.start(rate=args.traffic)

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"platform simulator on http://{args.host}:{server.server_port} (seed {sim.seed})", flush=True)  # noqa: T201
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.traffic.stop()
        if args.state:
            save_world(sim.world, args.state)
    return 0


def _autosave(sim: Simulator, path: str, every: float = 15.0) -> None:
    while True:
        time.sleep(every)
        save_world(sim.world, path)


if __name__ == "__main__":
    sys.exit(main())
