"""The second look at decoded lip closures (``mouthpiece.neural.closure_check``)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from mouthpiece.errors import InputError
from mouthpiece.neural import default_model, load_model, recognize, run
from mouthpiece.neural.closure_check import CHECK_FILE, check_for, closure_runs, load_check, shipped_check
from mouthpiece.neural.decode import viterbi
from mouthpiece.neural.model import DEFAULT_MODEL
from mouthpiece.phonetics import tts
from mouthpiece.vocabulary import SILENCE, VISEMES

PP = VISEMES.index("PP")


@pytest.fixture(scope="module")
def heard():
    audio, _ = tts("Bob bought a bumpy map from my pal Pam, maybe by boat.", voice="en-us")
    return audio, run(audio)


def test_the_shipped_check_belongs_to_the_shipped_front_end_and_says_how_it_scored():
    check = check_for(default_model())
    assert check is not None and 0.0 < check.threshold < 1.0
    card = json.loads(check.card)
    for part in ("synthetic", "asterisk"):
        figures = card["cross_validated"][part]
        assert figures["runs"] > 1000 and figures["kept_at_bilabial"] > figures["at_bilabial"]
        assert figures["bilabial_runs_kept"] > 0.9


def test_another_front_ends_closures_go_unchecked(tmp_path):
    other = load_model(DEFAULT_MODEL)
    weights = dict(other.weights)
    weights["head_v.b"] = weights["head_v.b"] + 0.1
    assert check_for(dataclasses.replace(other, weights=weights)) is None


def test_the_check_keeps_what_it_trusts_and_relabels_what_it_doubts(heard):
    _, out = heard
    path = viterbi(out.posteriors)
    runs = closure_runs(path)
    assert len(runs) >= 8  # the sentence's bilabials
    check = shipped_check()
    assert np.array_equal(dataclasses.replace(check, threshold=0.0).apply(path, out), path)
    doubting = dataclasses.replace(check, threshold=1.01).apply(path, out)
    assert not (doubting == PP).any()
    changed = doubting != path
    assert changed.sum() == sum(b - a for a, b in runs)
    assert not np.isin(doubting[changed], [PP, VISEMES.index(SILENCE)]).any()
    # its own threshold keeps nearly every closure of speech this full of bilabials
    kept = closure_runs(check.apply(path, out))
    assert len(kept) >= len(runs) - 1


def test_recognize_checks_the_closures_of_the_model_it_was_fitted_to(heard):
    audio, out = heard
    plain = viterbi(out.posteriors)
    checked = shipped_check().apply(plain, out)
    phones, _ = recognize(audio)
    assert sum(p.label == "P" for p in phones.phones) == len(closure_runs(checked))


@pytest.mark.parametrize("content", [None, b"not a zip", "no meta"])
def test_a_missing_or_corrupt_check_file_is_named(tmp_path, content):
    path = tmp_path / "check.npz"
    if content == "no meta":
        np.savez(path, mean=np.zeros(3))
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match="check.npz"):
        load_check(path)


def test_the_shipped_file_is_small():
    assert CHECK_FILE.stat().st_size < 20_000
