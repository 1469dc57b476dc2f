"""python -m simulator [--host 127.0.0.1] [--port 8900] [--seed 42] [--traffic RATE]"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from .app import from_environment
from .server import build_server


def main() -> int:
    parser = argparse.ArgumentParser(description="SMMS platform simulator")
    parser.add_argument("--host", default=os.environ.get("SIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SIM_PORT", "8900")))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--traffic", type=float, default=float(os.environ.get("SIM_TRAFFIC_RATE", "0")),
                        help="items per second of background traffic (0: none)")  # fmt: skip
    args = parser.parse_args()
    if args.seed is not None:
        os.environ["SIM_SEED"] = str(args.seed)
    logging.basicConfig(level=os.environ.get("SIM_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    sim = from_environment()
    server = build_server(sim, args.host, args.port)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
