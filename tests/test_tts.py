"""Text to speech with espeak-ng: timings that match the audio, words, the IPA mapping."""

from __future__ import annotations

import numpy as np
import pytest

from mouthpiece.errors import DependencyError, InputError
from mouthpiece.phonetics import espeak
from mouthpiece.phonetics.inventory import IPA_TO_ARPABET, cmu_to_arpabet, ipa_to_arpabet
from mouthpiece.phonetics.tts import tts
from mouthpiece.types import Audio, PhoneTrack
from mouthpiece.vocabulary import PHONES, SILENCE, VOWELS

ENGLISH = {
    "Pam bought a map.": ["Pam", "bought", "a", "map"],
    "Hello, world. This is a test!": ["Hello", "world", "This", "is", "a", "test"],
    "My mom made maple pie for Bob, and Pete put it up.": [
        "My", "mom", "made", "maple", "pie", "for", "Bob", "and", "Pete", "put", "it", "up",
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def english() -> dict[str, tuple[Audio, PhoneTrack]]:
    return {text: tts(text) for text in ENGLISH}


def _rms(audio: Audio, start: float, end: float) -> float:
    segment = audio.samples[int(start * audio.sample_rate) : int(end * audio.sample_rate)]
    return float(np.sqrt(np.mean(segment.astype(np.float64) ** 2))) if len(segment) else 0.0


def _word_phones(track: PhoneTrack, text: str) -> list[str]:
    word = next(w for w in track.words if w.text == text)
    return [p.label for p in track.phones if word.start <= p.start < word.end]


def test_track_covers_the_audio_contiguously(english):
    for text, (audio, track) in english.items():
        assert audio.sample_rate == 16_000 and audio.samples.dtype == np.float32
        assert 0.1 < np.abs(audio.samples).max() <= 1.0
        assert track.duration == pytest.approx(audio.duration)
        assert 0.15 < audio.duration / len(ENGLISH[text]) < 0.8  # seconds per word
        phones = track.phones
        assert phones[0].start == 0.0 and phones[-1].end == pytest.approx(audio.duration)
        assert all(a.end == b.start for a, b in zip(phones, phones[1:]))
        assert all(p.end > p.start for p in phones)
        assert phones[0].label == SILENCE and phones[-1].label == SILENCE
        assert {p.label for p in phones} <= set(PHONES)


def test_words_are_the_texts_words_in_order(english):
    for text, (_, track) in english.items():
        assert [w.text for w in track.words] == ENGLISH[text]
        phone_edges = {p.start for p in track.phones} | {p.end for p in track.phones}
        for word in track.words:
            assert word.start in phone_edges and word.end in phone_edges


@pytest.mark.parametrize(
    ("word", "expected"),
    [("map", ["M", "AE", "P"]), ("Pam", ["P", "AE", "M"]), ("bought", ["B", "AO", "T"]),
     ("world", ["W", "ER", "L", "D"]), ("mom", ["M", "AA", "M"])],
)  # fmt: skip
def test_known_words_give_known_phones(english, word, expected):
    track = next(t for _, t in english.values() if word in [w.text for w in t.words])
    assert _word_phones(track, word) == expected


def test_bilabials_line_up_with_closures_in_the_audio(english):
    bilabial, vowel, stop_minima, tails = [], [], [], []
    for audio, track in english.values():
        peak = max(_rms(audio, t, t + 0.01) for t in np.arange(0, audio.duration, 0.01))
        phones = track.phones
        for before, p in zip(phones, phones[1:]):
            level = _rms(audio, p.start, p.end) / peak
            if p.label in ("P", "B", "M"):
                bilabial.append(level)
            elif p.label in VOWELS:
                vowel.append(level)
            if p.label in ("P", "B") and before.label in VOWELS:
                frames = np.arange(p.start, p.end - 0.005, 0.005)
                stop_minima.append(min(_rms(audio, t, t + 0.005) for t in frames) / peak)
                tails.append(_rms(audio, p.start - 0.01, p.start) / peak)
    assert len(bilabial) > 10 and len(stop_minima) >= 4
    # lips shut: much quieter than the vowels on average
    assert np.mean(bilabial) < 0.5 * np.mean(vowel)
    # a P or B after a vowel holds its silent closure; the vowel before it ends sounding
    assert max(stop_minima) < 0.05  # espeak-ng varies a little from call to call within a process
    assert min(tails) > 0.02


def test_vowels_after_nasals_start_where_the_energy_rises(english):
    rises = []
    for audio, track in english.values():
        for nasal, v in zip(track.phones, track.phones[1:]):
            if nasal.label in ("M", "N") and v.label in VOWELS:
                murmur = _rms(audio, nasal.end - 0.015, nasal.end)
                rises.append(20 * np.log10(_rms(audio, v.start, v.start + 0.015) / murmur))
    assert len(rises) >= 5 and np.mean(rises) > 4  # dB


@pytest.mark.parametrize(
    ("voice", "text"),
    [("de", "Guten Morgen, wie geht es dir? Zwölf Bücher."),
     ("fr", "Bonjour, un bon vin blanc pour tout le monde."),
     ("es", "El niño llama al perro."),
     ("en-gb", "Fancy a cup of tea?")],
)  # fmt: skip
def test_other_voices_give_inventory_phones(voice, text):
    audio, track = tts(text, voice=voice)
    spoken = [p.label for p in track.phones if p.label != SILENCE]
    assert len(spoken) > 10 and set(spoken) <= set(PHONES)
    assert track.phones[0].label == track.phones[-1].label == SILENCE
    assert len(track.words) >= 4 and audio.duration > 1.0


def test_rate_changes_the_duration():
    slow, _ = tts("Pam bought a map.", rate_wpm=100)
    fast, _ = tts("Pam bought a map.", rate_wpm=300)
    assert fast.duration < 0.6 * slow.duration


def test_the_fastest_rate_gives_a_valid_track_in_every_language():
    """At 450 words a minute espeak-ng times some words' first phoneme before the previous
    word's last; the track must still be in order (a Dutch transcript aligned to shorter
    speech asked for this rate and failed)."""
    text = "Dit is een heel andere zin die veel langer duurt dan wat er werkelijk gezegd werd, echt waar."
    for voice in ("nl", "en-us", "de"):
        audio, track = tts(text, voice=voice, rate_wpm=450)
        starts = [p.start for p in track.phones]
        assert starts == sorted(starts) and track.phones[-1].end == pytest.approx(audio.duration)
        assert sum(p.label != SILENCE for p in track.phones) > 25


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [("", {}, "Text is empty; nothing to say."),
     (" \n\t", {}, "Text is empty; nothing to say."),
     ("...", {}, "nothing espeak-ng voice 'en-us' can say"),
     ("hello", {"voice": "xx-nowhere"}, "Unknown espeak-ng voice 'xx-nowhere'"),
     ("hello", {"voice": ""}, "Unknown espeak-ng voice"),
     ("hello", {"voice": "../../../etc/passwd"}, "Unknown espeak-ng voice"),
     ("hello", {"rate_wpm": 10}, "between 80 and 450")],
)  # fmt: skip
def test_bad_input_raises(text, options, message):
    with pytest.raises(InputError, match=message):
        tts(text, **options)


def test_missing_library_raises_dependency_error(monkeypatch):
    monkeypatch.setattr(espeak, "_engine", None)
    monkeypatch.setattr(espeak.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(espeak, "LIBRARY_FILE", "libespeak-ng-missing.so.0")
    with pytest.raises(DependencyError, match="install the Debian package espeak-ng"):
        espeak.synthesize("hello")


def test_synthesize_reports_phonemes_within_the_audio():
    samples, rate, events = espeak.synthesize("Pam bought a map.")
    assert samples.dtype == np.int16 and rate == 22_050
    phonemes = [e for e in events if e.type == espeak.EventType.PHONEME]
    times = [e.audio_position_ms for e in phonemes]
    assert times == sorted(times) and times[-1] <= 1000 * len(samples) / rate
    assert [e.phoneme for e in phonemes if e.phoneme][:3] == ["p", "æ", "m"]
    assert [e.length for e in events if e.type == espeak.EventType.WORD] == [3, 6, 1, 3]


def test_phonemize_gives_ipa_per_word():
    words = espeak.phonemize("hello world")
    assert len(words) == 2 and words[0][0] == "h" and words[1][0] == "w"
    arpabet = [[p for ipa in word for p in ipa_to_arpabet(ipa)] for word in words]
    assert arpabet == [["HH", "AX", "L", "OW"], ["W", "ER", "L", "D"]]
    assert espeak.phonemize("") == []
    assert len(espeak.phonemize("Guten Tag, mein Freund.", voice="de")) == 4


@pytest.mark.parametrize(
    ("ipa", "expected"),
    [("tʃ", ["CH"]), ("dʒ", ["JH"]), ("ts", ["T", "S"]), ("pf", ["P", "F"]),
     ("aɪ", ["AY"]), ("aʊ", ["AW"]), ("ɔɪ", ["OY"]), ("eɪ", ["EY"]), ("oʊ", ["OW"]),
     ("əʊ", ["OW"]), ("ə", ["AX"]), ("ɐ", ["AX"]), ("ʌ", ["AH"]), ("ɚ", ["ER"]),
     ("ɜː", ["ER"]), ("ɹ", ["R"]), ("r", ["R"]), ("ʁ", ["HH"]), ("ɾ", ["D"]),
     ("ˈa", ["AA"]), ("ˌiː", ["IY"]), ("uː", ["UW"]), ("ɑː", ["AA"]), ("ɔː", ["AO"]),
     ("y", ["UW"]), ("yː", ["UW"]), ("ø", ["OW"]), ("œ", ["ER"]), ("ɑ̃", ["AA"]),
     ("ɔ̃", ["AO"]), ("œ̃", ["ER"]), ("ɐ̃ʊ̃", ["OW"]), ("ç", ["HH"]), ("x", ["HH"]),
     ("ɲ", ["N", "Y"]), ("ʎ", ["L", "Y"]), ("ʈ", ["T"]), ("ʂ", ["SH"]), ("ɕ", ["SH"]),
     ("tɕ", ["CH"]), ("β", ["B"]), ("ʋ", ["V"]), ("ɥ", ["W"]), ("ŋ", ["NG"]),
     ("kʰ", ["K"]), ("n̩", ["N"]), ("t͡ʃ", ["CH"]), ("aɪə", ["AY", "AX"]),
     ("oːɹ", ["AO", "R"]), ("ss", ["S"]), ("kː", ["K"]), ("s.", ["SH"]), ("ᵻ", ["IH"]),
     ("ʔ", []), ("ʲ", []), ("ˈ", []), ("", []), ("ː", []), ("5", []), ("ǃ", ["T"]),
     ("ʘ", ["P"])],
)  # fmt: skip
def test_ipa_to_arpabet(ipa, expected):
    assert ipa_to_arpabet(ipa) == expected


@pytest.mark.parametrize("symbol", ["ꭤ", "ɿ", "ǹ", "ã", "ʬ", "ᴂ", "q̃ʷ", "ɯᵝ"])
def test_unknown_letters_map_into_the_inventory(symbol):
    phones = ipa_to_arpabet(symbol)
    assert phones and set(phones) <= set(PHONES) - {SILENCE}


def test_symbols_that_are_not_letters_map_to_nothing():
    assert ipa_to_arpabet("😀") == ipa_to_arpabet("!?") == ipa_to_arpabet("˥˩") == []


def test_ipa_table_values_are_inventory_phones():
    for key, phones in IPA_TO_ARPABET.items():
        assert key and set(phones) <= set(PHONES) - {SILENCE}, key


@pytest.mark.parametrize(
    ("label", "expected"),
    [("AH0", "AH"), ("EY1", "EY"), ("er2", "ER"), ("NG", "NG"), ("SIL", SILENCE),
     ("+NSN+", SILENCE), ("+SPN+", SILENCE), ("XX", InputError), ("", InputError)],
)  # fmt: skip
def test_cmu_to_arpabet(label, expected):
    if expected is InputError:
        with pytest.raises(InputError):
            cmu_to_arpabet(label)
    else:
        assert cmu_to_arpabet(label) == expected
