"""The learned front end: the shipped model file, streaming equals one block, bad files, closures,
alignments moved to where it hears the boundaries."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mouthpiece.errors import InputError
from mouthpiece.neural import FrontEndOutput, FrontEndStream, decode_phones, default_model, load_model, recognize, run
from mouthpiece.neural.align import refined
from mouthpiece.neural.closures import heard_closures_only
from mouthpiece.neural.listen import NeuralListener
from mouthpiece.neural.model import DEFAULT_MODEL, FRAME_CENTRE_S, FRAME_RATE
from mouthpiece.phonetics import tts
from mouthpiece.types import Audio, Phone, PhoneTrack
from mouthpiece.vocabulary import VISEMES

# Our own sentences, full of bilabials (none from the evaluation corpora).
SENTENCES = {
    "en-us": "Bob bought a bumpy map from my pal Pam, maybe by boat.",
    "de": "Mein Papa baut im Sommer eine bunte Mauer am Berg.",
    "fr": "Paul boit une pomme bien mûre au bord du pont, puis il part.",
    "es": "Mi papá bebe mucho vino blanco y compra pan en Bogotá.",
}
TOLERANCE_S = 0.04  # s, how near a decoded closure must start to espeak-ng's P, B or M
MIN_HIT_RATE = 0.75  # share of bilabial onsets the decoded track must find


@pytest.fixture(scope="module")
def speech() -> dict[str, tuple]:
    return {voice: tts(text, voice=voice) for voice, text in SENTENCES.items()}


def test_shipped_model_loads_and_is_small():
    model = default_model()
    assert DEFAULT_MODEL.stat().st_size <= 20_000_000
    assert model.config.visemes == VISEMES
    assert model.config.lookahead <= 6
    assert model.meta["version"] == 1 and model.meta["training"]["data"]["total_hours"] > 1


def test_outputs_are_probabilities(speech):
    audio, _ = speech["en-us"]
    out = run(audio)
    assert out.posteriors.shape == (len(out.articulation), 15)
    assert np.allclose(out.posteriors.sum(1), 1.0, atol=1e-5)
    assert out.articulation.min() >= 0.0 and out.articulation.max() <= 1.0


@pytest.mark.parametrize("sizes", [[1], [7, 160, 3], [159, 161, 400], [4000], [100_000]])
def test_stream_in_chunks_equals_one_block(speech, sizes):
    audio, _ = speech["de"]
    whole = run(audio)
    stream, parts, i, k = FrontEndStream(), [], 0, 0
    while i < len(audio.samples):
        n = sizes[k % len(sizes)]
        parts.append(stream.push(audio.samples[i : i + n]))
        i, k = i + n, k + 1
    parts.append(stream.finish())
    assert [p.first for p in parts] == list(np.cumsum([0] + [len(p.posteriors) for p in parts[:-1]]))
    post = np.concatenate([p.posteriors for p in parts])
    art = np.concatenate([p.articulation for p in parts])
    assert post.shape == whole.posteriors.shape
    assert np.abs(post - whole.posteriors).max() < 1e-5
    assert np.abs(art - whole.articulation).max() < 1e-5
    assert (post.argmax(1) == whole.posteriors.argmax(1)).all()


def test_stream_lookahead_is_bounded():
    stream = FrontEndStream()
    lookahead = stream.model.config.lookahead
    out = stream.push(np.zeros(400 + 160 * (10 + lookahead - 1), np.float32))  # frames 0..10+lookahead-1
    assert len(out.posteriors) == 10  # each frame out once `lookahead` more frames have arrived


def _one_sentence(message: str, path) -> None:
    assert str(path) in message and message.endswith(".") and "\n" not in message
    assert message.count(". ") == 0


def test_missing_model_file(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(InputError) as e:
        load_model(path)
    _one_sentence(str(e.value), path)
    assert "does not exist" in str(e.value)


@pytest.mark.parametrize("kind", ["garbage", "empty", "no_config", "bad_json", "old_version", "wrong_shape"])
def test_corrupt_model_file(tmp_path, kind):
    path = tmp_path / "model.npz"
    with np.load(DEFAULT_MODEL) as good:
        arrays = {k: good[k] for k in good.files}
    meta = json.loads(str(arrays["config"]))
    if kind == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip file" * 10)
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        if kind == "no_config":
            del arrays["config"]
        elif kind == "bad_json":
            arrays["config"] = np.array("{not json")
        elif kind == "old_version":
            arrays["config"] = np.array(json.dumps({**meta, "version": 0}))
        elif kind == "wrong_shape":
            arrays["conv1.w"] = arrays["conv1.w"][:, :10]
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    with pytest.raises(InputError) as e:
        load_model(path)
    _one_sentence(str(e.value), path)


def test_bad_audio_is_refused():
    with pytest.raises(InputError):
        run(Audio(np.zeros(8000, np.float32), 8000))
    with pytest.raises(InputError):
        run(np.full(1000, np.nan, np.float32))


def test_silence_decodes_to_silence():
    phones, out = recognize(Audio(np.zeros(16_000, np.float32), 16_000))
    assert [p.label for p in phones.phones] == ["sil"]
    assert out.openness.max() < 0.2


def _onsets(labels_starts: list[tuple[str, float]], wanted: set[str]) -> np.ndarray:
    """Starts of runs of ``wanted`` phones."""
    out, previous = [], None
    for label, start in labels_starts:
        if label in wanted and previous not in wanted:
            out.append(start)
        previous = label
    return np.array(out)


def test_bilabial_closures_land_on_espeak_phonemes(speech):
    hits = total = 0
    report = []
    for voice, (audio, reference) in speech.items():
        phones, out = recognize(audio)
        ref = _onsets([(p.label, p.start) for p in reference.phones], {"P", "B", "M"})
        found = np.array([p.start for p in phones.phones if p.label == "P"])
        near = np.abs(ref[:, None] - found[None, :]).min(1) <= TOLERANCE_S if len(found) else np.zeros(len(ref), bool)
        hits, total = hits + int(near.sum()), total + len(ref)
        report.append(f"{voice}: {int(near.sum())}/{len(ref)}")
        # the articulation agrees: lips shut where the decoder put closures
        closure = out.closure[[min(int((t + 0.02) * 100), len(out.closure) - 1) for t in found]] if len(found) else []
        assert len(found) == 0 or np.median(closure) > 0.5
    print("bilabial onsets within 40 ms:", ", ".join(report))
    assert hits / total >= MIN_HIT_RATE, ", ".join(report)


def test_decode_covers_the_audio(speech):
    audio, _ = speech["fr"]
    out = run(audio)
    track = decode_phones(out, duration=audio.duration)
    assert track.phones[0].start == 0.0 and track.phones[-1].end == pytest.approx(audio.duration)
    assert all(p.end - p.start >= 0.025 for p in track.phones[1:-1])
    with pytest.raises(InputError):
        decode_phones(out, duration=0.0)


def test_public_api():
    import mouthpiece.neural as neural

    assert set(neural.__all__) == {
        "FrontEnd", "FrontEndOutput", "FrontEndStream", "decode_phones", "default_model", "load_model", "recognize",
        "run",
    }  # fmt: skip
    assert all(hasattr(neural, name) for name in neural.__all__)


def test_listening_in_blocks_ends_with_the_whole_recordings_phones(speech):
    audio, _ = speech["de"]
    whole = [(p.label, round(p.start, 4), round(p.end, 4)) for p in recognize(audio)[0].phones]
    for block in (160, 777):
        listener = NeuralListener()
        seen = []
        for start in range(0, len(audio.samples), block):
            listener.hear(audio.samples[start : start + block])
            seen.append(listener.heard())
        final = [(p.label, round(p.start, 4), round(p.end, 4)) for p in listener.finish()]
        assert final == whole
        # what was heard reaches up to ~the lookahead short of the speech, and grows towards the final phones
        assert seen[-1][-1].end == pytest.approx(audio.duration - 0.0475, abs=0.011)
        assert [p.label for p in seen[-1][:-2]] == [p[0] for p in whole[: len(seen[-1]) - 2]]


def test_a_listener_that_forgets_keeps_a_short_window_and_the_same_recent_phones(speech):
    audio, _ = speech["en-us"]
    samples = np.concatenate([audio.samples] * 3)
    keeping, forgetting = NeuralListener(), NeuralListener()
    for start in range(0, len(samples), 320):
        block = samples[start : start + 320]
        keeping.hear(block)
        forgetting.hear(block)
        forgetting.forget_before(forgetting.samples / 16_000 - 0.5)
    assert len(forgetting._kept.posteriors) <= 60 and len(forgetting._kept.hidden) <= 60  # 0.5 s, not the whole stream
    recent = [p for p in forgetting.heard() if p.start > forgetting.samples / 16_000 - 0.3]
    same = [p for p in keeping.heard() if p.start > keeping.samples / 16_000 - 0.3]
    assert [p.label for p in recent] == [p.label for p in same]


def _posteriors(runs: list[tuple[str, int]]) -> FrontEndOutput:
    """Confident posteriors of viseme runs (name, frames)."""
    rows = [VISEMES.index(name) for name, frames in runs for _ in range(frames)]
    posteriors = np.full((len(rows), len(VISEMES)), 0.01, np.float32)
    posteriors[np.arange(len(rows)), rows] = 0.9
    return FrontEndOutput(posteriors, np.zeros((len(rows), 3), np.float32), 0)


def _frame_time(frame: int) -> float:
    return FRAME_CENTRE_S + (frame - 0.5) / FRAME_RATE


def test_an_alignment_moves_its_boundaries_to_where_the_front_end_hears_them():
    # heard: 20 frames of silence, 30 of AA, 12 of P, 30 of AA, 18 of silence; the warp put
    # the P and the vowel after it 5 frames early, the end of speech 7
    heard = _posteriors([("sil", 20), ("aa", 30), ("PP", 12), ("aa", 30), ("sil", 18)])
    bounds = [_frame_time(f) for f in (20, 45, 57, 85)]
    duration = FRAME_CENTRE_S + 110 / FRAME_RATE
    labels = ["sil", "AA", "P", "AA", "sil"]
    track = PhoneTrack(tuple(Phone(a, b, p) for a, b, p in zip([0.0, *bounds], [*bounds, duration], labels)), duration)
    moved = refined(track, heard, VISEMES)
    assert [p.label for p in moved.phones] == labels
    assert [round(p.start, 3) for p in moved.phones[1:]] == [round(_frame_time(f), 3) for f in (20, 50, 62, 92)]
    assert moved.phones[0].start == 0 and moved.phones[-1].end == duration


def test_where_the_front_end_cannot_tell_two_phones_apart_the_boundary_stays():
    heard = _posteriors([("sil", 20), ("PP", 20), ("aa", 30)])  # M then B: both closed lips
    bounds = [_frame_time(f) for f in (20, 28, 40)]
    duration = FRAME_CENTRE_S + 70 / FRAME_RATE
    labels = ["sil", "M", "B", "AA"]
    track = PhoneTrack(tuple(Phone(a, b, p) for a, b, p in zip([0.0, *bounds], [*bounds, duration], labels)), duration)
    assert refined(track, heard, VISEMES).phones == track.phones


def test_a_bilabial_the_front_end_hears_no_closure_for_is_taken_back():
    audio, reference = tts("Sixty tired cats sat in the sand, lazily.", voice="en-us")
    vowels = [p for p in reference.phones if p.label in ("AE", "AY", "IH", "IY", "AH") and p.end - p.start > 0.05]
    vowel = vowels[len(vowels) // 2]
    misheard = PhoneTrack(tuple(Phone(p.start, p.end, "M", p.score) if p == vowel else p for p in reference.phones),
                          reference.duration)  # fmt: skip
    kept = heard_closures_only(misheard, run(audio))
    assert [p.label for p in kept.phones if p.start == vowel.start] != ["M"]
    assert not any(p.label in ("P", "B", "M") for p in kept.phones)


def test_bilabials_the_front_end_hears_are_kept(speech):
    for voice in ("en-us", "de"):
        audio, reference = speech[voice]
        assert heard_closures_only(reference, run(audio)).phones == reference.phones, voice


@pytest.mark.parametrize(("voice", "text"), [("en-us", "The cat sat on the tall red chair."),
                                             ("de", "Der Hund lief schnell nach Hause."),
                                             ("fr", "Le chat dort sur la chaise.")])  # fmt: skip
def test_the_end_of_a_recording_is_not_heard_as_a_closure(voice, text):
    # speech that stops 50 ms before the file does, with no P, B or M near its end: the
    # frames past the last one must not sound like a burst, or the lips shut there
    audio, reference = tts(text, voice=voice)
    assert not {"P", "B", "M"} & {p.label for p in reference.phones[-4:]}
    phones, out = recognize(audio)
    last = [p.label for p in phones.phones if p.end > audio.duration - 0.15]
    assert "P" not in last, last
    assert out.closure[-8:].max() < 0.5
