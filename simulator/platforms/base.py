"""What every simulated platform shares: request parsing, token checks, the OAuth consent page, id makers.

A platform module subclasses PlatformApi, sets ``name``, lists its routes in ``routes()`` and shapes its
errors in ``error()`` and its rate-limit headers in ``rate_limit_headers()``. Handlers take the request and
the URL arguments and return a werkzeug Response; they raise ``ApiError`` to answer with an error.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator.world import SimPost, SimToken, SimUser, TokenProblem, World

if TYPE_CHECKING:
    from simulator.app import Simulator

Handler = Callable[..., Response]


class ApiError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None, **kw: Any) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False),
        status=status,
        headers=headers,
        content_type=kw.get("content_type", "application/json"),
    )


def iso(ts: float, *, millis: bool = True, offset: str = "Z") -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(ts, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if millis:
        text += f".{moment.microsecond // 1000:03d}"
    return text + offset


class PlatformApi:
    name: str = ""
    # Kinds of incoming items the traffic generator may create for this platform.
    incoming_kinds: tuple[str, ...] = ("mention", "reply")
    # The OAuth consent page path under the platform prefix ("" when the platform has no OAuth here).
    authorize_path: str = ""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.world: World = sim.world

    # --- to implement -----------------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, Iterable[str], Handler]]:
        """(path under the platform prefix, methods, handler) triples."""
        raise NotImplementedError

    def error(self, status: int, kind: str, message: str) -> Response:
        """The platform's error body. ``kind``: invalid_token, expired_token, revoked_token, missing_token,
        rate_limited, server_error, not_found, forbidden, validation, duplicate, bad_request."""
        raise NotImplementedError

    def rate_limit_headers(self, limit: int, remaining: int, reset_epoch: float) -> dict[str, str]:
        return {}

    def make_id(self, world: World, post: SimPost) -> str:
        raise NotImplementedError

    def person_id(self, index: int) -> str:
        """The id of the index-th generated author, in the platform's own format."""
        return f"{self.name}-person-{index}"

    def seed(self) -> None:
        """Create this platform's brand accounts (and whatever they own) in the world."""

    def brand_id(self, index: int) -> str:
        """The id of the index-th brand account added with ``add_brands``, in the platform's own format."""
        return f"{self.name}-brand-{index}"

    def add_brands(self, count: int) -> list[SimUser]:
        """``count`` more brand accounts (a big brand runs 178 of them), each connected the way the seeded
        ones are: consent for OAuth networks, handle and app password for Bluesky."""
        with self.world.lock:
            start = sum(1 for u in self.world.brand_users(self.name) if u.extra.get("added"))
            return [
                self.world.add_user(
                    SimUser(
                        platform=self.name, id=self.brand_id(start + i), handle=self.brand_handle(start + i),
                        display_name=f"Lumière {start + i}", followers=1_000 + 37 * (start + i), lang="fr",
                        is_brand=True, password=f"app-pass-{start + i:04d}", extra={"added": True},
                    )
                )
                for i in range(count)
            ]  # fmt: skip

    def brand_handle(self, index: int) -> str:
        return f"lumiere_{index:03d}"

    def mention_text(self, target: SimUser) -> str:
        """How an author addresses the brand in a post on this platform."""
        return f"@{target.handle}"

    # --- shared helpers ---------------------------------------------------------------------------------
    def rules(self) -> list[Rule]:
        out = [
            Rule(f"/{self.name}{path}", methods=list(methods), endpoint=(self, handler))
            for path, methods, handler in self.routes()
        ]
        if self.authorize_path:
            out.append(
                Rule(f"/{self.name}{self.authorize_path}", methods=["GET", "POST"], endpoint=(self, self.consent))
            )
        return out

    def base_url(self, request: Request) -> str:
        return f"{request.host_url.rstrip('/')}/{self.name}"

    @staticmethod
    def params(request: Request) -> MultiDict[str, Any]:
        """Query string, form fields and a JSON object body, merged (the platforms accept each)."""
        merged: MultiDict[str, Any] = MultiDict(request.args)
        if request.mimetype == "application/json":
            body = request.get_json(silent=True)
            if isinstance(body, dict):
                for key, value in body.items():
                    merged.add(key, value)
        else:
            for key, values in request.form.lists():
                for value in values:
                    merged.add(key, value)
        return merged

    @staticmethod
    def bearer(request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.args.get("access_token") or request.form.get("access_token")

    def authenticate(self, request: Request, kind: str = "access") -> SimToken:
        try:
            return self.world.check(self.name, self.bearer(request), kind)
        except TokenProblem as problem:
            raise ApiError(self.token_error(problem.kind)) from None

    def token_error(self, kind: str) -> Response:
        status = 401
        return self.error(
            status, f"{kind}_token" if kind in ("missing", "invalid", "expired", "revoked") else kind, "token refused"
        )

    def fail(self, status: int, kind: str, message: str) -> ApiError:
        return ApiError(self.error(status, kind, message))

    def user_of(self, token: SimToken) -> SimUser:
        user = self.world.user(self.name, token.user_id)
        if user is None:
            raise self.fail(401, "invalid_token", "unknown user")
        return user

    # --- OAuth consent page -------------------------------------------------------------------------------
    def consent(self, request: Request) -> Response:
        """A consent page like the platform's: pick the signed-in user, authorize or deny, back to the app."""
        args = request.args if request.method == "GET" else request.form
        redirect_uri = args.get("redirect_uri", "")
        state = args.get("state", "")
        if not redirect_uri or not args.get("client_id"):
            return Response("missing client_id or redirect_uri", status=400)
        if request.method == "POST":
            if request.form.get("decision") != "allow":
                return self._redirect(redirect_uri, {"error": "access_denied", "state": state})
            user = self.world.user(self.name, request.form.get("user_id", ""))
            if user is None:
                return Response("unknown user", status=400)
            scope_text = args.get("scope", "")
            code = self.world.new_code(
                platform=self.name,
                user_id=user.id,
                client_id=args["client_id"],
                redirect_uri=redirect_uri,
                scopes=tuple(scope_text.replace(",", " ").split()),
                challenge=args.get("code_challenge") or None,
            )
            return self._redirect(redirect_uri, {"code": code.code, "state": state})
        users = self.world.brand_users(self.name) if self.name != "facebook" else self.facebook_people()
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in request.args.items()
        )
        options = "".join(
            f'<option value="{html.escape(u.id)}">{html.escape(u.display_name)} (@{html.escape(u.handle)})</option>'
            for u in users
        )
        title = f"Authorize — {self.name} simulator"
        page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">
<h1>{html.escape(self.name.capitalize())} (simulator)</h1>
<p>The application <strong>{html.escape(args.get("client_id", ""))}</strong> asks for access:
<code>{html.escape(args.get("scope", ""))}</code></p>
<form method="post">{hidden}
<label for="user">Signed in as</label> <select id="user" name="user_id">{options}</select>
<p><button type="submit" name="decision" value="allow">Authorize app</button>
<button type="submit" name="decision" value="deny">Cancel</button></p></form></body></html>"""
        return Response(page, content_type="text/html; charset=utf-8")

    def facebook_people(self) -> list[SimUser]:
        return [u for u in self.world.people(self.name) if u.extra.get("page_admin")]

    @staticmethod
    def _redirect(uri: str, params: dict[str, str]) -> Response:
        separator = "&" if "?" in uri else "?"
        return Response(status=302, headers={"Location": f"{uri}{separator}{urlencode(params)}"})
