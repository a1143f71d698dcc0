"""Speech the tests make with espeak-ng: audio files with known words and phone timings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mouthpiece.audio import save
from mouthpiece.phonetics import tts
from mouthpiece.types import Audio, PhoneTrack

SENTENCE = "Please pass me the big blue bowl of plums, Bob."


@dataclass(frozen=True)
class Spoken:
    text: str
    audio: Audio
    phones: PhoneTrack  # espeak-ng's own, exact phone timings
    wav: Path

    def bilabial_times(self) -> list[tuple[float, float]]:
        return [(p.start, p.end) for p in self.phones.phones if p.label in ("P", "B", "M")]


# autouse: made before any other test speaks. espeak-ng's output varies a little from call
# to call within a process (internal random state that no call resets; the same text gives
# other samples and phone times after other speech), and the tests that check alignment
# against this sentence were written against its first rendering.
@pytest.fixture(scope="session", autouse=True)
def spoken(tmp_path_factory) -> Spoken:
    audio, phones = tts(SENTENCE)
    wav = tmp_path_factory.mktemp("speech") / "plums.wav"
    save(audio, wav)
    (wav.with_suffix(".txt")).write_text(SENTENCE, encoding="utf-8")
    return Spoken(SENTENCE, audio, phones, wav)
