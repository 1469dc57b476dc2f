"""A real HTTP receiver on a loopback port, scripted answer by answer, that records what SMMS sent it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from crm_bridge import services
from crm_bridge.models import WebhookEndpoint

HOLD = "hold"  # an answer that waits until the test releases it (a slow receiver, a request in flight)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, *answers: Any) -> None:
        """The next answers, in order: a status, (status, body, headers), or HOLD. Then 200 to everything."""
        self.script.extend(answers)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                spec = receiver.script.pop(0) if receiver.script else 200
            receiver.arrived.set()
            if spec == HOLD:
                receiver.release.wait(timeout=30)
                spec = 200
            status, text, headers = spec if isinstance(spec, tuple) else (spec, b'{"ok": true}', {})
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)
            except OSError:  # the client gave up waiting (the timeout test)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/smms"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    receiver.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def endpoint_for(personas):
    """endpoint_for(url, events=..., org=..., is_active=...) → a stored endpoint with a known secret."""

    def make(url: str, events: list[str] | None = None, org=None, **fields: Any) -> WebhookEndpoint:
        return WebhookEndpoint.objects.create(
            organization=org or personas.org,
            url=url,
            events=events or ["alert.opened"],
            secret=f"whsec_test_{WebhookEndpoint.objects.count()}",
            **fields,
        )

    return make


@pytest.fixture
def hooked(endpoint_for, receiver):
    """An active endpoint of the personas' organization, subscribed to alert.opened, at the receiver."""
    return endpoint_for(receiver.url)


@pytest.fixture
def publish(personas, django_capture_on_commit_callbacks, celery_eager):
    """publish(event, data) as the listening app will: inside a transaction; tasks run inline after commit."""

    def run(event: str = "alert.opened", data: dict | None = None, org=None) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return services.event_publish(
                organization_id=(org or personas.org).id, event=event, data=data or {"alert": {"id": 1}}
            )

    return run
