"""Following live speech through the text it says (phonetics.follow, and the live pipeline with text)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mouthpiece import api
from mouthpiece.errors import InputError
from mouthpiece.live import LiveAnimator
from mouthpiece.phonetics import tts
from mouthpiece.phonetics.follow import TextFollower
from mouthpiece.types import Audio, Phone
from mouthpiece.vocabulary import CHANNEL_INDEX, SILENCE

FIRST = "Please pass me the big blue bowl of plums."
SECOND = "Then bring the warm bread and some butter, Bob."
JAW = CHANNEL_INDEX["JawOpen"]


@pytest.fixture(scope="module")
def other_voice():
    """Both sentences in a voice and at a rate other than the rendering's (en-us at 175 wpm), with a pause."""
    first, first_phones = tts(FIRST, voice="en-us+f3", rate_wpm=140)
    second, second_phones = tts(SECOND, voice="en-us+f3", rate_wpm=140)
    pause = np.zeros(8000, np.float32)
    samples = np.concatenate([first.samples, pause, second.samples])
    shift = first.duration + 0.5
    later = [p._replace(start=p.start + shift, end=p.end + shift) for p in second_phones.phones]
    phones = [*first_phones.phones, *later]
    return samples, phones


def _follow(follower: TextFollower, samples: np.ndarray, block: int) -> list[Phone]:
    for i in range(0, len(samples), block):
        follower.hear(samples[i : i + block])
    return follower.finish()


def _label_at(phones: list[Phone], t: float) -> str:
    starts = [p.start for p in phones]
    return phones[max(0, int(np.searchsorted(starts, t, "right")) - 1)].label


def _middles(phones: list[Phone], labels: tuple[str, ...]) -> list[float]:
    return [(p.start + p.end) / 2 for p in phones if p.label in labels]


def test_another_voice_is_followed_to_its_closures_and_vowels(other_voice):
    samples, truth = other_voice
    followed = _follow(TextFollower(f"{FIRST} {SECOND}"), samples, 320)
    assert followed[0].start == 0 and all(a.end == pytest.approx(b.start) for a, b in zip(followed, followed[1:]))
    closures = _middles(truth, ("P", "B", "M"))
    assert len(closures) >= 10
    assert np.mean([_label_at(followed, t) in ("P", "B", "M") for t in closures]) >= 0.9
    vowels = [p for p in truth if p.label in ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "IY", "OW", "UW")]
    same = [_label_at(followed, (p.start + p.end) / 2) == p.label for p in vowels]
    assert np.mean(same) >= 0.6


def test_text_given_a_sentence_at_a_time_is_followed_like_the_whole(other_voice):
    samples, truth = other_voice
    follower = TextFollower(FIRST)
    half = len(samples) // 2
    for i in range(0, half, 320):
        follower.hear(samples[i : min(i + 320, half)])
    follower.add_text(SECOND)
    followed = _follow(follower, samples[half:], 320)
    closures = _middles(truth, ("P", "B", "M"))
    assert np.mean([_label_at(followed, t) in ("P", "B", "M") for t in closures]) >= 0.9


def test_how_the_speech_arrives_does_not_change_what_is_followed(other_voice):
    samples, _ = other_voice
    follower = TextFollower(FIRST)
    twin = copy.deepcopy(follower)  # the same rendering: espeak-ng's can differ a little from call to call
    small, large = _follow(follower, samples[:40_000], 7), _follow(twin, samples[:40_000], 1601)
    assert [p.label for p in small] == [p.label for p in large]
    assert np.allclose([p.end for p in small], [p.end for p in large])


def test_speech_before_any_text_is_silence_and_text_with_nothing_to_say_adds_nothing(other_voice):
    samples, _ = other_voice
    follower = TextFollower("")
    follower.add_text("  ")
    follower.add_text("...")
    phones = _follow(follower, samples[:16_000], 320)
    assert [p.label for p in phones] == [SILENCE] and phones[-1].end == pytest.approx(0.9875)


def test_an_unknown_voice_is_refused_at_once():
    with pytest.raises(InputError, match="voice"):
        TextFollower("Hello there.", voice="no-such-voice")


def test_forgotten_frames_are_not_given_again(other_voice):
    samples, _ = other_voice
    follower = TextFollower(FIRST)
    for i in range(0, 48_000, 320):
        follower.hear(samples[i : i + 320])
    follower.forget_before(2.0)
    phones = follower.heard()
    assert phones[0].start <= 2.0 < phones[0].end and phones[-1].end == pytest.approx(2.9875, abs=0.001)
    assert phones[0].end - phones[0].start < 0.5


def test_a_live_animator_with_text_tracks_the_offline_animation_of_the_text(other_voice):
    samples, truth = other_voice
    text = f"{FIRST} {SECOND}"
    speech = Audio(samples, 16_000)
    offline = api.animate(speech, text=text)
    with LiveAnimator(text=FIRST) as live:
        half = len(samples) // 2 // 320 * 320
        parts = [live.hear(samples[i : i + 320]) for i in range(0, half, 320)]
        live.add_text(SECOND)
        parts += [live.hear(samples[i : i + 320]) for i in range(half, len(samples), 320)]
        parts.append(live.finish())
    values = np.concatenate([p.values for p in parts])
    assert [p.first for p in parts if len(p)] == list(np.cumsum([0, *[len(p) for p in parts if len(p)][:-1]]))
    assert values.shape == offline.values.shape
    assert np.corrcoef(values[:, JAW], offline.values[:, JAW])[0, 1] > 0.75
    visemes = [v for p in parts for v in p.visemes]
    assert np.mean([visemes[int(t * 60)] == "PP" for t in _middles(truth, ("P", "B", "M"))]) >= 0.8


def test_text_cannot_be_added_to_a_stream_recognized_without_it():
    with LiveAnimator() as live, pytest.raises(ValueError, match="without text"):
        live.add_text("Hello.")


def test_speech_that_does_not_say_the_text_still_gives_every_frame_once(other_voice):
    samples, _ = other_voice
    with LiveAnimator(fps=30, text="Seven green geese sing loudly.") as live:
        parts = [live.hear(samples[i : i + 640]) for i in range(0, len(samples), 640)]
        parts.append(live.finish())
    sizes = [len(p) for p in parts]
    assert [p.first for p in parts if len(p)] == list(np.cumsum([0, *[s for s in sizes if s][:-1]]))
    assert sum(sizes) == int(np.ceil(len(samples) / 16_000 * 30 - 1e-9))
    values = np.concatenate([p.values for p in parts])
    assert np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1


def test_a_long_text_is_rendered_as_the_speech_reaches_it(other_voice):
    samples, truth = other_voice
    follower = TextFollower(" ".join([FIRST, SECOND] * 30))
    rendered = follower._rendered
    assert rendered < 2000 and len(follower._unrendered) > 40  # a few sentences, not sixty
    followed = _follow(follower, samples, 320)
    assert follower._rendered > rendered
    closures = _middles(truth, ("P", "B", "M"))
    assert np.mean([_label_at(followed, t) in ("P", "B", "M") for t in closures]) >= 0.9


def test_a_long_stream_drops_the_rendering_it_has_passed_and_keeps_following(other_voice):
    samples, truth = other_voice
    repeats = 4
    follower = TextFollower(" ".join([FIRST, SECOND] * repeats))
    followed = _follow(follower, np.tile(samples, repeats), 320)
    assert follower._dropped > 0
    length = len(samples) / 16_000
    closures = [t + k * length for k in range(repeats) for t in _middles(truth, ("P", "B", "M"))]
    assert np.mean([_label_at(followed, t) in ("P", "B", "M") for t in closures]) >= 0.9
