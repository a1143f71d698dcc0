"""Long transcripts aligned chunk by chunk, in bounded memory.

pocketsphinx's phone-level alignment keeps a trellis of every state of the transcript
by every frame: its memory grows with the square of the length (5 minutes took
2.9 GB). Past ``WHOLE_SECONDS`` the audio is therefore cut at pauses into chunks of at
most ``CHUNK_SECONDS`` and each chunk is aligned with its share of the words.

Chunks take their words in order. For each, the number of words is estimated from the
speech heard in it (its share of the speech still to come), and pocketsphinx decodes
the chunk with a grammar of the next words, the first ``expected - slack`` required
and up to ``2 * slack`` more optional: the words it hears are the chunk's, and the next
chunk starts after them. Each chunk is then aligned at phone level. A chunk whose
words do not fit is recognized instead (a warning says so); the others keep their
alignment.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from ..audio.features import voice_activity
from ..types import Audio, Phone, PhoneTrack, Word
from . import sphinx
from .align import ALIGN_PASSES, AlignmentFailed, align_words, ensure_in_dictionary, words_of
from .chunks import split_at_pauses
from .phone_loop import tidy
from .recognize import recognize

WHOLE_SECONDS = 90.0  # s, longer audio is aligned in chunks
CHUNK_SECONDS = 30.0  # s, longest chunk aligned at once
SLACK = 0.3  # fraction of a chunk's expected words it may say fewer or more of
MIN_SLACK = 4  # words
# The handout decodes without optional silences and noises between words: with them,
# pocketsphinx would rather call a chunk's last words noise than take them.
HANDOUT_SEARCH = {**ALIGN_PASSES[0], "fsgusefiller": False}


def _share_of_chunk(chunk: Audio, candidates: list[str], required: int) -> list[str]:
    """The words of ``candidates`` that ``chunk`` says: the first ``required`` must be
    there, the rest may be; a grammar of nested optional words lets pocketsphinx decide."""
    decoder = sphinx.decoder("align", **HANDOUT_SEARCH)
    ensure_in_dictionary([decoder], candidates)
    optional = candidates[required:]
    grammar = " ".join(candidates[:required]) + "".join(f" [{w}" for w in optional) + "]" * len(optional)
    try:
        decoder.add_jsgf_string("chunk", f"#JSGF V1.0;\ngrammar chunk;\npublic <s> = {grammar.strip()};\n")
        decoder.activate_search("chunk")
        sphinx.decode(decoder, sphinx.pcm16(chunk.samples))
        hypothesis = decoder.hyp()
    except RuntimeError:
        hypothesis = None
    heard = [re.sub(r"\(\d+\)$", "", w) for w in (hypothesis.hypstr.split() if hypothesis else [])]
    return heard if heard and heard == candidates[: len(heard)] else candidates[: max(required, 1)]


def align_in_chunks(audio: Audio, text: str) -> PhoneTrack:
    """Align a long transcript chunk by chunk; see the module's description."""
    chunks = list(split_at_pauses([audio.samples], sample_rate=audio.sample_rate, max_seconds=CHUNK_SECONDS))
    speech = np.array([voice_activity(chunk, fps=sphinx.FRAME_RATE).sum() for _, chunk in chunks], float) + 1
    words = words_of(text)
    phones: list[Phone] = []
    timed_words: list[Word] = []
    failed, next_word = 0, 0
    for k, (offset, chunk) in enumerate(chunks):
        left = words[next_word:]
        if k == len(chunks) - 1:
            share = left
        else:
            expected = round(len(left) * speech[k] / speech[k:].sum())
            slack = max(MIN_SLACK, round(SLACK * expected))
            with sphinx.lock():
                share = _share_of_chunk(chunk, left[: expected + slack], max(0, expected - slack)) if left else []
        next_word += len(share)
        try:
            track = align_words(chunk, share) if share else recognize(chunk)
        except AlignmentFailed:
            failed += 1
            track = recognize(chunk)
        phones.extend(p._replace(start=p.start + offset, end=p.end + offset) for p in track.phones)
        if share and [w.text for w in track.words] == share:
            timed_words.extend(w._replace(start=w.start + offset, end=w.end + offset) for w in track.words)
    if failed:
        warnings.warn(
            f"{failed} of {len(chunks)} stretches of the audio did not fit their part of the transcript; "
            "their phones are recognized instead.",
            UserWarning,
            stacklevel=3,
        )
    return PhoneTrack(tidy(phones, audio.duration).phones, audio.duration, tuple(timed_words))
