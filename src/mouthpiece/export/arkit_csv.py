"""Live Link Face CSV: one row of the 61 ARKit/pose channels per frame.

The layout of the CSV the Live Link Face app records, which Unreal's importer and
the Blender, Maya and MotionBuilder importers read::

    Timecode,BlendShapeCount,EyeBlinkLeft,...,TongueOut,HeadYaw,...,RightEyeRoll
    00:00:00:00.000,61,0.000000,...

``Timecode`` is ``HH:MM:SS:FF.fff``: frame ``FF`` of the second at the animation's
fps, then the sub-frame fraction (zero for an integer fps). ``BlendShapeCount`` is 61,
the number of value columns. Channels the animation lacks are written as 0.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from ..timebase import frames_to_time, time_to_frames
from ..types import Animation
from ..vocabulary import CHANNEL_INDEX, CHANNELS
from .base import Exporter

DECIMALS = 6  # digits after the point of every value


def timecode(frame: int, *, fps: float) -> str:
    """Live Link Face's ``HH:MM:SS:FF.fff`` for frame ``frame`` (0-based) at ``fps``.

    >>> timecode(0, fps=30), timecode(45, fps=30), timecode(108_001, fps=60)
    ('00:00:00:00.000', '00:00:01:15.000', '00:30:00:01.000')
    >>> timecode(1, fps=29.97)
    '00:00:00:01.000'
    """
    t = float(frames_to_time(frame, fps=fps))
    whole_seconds = math.floor(t + 1e-9)
    within = t - whole_seconds  # seconds into the current second
    frames = int(time_to_frames(within, fps=fps))
    subframe = min(999, max(0, round((within * fps - frames) * 1000)))
    minutes, seconds = divmod(whole_seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}.{subframe:03d}"


@dataclass(frozen=True)
class ArkitCsvExporter(Exporter):
    """Blendshape and head/eye rotation curves as a Live Link Face CSV take."""

    name = "arkit-csv"
    extension = ".csv"

    def export(self, animation: Animation, stream: TextIO) -> None:
        table = np.zeros((animation.frame_count, len(CHANNELS)), dtype=np.float64)  # [T, 61]
        columns = [CHANNEL_INDEX[c] for c in animation.channels]
        table[:, columns] = animation.values
        table = np.round(table, DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["Timecode", "BlendShapeCount", *CHANNELS])
        count = str(len(CHANNELS))
        for i, row in enumerate(table):
            values = (f"{v:.{DECIMALS}f}" for v in row)
            writer.writerow([timecode(i, fps=animation.fps), count, *values])
