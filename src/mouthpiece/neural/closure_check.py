"""A second look at each lip closure the learned front end decodes, with the context a stream cannot wait for.

The front end hears 52.5 ms ahead so that it streams; on real speech about half of the P/B/M
runs its decoder finds are not at a bilabial (the Asterisk prompts of
``training.asterisk_speech``: 0.55; the five transcribed LRS2 clips of ``../shared``: 0.51),
most of them at a /v/ or /f/ or a stop. A whole recording is known in advance, so each
run is checked again by a logistic model over the front end's last hidden layer around
it (its mean over the run, 80 and 40 ms before the run, 10 to 120 ms after it), the run's
length, its mean PP posterior and its closure peak. Runs it doubts (probability under
:attr:`ClosureCheck.threshold`) take the most likely viseme there other than PP and
silence, as :mod:`.closures` does for the word recognizer's.

Fitted by ``training/fit_closure_check.py`` on speech the front end never trained on
(synthetic utterances of a fresh corpus, and the Asterisk prompts); the model records the
fingerprint of the front end it was fitted to and checks only that one's closures.
"""

from __future__ import annotations

import functools
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..vocabulary import VISEMES
from .decode import likeliest_other_than_closure, viseme_runs
from .model import FrontEnd, FrontEndOutput

CHECK_FILE = Path(__file__).with_name("closure_check.npz")
TAPS_BEFORE = (-8, -4)  # frames before a run's first whose hidden layer is heard
TAPS_AFTER = (1, 4, 8, 12)  # frames after a run's last whose hidden layer is heard
PP = VISEMES.index("PP")


def closure_runs(path: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) frames of each run of PP in a decoded viseme path."""
    return [(a, b) for a, b in viseme_runs(path) if path[a] == PP]


def run_features(output: FrontEndOutput, start: int, end: int) -> np.ndarray:
    """The features of the run of frames ``[start, end)`` of ``output`` (which has its hidden layer)."""
    hidden = output.hidden
    assert hidden is not None
    last = len(hidden) - 1

    def at(frame: int) -> np.ndarray:
        return hidden[min(max(frame, 0), last)]

    parts = [hidden[start:end].mean(0)]
    parts += [at(start + t) for t in TAPS_BEFORE] + [at(end - 1 + t) for t in TAPS_AFTER]
    extra = [end - start, output.posteriors[start:end, PP].mean(), output.closure[start:end].max(),
             float(start == 0), float(end >= last)]  # fmt: skip
    return np.concatenate(parts + [np.asarray(extra, np.float32)]).astype(np.float32)


@dataclass(frozen=True)
class ClosureCheck:
    """A fitted check: standardisation, logistic weights, the threshold under which a run is dropped."""

    mean: np.ndarray  # [F]
    std: np.ndarray  # [F]
    weights: np.ndarray  # [F]
    bias: float
    threshold: float
    front_end: str  # fingerprint of the front end whose hidden layer it reads
    card: str = ""  # JSON: what it was fitted on and how it scored

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(a bilabial is there) for rows of :func:`run_features`."""
        z = ((np.atleast_2d(features) - self.mean) / self.std) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def apply(self, path: np.ndarray, output: FrontEndOutput) -> np.ndarray:
        """``path`` with each doubted run of PP given the most likely other viseme there."""
        runs = closure_runs(path)
        if not runs or output.hidden is None:
            return path
        p = self.probability(np.stack([run_features(output, a, b) for a, b in runs]))
        checked = path.copy()
        for (a, b), sure in zip(runs, p):
            if sure < self.threshold:
                checked[a:b] = likeliest_other_than_closure(output.posteriors[a:b])
        return checked

    def save(self, path: str | os.PathLike[str]) -> None:
        meta = json.dumps({"threshold": self.threshold, "front_end": self.front_end, "card": self.card,
                           "taps_before": TAPS_BEFORE, "taps_after": TAPS_AFTER})  # fmt: skip
        np.savez(path, mean=self.mean, std=self.std, weights=self.weights, bias=np.float32(self.bias),
                 meta=np.array(meta))  # fmt: skip


def load_check(path: str | os.PathLike[str] = CHECK_FILE) -> ClosureCheck:
    """A closure check file; InputError naming it when it is missing, corrupt or of other taps."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f, np.load(f, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays["meta"]))
        check = ClosureCheck(arrays["mean"].astype(np.float32), arrays["std"].astype(np.float32),
                             arrays["weights"].astype(np.float32), float(arrays["bias"]), float(meta["threshold"]),
                             str(meta["front_end"]), str(meta.get("card", "")))  # fmt: skip
        taps = (tuple(meta["taps_before"]), tuple(meta["taps_after"]))
    except FileNotFoundError:
        raise InputError(f"Closure check file {name!r} does not exist.") from None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"Closure check file {name!r} is corrupt or not a closure check ({e}).") from e
    if taps != (TAPS_BEFORE, TAPS_AFTER) or not (len(check.mean) == len(check.std) == len(check.weights)):
        raise InputError(f"Closure check file {name!r} was fitted for other features than this mouthpiece takes.")
    return check


@functools.lru_cache(maxsize=1)
def shipped_check() -> ClosureCheck:
    return load_check(CHECK_FILE)


def check_for(model: FrontEnd) -> ClosureCheck | None:
    """The shipped check if it was fitted to ``model`` (another front end's closures go unchecked)."""
    check = shipped_check()
    return check if check.front_end == model.fingerprint else None
