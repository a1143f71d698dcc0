"""The checks every request passes before a route sees it: who may call, how much it may send,
how long it may take.

:class:`Guard` is plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, whose
``call_next`` keeps running a route after its caller gave up, so a timeout could not
stop the work):

- **Browsers.** Without a token, a web page from another origin must not drive the
  server (it would, by a forged form post or a WebSocket) and a DNS name that merely
  resolves to this machine must not reach it (DNS rebinding): a request whose ``Host``
  is neither an IP address, ``localhost``, nor an allowed host, or whose ``Origin`` is
  neither the server's own nor an allowed one, gets 403 (a WebSocket is closed, 1008).
  With a token, the token decides (a page elsewhere does not know it).
- **The token**, ``Authorization: Bearer <token>`` (the scheme in any case), on every
  HTTP route but the open ones; a WebSocket checks its own (:mod:`.streams`).
- **Bodies** are refused with 413 as soon as they pass the limit: at once when
  ``Content-Length`` says so, else when the bytes read pass it, without reading the rest.
  JSON bodies have a limit of their own, far below an upload's.
- **Time.** An HTTP request that takes longer than the request timeout is cancelled
  (with the work it started in a worker process) and answered 408.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_BODY_LIMIT = 1 << 20  # bytes of a JSON request body
LOCAL_NAMES = frozenset({"localhost"})


class _BodyTooLarge(HTTPException):
    """Raised from ``receive``: FastAPI passes an HTTPException from body parsing on as it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit), {"connection": "close"})


class Guard:
    """Wraps the application; see the module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        open_paths: tuple[str, ...],
        body_limit: int,
        request_timeout: float,
        allowed_origins: tuple[str, ...] = (),
        allowed_hosts: tuple[str, ...] = (),
    ) -> None:
        self.app, self.token, self.open_paths = app, token, open_paths
        self.body_limit, self.request_timeout = body_limit, request_timeout
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)

    @property
    def state(self) -> Any:
        """The wrapped application's state (its workers and folder)."""
        return getattr(self.app, "state", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self._browser_refusal(headers)
        if refusal is not None:
            if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": 1008, "reason": refusal})
            else:
                await _respond(send, 403, refusal, prefix=scope["type"] + ".http" * (scope["type"] == "websocket"))
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        if self.token is not None and scope["path"] not in self.open_paths and not self._authorized(headers):
            await _respond(send, 401, "Missing or wrong bearer token.", {"www-authenticate": "Bearer"})
            return
        limit = JSON_BODY_LIMIT if headers.get("content-type", "").startswith("application/json") else self.body_limit
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _respond(send, 413, _too_large(limit), {"connection": "close"})
            return
        await self._run(scope, _counted(receive, limit), send, limit)

    async def _run(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracked), self.request_timeout)
        except asyncio.TimeoutError:
            if not started:
                await _respond(send, 408, f"The request took longer than {self.request_timeout:g} s.")
        except _BodyTooLarge:
            if not started:
                await _respond(send, 413, _too_large(limit), {"connection": "close"})

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        assert self.token is not None
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    def _browser_refusal(self, headers: dict[str, str]) -> str | None:
        """Why a request that may come from a browser is refused, or None."""
        if self.token is not None:
            return None
        host = headers.get("host", "")
        hostname = (urlsplit(f"//{host}").hostname or "").lower()
        if not _is_ip(hostname) and hostname not in LOCAL_NAMES and hostname not in self.allowed_hosts:
            return f"Host {host!r} is not this server's; mouthpiece serve --allow-host admits a name."
        origin = headers.get("origin")
        if origin is None or origin.rstrip("/").lower() in self.allowed_origins:
            return None
        parts = urlsplit(origin)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc.lower() == host.lower():
            return None
        return f"Requests from {origin!r} are not allowed; mouthpiece serve --allow-origin admits an origin."


def _is_ip(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def _counted(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge(limit)
        return message

    return counted


def _too_large(limit: int) -> str:
    return f"The request body is larger than the server's limit of {limit / 2**20:g} MB."


async def _respond(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None, *, prefix: str = "http"
) -> None:
    """A JSON answer ``{"detail": ...}``; a WebSocket handshake's (``prefix`` ``websocket.http``) too."""
    body = json.dumps({"detail": detail}).encode()
    fields = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    fields += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": f"{prefix}.response.start", "status": status, "headers": fields})
    await send({"type": f"{prefix}.response.body", "body": body})
