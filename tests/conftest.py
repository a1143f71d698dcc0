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


@pytest.fixture(scope="session")
def spoken(tmp_path_factory) -> Spoken:
    audio, phones = tts(SENTENCE)
    wav = tmp_path_factory.mktemp("speech") / "plums.wav"
    save(audio, wav)
    (wav.with_suffix(".txt")).write_text(SENTENCE, encoding="utf-8")
    return Spoken(SENTENCE, audio, phones, wav)
