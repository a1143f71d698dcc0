"""The pipeline on a live stream: blocks of speech in, Animation frames out as soon as known.

    with LiveAnimator(fps=60) as live:
        for block in microphone():              # 16 kHz float samples, any block size
            frames = live.hear(block)           # the frames now known, each given once
            send(frames.first, frames.values, frames.visemes)
        send(*live.finish())                    # the rest, at the end of the speech

It runs the stages of :func:`mouthpiece.api.animate` on what has arrived, with a
recognizer that listens as speech comes: the learned front end's
:class:`~mouthpiece.neural.listen.NeuralListener` (any language), pocketsphinx's
:class:`~mouthpiece.phonetics.phone_loop.PhoneLoop` (English phones; both the same code
that recognizes a file), or, when the text being spoken is known, a
:class:`~mouthpiece.phonetics.follow.TextFollower` (which follows the speech through
espeak-ng's rendering of the text), a :class:`~mouthpiece.audio.features.LevelMeter` for the jaw's
loudness and the voice activity, the motion stage on a short window of phones around
the new frames, and the jaw's opening filter (:mod:`mouthpiece.motion.opening`) on the
sound heard so far (it listens 60 ms ahead of a frame, which the lookahead gives it).

When to give a frame: the recognizer's phones reach ~50 ms short of what it heard, and
the phone loop's last phone is a guess until more speech confirms it, so a frame given
later is closer to the whole file's animation. A frame is given once ``lookahead``
seconds of speech past it have arrived if it is in silence or at least the recognizer's
``SETTLED_AFTER`` into its phone (a phone's first moments are where the phone loop's
guesses change most), else when more speech has settled it, and at the latest after
``max_lookahead``. With the phone loop on real speech, 20 ms chunks and the defaults,
~60 % of frames go at 60 ms, the rest within 140 ms, and the streamed JawOpen correlates
0.85 with the whole file's (0.79 with all at 60 ms, 0.91 with all at 100 ms). The
neural front end's frames are final once its lookahead has arrived, and its viseme runs
change little when more comes: waiting would buy 0.01 of real-footage r0 for 25 ms of
median latency, so its frames all go at ``lookahead`` (0.96 r with the whole file's).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from . import motion
from .audio.features import LevelMeter, active_frames, noise_floor
from .errors import InputError
from .motion.opening import FEATURE_RATE as SOUND_RATE
from .motion.prosody import typical_level
from .neural.listen import NeuralListener
from .phonetics.follow import TextFollower
from .phonetics.phone_loop import PhoneLoop, silence_where_quiet, tidy
from .phonetics.sphinx import FRAME_RATE
from .timebase import frame_count, frames_to_time
from .types import SAMPLE_RATE, Animation, Phone
from .vocabulary import CHANNELS, SILENCE, VISEMES

LIVE_RECOGNIZERS: dict[str, type[PhoneLoop] | type[NeuralListener]] = {"neural": NeuralListener, "phones": PhoneLoop}
DEFAULT_RECOGNIZER = "neural"  # real footage: r0 0.38 streamed, the phone loop 0.33
DEFAULT_LOOKAHEAD = 0.06  # s of speech heard past a frame before it may be given
DEFAULT_MAX_LOOKAHEAD = 0.14  # s of speech heard past a frame by when it is given
# s into a phone from which its frames may go at the shortest lookahead, per recognizer
SETTLED_AFTER = {"neural": 0.0, "phones": 0.02, "text": 0.02}
CONTEXT = 0.3  # s before the new frames whose phones shape them (coarticulation's reach)
VAD_CONTEXT = 0.3  # s of levels before the new frames that voice activity looks at (its hangover)
REESTIMATE = 1.0  # s between estimates of the noise floor and typical speech level
KEEP = 60.0  # s of levels the floor and typical level are estimated from


@dataclass(frozen=True)
class LiveFrames:
    """Consecutive Animation frames: ``values[i]`` is frame ``first + i``, shown at
    ``(first + i) / fps`` seconds from the stream's start, with viseme ``visemes[i]``."""

    first: int
    values: np.ndarray  # [n, len(vocabulary.CHANNELS)], float32
    weights: np.ndarray  # [n, len(vocabulary.VISEMES)], each viseme's weight

    def __len__(self) -> int:
        return len(self.values)

    @property
    def visemes(self) -> tuple[str, ...]:
        """Each frame's viseme: the one of largest weight."""
        return tuple(VISEMES[i] for i in self.weights.argmax(1))


class LiveAnimator:
    """Animation frames of speech that arrives a block at a time (see the module's example).

    Parameters
    ----------
    fps : float in [1, 240], frames per second
    lookahead : float >= 0, seconds of speech heard past a frame before it may be given
    max_lookahead : float >= lookahead or None
        Seconds of speech heard past a frame by when it is given (see the module's
        docstring); None gives every frame at ``lookahead``.
    text : str or None
        What the speech says, when known (more may follow: :meth:`add_text`); None
        recognizes the phones from the speech alone.
    voice : str, the espeak-ng voice (language) the text is read in
    recognizer : str, without text: ``"neural"`` or ``"phones"`` (see the module's docstring)
    """

    def __init__(
        self,
        *,
        fps: float = motion.DEFAULT_FPS,
        lookahead: float = DEFAULT_LOOKAHEAD,
        max_lookahead: float | None = DEFAULT_MAX_LOOKAHEAD,
        text: str | None = None,
        voice: str = "en-us",
        recognizer: str = DEFAULT_RECOGNIZER,
    ) -> None:
        if recognizer not in LIVE_RECOGNIZERS:
            raise InputError(f"Unknown live recognizer {recognizer!r}; choose one of: {', '.join(LIVE_RECOGNIZERS)}.")
        self.fps, self.lookahead = fps, lookahead
        self.max_lookahead = lookahead if max_lookahead is None else max(lookahead, max_lookahead)
        self._loop: PhoneLoop | NeuralListener | TextFollower = (
            LIVE_RECOGNIZERS[recognizer]() if text is None else TextFollower(text, voice=voice)
        )
        self._settled_after = SETTLED_AFTER[recognizer if text is None else "text"]
        self._meter = LevelMeter(fps=FRAME_RATE, sample_rate=SAMPLE_RATE, keep_seconds=KEEP)
        self._hearing = motion.Hearing()
        self._sound = np.zeros((0, self._hearing.width), np.float32)  # the jaw filter's frames heard, from _sound_first
        self._sound_first = 0
        self._next = 0  # the next frame to give
        self._estimated_at = -1  # meter frame of the last floor and typical level estimate
        self._floor = self._typical = 0.0

    def __enter__(self) -> LiveAnimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def heard(self) -> float:
        """Seconds of speech heard so far."""
        return self._loop.samples / SAMPLE_RATE

    def hear(self, samples: np.ndarray) -> LiveFrames:
        """Take the next block of speech (float samples in [-1, 1] at 16 kHz); the frames
        that are now known (maybe none)."""
        samples = np.asarray(samples, np.float32)
        self._loop.hear(samples)
        self._meter.add(samples)
        self._sound = np.concatenate([self._sound, self._hearing.samples(samples)])
        phones = self._loop.heard()
        return self._frames_until(self._ready(phones), phones)

    def add_text(self, text: str) -> None:
        """More of what the speech says, after the text given so far (only for an animator made with ``text``)."""
        if not isinstance(self._loop, TextFollower):
            raise ValueError("This animator recognizes speech without text; give text when making it.")
        self._loop.add_text(text)

    def finish(self) -> LiveFrames:
        """The frames left, up to the end of the speech, from the recognizer's final phones."""
        self._meter.finish()
        self._sound = np.concatenate([self._sound, self._hearing.finish()])
        phones = self._loop.finish()
        return self._frames_until(frame_count(self.heard, fps=self.fps) if self.heard else 0, phones)

    def close(self) -> None:
        """Give back the recognizer (a stream abandoned before :meth:`finish`)."""
        self._loop.close()

    def _ready(self, phones: list[Phone]) -> int:
        """The end of the frames that can be given now (see the module's docstring)."""
        may = int(np.ceil((self.heard - self.lookahead) * self.fps - 1e-9))
        must = int(np.ceil((self.heard - self.max_lookahead) * self.fps - 1e-9))
        ready = max(self._next, must)
        if not phones or ready >= may:
            return ready
        starts = [p.start for p in phones]
        while ready < may:
            t = float(frames_to_time(ready, fps=self.fps))
            phone = phones[max(0, bisect.bisect_right(starts, t) - 1)]
            if t >= phones[-1].end or (t - phone.start < self._settled_after and phone.label != SILENCE):
                break
            ready += 1
        return ready

    def _frames_until(self, last: int, phones: list[Phone]) -> LiveFrames:
        first = self._next
        if last <= first:
            return LiveFrames(first, np.zeros((0, len(CHANNELS)), np.float32), np.zeros((0, len(VISEMES)), np.float32))
        origin = max(0, first - int(np.ceil(CONTEXT * self.fps)))
        start = float(frames_to_time(origin, fps=self.fps))
        end = max(self.heard, float(frames_to_time(last, fps=self.fps)))
        nearby = [p for p in phones if p.end > start]
        if nearby:  # the last phone lasts until something else is heard
            nearby[-1] = nearby[-1]._replace(end=max(nearby[-1].end, self.heard))
        nearby = self._silence_where_quiet(nearby, start)
        track = tidy([p._replace(start=p.start - start, end=p.end - start) for p in nearby], end - start)
        values, weights = motion.to_curves(motion.to_visemes(track), fps=self.fps)
        times = np.asarray(frames_to_time(np.arange(origin, origin + len(values)), fps=self.fps))
        values = motion.modulate_jaw(values, self._level_at(times), typical_db=self._typical)
        curves = Animation(fps=self.fps, values=values, viseme_weights=weights)
        shaped = motion.shape_jaw(curves, self._heard_from(start))
        values, weights = shaped.values[first - origin : last - origin], weights[first - origin : last - origin]
        self._next = last
        self._loop.forget_before(start - CONTEXT)
        self._forget_sound_before(start - CONTEXT)
        return LiveFrames(first, values, weights)

    def _heard_from(self, start: float) -> np.ndarray:
        """The jaw filter's frames from ``start`` seconds on (as many as are heard)."""
        return self._sound[max(0, int(round(start * SOUND_RATE)) - self._sound_first) :]

    def _forget_sound_before(self, t: float) -> None:
        drop = int(t * SOUND_RATE) - self._sound_first
        if drop > 0:
            self._sound, self._sound_first = self._sound[drop:], self._sound_first + drop

    def _silence_where_quiet(self, phones: list[Phone], start: float) -> list[Phone]:
        meter = self._meter
        due = self._estimated_at < 0 or meter.measured - self._estimated_at >= REESTIMATE * FRAME_RATE
        if due and len(meter.levels):
            self._floor, self._typical = noise_floor(meter.levels), typical_level(meter.levels)
            self._estimated_at = meter.measured
        since = max(meter.first, int((start - VAD_CONTEXT) * FRAME_RATE))
        levels = meter.levels[since - meter.first :]
        return silence_where_quiet(phones, active_frames(levels, fps=FRAME_RATE, floor_db=self._floor), start=since)

    def _level_at(self, times: np.ndarray) -> np.ndarray:
        meter = self._meter
        if len(meter.levels) == 0:
            return np.full(len(times), self._typical, np.float32)
        since = min(max(meter.first, int(times[0] * FRAME_RATE) - 1), meter.measured - 1)  # only the levels near
        levels = meter.levels[since - meter.first :]
        return np.interp(times, (since + np.arange(len(levels))) / FRAME_RATE, levels).astype(np.float32)
