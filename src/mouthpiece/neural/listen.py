"""Phones of speech as it arrives, by the learned front end: the live stream's recognizer
for any language, with the interface of :class:`~mouthpiece.phonetics.phone_loop.PhoneLoop`.

The front end runs on each block as it comes (:class:`~.model.FrontEndStream`: a frame
is known 52.5 ms after the instant it describes), and the Viterbi search that decodes a
whole recording (:class:`~.decode.ViterbiSearch`) advances by its frames; reading
:meth:`NeuralListener.heard` traces the best path back over the frames kept. The caller
says which past it no longer needs (:meth:`~NeuralListener.forget_before`), so the
traceback stays short over a long stream; at the end the phones are the whole
recording's (the same search, and the same second look at each lip closure,
:mod:`.closure_check`, which needs 120 ms past a closure and so waits for the end).
"""

from __future__ import annotations

import numpy as np

from ..types import SAMPLE_RATE, Phone
from .closure_check import check_for
from .decode import ViterbiSearch, phones_of
from .model import FRAME_CENTRE_S, FRAME_RATE, FrontEnd, FrontEndOutput, FrontEndStream


class NeuralListener:
    """Phones of speech recognized while it arrives: :meth:`hear` blocks of 16 kHz samples,
    read :meth:`heard` at any time, :meth:`finish` at the end.

    Examples
    --------
    >>> listener = NeuralListener()
    >>> listener.hear(np.zeros(8_000, np.float32))
    >>> [p.label for p in listener.finish()]
    ['sil']
    """

    def __init__(self, model: FrontEnd | None = None) -> None:
        self._stream = FrontEndStream(model)
        visemes = len(self._stream.model.config.visemes)
        self._search = ViterbiSearch(visemes)
        self._check = check_for(self._stream.model)
        self._kept = FrontEndOutput(np.zeros((0, visemes), np.float32), np.zeros((0, 3), np.float32), 0,
                                    np.zeros((0, self._stream.model.config.channels), np.float32))  # fmt: skip
        self.samples = 0  # heard so far

    def __enter__(self) -> NeuralListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hear(self, samples: np.ndarray) -> None:
        """Run the front end on the next block of speech (float samples in [-1, 1] at 16 kHz)."""
        self.samples += len(samples)
        self._keep(self._stream.push(samples))

    def heard(self) -> list[Phone]:
        """The best phones for the frames kept, in seconds from the speech's start. They
        reach ~50 ms short of what was heard (the front end's lookahead), and the last
        ones may change as more speech arrives."""
        return self._phones(self._search.path())

    def forget_before(self, seconds: float) -> None:
        """Drop the frames before ``seconds``: memory and the cost of :meth:`heard` stay
        flat over a long stream."""
        drop = int((seconds - FRAME_CENTRE_S) * FRAME_RATE) - self._search.first
        if drop > 0:
            self._search.forget_before(self._search.first + drop)
            kept = self._kept
            assert kept.hidden is not None
            self._kept = FrontEndOutput(kept.posteriors[drop:], kept.articulation[drop:], kept.first + drop,
                                        kept.hidden[drop:])  # fmt: skip

    def finish(self) -> list[Phone]:
        """The phones of the frames kept, up to the end of all the speech heard."""
        self._keep(self._stream.finish())
        path = self._search.path()
        phones = self._phones(path if self._check is None else self._check.apply(path, self._kept))
        if phones:
            phones[-1] = phones[-1]._replace(end=max(phones[-1].end, self.samples / SAMPLE_RATE))
        return phones

    def close(self) -> None:
        """Nothing to give back (the interface of the phone loop, which holds a decoder)."""

    def _phones(self, path: np.ndarray) -> list[Phone]:
        end = FRAME_CENTRE_S + (self._search.frames - 0.5) / FRAME_RATE
        return phones_of(path, self._kept.posteriors, first=self._search.first, end=end)

    def _keep(self, output: FrontEndOutput) -> None:
        if len(output.posteriors):
            self._search.push(output.posteriors)
            kept = self._kept
            assert kept.hidden is not None and output.hidden is not None
            self._kept = FrontEndOutput(np.concatenate([kept.posteriors, output.posteriors]),
                                        np.concatenate([kept.articulation, output.articulation]), kept.first,
                                        np.concatenate([kept.hidden, output.hidden]))  # fmt: skip
