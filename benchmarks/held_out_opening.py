"""The jaw's opening filter held out from a clip's speaker, for benchmarks that score real footage.

The shipped filter (``mouthpiece.motion.opening``) was fitted on the very clips of
``../shared/fixtures`` that ``real_mouths.py`` scores, so each clip is scored with the filter
fitted on the *other* speakers (``training/fit_opening.py``): a figure of skill, not of memory.
Set :data:`SHIPPED` to score with the shipped filter instead.

    with held_out(clip):
        animation = api.animate_file(clip.path)   # JawOpen from the filter fitted without clip.speaker

Fitting needs the footage's features once (the default recognizer over every clip, cached by
``fit_opening``); each speaker's filter is then a ridge solve, kept for the run.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

from real_footage import Clip

from mouthpiece.motion import opening

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for training.fit_opening

SHIPPED = False  # True: every clip scored with the shipped filter (not held out)
_fitted: dict[str, opening.OpeningModel] = {}  # speaker -> the filter fitted without them
_footage: dict[str, Any] = {}  # fit_opening's examples and prior, made on first use


def held_out(clip: Clip) -> contextlib.AbstractContextManager[None]:
    """A context in which the opening filter is the one fitted without ``clip``'s speaker."""
    if SHIPPED:
        return contextlib.nullcontext()
    if clip.speaker not in _fitted:
        from training import fit_opening

        if not _footage:
            prior = fit_opening.mel_prior()
            _footage.update(prior=prior, examples=fit_opening.examples("words", prior))
        train = [e for e in _footage["examples"] if e.clip.speaker != clip.speaker]
        _fitted[clip.speaker] = fit_opening.fit(train, _footage["prior"])
    return opening.using(_fitted[clip.speaker])


def held_out_file(clip: Clip, folder: Path) -> Path | None:
    """The held-out filter of ``clip``'s speaker as a file (for a server), or None when :data:`SHIPPED`."""
    if SHIPPED:
        return None
    with held_out(clip):
        path = folder / f"opening-without-{clip.speaker}.npz"
        if not path.exists():
            opening.model().save(path)
    return path
