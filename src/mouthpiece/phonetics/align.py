"""Forced alignment: the words of a known transcript, and their phones, placed in time.

pocketsphinx aligns in two passes (words, then phones within them). Its pruning must be
wide for alignment to reach the end of the grammar; when it still fails we retry wider
and without optional fillers (:func:`align_words`), and if that fails too
:func:`mouthpiece.phonetics.transcript.align` falls back to recognition with a warning:
alignment never just fails.

Words missing from pocketsphinx's dictionary (names, coinages, numbers) are pronounced
by espeak-ng's phonemizer, mapped from IPA to our inventory. Unstressed schwas, which
the dictionary writes as ``AH`` like stressed vowels, are told apart with espeak-ng's
pronunciation of the same word (it writes ``ə``): the lips treat them differently.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from ..audio.features import voice_activity
from ..errors import InputError
from ..neural.model import FRAME_CENTRE_S
from ..types import Audio, Phone, PhoneTrack, Word
from ..vocabulary import SILENCE, VISEMES, VOWELS
from . import sphinx
from .inventory import cmu_to_arpabet
from .phone_loop import tidy

# Pruning passes tried in order; pocketsphinx needs all three beams equal.
ALIGN_PASSES = (
    {"beam": 1e-100, "wbeam": 1e-100, "pbeam": 1e-100, "bestpath": False, "silprob": 0.1},
    {"beam": 1e-150, "wbeam": 1e-150, "pbeam": 1e-150, "bestpath": False, "fsgusefiller": False},
)
WORD_PATTERN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
SCHWA_IPA = ("ə", "ɐ", "ᵻ", "ɚ")
# Misfit of an alignment above which its transcript is taken for other speech. On a dev
# corpus (175 utterances) correct transcripts scored up to 0.73; other sentences of similar
# length above 0.8 in 27 of 59 cases: a gross mismatch is caught, a near miss passes.
MAX_MISFIT = 0.8
OVER_SILENCE_WEIGHT = 3.0  # phones over silence are the strongest sign of a misfit
# heard_fit below which a transcript is taken for other speech: right transcripts scored
# 0.41-0.88 on real broadcast clips and our own synthesized sentences, others 0.10-0.42.
MIN_HEARD_FIT = 0.35
MIN_PHONE = 0.03  # s, the shortest phone alignment makes (3 frames of 10 ms)


class AlignmentFailed(Exception):
    """pocketsphinx could not align the transcript (internal; ``align`` falls back)."""


def words_of(text: str) -> list[str]:
    """The transcript's words, lower-cased, punctuation dropped.

    >>> words_of("Hello, world! It's 3 o'clock.")
    ['hello', 'world', "it's", '3', "o'clock"]
    """
    return [w.replace("’", "'").lower() for w in WORD_PATTERN.findall(text)]


@lru_cache(maxsize=4096)
def _espeak_phonemes(word: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """espeak-ng's IPA phonemes of ``word``, each with the inventory phones it maps to."""
    from .espeak import phonemize
    from .inventory import ipa_to_arpabet

    return tuple((ipa, tuple(ipa_to_arpabet(ipa))) for ipa_word in phonemize(word) for ipa in ipa_word)


def _espeak_pronunciation(word: str) -> tuple[str, ...]:
    return tuple(p for _, mapped in _espeak_phonemes(word) for p in mapped if p != SILENCE)


def _espeak_vowels(word: str) -> tuple[bool, ...]:
    """For each vowel espeak-ng says in ``word``: is it a schwa?"""
    return tuple(
        any(ipa.strip("ˈˌ").startswith(s) for s in SCHWA_IPA)
        for ipa, mapped in _espeak_phonemes(word)
        if any(p in VOWELS for p in mapped)
    )


def _sphinx_phones(phones: tuple[str, ...]) -> str:
    # pocketsphinx's model has no separate schwa
    return " ".join("AH" if p == "AX" else p for p in phones)


def ensure_in_dictionary(decoders: list, words: list[str]) -> None:
    """Add to each decoder's dictionary the words it lacks, pronounced by espeak-ng."""
    for word in set(words):
        if decoders[0].lookup_word(word) is not None:
            continue
        pronunciation = _espeak_pronunciation(word)
        if not pronunciation:
            raise InputError(f"Cannot pronounce the transcript word {word!r}.")
        for d in decoders:
            d.add_word(word, _sphinx_phones(pronunciation), True)


def _mark_schwas(word: str, phones: list[Phone]) -> list[Phone]:
    """Relabel the word's AH phones that espeak-ng pronounces as schwa to AX."""
    vowel_positions = [i for i, p in enumerate(phones) if p.label in VOWELS]
    flags = _espeak_vowels(word)
    if len(flags) != len(vowel_positions):
        return phones
    out = list(phones)
    for i, is_schwa in zip(vowel_positions, flags):
        if is_schwa and out[i].label == "AH":
            out[i] = out[i]._replace(label="AX")
    return out


def _align_once(decoder, raw: bytes, words: list[str]) -> tuple[list[Phone], list[Word]]:
    try:
        decoder.set_align_text(" ".join(words))
        sphinx.decode(decoder, raw)
        if decoder.hyp() is None:
            raise AlignmentFailed("no hypothesis")
        decoder.set_alignment()
        sphinx.decode(decoder, raw)
        alignment = decoder.get_alignment()
    except RuntimeError as e:
        raise AlignmentFailed(str(e)) from e
    if alignment is None:
        raise AlignmentFailed("no alignment")
    phones: list[Phone] = []
    timed_words: list[Word] = []
    rate = sphinx.FRAME_RATE
    for entry in alignment:
        name = re.sub(r"\(\d+\)$", "", entry.name)
        word_phones = [Phone(p.start / rate, (p.start + p.duration) / rate, cmu_to_arpabet(p.name), 1.0) for p in entry]
        if name.startswith("<") or name.startswith("["):
            phones.extend(Phone(p.start, p.end, SILENCE, 1.0) for p in word_phones)
            continue
        timed_words.append(Word(entry.start / rate, (entry.start + entry.duration) / rate, name))
        phones.extend(_mark_schwas(name, word_phones))
    aligned = [w.text for w in timed_words]
    if aligned != words:
        raise AlignmentFailed("alignment did not cover the transcript")
    return phones, timed_words


def align_words(audio: Audio, words: list[str]) -> PhoneTrack:
    """Align words (lower-case, from :func:`words_of`) to speech, or raise AlignmentFailed.

    Tries each of ``ALIGN_PASSES`` in turn; words missing from the dictionary are added.
    """
    decoders = [sphinx.decoder("align", **options) for options in ALIGN_PASSES]
    raw = sphinx.pcm16(audio.samples)
    with sphinx.lock():
        ensure_in_dictionary(decoders, words)
        for decoder in decoders:
            try:
                phones, timed_words = _align_once(decoder, raw, words)
            except AlignmentFailed:
                continue
            track = tidy(phones, audio.duration)
            clipped = tuple(w._replace(end=min(w.end, audio.duration)) for w in timed_words if w.start < audio.duration)
            return PhoneTrack(track.phones, track.duration, clipped)
    raise AlignmentFailed("no alignment pass reached the end of the transcript")


def misfit(track: PhoneTrack, audio: Audio) -> float:
    """How badly an alignment fits the audio: 0 for a good fit, above ``MAX_MISFIT`` for
    a transcript of other speech.

    Forced alignment always places every word somewhere; a wrong transcript shows in
    where it put them: speech left as silence, phones laid over silence, and phones
    squeezed to the minimum length (3 frames) because the words did not fit there.
    """
    speech = voice_activity(audio, fps=sphinx.FRAME_RATE)
    aligned = np.zeros(len(speech), bool)
    spoken = [p for p in track.phones if p.label != SILENCE]
    for p in spoken:
        aligned[round(p.start * sphinx.FRAME_RATE) : round(p.end * sphinx.FRAME_RATE)] = True
    missed = (speech & ~aligned).sum() / max(1, speech.sum())
    over_silence = (aligned & ~speech).sum() / max(1, aligned.sum())
    squeezed = sum(p.end - p.start < MIN_PHONE + 1e-3 for p in spoken) / max(1, len(spoken))
    return float(missed + OVER_SILENCE_WEIGHT * over_silence + squeezed)


def heard_fit(track: PhoneTrack, audio: Audio) -> float:
    """How well the visemes an alignment puts at each moment are heard there: the learned
    front end's mean posterior of them over the speech, relative to that of the visemes it
    hears best. About 0.5-0.9 for the right transcript (0.41 at worst on real broadcast
    speech), 0.1-0.4 for another sentence; see :data:`MIN_HEARD_FIT`."""
    from ..motion.rules import PHONE_TO_VISEME  # the motion stage's table: which viseme each phone shows
    from ..neural import run

    posteriors = run(audio).posteriors
    if not len(posteriors) or not track.phones:
        return 1.0
    times = FRAME_CENTRE_S + np.arange(len(posteriors)) / sphinx.FRAME_RATE
    starts = np.array([p.start for p in track.phones])
    index = np.clip(np.searchsorted(starts, times, "right") - 1, 0, len(starts) - 1)
    visemes = np.array([VISEMES.index(PHONE_TO_VISEME.get(track.phones[i].label, SILENCE)) for i in index])
    speech = visemes != VISEMES.index(SILENCE)
    if not speech.any():
        return 1.0
    rows = np.flatnonzero(speech)
    return float(posteriors[rows, visemes[rows]].mean() / posteriors[rows].max(1).mean())


def fits(track: PhoneTrack, audio: Audio) -> bool:
    """Whether an alignment is of the speech it was aligned to (:func:`misfit`, :func:`heard_fit`)."""
    return misfit(track, audio) <= MAX_MISFIT and heard_fit(track, audio) >= MIN_HEARD_FIT
