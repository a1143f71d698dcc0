"""Export stage: an Animation written in the formats animators' tools read.

One module per format, each an :class:`Exporter` registered by name in
:data:`EXPORTERS`:

==========  =========  ==============================================================
name        extension  contents
==========  =========  ==============================================================
tsv         .tsv       Rhubarb Lip Sync TSV: mouth-cue start times and shapes
xml         .xml       Rhubarb Lip Sync XML: metadata and mouth cues
json        .json      Rhubarb Lip Sync JSON: metadata and mouth cues
dat         .dat       Moho / OpenToonz switch data (``MohoSwitch1``), Rhubarb's frames
arkit-csv   .csv       Live Link Face CSV: 52 ARKit blendshapes + head/eye rotations
anim-json   .json      the whole Animation, versioned; read back by :func:`read_anim_json`
oculus      .csv       per-frame weights of the 15 Oculus visemes
==========  =========  ==============================================================

The four Rhubarb formats write ``Animation.cues`` and take ``extended_shapes``
(False maps G to A and H to C). :func:`format_for_path` picks a format from a file
extension, :func:`get_exporter` builds one by name with its options, and
:func:`write_file` writes a file atomically.
"""

from __future__ import annotations

from .anim_json import read_anim_json
from .base import Exporter, write_file
from .registry import EXPORTERS, format_for_path, get_exporter, supported_options

__all__ = [
    "EXPORTERS",
    "Exporter",
    "format_for_path",
    "supported_options",
    "get_exporter",
    "read_anim_json",
    "write_file",
]
