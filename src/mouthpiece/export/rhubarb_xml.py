"""Rhubarb Lip Sync's XML: metadata and one ``mouthCue`` element per cue.

The layout of Rhubarb's ``XmlExporter`` (a Boost property tree, indented by two)::

    <?xml version="1.0" encoding="utf-8"?>
    <rhubarbResult>
      <metadata>
        <soundFile>/path/to/speech.wav</soundFile>
        <duration>2.00</duration>
      </metadata>
      <mouthCues>
        <mouthCue start="0.00" end="0.20">X</mouthCue>
        ...
      </mouthCues>
    </rhubarbResult>

An animation without cues gets one zero-length X cue, as in Rhubarb.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TextIO

from ..types import Animation
from .cues import Cue, MouthCueExporter, format_centiseconds

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'


@dataclass(frozen=True)
class XmlExporter(MouthCueExporter):
    """Mouth cues as Rhubarb's XML document (Rhubarb ``--exportFormat xml``)."""

    sound_file: str = ""  # written in <soundFile>; Rhubarb puts the input audio's absolute path

    name = "xml"
    extension = ".xml"

    def export(self, animation: Animation, stream: TextIO) -> None:
        cues, end = self.rhubarb_cues(animation)
        root = ET.Element("rhubarbResult")
        metadata = ET.SubElement(root, "metadata")
        ET.SubElement(metadata, "soundFile").text = self.sound_file
        ET.SubElement(metadata, "duration").text = format_centiseconds(end)
        mouth_cues = ET.SubElement(root, "mouthCues")
        for start, stop, shape in cues or [Cue(0, 0, self.rest_shape)]:
            times = {"start": format_centiseconds(start), "end": format_centiseconds(stop)}
            ET.SubElement(mouth_cues, "mouthCue", times).text = shape
        ET.indent(root, space="  ")
        stream.write(f"{XML_DECLARATION}\n{ET.tostring(root, encoding='unicode')}\n")
