"""Our learned models' inference, in numpy, with their weights and model cards.

- :mod:`.model`: the front end, audio to per-frame viseme posteriors and articulation
  (openness, rounding, closure), whole recordings (:func:`run`) or live streams
  (:class:`FrontEndStream`).
- :mod:`.decode`: per-frame posteriors to a :class:`~mouthpiece.types.PhoneTrack`.
- :mod:`.closure_check`: a second look at each decoded lip closure, with 120 ms of what
  follows it (whole recordings; its weights in ``closure_check.npz``).
"""

from .decode import decode_phones, recognize
from .model import FrontEnd, FrontEndOutput, FrontEndStream, default_model, load_model, run

__all__ = [
    "FrontEnd",
    "FrontEndOutput",
    "FrontEndStream",
    "decode_phones",
    "default_model",
    "load_model",
    "recognize",
    "run",
]
