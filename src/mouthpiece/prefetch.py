"""Run an iterator a few items ahead of its consumer, in a thread.

Decoding video (FFmpeg) and converting colours (OpenCV) let go of Python's GIL, so a
reader thread keeps the next frames ready while the main thread tracks, warps and
encodes the current one. At most ``depth`` items wait, so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def prefetch(items: Iterable[T], *, depth: int = 4, name: str = "mouthpiece-prefetch") -> Iterator[T]:
    """The items of ``items`` in order, produced in a background thread up to ``depth`` ahead.

    An exception in the producer is raised here, at the item where it happened. Closing
    the returned iterator early stops the producer (within one item).

    >>> list(prefetch(range(5), depth=2))
    [0, 1, 2, 3, 4]
    """
    waiting: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        waiting.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            waiting.put(_DONE)
        except BaseException as e:  # handed to the consumer's thread
            waiting.put(e)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while (item := waiting.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():  # let a producer blocked on a full queue see the stop
            try:
                waiting.get_nowait()
            except queue.Empty:
                worker.join(0.05)
