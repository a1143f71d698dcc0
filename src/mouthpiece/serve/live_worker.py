"""A process that animates live streams for the server: :class:`~mouthpiece.live.LiveAnimator`
per stream, and optionally a portrait's frames as JPEG.

pocketsphinx holds Python's GIL while it decodes, so streams are animated in processes of
their own (a plain ``python -c`` child, as in :mod:`mouthpiece.phonetics.ahead`), and the
server's process only moves messages. Each child serves many streams, one message at a
time, in order.

Messages are length-prefixed pickles (:func:`encode_message`; read by ``_Inbox`` here and
:func:`receive_message` in the server). In:
``(op, stream, payload)`` with op ``open`` (payload: the options), ``audio`` (PCM16 bytes),
``text`` (more of what the speech says), ``end`` or ``close``. Out: ``(stream, kind,
payload)`` where kind is ``ready``, ``frames`` (the JSON text of a frames message),
``image`` (a binary message: the frame index as 4 bytes little-endian, then a JPEG),
``done`` (the JSON text of the end message) or
``error`` (a sentence; the stream is over).
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import select
import sys
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

import numpy as np

from ..errors import InputError, NoFaceError
from ..live import DEFAULT_RECOGNIZER, LiveAnimator, LiveFrames
from ..motion import LiveIdle
from ..timebase import frames_to_time, time_to_frames
from ..vocabulary import CHANNELS
from ..workers import HEADER, write_message

CHILD = "from mouthpiece.serve.live_worker import serve; serve()"
JPEG_QUALITY = 80
SLICE = 0.02  # s of work a stream's turn may start more of
BLOCK_BYTES = 3200  # of PCM16 audio heard at once in a turn: 0.1 s


async def receive_message(reader: asyncio.StreamReader) -> Any:
    """The next message from a worker's output (IncompleteReadError at its end)."""
    header = await reader.readexactly(HEADER.size)
    return pickle.loads(await reader.readexactly(HEADER.unpack(header)[0]))


@dataclass
class _Stream:
    animator: LiveAnimator
    idle: LiveIdle | None = None  # blinks and head drift added to the frames
    portrait: Any = None  # a PortraitRenderer, or None
    video_fps: float = 25.0
    next_image: int = 0
    sent: int = 0


def serve() -> None:
    """The worker process's loop: messages in on stdin, replies out on stdout.

    Streams take turns: each turn gives one stream at most :data:`SLICE` seconds of work
    (its waiting audio, heard as one block of at most :data:`BLOCK_SECONDS`), so a stream
    that sends faster than it is spoken, or whose portrait costs more, delays the others
    by one turn at most. A stream's chunks that came together are heard as one block:
    a worker that falls behind does less work per chunk and catches up, instead of
    falling further behind."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write to the message pipe
    _warm()
    streams: dict[str, _Stream] = {}
    waiting: dict[str, deque[Any]] = {}  # each stream's messages not yet handled, in order
    turns: deque[str] = deque()  # streams with messages waiting, in the order they get turns
    inbox = _Inbox(sys.stdin.buffer.fileno())
    while (batch := inbox.take(wait=not turns)) is not None:
        for op, sid, payload in batch:
            if sid not in waiting:
                waiting[sid] = deque()
                turns.append(sid)
            waiting[sid].extend(_pieces(op, sid, payload))
        if not turns:
            continue
        sid = turns.popleft()
        queue, ends = waiting[sid], time.perf_counter() + SLICE
        while queue and time.perf_counter() < ends:
            op, _, payload = queue.popleft()
            if op == "audio":
                while queue and queue[0][0] == "audio" and len(payload) < BLOCK_BYTES:
                    payload += queue.popleft()[2]
            _run(streams, out, op, sid, payload)
        if queue:
            turns.append(sid)
        else:
            del waiting[sid]


def _run(streams: dict[str, _Stream], out: BinaryIO, op: str, sid: str, payload: Any) -> None:
    """Handle one message, writing its replies; one stream's failure ends that stream, not the others."""
    try:
        for reply in _handle(streams, op, sid, payload):
            write_message(out, reply)
    except Exception as e:
        stream = streams.pop(sid, None)
        if stream is not None:
            stream.animator.close()
        sentence = str(e) if isinstance(e, InputError) else f"The stream failed: {type(e).__name__}: {e}"
        write_message(out, (sid, "error", sentence))


def _pieces(op: str, sid: str, payload: Any) -> list[Any]:
    """A message as the worker queues it: audio in pieces of at most ``BLOCK_BYTES``.

    >>> [len(p[2]) for p in _pieces("audio", "a", bytes(7000))], _pieces("end", "a", None)
    ([3200, 3200, 600], [('end', 'a', None)])
    """
    if op != "audio":
        return [(op, sid, payload)]
    return [(op, sid, payload[i : i + BLOCK_BYTES]) for i in range(0, len(payload), BLOCK_BYTES)]


class _Inbox:
    """Messages from a pipe: :meth:`take` waits for at least one, then returns all that have arrived."""

    def __init__(self, fd: int) -> None:
        self._fd, self._buffer = fd, bytearray()

    def take(self, *, wait: bool = True) -> list[Any] | None:
        """The messages that have arrived (with ``wait``, at least one), or None at the end of the input."""
        messages = self._parse()
        while not messages and wait:
            data = os.read(self._fd, 1 << 20)
            if not data:
                return None
            self._buffer += data
            messages = self._parse()
        while select.select([self._fd], [], [], 0)[0]:  # and whatever else is already there
            data = os.read(self._fd, 1 << 20)
            if not data:
                break
            self._buffer += data
            messages += self._parse()
        return messages

    def _parse(self) -> list[Any]:
        messages = []
        while len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            if len(self._buffer) < HEADER.size + length:
                break
            messages.append(pickle.loads(bytes(self._buffer[HEADER.size : HEADER.size + length])))
            del self._buffer[: HEADER.size + length]
        return messages


def _handle(streams: dict[str, _Stream], op: str, sid: str, payload: Any) -> list[tuple[str, str, Any]]:
    if op == "open":
        streams[sid] = _open(payload)
        return [(sid, "ready", None)]
    stream = streams.get(sid)
    if stream is None:
        return []
    if op == "audio":
        samples = np.frombuffer(payload, "<i2").astype(np.float32) / 32768.0
        return _replies(sid, stream, stream.animator.hear(samples))
    if op == "text":
        stream.animator.add_text(payload)
        return []
    if op == "end":
        del streams[sid]
        replies = _replies(sid, stream, stream.animator.finish())
        end = {"type": "end", "frames": stream.sent, "duration": round(stream.animator.heard, 4)}
        return [*replies, (sid, "done", json.dumps(end))]
    if op == "close":
        del streams[sid]
        stream.animator.close()
        return []
    raise ValueError(f"unknown operation {op!r}")


def _warm() -> None:
    """Load the default recognizer's model and run it once, so the first stream does not wait for it."""
    with LiveAnimator() as animator:
        animator.hear(np.zeros(3200, np.float32))
        animator.finish()


def _open(options: dict[str, Any]) -> _Stream:
    animator = LiveAnimator(
        fps=options["fps"], lookahead=options["lookahead"], max_lookahead=options["max_lookahead"],
        text=options.get("text"), voice=options.get("voice", "en-us"),
        recognizer=options.get("recognizer", DEFAULT_RECOGNIZER),
    )  # fmt: skip
    stream = _Stream(animator, LiveIdle(fps=options["fps"]) if options["idle"] else None)
    if options.get("portrait") is not None:
        from ..api import load_portrait
        from ..render.portrait import PortraitRenderer

        try:
            size = options["size"]
            portrait = load_portrait(options["portrait"], size=(size, size))
        except NoFaceError:
            stream.animator.close()
            raise InputError("The portrait has no face that could be found.") from None
        except InputError:
            stream.animator.close()
            raise InputError("The portrait is not an image this server can read.") from None
        stream.portrait = PortraitRenderer(
            portrait.image, portrait.landmarks, channels=CHANNELS, output_size=portrait.size
        )
        stream.video_fps = options["video_fps"]
    return stream


def _replies(sid: str, stream: _Stream, frames: LiveFrames) -> list[tuple[str, str, Any]]:
    if not len(frames):
        return []
    if stream.idle is not None:
        frames = replace(frames, values=stream.idle.add_to(frames.first, frames.values, CHANNELS))
    fps = stream.animator.fps
    stream.sent += len(frames)
    message = {
        "type": "frames",
        "heard": round(stream.animator.heard, 4),
        "frames": [
            {"index": frames.first + i, "time": round(float(frames_to_time(frames.first + i, fps=fps)), 5),
             "viseme": viseme, "values": np.round(values, 4).tolist()}
            for i, (values, viseme) in enumerate(zip(frames.values, frames.visemes))
        ],
    }  # fmt: skip
    replies: list[tuple[str, str, Any]] = [(sid, "frames", json.dumps(message, separators=(",", ":")))]
    if stream.portrait is not None:
        replies += _images(sid, stream, frames)
    return replies


def _images(sid: str, stream: _Stream, frames: LiveFrames) -> list[tuple[str, str, Any]]:
    """JPEG video frames for the video frame times the new animation frames reach: video
    frame j shows the animation frame showing at j / video_fps."""
    import cv2

    from ..render.mouth import raised_tongue

    fps, video_fps = stream.animator.fps, stream.video_fps
    end = frames.first + len(frames)  # animation frames known: [0, end)
    tongue_up = raised_tongue(frames.weights, len(frames))
    replies = []
    while True:
        j = stream.next_image
        k = int(time_to_frames(j / video_fps, fps=fps))
        if k >= end:
            break
        row = max(k - frames.first, 0)
        image = stream.portrait.render(frames.values[row], float(tongue_up[row]))
        ok, jpeg = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        replies.append((sid, "image", HEADER.pack(j) + jpeg.tobytes()))
        stream.next_image += 1
    return replies
