"""The real-footage benchmark's comparison of two paths (benchmarks/real_footage.py): a
difference of mean r0 comes with an interval that treats a speaker's clips as one piece of
evidence, so a path is not called better on one speaker's many clips."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from real_footage import paired_difference  # noqa: E402


def test_the_mean_is_over_clips_both_paths_scored() -> None:
    base = {"a": 0.5, "b": 0.4, "c": 0.3, "d": 0.9}
    other = {"a": 0.6, "b": 0.5, "c": np.nan, "e": 0.1}
    d = paired_difference(base, other, {"a": "x", "b": "y", "c": "z", "d": "z", "e": "z"})
    assert (d.clips, d.speakers) == (2, 2)
    assert d.mean == pytest.approx(0.1)
    assert d.low == pytest.approx(0.1) and d.high == pytest.approx(0.1)  # every speaker gained the same


def test_one_speakers_many_clips_do_not_make_a_difference_certain() -> None:
    names = [f"x{i}" for i in range(10)]
    base = {n: 0.4 for n in names} | {"y": 0.5}
    other = {n: 0.5 for n in names} | {"y": 0.3}
    speakers = {n: "x" for n in names} | {"y": "y"}
    d = paired_difference(base, other, speakers)
    assert d.mean == pytest.approx((10 * 0.1 - 0.2) / 11)
    assert d.speakers == 2 and d.low < 0 < d.high  # two speakers disagree: no sign is established
    many = paired_difference(base, other, {n: n for n in base})  # were every clip its own speaker
    assert many.low > 0


def test_nothing_in_common_gives_no_figure() -> None:
    d = paired_difference({"a": 0.5}, {"b": 0.5}, {"a": "x", "b": "y"})
    assert d.clips == 0 and np.isnan(d.mean)
