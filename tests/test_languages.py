"""Speech in any language espeak-ng speaks: --language, alignment to a rendering of the text,
and the few phonemes that are another sound in another language."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mouthpiece import api
from mouthpiece.errors import InputError
from mouthpiece.phonetics import align_text, check_language, is_english, languages, tts
from mouthpiece.phonetics.inventory import ipa_to_arpabet, language_of

CLOSURES = ("P", "B", "M")
SENTENCES = {
    "de": "Mein Bruder backt am Montag zwei Pflaumenkuchen.",
    "fr": "Mon père a bu un bon café avec ma mère.",
    "es": "Mi hermano compra pan blanco por la mañana.",
    "it": "Il bambino mangia una mela con il papà.",
}


def _closure_starts(track) -> np.ndarray:
    """Where the lips close: the first of each run of P/B/M (across "am Montag" they stay shut)."""
    phones = track.phones
    return np.array([p.start for i, p in enumerate(phones)
                     if p.label in CLOSURES and (i == 0 or phones[i - 1].label not in CLOSURES)])  # fmt: skip


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_a_sentence_lands_its_closures_where_the_speech_has_them(language):
    # another voice of the language, slower than the rendering it is aligned to
    speech, truth = tts(SENTENCES[language], voice=f"{language}+m3", rate_wpm=140)
    aligned = align_text(speech, SENTENCES[language], language=language)
    assert aligned.duration == pytest.approx(speech.duration)
    assert aligned.phones[0].start == 0 and aligned.phones[-1].end == pytest.approx(speech.duration)
    expected, found = _closure_starts(truth), _closure_starts(aligned)
    assert len(found) == len(expected) >= 3
    assert np.abs(found - expected).max() < 0.04, (found - expected).round(3)
    assert [w.text for w in aligned.words] == [w.text for w in truth.words]


def test_english_keeps_its_word_aligner_and_other_languages_are_not_read_as_english():
    speech, _ = tts("Guten Tag, meine Damen und Herren.", voice="de")
    german = api.to_phones(speech, text="Guten Tag, meine Damen und Herren.", language="de")
    labels = [p.label for p in german.phones if p.label != "sil"]
    assert labels[:5] == ["G", "UW", "T", "AX", "N"]  # not English rules' G Y UW N
    assert is_english("en-gb") and is_english("en-us+f3") and not is_english("de")


@pytest.mark.parametrize(
    ("phoneme", "language", "expected"),
    [("ɾ", "en", ["D"]), ("ɾ", "es", ["R"]), ("ɾ", "it", ["R"]), ("ɾ", "de", ["HH"]), ("ʁ", "fr", ["HH"]),
     ("e", "es", ["EH"]), ("e", "de", ["EY"]), ("o", "es", ["AO"]), ("x", "de", ["HH"])],
)  # fmt: skip
def test_some_phonemes_are_another_sound_in_another_language(phoneme, language, expected):
    assert ipa_to_arpabet(phoneme, language=language) == expected


def test_language_codes():
    assert language_of("pt-BR") == "pt" and language_of("mb-de1") == "de" and language_of("fr+f2") == "fr"
    codes = dict(languages())
    assert {"de", "fr", "es", "it", "nl", "pt-br", "pl", "cs", "fi", "ru", "en-us"} <= set(codes)
    assert check_language("pt-br") == "pt-br"
    for bad in ("xx-nowhere", "../../etc/passwd", ""):
        with pytest.raises(InputError, match="Unknown language"):
            check_language(bad)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mouthpiece.cli", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip


def test_the_command_line_takes_a_language(tmp_path):
    listing = _cli("languages")
    assert listing.returncode == 0 and "\nde\tGerman\n" in listing.stdout
    wav = tmp_path / "de.wav"
    assert _cli("say", SENTENCES["de"], "--language", "de", "-o", str(wav)).returncode == 0
    out = tmp_path / "de.tsv"
    done = _cli("animate", str(wav), "--language", "de", "--text", SENTENCES["de"], "-o", str(out), "-q")
    assert done.returncode == 0, done.stderr
    shapes = [line.split("\t")[1] for line in out.read_text().splitlines()]
    assert shapes.count("A") >= 3  # the closures of Mein, Bruder, backt, am Montag, Pflaumen
    refused = _cli("animate", str(wav), "--language", "xx-nowhere", "-o", str(tmp_path / "x.tsv"))
    assert refused.returncode == 1 and "Unknown language 'xx-nowhere'" in refused.stderr
    assert not (tmp_path / "x.tsv").exists()
