"""``WS /v1/stream``: live speech in, Animation frames (and optionally a portrait's video
frames) out, as soon as they are known.

The protocol, in order:

1. The client sends a JSON start message::

       {"type": "start", "fps": 60, "lookahead_ms": 60, "max_lookahead_ms": 140,
        "portrait": null | "sample" | "data:image/png;base64,...", "size": 256, "video_fps": 25,
        "idle": false, "text": null | "what the speech says", "language": "en-us",
        "recognizer": "neural" | "phones"}

   (all optional but ``type``; ``idle`` adds blinks and a calm head drift to the frames;
   ``text`` makes the stream follow the speech through that text, read in ``language``
   (an espeak-ng language or voice; ``voice`` is the same option's older name),
   instead of recognizing phones from the speech alone (see
   :mod:`mouthpiece.phonetics.follow`): for apps that speak text they have; without text,
   ``recognizer`` hears the speech with the learned front end (``neural``, the default,
   any language) or pocketsphinx's English phone loop (``phones``);
   see :mod:`mouthpiece.live` for the lookaheads: a frame
   goes once that much speech past it has arrived, at the earliest and at the latest).
   A server with a token takes it as ``Authorization: Bearer``, as a subprotocol
   ``bearer.<token>`` (the server answers with the other subprotocol offered, e.g.
   ``mouthpiece``), as ``"token"`` in the start message (what browsers, which cannot set
   headers on a WebSocket, should use), or as ``?token=`` (never logged, but kept in
   browser histories: prefer the others).
2. The server answers ``{"type": "ready", "fps", "lookahead_ms", "channels": [...]}``.
3. The client sends its speech as binary messages: 16 kHz mono PCM16 little-endian,
   typically 20-100 ms each (at most 1 s), at the pace it is spoken (a stream that sends
   faster than twice real time, after a head start of a few seconds, is slowed down to
   it; one that leaves more than :data:`MAX_UNREAD` messages unread is closed). A stream started
   with ``text`` may send more of it at any time, ``{"type": "text", "text": "..."}``
   (e.g. a sentence at a time as a TTS engine produces it); it follows what came before.
4. The server sends, as soon as each is known, ``{"type": "frames", "heard": s,
   "frames": [{"index", "time", "viseme", "values": [one weight per channel]}]}``: every
   frame once, in order; with a portrait also binary messages, a video frame each (its
   index as 4 bytes little-endian, then a JPEG).
5. The client sends ``{"type": "end"}``; the server sends the last frames, then
   ``{"type": "end", "frames": n, "duration": s}`` and closes the socket (1000).

A bad message gets ``{"type": "error", "message": ...}`` and the socket closes (1008;
1009 for an oversized chunk); so does a stream silent for the idle timeout (1001). When
all stream slots are taken the server closes at once with 1013 (try again later).

Streams are animated in worker processes (:mod:`.live_worker`), least busy first.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import secrets
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from ..api import SAMPLE_PORTRAIT
from ..errors import InputError
from ..live import DEFAULT_LOOKAHEAD, DEFAULT_MAX_LOOKAHEAD, DEFAULT_RECOGNIZER, LIVE_RECOGNIZERS
from ..phonetics.ahead import child_environment
from ..phonetics.espeak import check_voice_name
from ..vocabulary import CHANNELS
from ..workers import encode_message
from .live_worker import CHILD, receive_message

SAMPLE_RATE = 16_000
MAX_CHUNK_BYTES = 2 * SAMPLE_RATE  # one second of PCM16
MAX_TEXT_CHARACTERS = 10_000  # of one text message (or the start's text)
DEFAULT_IDLE_TIMEOUT = 30.0  # s a stream may stay silent
DEFAULT_MAX_STREAMS = 40
PACE = 2.0  # how many times faster than real time a stream may send its speech, on average
HEAD_START = 3.0  # s of speech a stream may send ahead of that pace
MAX_UNREAD = 500  # messages waiting for a client that does not read them (~8 s of frames at 60 fps)
START_TIMEOUT = 10.0  # s a client has to send its start message
FAREWELL_TIMEOUT = 2.0  # s the error and close messages may take to leave
WORKER_STOPPED = "The stream's worker process stopped."
TOKEN_SUBPROTOCOL = "bearer."


class StreamError(Exception):
    """A client's mistake: the sentence goes to the client, then the socket closes."""

    def __init__(self, message: str, code: int = 1008):
        super().__init__(message)
        self.code = code


@dataclass
class _Worker:
    process: asyncio.subprocess.Process
    streams: dict[str, asyncio.Queue[tuple[str, Any]]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        """Whether it can take a stream: its replies still come. (A killed process's return
        code is known only once the event loop has reaped it, which on a busy core comes
        after its reader has seen the pipe close; a stream given to it then waited forever.)"""
        return self.process.returncode is None and (self.reader is None or not self.reader.done())

    async def retire(self) -> None:
        """Stop the process if it still runs, and reap it."""
        with suppress(ProcessLookupError):
            self.process.kill()
        await self.process.wait()


class StreamWorkers:
    """The worker processes of a server's live streams (start them in the server's lifespan)."""

    def __init__(self, count: int, *, max_streams: int = DEFAULT_MAX_STREAMS):
        self.count, self.max_streams = count, max_streams
        self._workers: list[_Worker] = []

    @property
    def open_streams(self) -> int:
        return sum(len(w.streams) for w in self._workers)

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return [w.process.pid for w in self._workers]

    async def start(self) -> None:
        self._workers = [await self._spawn() for _ in range(self.count)]

    async def stop(self) -> None:
        for worker in self._workers:
            for queue in worker.streams.values():
                queue.put_nowait(("error", "The server is shutting down."))
            if worker.process.stdin is not None:
                worker.process.stdin.close()
            await worker.retire()
            if worker.reader is not None:
                worker.reader.cancel()
        self._workers = []

    async def open(self, options: dict[str, Any]) -> LiveStream:
        """A new stream on the least busy worker; StreamError (1013) when all slots are taken,
        (1008) when its options are refused (a portrait without a face, say)."""
        if self.open_streams >= self.max_streams:
            raise StreamError(
                f"The server is animating its limit of {self.max_streams} streams; try again later.", 1013
            )
        index = min(range(len(self._workers)), key=lambda i: len(self._workers[i].streams))
        if not self._workers[index].alive:  # it died: replace it
            await self._workers[index].retire()
            self._workers[index] = await self._spawn()
        worker = self._workers[index]
        stream = LiveStream(worker, secrets.token_hex(8))
        worker.streams[stream.id] = stream.queue
        await stream.send("open", options)
        kind, payload = await stream.queue.get()
        if kind != "ready":
            worker.streams.pop(stream.id, None)
            raise StreamError(payload)
        return stream

    async def _spawn(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=child_environment(), limit=2**24,
        )  # fmt: skip
        worker = _Worker(process)
        worker.reader = asyncio.create_task(_read_replies(worker))
        return worker


class LiveStream:
    """One client's stream in a worker: send it audio, read its replies from ``queue``."""

    def __init__(self, worker: _Worker, stream_id: str):
        self.id, self._worker = stream_id, worker
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def send(self, op: str, payload: Any = None) -> None:
        stdin = self._worker.process.stdin
        if stdin is None or stdin.is_closing():
            raise StreamError(WORKER_STOPPED, 1011)
        try:
            stdin.write(encode_message((op, self.id, payload)))
            await stdin.drain()
        except ConnectionError:  # the worker died between two messages
            raise StreamError(WORKER_STOPPED, 1011) from None

    async def close(self) -> None:
        if self._worker.streams.pop(self.id, None) is not None:
            with suppress(StreamError, ConnectionError):
                await self.send("close")

    def forget(self) -> None:
        self._worker.streams.pop(self.id, None)


async def _read_replies(worker: _Worker) -> None:
    stdout = worker.process.stdout
    assert stdout is not None
    try:
        while True:
            sid, kind, payload = await receive_message(stdout)
            queue = worker.streams.get(sid)
            if queue is not None:
                queue.put_nowait((kind, payload))
    except (asyncio.IncompleteReadError, ConnectionError):
        for queue in worker.streams.values():
            queue.put_nowait(("error", WORKER_STOPPED))
        worker.streams.clear()


async def serve_stream(
    ws: WebSocket, workers: StreamWorkers, *, token: str | None, folder: Path, idle_timeout: float, max_bytes: int
) -> None:
    """Run one client's stream (see the module's protocol)."""
    given, subprotocol = _offered_token(ws)
    if token is not None and given is not None and not _same(given, token):
        await ws.send_denial_response(JSONResponse({"detail": "Wrong bearer token."}, status_code=401))
        return
    await ws.accept(subprotocol=subprotocol)
    stream: LiveStream | None = None
    sender: asyncio.Task[None] | None = None
    try:
        options = await _start_options(ws, folder, min(idle_timeout, START_TIMEOUT), max_bytes,
                                       token=token if given is None else None)  # fmt: skip
        try:
            stream = await workers.open(options)
        finally:
            if options["portrait"] and Path(options["portrait"]).parent == folder:  # an upload: read by now
                Path(options["portrait"]).unlink(missing_ok=True)
        ready = {
            "type": "ready",
            "fps": options["fps"],
            "lookahead_ms": options["lookahead"] * 1000,
            "max_lookahead_ms": options["max_lookahead"] * 1000,
            "channels": list(CHANNELS),
            "video_fps": options["video_fps"] if options["portrait"] else None,
        }
        await ws.send_json(ready)
        sender = asyncio.create_task(_forward(stream, ws))
        await _receive_speech(ws, stream, sender, idle_timeout, with_text=options["text"] is not None)
    except StreamError as e:
        with suppress(Exception):  # a client that reads nothing would hold this for ever
            await asyncio.wait_for(_send_error(ws, e), FAREWELL_TIMEOUT)
    except WebSocketDisconnect:
        pass
    finally:
        if sender is not None:
            if sender.done():
                _ = sender.cancelled() or sender.exception()  # its client left: nothing to report
            else:
                sender.cancel()
        if stream is not None:
            await stream.close()


async def _send_error(ws: WebSocket, error: StreamError) -> None:
    await ws.send_json({"type": "error", "message": str(error)})
    await ws.close(code=error.code, reason=str(error)[:120])


async def _start_options(
    ws: WebSocket, folder: Path, timeout: float, max_bytes: int, *, token: str | None
) -> dict[str, Any]:
    """The start message's options; ``token``, when given, must be the message's ``"token"``."""
    message = await _next_message(ws, timeout)
    if message.get("text") is None:
        raise StreamError("Send a JSON start message first, then the audio.")
    start = _json(message["text"])
    if token is not None and not (isinstance(start.get("token"), str) and _same(start["token"], token)):
        raise StreamError("Missing or wrong bearer token.")
    if start.get("type") != "start":
        raise StreamError('The first message must be {"type": "start", ...}.')
    fps = _number(start, "fps", 60.0, 1, 240)
    lookahead = _number(start, "lookahead_ms", DEFAULT_LOOKAHEAD * 1000, 0, 2000) / 1000
    max_lookahead = _number(start, "max_lookahead_ms", max(lookahead, DEFAULT_MAX_LOOKAHEAD) * 1000, 0, 2000) / 1000
    if max_lookahead < lookahead:
        raise StreamError('"max_lookahead_ms" must be at least "lookahead_ms".')
    size = int(_number(start, "size", 256, 64, 1024)) // 2 * 2
    video_fps = _number(start, "video_fps", 25.0, 1, 60)
    portrait = start.get("portrait")
    idle = start.get("idle", False)
    if not isinstance(idle, bool):
        raise StreamError('"idle" must be true or false.')
    text, voice = start.get("text"), start.get("language", start.get("voice", "en-us"))
    if text is not None:
        _check_text(text)
    recognizer = start.get("recognizer", DEFAULT_RECOGNIZER)
    if not isinstance(recognizer, str) or recognizer not in LIVE_RECOGNIZERS:
        raise StreamError(f'"recognizer" must be one of {", ".join(map(repr, LIVE_RECOGNIZERS))}.')
    try:
        voice = check_voice_name(voice)
    except InputError as e:
        raise StreamError(f'"language": {e}') from None
    options: dict[str, Any] = {"fps": fps, "lookahead": lookahead, "max_lookahead": max_lookahead, "size": size,
                               "video_fps": video_fps, "portrait": None, "idle": idle, "text": text,
                               "voice": voice, "recognizer": recognizer}  # fmt: skip
    if portrait == "sample":
        options["portrait"] = SAMPLE_PORTRAIT
    elif isinstance(portrait, str) and portrait.startswith("data:image/"):
        try:
            image = base64.b64decode(portrait.partition(",")[2], validate=True)
        except (binascii.Error, ValueError):
            raise StreamError("The portrait is not valid base64 image data.") from None
        if len(image) > max_bytes:
            raise StreamError(f"The portrait is larger than the server's limit of {max_bytes / 2**20:g} MB.", 1009)
        path = folder / secrets.token_hex(16)
        path.write_bytes(image)
        options["portrait"] = str(path)
    elif portrait is not None:
        raise StreamError('"portrait" must be null, "sample" or a data:image/... URL.')
    return options


def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise StreamError('"text" must be a string.')
    if len(text) > MAX_TEXT_CHARACTERS:
        raise StreamError(f"A text may have at most {MAX_TEXT_CHARACTERS} characters; send it in parts.", 1009)


async def _receive_speech(
    ws: WebSocket, stream: LiveStream, sender: asyncio.Task[None], idle_timeout: float, *, with_text: bool
) -> None:
    began, heard = time.monotonic(), 0.0
    while True:
        message = await _next_message(ws, idle_timeout, sender)
        if stream.queue.qsize() > MAX_UNREAD:
            raise StreamError(f"The client left {MAX_UNREAD} messages unread; a stream must read its frames.")
        if message.get("bytes") is not None:
            chunk = message["bytes"]
            if len(chunk) % 2 or not chunk:
                raise StreamError("Audio messages must hold 16-bit samples: an even, non-zero number of bytes.")
            if len(chunk) > MAX_CHUNK_BYTES:
                raise StreamError("An audio message may hold at most one second of speech.", 1009)
            heard += len(chunk) / (2 * SAMPLE_RATE)
            ahead = (heard - HEAD_START) / PACE - (time.monotonic() - began)
            if ahead > 0:  # faster than the pace: the client waits (its socket fills up) until it is not
                await asyncio.sleep(ahead)
            await stream.send("audio", chunk)
            continue
        request = _json(message.get("text") or "")
        if request.get("type") == "end":
            await stream.send("end")
            await sender  # the last frames, then the end message
            stream.forget()
            await ws.close(code=1000)
            return
        if request.get("type") == "text":
            if not with_text:
                raise StreamError('Text may be sent only on a stream started with "text".')
            _check_text(request.get("text"))
            await stream.send("text", request["text"])
            continue
        raise StreamError(f'Unknown message type {request.get("type")!r}; send audio bytes or {{"type": "end"}}.')


async def _next_message(ws: WebSocket, idle_timeout: float, sender: asyncio.Task[None] | None = None) -> Any:
    if sender is not None and sender.done():  # the worker ended the stream (an error was sent)
        raise WebSocketDisconnect(1011)
    try:
        message = await asyncio.wait_for(ws.receive(), idle_timeout)
    except asyncio.TimeoutError:
        raise StreamError(f"The stream sent nothing for {idle_timeout:g} s.", 1001) from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return message


async def _forward(stream: LiveStream, ws: WebSocket) -> None:
    while True:
        kind, payload = await stream.queue.get()
        if kind == "frames" or kind == "done":
            await ws.send_text(payload)
            if kind == "done":
                return
        elif kind == "image":
            await ws.send_bytes(payload)
        elif kind == "error":
            stream.forget()
            await ws.send_json({"type": "error", "message": payload})
            await ws.close(code=1011, reason=payload[:120])
            return


def _offered_token(ws: WebSocket) -> tuple[str | None, str | None]:
    """The token the handshake offers (header, ``bearer.`` subprotocol or query), if any, and
    the subprotocol to answer with."""
    scheme, _, given = ws.headers.get("authorization", "").partition(" ")
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    others = [p for p in offered if not p.startswith(TOKEN_SUBPROTOCOL)]
    subprotocol = others[0] if others else None
    if scheme.lower() == "bearer" and given.strip():
        return given.strip(), subprotocol
    for protocol in offered:
        if protocol.startswith(TOKEN_SUBPROTOCOL):
            return protocol[len(TOKEN_SUBPROTOCOL) :], subprotocol
    return ws.query_params.get("token"), subprotocol


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # bad syntax, deep nesting, an integer past 4300 digits
        raise StreamError("Text messages must be JSON objects.") from None
    if not isinstance(value, dict):
        raise StreamError("Text messages must be JSON objects.")
    return value


def _number(start: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = start.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise StreamError(f'"{key}" must be a number from {low:g} to {high:g}.')
    return float(value)
