"""Audio files encoded by PyAV for tests: the formats users upload and packages ship."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import av
import numpy as np


def encode(target: Any, blocks: Iterable[np.ndarray], *, format: str, codec: str, rate: int = 16_000) -> None:
    """Write mono int16 ``blocks`` (consecutive, any lengths) to ``target`` (a path or a
    binary file object) as ``codec`` in the container ``format``."""
    with av.open(target if hasattr(target, "write") else str(target), "w", format=format) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        for block in blocks:
            frame = av.AudioFrame.from_ndarray(np.asarray(block, np.int16)[None, :], format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
