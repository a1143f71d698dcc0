"""Evaluation: the field's measures of talking faces, computed without learned weights.

- :mod:`~mouthpiece.evaluate.sync`: audio-visual offset and sync confidence from the
  mouth opening seen in a video against the one its audio implies.
- :mod:`~mouthpiece.evaluate.plot`: the picture of a sync measurement.
"""
