"""Rhubarb Lip Sync's JSON: metadata and a list of mouth cues.

The layout of Rhubarb's ``JsonExporter``, times as numbers with two decimals::

    {
      "metadata": {
        "soundFile": "/path/to/speech.wav",
        "duration": 2.00
      },
      "mouthCues": [
        { "start": 0.00, "end": 0.20, "value": "X" },
        ...
      ]
    }

The document is written line by line because :mod:`json` cannot write ``2.00``;
strings still go through :func:`json.dumps` for escaping. An animation without cues
gets one zero-length X cue, as in Rhubarb.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TextIO

from ..types import Animation
from .cues import Cue, MouthCueExporter, format_centiseconds


@dataclass(frozen=True)
class JsonExporter(MouthCueExporter):
    """Mouth cues as Rhubarb's JSON document (Rhubarb ``--exportFormat json``)."""

    sound_file: str = ""  # written as metadata.soundFile; Rhubarb puts the input audio's path

    name = "json"
    extension = ".json"

    def export(self, animation: Animation, stream: TextIO) -> None:
        cues, end = self.rhubarb_cues(animation)
        entries = [
            f'    {{ "start": {format_centiseconds(start)}, "end": {format_centiseconds(stop)},'
            f' "value": {json.dumps(shape)} }}'
            for start, stop, shape in cues or [Cue(0, 0, self.rest_shape)]
        ]
        stream.write(
            "{\n"
            '  "metadata": {\n'
            f'    "soundFile": {json.dumps(self.sound_file)},\n'
            f'    "duration": {format_centiseconds(end)}\n'
            "  },\n"
            '  "mouthCues": [\n' + ",\n".join(entries) + "\n  ]\n}\n"
        )
