"""mouthpiece: make any face speak.

Speech or text in; mouth cues, ARKit blendshape curves and more out, offline on a CPU.
The public API is :mod:`mouthpiece.api`; its main calls are re-exported here.
"""

from __future__ import annotations

from .api import animate, animate_file, export_file, export_stream, load_audio, say, to_animation, to_phones
from .errors import DependencyError, InputError, MouthpieceError, UnknownFormatError
from .types import Animation, Audio, Phone, PhoneTrack, Segment, ShapeTrack, VisemeTrack, Word

__version__ = "0.1.0"

__all__ = [
    "Animation", "Audio", "DependencyError", "InputError", "MouthpieceError", "Phone",
    "PhoneTrack", "Segment", "ShapeTrack", "UnknownFormatError", "VisemeTrack", "Word",
    "__version__", "animate", "animate_file", "export_file", "export_stream", "load_audio", "say",
    "to_animation", "to_phones",
]  # fmt: skip
