"""Phones from speech: recognition without a transcript, forced alignment with one."""

from __future__ import annotations

import difflib
import warnings

import numpy as np
import pytest

from mouthpiece.errors import InputError
from mouthpiece.phonetics import align, recognize, split_at_pauses, tts, words_of
from mouthpiece.types import Audio
from mouthpiece.vocabulary import PHONES, SILENCE


def _covers(track, duration):
    phones = track.phones
    assert phones[0].start == 0 and phones[-1].end == pytest.approx(duration)
    assert all(abs(a.end - b.start) < 1e-9 for a, b in zip(phones, phones[1:]))
    assert {p.label for p in phones} <= set(PHONES)


@pytest.mark.parametrize("recognizer", ["words", "words-small", "phones"])
def test_recognize_finds_speech_between_silences(spoken, recognizer):
    track = recognize(spoken.audio, recognizer=recognizer)
    _covers(track, spoken.audio.duration)
    assert track.phones[0].label == SILENCE and track.phones[-1].label == SILENCE
    speech = sum(p.end - p.start for p in track.phones if p.label != SILENCE)
    assert speech > 0.5 * spoken.audio.duration
    assert all(0 <= w.start < w.end <= spoken.audio.duration for w in track.words)
    assert (len(track.words) > 2) == recognizer.startswith("words")


def test_unknown_recognizer_is_an_input_error(spoken):
    with pytest.raises(InputError, match="Unknown recognizer 'nope'"):
        recognize(spoken.audio, recognizer="nope")


@pytest.mark.parametrize("recognizer", ["words", "words-small", "phones"])
def test_recognize_on_silence_is_all_silence(recognizer):
    track = recognize(Audio(np.zeros(16_000, np.float32)), recognizer=recognizer)
    assert {p.label for p in track.phones} == {SILENCE}
    assert recognize(Audio(np.zeros(0, np.float32)), recognizer=recognizer).phones == ()


def test_align_places_every_word_and_every_closure(spoken):
    track = align(spoken.audio, spoken.text)
    _covers(track, spoken.audio.duration)
    assert [w.text for w in track.words] == words_of(spoken.text)
    truth = {w.text.lower(): w for w in spoken.phones.words}
    for word in track.words:
        assert abs(word.start - truth[word.text].start) < 0.1, word  # a stop's closure may go either way
    aligned = [(p.start, p.end) for p in track.phones if p.label in ("P", "B", "M")]
    assert len(aligned) == len(spoken.bilabial_times())
    for (start, end), (true_start, true_end) in zip(aligned, spoken.bilabial_times()):
        assert start < true_end + 0.03 and end > true_start - 0.03


def test_align_marks_unstressed_schwas(spoken):
    track = align(spoken.audio, spoken.text)
    the = next(w for w in track.words if w.text == "the")
    assert "AX" in [p.label for p in track.phones if the.start <= p.start < the.end]


def test_align_pronounces_words_missing_from_the_dictionary():
    text = "Zorblax met Quibbleflim."
    audio, _ = tts(text)
    track = align(audio, text)
    assert [w.text for w in track.words] == ["zorblax", "met", "quibbleflim"]
    labels = [p.label for p in track.phones]
    assert "Z" in labels and "M" in labels


def test_a_transcript_that_cannot_fit_falls_back_to_recognition_with_a_warning():
    silence = Audio(np.zeros(8_000, np.float32))
    text = "This sentence is far too long to be said in half a second of silence, by anyone at all."
    with pytest.warns(UserWarning, match="recognizing phones instead"):
        track = align(silence, text)
    assert {p.label for p in track.phones} == {SILENCE}


@pytest.mark.slow
def test_align_works_on_a_minute_of_speech():
    sentence = "The old mill by the river turned all summer, and the miller sang to the water. "
    text = sentence * 16
    audio, truth = tts(text)
    assert audio.duration > 60
    track = align(audio, text)
    assert len(track.words) == len(words_of(text))
    last_true, last = truth.words[-1], track.words[-1]
    assert abs(last.start - last_true.start) < 0.15


def test_split_at_pauses_cuts_long_audio_at_quiet_moments():
    rate = 16_000
    tone = np.sin(np.arange(rate * 4) * 2 * np.pi * 200 / rate).astype(np.float32)
    gap = np.zeros(rate // 2, np.float32)
    x = np.concatenate([tone, gap, tone, gap, tone])  # 13 s with pauses at 4-4.5 s and 8.5-9 s
    blocks = np.array_split(x, 13)
    chunks = list(split_at_pauses(blocks, sample_rate=rate, max_seconds=6.0))
    assert sum(len(c.samples) for _, c in chunks) == len(x)
    offsets = [offset for offset, _ in chunks]
    assert 4.0 <= offsets[1] <= 4.5 and all(offset * 100 == pytest.approx(round(offset * 100)) for offset in offsets)
    assert all(c.duration <= 6.0 for _, c in chunks)


def test_a_transcript_of_other_speech_is_caught_by_how_badly_it_fits():
    hello, _ = tts("Hello there.")
    goodbye, _ = tts("Goodbye now.")
    audio = Audio(np.concatenate([hello.samples, np.zeros(24_000, np.float32), goodbye.samples]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        track = align(audio, "Hello there. Goodbye now.")
    assert [w.text for w in track.words] == ["hello", "there", "goodbye", "now"]
    with pytest.warns(UserWarning, match="does not match the speech"):
        align(audio, "Cats and dogs. Birds fly.")


@pytest.mark.parametrize("recognizer", ["words", "phones"])
def test_speech_without_pauses_over_loud_noise_is_still_heard(spoken, recognizer):
    words = spoken.phones.words
    rate = spoken.audio.sample_rate
    speech = spoken.audio.samples[int(words[0].start * rate) : int(words[-1].end * rate)]
    noise = np.random.default_rng(5).normal(0, 0.05, len(speech)).astype(np.float32)  # -26 dBFS
    audio = Audio(np.clip(speech / np.abs(speech).max() * 0.9 + noise, -1, 1))
    track = recognize(audio, recognizer=recognizer)
    spoken_time = sum(p.end - p.start for p in track.phones if p.label != SILENCE)
    assert spoken_time > 0.6 * audio.duration


@pytest.mark.slow
def test_a_long_transcript_is_aligned_in_chunks_in_bounded_memory():
    import resource

    sentence = "The old mill by the river turned all summer, and the miller sang to the water. "
    text = sentence * 30  # about 2 minutes
    audio, truth = tts(text)
    assert audio.duration > 100
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    track = align(audio, text)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 400  # the whole-file trellis would take well over a gigabyte
    _covers(track, audio.duration)
    assert [w.text for w in track.words] == words_of(text)  # every word, in order, in some chunk
    errors = np.array([abs(w.start - t.start) for w, t in zip(track.words, truth.words)])
    assert np.mean(errors < 0.1) > 0.9  # and placed where espeak-ng said it


def _three_sentences(spoken) -> Audio:
    pause = np.zeros(spoken.audio.sample_rate // 2, np.float32)
    return Audio(np.concatenate([spoken.audio.samples, pause] * 3), spoken.audio.sample_rate)


def test_recognition_ahead_in_another_process_hears_what_this_one_does(spoken):
    from mouthpiece.phonetics.ahead import recognized_ahead

    audio = _three_sentences(spoken)
    chunks = list(recognized_ahead(audio, recognizer="phones", chunk_seconds=audio.duration / 2.5))
    assert len(chunks) >= 3 and chunks[0][0] == 0.0
    starts = [round(offset * audio.sample_rate) for offset, _, _ in chunks]
    assert starts == sorted(starts)
    for (_, chunk, heard), start in zip(chunks, starts):
        np.testing.assert_array_equal(chunk.samples, audio.samples[start : start + len(chunk.samples)])
        # (not identical: a decoder that has run before has adapted its cepstral means)
        here = [p.label for p in recognize(chunk, recognizer="phones").phones]
        assert difflib.SequenceMatcher(None, [p.label for p in heard.phones], here).ratio() >= 0.8
    assert starts[-1] + len(chunks[-1][1].samples) == len(audio.samples)  # the chunks cover it all


def test_recognition_started_early_is_taken_over_by_the_same_speech_only(spoken):
    from mouthpiece.phonetics import ahead

    audio = _three_sentences(spoken)
    seconds = audio.duration / 2.5
    ahead.start_early(audio, recognizer="phones", chunk_seconds=seconds)
    early = ahead._EARLY[0][1]
    taken = list(ahead.recognized_ahead(audio, recognizer="phones", chunk_seconds=seconds))
    assert not ahead._EARLY and early.poll() is not None  # taken over, and finished with
    fresh = list(ahead.recognized_ahead(audio, recognizer="phones", chunk_seconds=seconds))
    assert [(o, [p.label for p in h.phones]) for o, _, h in taken] == [
        (o, [p.label for p in h.phones]) for o, _, h in fresh
    ]
    ahead.start_early(audio, recognizer="phones", chunk_seconds=seconds)
    unused = ahead._EARLY[0][1]
    other = Audio(audio.samples[::-1].copy(), audio.sample_rate)  # other speech: starts its own, stops the early one
    assert list(ahead.recognized_ahead(other, recognizer="phones", chunk_seconds=seconds))
    assert not ahead._EARLY and unused.poll() is not None


def test_recognition_in_the_background_hears_what_this_process_does_and_reports_errors(spoken):
    from mouthpiece.phonetics.ahead import Recognition

    with Recognition(spoken.audio, recognizer="phones") as recognition:
        elsewhere = recognition.phones()
    here = recognize(spoken.audio, recognizer="phones")  # (a decoder that has run before has adapted: not identical)
    assert elsewhere.duration == here.duration
    labels = [p.label for p in elsewhere.phones], [p.label for p in here.phones]
    assert difflib.SequenceMatcher(None, *labels).ratio() >= 0.9
    failing = Recognition(spoken.audio, recognizer="no-such-recognizer")
    with pytest.raises(InputError, match="no-such-recognizer"):
        failing.phones()
    with Recognition(spoken.audio, recognizer="phones") as abandoned:
        child = abandoned._child
    assert child.poll() is not None  # leaving early stopped it


def test_recognition_ahead_works_from_a_script_without_a_main_guard(spoken, tmp_path):
    """multiprocessing's spawn would run such a script again in the child; ours must not."""
    import subprocess
    import sys

    from mouthpiece.audio import save

    wav = tmp_path / "three.wav"
    save(_three_sentences(spoken), wav)
    script = tmp_path / "script.py"
    script.write_text(
        "from mouthpiece import load_audio\n"
        "from mouthpiece.phonetics.ahead import recognized_ahead\n"
        f"audio = load_audio({str(wav)!r})\n"
        "print(len(list(recognized_ahead(audio, recognizer='phones', chunk_seconds=audio.duration / 2.5))))\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 3


def test_a_failing_recognizer_process_is_reported_in_the_caller(spoken):
    from mouthpiece.phonetics.ahead import recognized_ahead

    audio = _three_sentences(spoken)
    with pytest.raises(InputError, match="no-such-recognizer"):
        list(recognized_ahead(audio, recognizer="no-such-recognizer", chunk_seconds=audio.duration / 2.5))
