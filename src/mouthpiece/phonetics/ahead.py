"""Recognize speech a chunk ahead of its use, in a separate process.

A renderer that turns phones into frames can start on the first chunk of speech while
the next is recognized. pocketsphinx holds Python's GIL while it decodes (a Python loop
beside it in a thread runs at 5 % of its speed), so the recognizer runs in a Python
process of its own and hands back the phones of each chunk as it finishes.

The process is a plain ``python -c`` child fed through pipes, not ``multiprocessing``:
that would import the caller's main script again in the child, which breaks any script
that calls mouthpiece without an ``if __name__ == "__main__"`` guard. Speech no longer
than one chunk is recognized in this process: there is nothing to overlap, unless it was
started early (:func:`start_early`: a dub hears its new speech while the video's style is
fitted).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from ..cpus import SINGLE_THREADED
from ..types import Audio, PhoneTrack
from .chunks import split_at_pauses
from .recognize import recognize

CHUNK_SECONDS = 10.0  # of each chunk recognized ahead (shorter chunks start sooner)
_CHILD = "from mouthpiece.phonetics.ahead import serve; serve()"
_EARLY: list[tuple[tuple[object, ...], subprocess.Popen[bytes]]] = []  # at most one, see start_early
_EARLY_LOCK = threading.Lock()


def recognized_ahead(
    audio: Audio, *, recognizer: str, chunk_seconds: float = CHUNK_SECONDS
) -> Iterator[tuple[float, Audio, PhoneTrack]]:
    """``(offset, chunk, phones heard in it)`` for chunks of ``audio`` cut at pauses, in order.

    The recognizer's errors (an :class:`~mouthpiece.errors.InputError`, say) are raised
    here, in the caller's process. Closing the iterator early stops the recognizer.
    """
    child = _adopted(audio, recognizer, chunk_seconds)
    if child is None:
        if audio.duration <= chunk_seconds:
            yield 0.0, audio, recognize(audio, recognizer=recognizer)
            return
        child = _started(audio, recognizer, chunk_seconds)
    try:
        while (item := _receive(child)) is not None:
            offset, start, count, phones = item
            yield offset, Audio(audio.samples[start : start + count], audio.sample_rate), phones
    finally:
        _stop(child)


def start_early(audio: Audio, *, recognizer: str, chunk_seconds: float = CHUNK_SECONDS) -> None:
    """Begin recognizing ``audio`` now, in a child process, for a :func:`recognized_ahead` of
    the same samples (and ``recognizer`` and ``chunk_seconds``) to take over later, so that
    other work overlaps it. One at a time: another early start, or a recognized_ahead of
    other speech, stops it; one never taken over is stopped when the process exits."""
    child = _started(audio, recognizer, chunk_seconds)
    with _EARLY_LOCK:
        _stop_early()
        _EARLY.append((_early_key(audio, recognizer, chunk_seconds), child))


def _adopted(audio: Audio, recognizer: str, chunk_seconds: float) -> subprocess.Popen[bytes] | None:
    """The early-started child for this very speech, if there is one; any other is stopped."""
    with _EARLY_LOCK:
        if not _EARLY:
            return None
        if _EARLY[0][0] == _early_key(audio, recognizer, chunk_seconds):
            return _EARLY.pop()[1]
        _stop_early()
        return None


def _early_key(audio: Audio, recognizer: str, chunk_seconds: float) -> tuple[object, ...]:
    digest = hashlib.blake2b(np.ascontiguousarray(audio.samples).tobytes(), digest_size=16).hexdigest()
    return digest, len(audio.samples), audio.sample_rate, recognizer, float(chunk_seconds)


@atexit.register
def _stop_early() -> None:
    while _EARLY:
        _stop(_EARLY.pop()[1])


class Recognition:
    """The phones of the whole of ``audio``, heard in a child process from the moment this is
    made, so the caller can do other work meanwhile (a video's face is followed while its
    speech is recognized). :meth:`phones` waits for them: the same as ``recognize(audio)``.
    A context manager: leaving it stops the child if it is still working."""

    def __init__(self, audio: Audio, *, recognizer: str) -> None:
        self._child = _started(audio, recognizer, chunk_seconds=audio.duration + 1.0)  # one chunk: the whole

    def phones(self) -> PhoneTrack:
        try:
            item = _receive(self._child)
            if item is None:
                raise RuntimeError("the speech recognizer process gave no phones")
            return cast(PhoneTrack, item[3])
        finally:
            _stop(self._child)

    def __enter__(self) -> Recognition:
        return self

    def __exit__(self, *exc: object) -> None:
        _stop(self._child)


def _started(audio: Audio, recognizer: str, chunk_seconds: float) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_environment()
    )
    stdin = child.stdin
    assert stdin is not None

    def send() -> None:  # the pipe takes 64 KiB until the child has started: the caller goes on meanwhile
        try:
            with stdin:
                pickle.dump((audio.samples, audio.sample_rate, recognizer, chunk_seconds), stdin)
        except (BrokenPipeError, OSError, ValueError):  # the child was stopped: its reader says so
            pass

    threading.Thread(target=send, name="mouthpiece-recognizer-input", daemon=True).start()
    return child


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


def child_environment() -> dict[str, str]:
    """The environment for a ``python -c`` child that must import this very mouthpiece
    (single-threaded BLAS, unless the caller's environment says otherwise: a stream worker
    following text with BLAS threads burned 1.9 cores instead of 0.2; see :mod:`mouthpiece.cpus`)."""
    package_root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    return {**SINGLE_THREADED, **os.environ, "PYTHONPATH": path}


def _receive(child: subprocess.Popen[bytes]) -> tuple[float, int, int, PhoneTrack] | None:
    """The child's next chunk, None at the end; the recognizer's own error is raised here."""
    try:
        item = pickle.load(cast(BinaryIO, child.stdout))
    except (EOFError, pickle.UnpicklingError):
        code = child.wait()
        raise RuntimeError(f"the speech recognizer process ended unexpectedly (exit code {code})") from None
    if isinstance(item, BaseException):
        raise item
    return cast(tuple[float, int, int, PhoneTrack], item)


def serve() -> None:
    """The recognizer process: reads ``(samples, sample_rate, recognizer, chunk_seconds)`` from
    stdin, writes each chunk's ``(offset, first sample, sample count, phones)`` to stdout,
    then None (or the exception that stopped it)."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write to the result pipe
    try:
        samples, sample_rate, recognizer, chunk_seconds = pickle.load(sys.stdin.buffer)
        samples = np.asarray(samples, np.float32)
        for offset, chunk in split_at_pauses([samples], sample_rate=sample_rate, max_seconds=chunk_seconds):
            start = int(round(offset * sample_rate))
            pickle.dump((offset, start, len(chunk.samples), recognize(chunk, recognizer=recognizer)), out)
            out.flush()
        pickle.dump(None, out)
    except BaseException as e:  # handed to the caller's process
        pickle.dump(e, out)
    out.flush()
