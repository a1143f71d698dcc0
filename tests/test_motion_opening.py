"""The jaw's opening heard from the sound as well as read from the phones (motion/opening.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mouthpiece import api, motion
from mouthpiece.audio import log_mel
from mouthpiece.errors import InputError
from mouthpiece.motion import opening, rules
from mouthpiece.neural.model import default_model, run
from mouthpiece.phonetics import tts
from mouthpiece.vocabulary import CHANNEL_INDEX

JAW = CHANNEL_INDEX["JawOpen"]


@pytest.fixture(scope="module")
def speech():
    return tts("Bob bought a big blue map, and we watched the boats pass by.", voice="en-us+m3")


def test_the_shipped_model_loads_and_says_how_it_was_fitted():
    model = opening.OpeningModel.load(opening.MODEL_FILE)
    assert model.lookahead <= 0.06 + 1e-9  # a stream can apply it with 60 ms of lookahead
    card = model.scores()
    assert card["speakers"] >= 10 and card["words"]["loso_r0"] > card["words"]["unfiltered_r0"]


@pytest.mark.parametrize("content", [b"", b"not a numpy file", None])
def test_a_missing_or_corrupt_model_gets_one_sentence(tmp_path, content):
    path = tmp_path / "opening.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=r"^The opening model '.*opening\.npz' cannot be read: .*\.$"):
        opening.OpeningModel.load(path)


def test_hearing_in_blocks_gives_the_frames_of_hearing_at_once(speech):
    audio, _ = speech
    spectra = log_mel(audio.samples)
    hearing = opening.Hearing()
    whole = np.concatenate([hearing(spectra), hearing.finish()])
    hearing = opening.Hearing()
    parts = [hearing(spectra[a : a + 37]) for a in range(0, len(spectra), 37)] + [hearing.finish()]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)
    hearing = opening.Hearing()
    blocks = [hearing.samples(audio.samples[a : a + 1234]) for a in range(0, len(audio.samples), 1234)]
    # float32 rounding: the front end's hidden layer sums in another order by blocks of samples
    np.testing.assert_allclose(np.concatenate(blocks + [hearing.finish()]), whole, atol=3e-5)
    np.testing.assert_allclose(whole, motion.heard(audio.samples), atol=1e-5)
    assert len(whole) == len(spectra)


def test_the_filter_listens_to_the_bands_and_to_the_front_ends_hidden_layer(speech):
    audio, _ = speech
    shipped = opening.model()
    assert shipped.hidden == default_model().config.channels == 96
    assert shipped.front_end == default_model().fingerprint  # fitted to the front end shipped beside it
    spectra = log_mel(audio.samples)
    heard = motion.heard(audio.samples)
    assert heard.shape == (len(spectra), 40 + 96)
    np.testing.assert_allclose(heard[:, 40:], run(audio).hidden, atol=1e-4)  # the front end's own layer
    hearing = opening.Hearing()
    lookahead = default_model().config.lookahead
    assert len(hearing(spectra[:50])) == 50 - lookahead  # a frame comes once the front end has heard past it


def test_a_filter_of_the_bands_alone_still_loads_and_hears_them(speech, tmp_path):
    """Style files saved before the filter listened to the front end hear what they were fitted to."""
    audio, _ = speech
    shipped = opening.model()
    bands_only = len(shipped.taps) * (len(shipped.channels) + len(shipped.mel_prior))
    old = replace(shipped, weights=shipped.weights[:bands_only], mean=shipped.mean[:bands_only],
                  std=shipped.std[:bands_only], hidden=0, front_end="")  # fmt: skip
    path = tmp_path / "old.npz"
    old.save(path)
    loaded = opening.OpeningModel.load(path)
    assert loaded.hidden == 0 and motion.heard(audio.samples, loaded).shape[1] == 40


def test_a_filter_fitted_to_another_front_end_is_refused_with_a_sentence():
    other = replace(opening.model(), front_end="0123456789abcdef")
    with pytest.raises(InputError, match=r"fitted to another learned front end .* python -m training\.fit_opening\.$"):
        opening.Hearing(other)


def test_the_heard_jaw_moves_with_the_speech_and_the_lips_still_meet(speech):
    audio, phones = speech
    plain = api.to_animation(phones, fps=100, loudness_db=None)
    shaped = api.to_animation(phones, audio=audio, fps=100)
    jaw = shaped.values[:, JAW]
    assert 0.0 <= jaw.min() and jaw.max() <= 1.0 and jaw.std() > 0.05
    assert np.corrcoef(jaw, plain.values[:, JAW])[0, 1] > 0.3  # it refines the phonetic jaw, not replaces it
    for p in phones.phones:
        if p.label in ("P", "B", "M") and p.end - p.start > 0.04:
            middle = int((p.start + p.end) / 2 * 100)
            assert jaw[middle] < 0.1, (p, jaw[middle])
    moved = {JAW, *(CHANNEL_INDEX[c] for c in opening.LIPS_FOLLOWING)}  # the lower lip rides on the jaw
    others = [c for c in range(shaped.values.shape[1]) if c not in moved]
    unshaped = api.to_animation(phones, audio=audio, fps=100, heard=np.zeros((0, 40))).values
    np.testing.assert_array_equal(shaped.values[:, others], opening.lead_lips(unshaped, 100.0)[:, others])


def test_the_lips_round_ahead_of_the_sound_by_the_fitted_lead_and_close_on_it(speech):
    audio, phones = speech
    unshaped = api.to_animation(phones, audio=audio, fps=100, heard=np.zeros((0, 40)))
    shaped = api.to_animation(phones, audio=audio, fps=100)
    lead = round(rules.LIP_LEAD * 100)
    assert 3 <= lead <= 10  # 30-100 ms, as people's lips lead the sound
    pucker, press = CHANNEL_INDEX["MouthPucker"], CHANNEL_INDEX["MouthPressLeft"]
    bilabials = [p for p in phones.phones if p.label in ("P", "B", "M") and p.start > 0.3]
    assert len(bilabials) >= 4

    def first(values, column, window, level):  # the window's first frame at ``level`` or more
        return int(np.argmax(values[window, column] >= level))

    for column in (pucker, CHANNEL_INDEX["MouthStretchLeft"]):  # the lips round and spread 50 ms sooner
        np.testing.assert_allclose(shaped.values[:-lead, column], unshaped.values[lead:, column], atol=1e-6)
    assert unshaped.values[:, pucker].max() > 0.5  # there is rounding to lead
    for p in bilabials:  # and still meet where the closure is heard
        window = slice(int(p.start * 100) - 12, int(p.end * 100) + 2)
        assert first(shaped.values, press, window, 0.44) == first(unshaped.values, press, window, 0.44)


def shaped_weights(phones):
    """The closure weight of P/B/M per frame at 100 fps, in a column."""
    from mouthpiece.vocabulary import VISEMES

    weights = api.to_animation(phones, fps=100).viseme_weights
    return weights[:, [VISEMES.index("PP")]]


def test_a_swapped_model_is_used_and_then_put_back(speech):
    audio, phones = speech
    shipped = opening.model()
    silent = opening.OpeningModel(**{**shipped.__dict__, "weights": np.zeros_like(shipped.weights)})
    with opening.using(silent):
        flat = api.to_animation(phones, audio=audio, fps=100).values[:, JAW]
    away = shaped_weights(phones)[:, 0] <= opening.OPEN  # away from closures the jaw rests at the model's mean
    assert away.mean() > 0.5 and np.allclose(flat[away], shipped.jaw_mean, atol=1e-4)
    assert opening.model() is shipped
