"""A real server on 127.0.0.1 for the tests, in a thread, and a client for it."""

from __future__ import annotations

import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from mouthpiece.serve import create_app
from mouthpiece.serve.server import config


@dataclass
class Server:
    url: str
    token: str | None
    app: Any = None

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, bytes, dict[str, str]]:  # fmt: skip
        headers = dict(headers or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def upload(self, path: str, fields: dict[str, tuple[str, bytes] | str], **options) -> tuple[int, bytes, dict]:
        boundary = secrets.token_hex(8)
        parts = []
        for name, value in fields.items():
            if isinstance(value, tuple):
                filename, data = value
                head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                head += "Content-Type: application/octet-stream\r\n\r\n"
                parts.append(f"--{boundary}\r\n{head}".encode() + data + b"\r\n")
            else:
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.request("POST", path, body=body, headers=headers, **options)


def serve_app(token: str | None, max_upload_mb: float, **options: float) -> Iterator[Server]:
    app = create_app(token=token, max_upload_mb=max_upload_mb, **options)  # type: ignore[arg-type]
    server = uvicorn.Server(config(app, host="127.0.0.1", port=0, quiet=True))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Server(f"http://127.0.0.1:{port}", token, app)
    server.should_exit = True
    thread.join(10)
