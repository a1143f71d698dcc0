"""Rhubarb Lip Sync's TSV: one ``start<TAB>shape`` line per mouth cue.

A last line gives the end of the animation with X (the closed mouth), as Rhubarb's
``TsvExporter`` writes it::

    0.00	X
    0.20	A
    ...
    2.00	X
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from ..types import Animation
from .cues import MouthCueExporter, format_centiseconds


@dataclass(frozen=True)
class TsvExporter(MouthCueExporter):
    """Mouth cues as tab-separated start times and shapes (Rhubarb ``--exportFormat tsv``)."""

    name = "tsv"
    extension = ".tsv"

    def export(self, animation: Animation, stream: TextIO) -> None:
        cues, end = self.rhubarb_cues(animation)
        for cue in cues:
            stream.write(f"{format_centiseconds(cue.start)}\t{cue.shape}\n")
        stream.write(f"{format_centiseconds(end)}\t{self.rest_shape}\n")
