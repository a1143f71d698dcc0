"""Audio in: decode any media file (or samples in memory) to 16 kHz mono, and measure it.

- :func:`load`, :func:`stream`, :func:`from_samples` make :class:`~mouthpiece.types.Audio`
  (or its blocks) from a file or an array, through PyAV's FFmpeg.
- :func:`loudness`, :func:`pitch`, :func:`voice_activity` give one value per frame at
  ``fps``, for the motion stage (jaw opening, prosody, pauses); :func:`log_mel` the
  spectra the jaw's opening is heard from.
"""

from .features import log_mel, loudness, pitch, voice_activity
from .load import from_samples, load, stream
from .save import save

__all__ = ["load", "stream", "from_samples", "save", "log_mel", "loudness", "pitch", "voice_activity"]
