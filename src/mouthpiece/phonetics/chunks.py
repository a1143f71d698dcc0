"""Long audio cut into chunks at pauses, so decoding runs in bounded memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..types import Audio
from . import sphinx

CHUNK_SECONDS = 30.0  # s, longest stretch decoded at once (bounds memory on long files)
CUT_SEARCH = 5.0  # s, the window before a chunk's limit searched for the quietest cut


def split_at_pauses(
    blocks: Iterable[np.ndarray], *, sample_rate: int, max_seconds: float = CHUNK_SECONDS
) -> Iterator[tuple[float, Audio]]:
    """Cut a stream of sample blocks into chunks of at most ``max_seconds``, at pauses.

    Each cut falls on the quietest 10 ms in the last ``CUT_SEARCH`` seconds of the chunk
    (the later half of a shorter one), so words are not split; chunks start on a 10 ms boundary. Memory holds one chunk.

    Yields
    ------
    (offset, audio) : the chunk's start in seconds and its samples
    """
    hop = sample_rate // sphinx.FRAME_RATE
    limit = int(max_seconds * sample_rate) // hop * hop
    search = min(int(CUT_SEARCH * sample_rate), limit // 2) // hop * hop  # a short chunk searches its later half
    pending = np.zeros(0, np.float32)
    waiting: list[np.ndarray] = []  # blocks not yet joined to `pending`: joining each would copy the chunk
    waiting_length = 0
    offset = 0
    for block in blocks:
        waiting.append(block)
        waiting_length += len(block)
        if len(pending) + waiting_length < limit:
            continue
        pending = np.concatenate([pending, *waiting])
        waiting, waiting_length = [], 0
        while len(pending) >= limit:
            tail = pending[limit - search : limit].reshape(-1, hop)
            cut = limit - search + int(np.argmin(np.square(tail).sum(1))) * hop
            yield offset / sample_rate, Audio(pending[:cut], sample_rate)
            offset += cut
            pending = pending[cut:]
    pending = np.concatenate([pending, *waiting])
    if len(pending) or offset == 0:
        yield offset / sample_rate, Audio(pending, sample_rate)
