"""The simulator's WSGI application: routes every platform under its own prefix (``/x``, ``/facebook``,
``/instagram``, ``/mastodon``, ``/bluesky``), applies faults and rate limits around each call, and serves
the admin API under ``/_sim`` (faults, clock, token revocation, traffic, inspection)."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .faults import FaultPlan
from .platforms import platform_classes
from .platforms.base import ApiError, PlatformApi, json_response
from .world import PLATFORMS, World

log = logging.getLogger("simulator")
WRITE_METHODS = {"POST", "PUT", "DELETE", "PATCH"}


class Simulator:
    def __init__(self, seed: int = 42, faults: list[dict[str, Any]] | None = None) -> None:
        self.seed = seed
        self.world = World(seed)
        self.faults = FaultPlan(seed, faults)
        self.lost_delay = 30.0  # seconds a "timeout" lost response keeps the client waiting
        self.apis: dict[str, PlatformApi] = {name: cls(self) for name, cls in platform_classes().items()}
        for name, api in self.apis.items():
            self.world.id_makers[name] = api.make_id
        rules: list[Rule] = [
            Rule(f"/_sim/{path}", methods=methods, endpoint=("admin", handler))
            for path, methods, handler in self._admin_routes()
        ]
        for api in self.apis.values():
            rules.extend(api.rules())
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)
        self._windows: dict[tuple[str, str, str], list[float]] = {}
        self._window_lock = threading.Lock()
        from .traffic import TrafficGenerator

        self.traffic = TrafficGenerator(self)
        for api in self.apis.values():
            api.seed()
        self.traffic.seed_population()

    # --- WSGI ---------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            rule, args = adapter.match(return_rule=True)
            owner, handler = rule.endpoint
        except NotFound:
            return json_response({"error": f"no such endpoint: {request.method} {request.path}"}, 404)
        except MethodNotAllowed:
            return json_response({"error": f"method not allowed: {request.method} {request.path}"}, 405)
        except HTTPException as exc:  # redirects for trailing slashes and the like
            return exc.get_response(request.environ)  # type: ignore[return-value]
        if owner == "admin":
            try:
                return handler(request, **args)  # type: ignore[no-any-return]
            except (ValueError, KeyError, TypeError) as exc:
                return json_response({"error": str(exc)}, 400)
        return self._platform_call(owner, handler, request, args, rule.rule)

    def _platform_call(
        self, api: PlatformApi, handler: Any, request: Request, args: dict[str, Any], rule: str
    ) -> Response:
        method, path = request.method, request.path
        fault = self.faults.pick(api.name, method, path, {"latency", "error", "rate_limit", "revoke"})
        if fault is not None and fault.kind == "latency":
            time.sleep(fault.ms / 1000)
            fault = self.faults.pick(api.name, method, path, {"error", "rate_limit", "revoke"})
        if fault is not None and fault.kind == "error":
            return api.error(fault.status, "server_error", "Internal error (injected)")
        if fault is not None and fault.kind == "rate_limit":
            reset = time.time() + fault.retry_after
            response = api.error(429, "rate_limited", "Too Many Requests")
            response.headers.update(api.rate_limit_headers(0, 0, reset))
            response.headers["Retry-After"] = str(fault.retry_after)
            return response
        if fault is not None and fault.kind == "revoke":
            token = api.bearer(request)
            if token:
                self.world.revoke(value=token)
        limit_headers, over = self._rate_limit(api, request, rule)
        if over:
            response = api.error(429, "rate_limited", "Too Many Requests")
            response.headers.update(limit_headers)
            return response
        try:
            response = handler(request, **args)
        except ApiError as exc:
            response = exc.response
        except Exception:
            log.exception("simulator handler failed: %s %s", method, path)
            response = api.error(500, "server_error", "Internal error")
        response.headers.update(limit_headers)
        if response.status_code < 400:
            post_fault = self.faults.pick(api.name, method, path, {"malformed", "lost"})
            if post_fault is not None and post_fault.kind == "malformed":
                return Response('{"data": [{"id": ', status=response.status_code, content_type="application/json")
            if post_fault is not None and post_fault.kind == "lost" and method in WRITE_METHODS:
                return self._lose(request, response, post_fault.mode)
        return response

    def _lose(self, request: Request, response: Response, mode: str) -> Response:
        """The write is applied; the client never gets its answer."""
        if mode == "timeout":
            time.sleep(self.lost_delay)
            return response
        sock = request.environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            try:  # RST instead of FIN: the client sees "connection reset by peer"
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        return Response(b"", status=500)

    def _rate_limit(self, api: PlatformApi, request: Request, rule: str) -> tuple[dict[str, str], bool]:
        limit, window = self.world.rate_limits[api.name]
        who = api.bearer(request) or request.remote_addr or "anon"
        key = (api.name, who, f"{request.method} {rule}")
        now = time.time()
        with self._window_lock:
            start_count = self._windows.get(key)
            if start_count is None or now - start_count[0] >= window:
                start_count = [now, 0]
                self._windows[key] = start_count
            start_count[1] += 1
            used = int(start_count[1])
            reset = start_count[0] + window
        remaining = max(0, limit - used)
        return api.rate_limit_headers(limit, remaining, reset), used > limit

    # --- admin API ---------------------------------------------------------------------------------------
    def _admin_routes(self) -> list[tuple[str, list[str], Any]]:
        return [
            ("health", ["GET"], self.admin_health),
            ("config", ["GET", "POST"], self.admin_config),
            ("faults", ["GET", "POST", "PUT", "DELETE"], self.admin_faults),
            ("clock", ["POST"], self.admin_clock),
            ("tokens/revoke", ["POST"], self.admin_revoke),
            ("tokens/expire", ["POST"], self.admin_expire),
            ("users", ["GET"], self.admin_users),
            ("posts", ["GET"], self.admin_posts),
            ("generate", ["POST"], self.admin_generate),
            ("brands", ["POST"], self.admin_brands),
            ("traffic", ["GET", "POST", "DELETE"], self.admin_traffic),
            ("scenario", ["POST"], self.admin_scenario),
        ]

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}

    def admin_health(self, request: Request) -> Response:
        return json_response({"ok": True, **self.world.summary(), "faults": self.faults.describe()})

    def admin_config(self, request: Request) -> Response:
        if request.method == "POST":
            body = self._body(request)
            for platform, values in body.get("ttl", {}).items():
                self.world.ttl[platform].update(values)
            for platform, (limit, window) in body.get("rate_limits", {}).items():
                self.world.rate_limits[platform] = (int(limit), int(window))
            if "lost_delay" in body:
                self.lost_delay = float(body["lost_delay"])
            if body.get("reset_rate_windows"):
                with self._window_lock:
                    self._windows.clear()
        return json_response(
            {"ttl": self.world.ttl, "rate_limits": self.world.rate_limits, "lost_delay": self.lost_delay}
        )

    def admin_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.replace([])
        elif request.method in ("POST", "PUT"):
            body = request.get_json(silent=True)
            rules = body.get("rules", []) if isinstance(body, dict) else body
            (self.faults.replace if request.method == "PUT" else self.faults.add)(rules or [])
        return json_response(self.faults.describe())

    def admin_clock(self, request: Request) -> Response:
        self.world.clock_offset += float(self._body(request).get("advance", 0))
        return json_response({"offset": self.world.clock_offset, "now": self.world.now()})

    def admin_revoke(self, request: Request) -> Response:
        body = self._body(request)
        count = self.world.revoke(value=body.get("token"), platform=body.get("platform"), user_id=body.get("user_id"))
        return json_response({"revoked": count})

    def admin_expire(self, request: Request) -> Response:
        body = self._body(request)
        count = self.world.expire(platform=body["platform"], user_id=body.get("user_id"), value=body.get("token"))
        return json_response({"expired": count})

    def admin_users(self, request: Request) -> Response:
        platform = request.args.get("platform")
        brand = request.args.get("brand") in ("1", "true")
        users = [
            {**u.__dict__}
            for (p, _), u in self.world.users.items()
            if (platform is None or p == platform) and (not brand or u.is_brand or u.extra.get("page_admin"))
        ]
        return json_response({"users": users})

    def admin_posts(self, request: Request) -> Response:
        platform = request.args["platform"]
        author = request.args.get("author")
        kind = request.args.get("kind")
        posts = [
            # with what each attached media item was stored as (type, size, alt text, Meta's image_url)
            {**p.__dict__, "media": [self.world.media.get((platform, m), {}) for m in p.media_ids]}
            for p in self.world.iter_posts(platform, newest_first=False)
            if (author is None or p.author_id == author) and (kind is None or p.kind == kind)
        ]
        return json_response({"posts": posts, "count": len(posts)})

    def admin_brands(self, request: Request) -> Response:
        """``{"platform": "mastodon", "count": 40}``: more brand accounts, for benchmarks at a big brand's scale."""
        body = self._body(request)
        api = self.apis.get(str(body.get("platform")))
        if api is None or api.name in ("facebook", "instagram"):
            return json_response({"error": "platform must be x, mastodon or bluesky"}, 400)
        created = api.add_brands(max(0, min(int(body.get("count", 1)), 1000)))
        return json_response({"users": [{"id": u.id, "handle": u.handle, "password": u.password} for u in created]})

    def admin_generate(self, request: Request) -> Response:
        created = self.traffic.generate(**self._body(request))
        return json_response({"created": len(created), "ids": [p.id for p in created][:1000]})

    def admin_traffic(self, request: Request) -> Response:
        if request.method == "POST":
            self.traffic.start(**self._body(request))
        elif request.method == "DELETE":
            self.traffic.stop()
        return json_response(self.traffic.status())

    def admin_scenario(self, request: Request) -> Response:
        return json_response(self.traffic.scenario(**self._body(request)))


def from_environment() -> Simulator:
    """Build a simulator from SIM_SEED and SIM_FAULTS (a JSON list of fault rules)."""
    seed = int(os.environ.get("SIM_SEED", "42"))
    faults = json.loads(os.environ.get("SIM_FAULTS", "[]") or "[]")
    return Simulator(seed=seed, faults=faults)


__all__ = ["PLATFORMS", "Simulator", "from_environment"]
