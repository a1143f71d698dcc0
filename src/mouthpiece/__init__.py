"""mouthpiece: make any face speak.

Speech or text in; mouth cues, ARKit blendshape curves, a talking-portrait video or a
dubbed video out,
offline on a CPU.
The public API is :mod:`mouthpiece.api`; its main calls are re-exported here.
"""

from __future__ import annotations

from .api import (
    add_life,
    animate,
    animate_file,
    dub_video,
    export_file,
    export_stream,
    languages,
    load_audio,
    load_portrait,
    render_video,
    say,
    to_animation,
    to_phones,
)
from .errors import DependencyError, InputError, MouthpieceError, NoFaceError, TooLongError, UnknownFormatError
from .types import Animation, Audio, FaceRig, Phone, PhoneTrack, Segment, ShapeTrack, VisemeTrack, Word

__version__ = "0.1.0"

__all__ = [
    "Animation", "Audio", "DependencyError", "FaceRig", "InputError", "MouthpieceError", "NoFaceError",
    "Phone", "PhoneTrack", "Segment", "ShapeTrack", "TooLongError", "UnknownFormatError", "VisemeTrack", "Word",
    "__version__", "add_life", "animate", "animate_file", "dub_video", "export_file", "export_stream", "languages",
    "load_audio",
    "load_portrait", "render_video", "say", "to_animation", "to_phones",
]  # fmt: skip
