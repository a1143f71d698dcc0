"""Recognize speech a chunk ahead of its use, in a separate process.

A renderer that turns phones into frames can start on the first chunk of speech while
the next is recognized. pocketsphinx holds Python's GIL while it decodes (a Python loop
beside it in a thread runs at 5 % of its speed), so the recognizer runs in a process of
its own, started with ``spawn`` (safe beside the threads MediaPipe and the encoder have
started), and hands back the phones of each chunk as it finishes. Speech no longer than
one chunk is recognized in this process: there is nothing to overlap.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
from collections.abc import Iterator
from typing import cast

import numpy as np

from ..types import Audio, PhoneTrack
from .chunks import split_at_pauses
from .recognize import recognize

CHUNK_SECONDS = 10.0  # of each chunk recognized ahead (shorter chunks start sooner)
POLL_SECONDS = 0.5  # how often a wait for the next chunk checks the recognizer is still alive


def recognized_ahead(
    audio: Audio, *, recognizer: str, chunk_seconds: float = CHUNK_SECONDS
) -> Iterator[tuple[float, Audio, PhoneTrack]]:
    """``(offset, chunk, phones heard in it)`` for chunks of ``audio`` cut at pauses, in order.

    The recognizer errors of a chunk (an :class:`~mouthpiece.errors.InputError`, say) are
    raised here, in the caller's process. Closing the iterator early stops the recognizer.
    """
    if audio.duration <= chunk_seconds:
        yield 0.0, audio, recognize(audio, recognizer=recognizer)
        return
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    worker = context.Process(
        target=_recognize_chunks,
        args=(audio.samples, audio.sample_rate, recognizer, chunk_seconds, results),
        name="mouthpiece-recognize",
        daemon=True,
    )
    worker.start()
    try:
        while True:
            item = _next(results, worker)
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            offset, start, count, phones = cast(tuple[float, int, int, PhoneTrack], item)
            yield offset, Audio(audio.samples[start : start + count], audio.sample_rate), phones
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()
        results.close()


def _next(results: multiprocessing.Queue, worker: multiprocessing.process.BaseProcess) -> object:
    while True:
        try:
            return results.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if not worker.is_alive():
                with contextlib.suppress(queue.Empty):  # what it sent just before it ended
                    return results.get(timeout=POLL_SECONDS)
                code = worker.exitcode
                raise RuntimeError(f"the speech recognizer process ended unexpectedly (exit code {code})") from None


def _recognize_chunks(
    samples: np.ndarray, sample_rate: int, recognizer: str, chunk_seconds: float, results: multiprocessing.Queue
) -> None:
    """The recognizer process: each chunk's ``(offset, first sample, sample count, phones)``, then None."""
    try:
        for offset, chunk in split_at_pauses([samples], sample_rate=sample_rate, max_seconds=chunk_seconds):
            start = int(round(offset * sample_rate))
            results.put((offset, start, len(chunk.samples), recognize(chunk, recognizer=recognizer)))
        results.put(None)
    except BaseException as e:  # handed to the caller's process
        results.put(e)
