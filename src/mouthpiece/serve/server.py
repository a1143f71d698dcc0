"""Serving the application with uvicorn, hardened against slow and careless clients.

- A connection must send a request's headers within :data:`HEADER_TIMEOUT` seconds of
  opening (or of its last response): a client that trickles one byte a second is cut off
  instead of holding a connection for ever. uvicorn has no such limit of its own.
- At most :data:`MAX_CONNECTIONS` connections and tasks at once; past that, 503.
- Shutdown waits at most :data:`GRACE` seconds for open requests (workers are killed).
- A WebSocket whose client stopped reading is dropped once its stream ends (or its
  keepalive ping times out): uvicorn would close it politely, which waits for the client
  to read what is queued, for ever.
- The access log never shows a token given as ``?token=``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

HEADER_TIMEOUT = 10.0  # s
MAX_CONNECTIONS = 256
GRACE = 3  # s
_TOKEN = re.compile(r"(token=)[^&\s\"']*")


class _HeadersInTime(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing connections whose request headers are late."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._expect_headers()

    def _expect_headers(self) -> None:
        waiting_after = self.cycle

        def late() -> None:
            # still no new request, and not upgraded to a WebSocket (which has its own protocol)
            transport = self.transport
            if self.cycle is waiting_after and transport.get_protocol() is self and not transport.is_closing():
                transport.close()

        self.loop.call_later(HEADER_TIMEOUT, late)


class _WebSocketsLetGo(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, dropping connections whose writes are stuck."""

    async def run_asgi(self) -> None:
        await super().run_asgi()
        if not self.writable.is_set():  # the client reads nothing: what is queued would never leave
            self.transport.abort()

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        self.transport.abort()


class _NoTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        record.msg = _TOKEN.sub(r"\1***", record.msg) if isinstance(record.msg, str) else record.msg
        return True


def config(app: Any, *, host: str, port: int, quiet: bool = False) -> uvicorn.Config:
    """uvicorn's configuration for serving ``app`` as described above."""
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTokens) for f in logger.filters):
            logger.addFilter(_NoTokens())
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning" if quiet else "info", http=_HeadersInTime, ws=_WebSocketsLetGo,
        limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=GRACE, lifespan="on",
    )  # fmt: skip


def run(app: Any, *, host: str, port: int, quiet: bool = False) -> None:
    """Serve ``app`` until SIGINT or SIGTERM."""
    uvicorn.Server(config(app, host=host, port=port, quiet=quiet)).run()
