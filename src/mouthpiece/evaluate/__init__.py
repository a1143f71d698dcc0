"""Evaluation: the field's measures of talking faces, computed without learned weights.

- :mod:`~mouthpiece.evaluate.sync`: audio-visual offset and sync confidence from the
  mouth opening seen in a video against the one its audio implies.
- :mod:`~mouthpiece.evaluate.plot`: the pictures of the measurements.
- :mod:`~mouthpiece.evaluate.cues`: mouth-cue accuracy (frame accuracy, openness
  correlation, P/B/M closures, rest in silence) of predicted Rhubarb cues against the
  shapes reference phones imply, and its picture.
- :mod:`~mouthpiece.evaluate.formats`: the files it reads: reference phones (TSV, Praat
  TextGrid, HTK and Festival labels) and predicted cues (Rhubarb TSV/XML/JSON, anim-json).
- :mod:`~mouthpiece.evaluate.motion`: lip motion of a video against a reference video of
  the same face: landmark distance (LMD) after normalising each face by its eyes,
  mouth-opening correlation, and jitter.
- :mod:`~mouthpiece.evaluate.preserve`: PSNR and SSIM of a lip-synced video against its
  source outside the mouth and jaw.
"""
