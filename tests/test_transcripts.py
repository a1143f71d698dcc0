"""Transcripts that do not fit the speech: the right one, one that covers only its first
sentence, and another sentence altogether."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mouthpiece import api
from mouthpiece.phonetics import tts
from mouthpiece.types import Audio
from mouthpiece.vocabulary import CHANNEL_INDEX, SILENCE

FIRST = "Bob bought a big blue map for the trip."
SECOND = "Then we walked along the quiet river until the sun went down."


@pytest.fixture(scope="module")
def speech():
    first, _ = tts(FIRST, voice="en-us+m3")
    second, _ = tts(SECOND, voice="en-us+m3")
    pause = np.zeros(8000, np.float32)
    return Audio(np.concatenate([first.samples, pause, second.samples]), 16_000), first.duration + 0.5


def _phones(audio, text):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        track = api.to_phones(audio, text=text)
    return track, [str(w.message) for w in caught]


def _spoken(track, start, end):
    return sum(min(p.end, end) - max(p.start, start) for p in track.phones
               if p.label != SILENCE and p.end > start and p.start < end)  # fmt: skip


def test_the_right_transcript_is_aligned_without_a_word(speech):
    audio, _ = speech
    track, said = _phones(audio, f"{FIRST} {SECOND}")
    assert not said and [w.text for w in track.words][:3] == ["bob", "bought", "a"]


def test_a_transcript_of_the_first_sentence_is_aligned_there_and_the_rest_is_heard(speech, tmp_path):
    audio, second_starts = speech
    track, said = _phones(audio, FIRST)
    assert len(said) == 1 and "matches only the speech at 0.00-" in said[0] and "was recognized instead" in said[0]
    aligned = [w for w in track.words if w.end <= second_starts]
    assert [w.text for w in aligned] == ["bob", "bought", "a", "big", "blue", "map", "for", "the", "trip"]
    assert _spoken(track, second_starts, audio.duration) > 0.6 * (audio.duration - second_starts)  # not held shut
    jaw = api.to_animation(track, audio=audio, fps=100).values[:, CHANNEL_INDEX["JawOpen"]]
    assert jaw[int(second_starts * 100) :].max() > 0.3


def test_another_sentence_is_not_forced_onto_the_speech(speech):
    audio, _ = speech
    track, said = _phones(audio, "Completely different words about cooking pasta tonight.")
    assert len(said) == 1 and "does not match the speech (0.00-" in said[0]
    assert "pasta" not in [w.text for w in track.words]
    assert _spoken(track, 0, audio.duration) > 0.5 * audio.duration  # the mouth keeps moving through the speech


def test_the_command_line_names_the_file_and_the_span(tmp_path, speech):
    import subprocess
    import sys

    from mouthpiece.audio import save

    audio, _ = speech
    wav = tmp_path / "two.wav"
    save(audio, wav)
    command = [sys.executable, "-m", "mouthpiece.cli", "animate", str(wav), "--text", FIRST, "-o", str(wav) + ".tsv"]
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and f"'{wav}'" in done.stderr and "matches only the speech at 0.00-" in done.stderr
