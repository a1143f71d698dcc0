"""Heavy work (decoding, recognition, synthesis, rendering) in warm child processes.

The server's event loop must keep answering while a request decodes ten minutes of audio
or a job renders a video, a batch wants every core busy, and pocketsphinx holds Python's
GIL while it decodes, so a thread would not do: the work runs in a child process. That
also bounds what one call can do to its caller: a call that overruns its time is killed,
and a library that crashes (a segfault) takes only its child down; either way the child
is replaced.

A :class:`Pool` keeps up to ``size`` children, each running one call at a time and then
waiting for the next (their imports stay warm). Children are plain ``python -c``
processes fed through pipes, as in :mod:`mouthpiece.phonetics.ahead` (``multiprocessing``
would import the caller's main script again). A call is ``(module, function, args,
kwargs)``; the child answers ``("progress", fraction)`` any number of times when the
call was given a ``progress`` callback, then ``("ok", value)`` or ``("error", exception)``.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, BinaryIO, cast

from .errors import MouthpieceError
from .phonetics.ahead import child_environment

CHILD = "from mouthpiece.workers import serve; serve()"
NICENESS = 5  # a busy worker yields the CPU to the server's event loop and to live streams
HEADER = struct.Struct("<I")  # a message's length, before its pickle


def encode_message(message: Any) -> bytes:
    """``message`` pickled behind its length (4 bytes, little-endian)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def write_message(stream: BinaryIO, message: Any) -> None:
    stream.write(encode_message(message))
    stream.flush()


class WorkFailed(Exception):
    """The work could not finish: it overran its time, its process crashed, or the pool closed."""


class WorkTimedOut(WorkFailed):
    """The work, or its wait for a free worker, took longer than it was given."""


class _Child:
    """One warm worker process."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env={**child_environment(), **environment},
            start_new_session=True,  # a Ctrl-C in the server's terminal is the server's to handle
        )  # fmt: skip

    def call(self, message: Any, deadline: float, progress: Callable[[float], None] | None) -> tuple[str, Any]:
        """The call's outcome, ``("ok", value)`` or ``("error", exception)``."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            write_message(cast(BinaryIO, self.process.stdin), message)
        except (BrokenPipeError, OSError):
            raise WorkFailed("the worker process stopped") from None
        while True:
            kind, value = _read(cast(BinaryIO, self.process.stdout), deadline)
            if kind == "progress":
                if progress is not None:
                    progress(value)
                continue
            return kind, value

    def kill(self) -> None:
        with suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with suppress(OSError):
                    pipe.close()


def _read(stdout: BinaryIO, deadline: float) -> Any:
    """The child's next message, waiting no later than ``deadline`` (time.monotonic)."""
    data = b""
    wanted = HEADER.size
    header_read = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([stdout], [], [], left)
        if not ready:
            raise TimeoutError
        piece = os.read(stdout.fileno(), wanted - len(data))
        if not piece:
            raise WorkFailed("the worker process crashed")
        data += piece
        if len(data) < wanted:
            continue
        if header_read:
            return pickle.loads(data)
        wanted, data, header_read = int.from_bytes(data, "little"), b"", True


class _Call:
    """A call in flight: which child runs it, so that it can be cancelled from another thread."""

    def __init__(self) -> None:
        self.child: _Child | None = None
        self.cancelled = False
        self.lock = threading.Lock()

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            if self.child is not None:
                self.child.kill()


class Pool:
    """Up to ``size`` worker processes; :meth:`call` (blocking) or :meth:`run` (async) a function in one.

    ``environment`` is added to theirs (a private ``TMPDIR``, say).
    """

    def __init__(self, size: int, *, environment: dict[str, str] | None = None) -> None:
        if size < 1:
            raise ValueError(f"A pool needs at least one process, got {size}.")
        self.size, self._environment = size, dict(environment or {})
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[_Child] = []
        self._busy: set[_Child] = set()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [c.process.pid for c in (*self._idle, *self._busy)]

    def warm(self) -> None:
        """Start every child now, so the first calls do not wait for their imports."""
        with self._lock:
            while not self._closed and len(self._idle) + len(self._busy) < self.size:
                self._idle.append(_Child(self._environment))

    def call(
        self,
        function: Callable[..., Any],
        *args: Any,
        timeout: float,
        progress: Callable[[float], None] | None = None,
        _call: _Call | None = None,
        **kwargs: Any,
    ) -> Any:
        """``function(*args, **kwargs)`` in a worker; its exception is raised here.

        WorkFailed when it takes longer than ``timeout`` seconds (waiting for a free
        worker included), when its process crashes, or when the pool closes meanwhile.
        """
        deadline = time.monotonic() + timeout
        call = _call or _Call()
        if not self._slots.acquire(timeout=max(0.0, timeout)):
            raise WorkTimedOut(f"no worker was free within {timeout:g} s")
        child: _Child | None = None
        try:
            child = self._checkout(call)
            if progress is not None:
                kwargs["progress"] = True
            kind, value = child.call((function.__module__, function.__qualname__, args, kwargs), deadline, progress)
            self._checkin(child)  # it answered: fit for the next call
            child = None
        except TimeoutError:
            raise WorkTimedOut(f"it took longer than {timeout:g} s") from None
        except WorkTimedOut:
            raise
        except WorkFailed:
            if call.cancelled or self._closed:
                raise WorkFailed("it was cancelled") from None
            raise
        finally:
            if child is not None:  # overran, crashed or was cancelled: never reused
                child.kill()
                with self._lock:
                    self._busy.discard(child)
            self._slots.release()
        if kind == "error":
            raise value
        return value

    async def run(self, function: Callable[..., Any], *args: Any, timeout: float, **kwargs: Any) -> Any:
        """:meth:`call` from the event loop, which it leaves free; cancelling this kills the work."""
        call = _Call()
        work = asyncio.ensure_future(asyncio.to_thread(self.call, function, *args, timeout=timeout, _call=call,
                                                       **kwargs))  # fmt: skip
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            call.cancel()
            work.add_done_callback(lambda done: done.cancelled() or done.exception())  # its failure is expected
            raise

    def close(self) -> None:
        """Kill every worker, busy or idle; calls in flight fail with WorkFailed."""
        with self._lock:
            self._closed = True
            children = [*self._idle, *self._busy]
            self._idle.clear()
        for child in children:
            child.kill()

    def _checkout(self, call: _Call) -> _Child:
        with self._lock:
            if self._closed:
                raise WorkFailed("the server is shutting down")
            child = None
            while self._idle and child is None:
                candidate = self._idle.pop()
                if candidate.process.poll() is None:
                    child = candidate
            child = child or _Child(self._environment)
            self._busy.add(child)
        with call.lock:
            if call.cancelled:
                child.kill()
                raise WorkFailed("it was cancelled")
            call.child = child
        return child

    def _checkin(self, child: _Child) -> None:
        with self._lock:
            self._busy.discard(child)
            if self._closed:
                child.kill()
            else:
                self._idle.append(child)


def _die_with_parent() -> None:
    """On Linux, ask to be killed when the process that started us dies, even by SIGKILL:
    otherwise a worker would finish (and write) its current call as an orphan."""
    PR_SET_PDEATHSIG = 1  # noqa: N806  (prctl's name for it)
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before we asked
        os._exit(1)


def serve() -> None:
    """A worker's main loop: run each call that arrives on stdin, answer on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    os.nice(NICENESS)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # what the work prints must not corrupt the replies
    while True:
        header = stdin.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        module, name, args, kwargs = pickle.loads(stdin.read(int.from_bytes(header, "little")))
        if kwargs.pop("progress", False):
            kwargs["progress"] = lambda fraction: write_message(stdout, ("progress", float(fraction)))
        try:
            function: Any = importlib.import_module(module)
            for part in name.split("."):
                function = getattr(function, part)
            reply: tuple[str, Any] = ("ok", function(*args, **kwargs))
        except MouthpieceError as e:
            reply = ("error", e)
        except Exception as e:  # the server says what went wrong; the worker lives on
            reply = ("error", RuntimeError(f"{type(e).__name__}: {e}"))
        try:
            write_message(stdout, reply)
        except pickle.PicklingError as e:
            write_message(stdout, ("error", RuntimeError(f"the result could not be sent back: {e}")))
