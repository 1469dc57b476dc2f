"""Serving the simulator: a threaded WSGI server, in the foreground (``python -m simulator``) or in a
background thread for tests (``running_simulator``)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import Simulator


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if logging.getLogger("simulator.access").isEnabledFor(logging.DEBUG):
            super().log_request(code, size)

    def make_environ(self):  # type: ignore[no-untyped-def]
        environ = super().make_environ()
        environ["werkzeug.socket"] = self.connection  # lost-response faults reset the connection
        return environ


def build_server(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    server = make_server(host, port, sim, threaded=True, request_handler=QuietHandler)
    server.daemon_threads = True  # type: ignore[attr-defined]
    return server


@contextlib.contextmanager
def running_simulator(sim: Simulator | None = None, host: str = "127.0.0.1") -> Iterator[tuple[Simulator, str]]:
    """A simulator on a free loopback port for the duration of the block: yields (simulator, base URL)."""
    sim = sim or Simulator()
    server = build_server(sim, host, 0)
    # A short poll interval keeps shutdown quick: tests start and stop many simulators.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield sim, f"http://{host}:{server.server_port}"
    finally:
        sim.traffic.stop()
        server.shutdown()
        server.server_close()
