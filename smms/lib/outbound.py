"""Outbound HTTP to addresses that our users choose (webhook URLs), with the guard such calls need.

A URL typed by a customer must not become a way to reach the machines next to SMMS (the database, the
cloud's metadata service, an admin panel on the private network). So, unless the caller allows private
addresses, a host is refused when it resolves to anything that is not a global unicast address: once when
the URL is registered (``check_public_host``), and again on the socket actually connected, so a DNS answer
that changes after registration (DNS rebinding) is caught too. Redirects are never followed, proxies from the
environment are ignored, every call has a timeout, and only the first bytes of an answer are read.

No Django here: callers pass the policy in and turn the errors into their own messages.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError


class OutboundError(Exception):
    """The request got no HTTP answer."""


class PrivateAddress(OutboundError):
    """The host resolves to a private, loopback, link-local or otherwise non-public address."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host = host
        self.address = address


class UnknownHost(OutboundError):
    def __init__(self, host: str) -> None:
        super().__init__(f"{host} could not be resolved")
        self.host = host


class Timeout(OutboundError):
    pass


class ConnectFailed(OutboundError):
    pass


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is link-local anyway
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_public_host(host: str, port: int) -> None:
    """Raise unless every address ``host`` resolves to is public (one private answer is enough to refuse)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnknownHost(host) from None
    for info in infos:
        address = str(info[4][0])
        if not address_is_public(address):
            raise PrivateAddress(host, address)


class _Refused(NewConnectionError):
    def __init__(self, conn: Any, refusal: PrivateAddress) -> None:
        super().__init__(conn, str(refusal))
        self.refusal = refusal


class _PublicPeerOnly:
    """Checks the address the socket is connected to, after DNS and before a byte is sent."""

    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        peer = str(sock.getpeername()[0])
        if not address_is_public(peer):
            sock.close()
            raise _Refused(self, PrivateAddress(self.host, peer))
        return sock


class _HTTPConnection(_PublicPeerOnly, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_PublicPeerOnly, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str  # the first bytes of the body, decoded leniently
    location: str  # where a redirect pointed (not followed)


def post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    allow_private: bool,
    excerpt_bytes: int = 2048,
) -> Answer:
    """POST ``body`` once. Any HTTP answer is returned, whatever its status; no answer raises OutboundError."""
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment: the peer we check is the receiver
    if not allow_private:
        adapter = _PublicOnlyAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    try:
        response = session.post(
            url, data=body, headers=dict(headers), timeout=timeout, allow_redirects=False, stream=True
        )
    except requests.Timeout:
        raise Timeout(f"no answer within {timeout:g} seconds") from None
    except requests.ConnectionError as exc:
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, _Refused):
            raise reason.refusal from None
        if isinstance(reason, urllib3.exceptions.NameResolutionError):
            raise UnknownHost(urlsplit(url).hostname or url) from None
        raise ConnectFailed(str(reason or exc)) from None
    except requests.RequestException as exc:
        raise ConnectFailed(str(exc)) from None
    try:
        raw = response.raw.read(excerpt_bytes, decode_content=True) or b""
    except (urllib3.exceptions.HTTPError, OSError):
        raw = b""  # the status line arrived; a body cut short does not change the answer
    finally:
        response.close()
        session.close()
    return Answer(
        status=response.status_code,
        excerpt=_decode(raw, response.encoding),
        location=response.headers.get("Location", ""),
    )


def _decode(raw: bytes, encoding: str | None) -> str:
    try:
        return raw.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset name nobody knows
        return raw.decode("utf-8", errors="replace")
