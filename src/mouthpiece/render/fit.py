"""Fit a video's length to new speech: play it on (loop or back and forth), or cut it short.

- ``pingpong``: forward, then backward, then forward again, ... until the speech ends:
  the picture never jumps;
- ``loop``: from the start again each time the video ends;
- ``cut``: the output ends with whichever of the video and the speech ends first.

With ``pingpong`` and ``loop`` a video longer than its speech plays to its end (the speech
is followed by silence and a mouth at rest). The same order applies to the video's own
soundtrack when it is mixed under the new speech (:func:`arrange_audio`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from .reader import read_frames, read_frames_backward

FITS = ("pingpong", "loop", "cut")


def check_fit(fit: str) -> None:
    if fit not in FITS:
        raise ValueError(f"Unknown fit {fit!r}; expected one of {', '.join(FITS)}.")


def fitted_frames(
    path: str | os.PathLike[str], *, fps: float, wanted: int, fit: str = "pingpong"
) -> Iterator[np.ndarray]:
    """The frames of the video at ``path`` (upright, at ``fps``) for an output of ``wanted`` frames.

    Yields ``min(wanted, n)`` frames with ``cut``, else ``max(wanted, n)``, for a video of
    ``n`` frames.
    """
    check_fit(fit)
    given = 0
    count = 0  # the video's frames, known after the first pass
    for frame in read_frames(path, fps=fps):
        if fit == "cut" and given >= wanted:
            return
        yield frame
        given += 1
    count = given
    if fit == "cut" or count == 0:
        return
    forward = False
    while given < wanted:
        if fit == "loop":
            frames = read_frames(path, fps=fps)
        elif forward:  # the turning frame is not shown twice
            frames = read_frames(path, fps=fps, start=1)
        else:
            frames = read_frames_backward(path, fps=fps, count=count - 1)
        forward = not forward
        passed = 0
        for frame in frames:
            if given >= wanted:
                return
            yield frame
            given += 1
            passed += 1
        if passed == 0:  # a one-frame video
            while given < wanted:
                yield frame
                given += 1


def fitted_order(count: int, *, wanted: int, fit: str = "pingpong") -> np.ndarray:
    """The source frame (0 to ``count - 1``) each frame :func:`fitted_frames` gives stands for,
    for a video of ``count`` frames.

    >>> fitted_order(4, wanted=9, fit="pingpong").tolist()
    [0, 1, 2, 3, 2, 1, 0, 1, 2]
    >>> fitted_order(4, wanted=2, fit="loop").tolist()
    [0, 1, 2, 3]
    """
    check_fit(fit)
    frames = min(wanted, count) if fit == "cut" else max(wanted, count)
    return arrange_audio(np.arange(count), frames, fit=fit)


def arrange_audio(samples: np.ndarray, length: int, *, fit: str) -> np.ndarray:
    """``samples`` laid out over ``length`` samples in the order :func:`fitted_frames` plays the
    picture (silence after the end with ``cut``, or after a source longer than needed).

    >>> arrange_audio(np.array([1.0, 2.0, 3.0]), 8, fit="pingpong")
    array([1., 2., 3., 2., 1., 2., 3., 2.])
    >>> arrange_audio(np.array([1.0, 2.0, 3.0]), 5, fit="loop")
    array([1., 2., 3., 1., 2.])
    """
    check_fit(fit)
    samples = np.asarray(samples)
    out = np.zeros(length, samples.dtype)
    if not len(samples):
        return out
    if fit == "cut":
        piece = samples[:length]
        out[: len(piece)] = piece
        return out
    cycle = samples if fit == "loop" or len(samples) < 3 else np.concatenate([samples, samples[-2:0:-1]])
    repeats = -(-length // len(cycle))
    return np.tile(cycle, repeats)[:length]
