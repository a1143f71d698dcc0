"""Moho / OpenToonz switch data: ``MohoSwitch1`` then ``frame shape`` lines.

As Rhubarb's ``DatExporter`` writes it: frames are 1-based at ``dat_fps``, a cue
starts on frame ``1 + int(dat_fps * start_seconds)`` (truncated), and a cue whose
start falls on the frame of the previously written cue is skipped, so the earlier
shape holds that frame. The last line puts X at the end frame, one frame later if
the last cue started on that frame::

    MohoSwitch1
    1 X
    5 A
    ...
    49 X

With ``preston_blair=True`` the shapes get the Preston Blair phoneme names Moho's
mouth switches use (A -> MBP, ..., X -> rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from ..errors import InputError
from ..types import Animation
from .cues import CENTISECONDS, MouthCueExporter

HEADER = "MohoSwitch1"
# Rhubarb animates at 100 fps: far below 24 drops frames, above 100 adds nothing.
MIN_FPS, MAX_FPS = 24.0, 100.0
PRESTON_BLAIR = {
    "A": "MBP", "B": "etc", "C": "E", "D": "AI", "E": "O", "F": "U", "G": "FV", "H": "L",
    "X": "rest",
}  # fmt: skip


@dataclass(frozen=True)
class DatExporter(MouthCueExporter):
    """Mouth cues as Moho switch data (Rhubarb ``--exportFormat dat``)."""

    dat_fps: float = 24.0  # frames per second of the switch layer, in [24, 100]
    preston_blair: bool = False  # name shapes MBP, etc, E, AI, O, U, FV, L, rest instead of A-H, X

    name = "dat"
    extension = ".dat"

    def __post_init__(self) -> None:
        if not (isinstance(self.dat_fps, (int, float)) and MIN_FPS <= self.dat_fps <= MAX_FPS):
            raise InputError(
                f"The dat frame rate must be between {MIN_FPS:g} and {MAX_FPS:g} fps, got {self.dat_fps!r}."
            )

    def frame_number(self, cs: int) -> int:
        """The 1-based frame showing centisecond ``cs``, truncated as in Rhubarb."""
        return 1 + int(self.dat_fps * (cs / CENTISECONDS))

    def shape_name(self, shape: str) -> str:
        return PRESTON_BLAIR[shape] if self.preston_blair else shape

    def export(self, animation: Animation, stream: TextIO) -> None:
        cues, end = self.rhubarb_cues(animation)
        stream.write(f"{HEADER}\n")
        last_frame = 0
        for cue in cues:
            frame = self.frame_number(cue.start)
            if frame == last_frame:
                continue
            stream.write(f"{frame} {self.shape_name(cue.shape)}\n")
            last_frame = frame
        end_frame = self.frame_number(end)
        if end_frame == last_frame:
            end_frame += 1
        stream.write(f"{end_frame} {self.shape_name(self.rest_shape)}\n")
