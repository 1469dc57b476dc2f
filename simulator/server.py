"""Serving the simulator: a threaded HTTP/1.1 server with keep-alive, in the foreground (``python -m simulator``)
or in a background thread for tests (``running_simulator``).

The real networks keep connections alive, so the simulator does too: a server that closed every connection
(as Werkzeug's development server does) would make each client call pay for a new TCP connection and the
server for a new thread, which no production client pays. Requests are read whole (by Content-Length) before
the application runs and answers are sent with their length, so the next request on the connection starts
exactly where the last one ended.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

from .app import Simulator

logger = logging.getLogger("simulator.access")

MAX_BODY = 64 * 1024 * 1024  # the largest media upload a platform takes is far below
# Headers the server decides itself: the application's values would contradict what is actually sent.
HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding"}


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True  # an idle keep-alive connection never holds the process open
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Any) -> None:
        super().__init__(address, Handler)
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def opened(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.add(sock)

    def closed(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(sock)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request (a killed worker, a timed-out call) is normal here: no traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            logger.debug("client %s went away", client_address)
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Close the kept-alive connections too, so a stopped simulator answers no one."""
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle connection stays open
    # Headers and body leave in separate writes: with Nagle's algorithm the body would wait for the client's
    # delayed ACK of the headers (40 ms on Linux) on every kept-alive answer.
    disable_nagle_algorithm = True
    server: SimulatorServer

    def setup(self) -> None:
        super().setup()
        self.server.opened(self.connection)

    def finish(self) -> None:
        self.server.closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", self.address_string(), format % args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method goes to the application
            return self.serve
        raise AttributeError(name)

    def serve(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._plain(411, b"send the body with a Content-Length")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._plain(400 if length < 0 else 413, b"bad Content-Length")
            return
        body = self.rfile.read(length) if length else b""
        environ = self._environ(body)
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return lambda data: answer.setdefault("written", []).append(data)

        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                content = b"".join([*answer.get("written", []), *result])
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            logger.exception("simulator error on %s %s", self.command, self.path)
            self._plain(500, b"simulator error")
            return
        if self.connection.fileno() == -1:  # a lost-answer fault closed the connection under us
            self.close_connection = True
            return
        code, _, reason = answer["status"].partition(" ")
        try:
            self.send_response(int(code), reason)
            for key, value in answer["headers"]:
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)
        except OSError:  # the client went away (a timed-out call): nothing to answer
            self.close_connection = True

    def _plain(self, code: int, text: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.send_header("Connection", "close")  # the rest of the stream cannot be trusted
        self.end_headers()
        self.wfile.write(text)

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "werkzeug.socket": self.connection,  # lost-response faults reset the connection
        }
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if name == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif name != "CONTENT_LENGTH":
                name = f"HTTP_{name}"
                environ[name] = f"{environ[name]},{value}" if name in environ else value
        return environ


def build_server(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
    return SimulatorServer((host, port), sim)


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
        server.close_connections()
