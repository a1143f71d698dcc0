"""The live pipeline: loudness, phones and Animation frames as speech arrives block by block."""

from __future__ import annotations

import numpy as np
import pytest

from mouthpiece import api
from mouthpiece.audio.features import LevelMeter, loudness
from mouthpiece.errors import InputError
from mouthpiece.live import LiveAnimator
from mouthpiece.phonetics import sphinx
from mouthpiece.phonetics.phone_loop import PHONE_LOOP_OPTIONS, PhoneLoop, phones_as_heard
from mouthpiece.timebase import frame_count
from mouthpiece.types import Audio
from mouthpiece.vocabulary import CHANNEL_INDEX, SILENCE

JAW = CHANNEL_INDEX["JawOpen"]


def _blocks(samples: np.ndarray, size: int) -> list[np.ndarray]:
    return [samples[i : i + size] for i in range(0, len(samples), size)]


@pytest.mark.parametrize("fps", [100, 60, 25])
@pytest.mark.parametrize("block", [7, 320, 1601])
def test_the_level_meter_measures_what_loudness_measures_on_the_whole(fps, block):
    rng = np.random.default_rng(1)
    samples = (rng.standard_normal(16_000 * 2 + 77) * np.linspace(0.01, 0.5, 16_000 * 2 + 77)).astype(np.float32)
    meter = LevelMeter(fps=fps, keep_seconds=10)
    known = []
    for piece in _blocks(samples, block):
        meter.add(piece)
        known.append(meter.measured)
    meter.finish()
    whole = loudness(Audio(samples), fps=fps)
    assert meter.measured == len(whole) and meter.first == 0
    np.testing.assert_array_equal(meter.levels, whole)
    assert known == sorted(known)  # frames are measured as their windows arrive
    assert known[len(known) // 2] >= (len(samples) // 2 / 16_000 - 0.03) * fps


def test_the_level_meter_keeps_only_recent_levels():
    meter = LevelMeter(fps=100, keep_seconds=1.0)
    for _ in range(50):
        meter.add(np.full(1600, 0.1, np.float32))
    assert len(meter.levels) == 100 and meter.first == meter.measured - 100 > 0


def test_the_phone_loop_does_not_depend_on_how_the_speech_arrives_or_what_came_before(spoken):
    with PhoneLoop() as other:  # a used decoder goes back to the pool
        other.hear(np.random.default_rng(2).standard_normal(16_000).astype(np.float32) * 0.3)
        other.hear(spoken.audio.samples[::-1].copy())
    sphinx._idle[next(iter(sphinx._idle))].append(sphinx._new_decoder("phones", **PHONE_LOOP_OPTIONS))
    with PhoneLoop() as small, PhoneLoop() as large:  # a new decoder and the used one
        for piece in _blocks(spoken.audio.samples, 320):
            small.hear(piece)
        for piece in _blocks(spoken.audio.samples, 4410):
            large.hear(piece)
        assert small.finish() == large.finish()


def test_the_phones_heard_so_far_grow_towards_the_final_ones(spoken):
    samples = spoken.audio.samples
    heard = list(phones_as_heard(_blocks(samples, 1600)))
    final = heard[-1]
    assert final[-1].end == pytest.approx(spoken.audio.duration, abs=0.1)  # the last frames may go unlabelled
    reach = [phones[-1].end if phones else 0.0 for phones in heard[:-1]]
    arrived = np.minimum(np.arange(1, len(reach) + 1) * 0.1, spoken.audio.duration)
    # the recognizer's features need ~50 ms of context past a frame
    assert all(0 <= a - r <= 0.12 for a, r in zip(arrived, reach))
    speech = [p for p in final if p.label != SILENCE]
    assert len(speech) >= 15


def test_a_long_stream_is_decoded_in_utterances_cut_at_pauses(spoken):
    pause = np.zeros(8000, np.float32)
    samples = np.concatenate([spoken.audio.samples, pause] * 4)
    with PhoneLoop() as loop:
        for piece in _blocks(samples, 1600):
            loop.hear(piece)
        assert loop._utterance_start > 0  # an utterance has been cut
        phones = loop.finish()
    assert all(a.end <= b.start + 1e-9 for a, b in zip(phones, phones[1:]))
    assert phones[-1].end == pytest.approx(len(samples) / 16_000, abs=0.1)  # tidy() fills the rest


def _stream(
    audio: Audio,
    *,
    block: int,
    lookahead: float,
    fps: float = 60.0,
    max_lookahead: float | None = None,
    recognizer: str = "neural",
):
    parts = []
    with LiveAnimator(fps=fps, lookahead=lookahead, max_lookahead=max_lookahead, recognizer=recognizer) as live:
        for piece in _blocks(audio.samples, block):
            parts.append((live.heard, live.hear(piece)))
        parts.append((live.heard, live.finish()))
    return parts


@pytest.mark.parametrize("recognizer", ["neural", "phones"])
def test_each_frame_is_given_once_in_order_when_the_lookahead_has_arrived(spoken, recognizer):
    fps, lookahead = 60.0, 0.06
    parts = _stream(spoken.audio, block=320, lookahead=lookahead, fps=fps, recognizer=recognizer)
    firsts = [p.first for _, p in parts if len(p)]
    sizes = [len(p) for _, p in parts if len(p)]
    assert firsts == list(np.cumsum([0, *sizes[:-1]]))
    assert sum(sizes) == frame_count(spoken.audio.duration, fps=fps)
    for (_, part), heard in zip(parts[:-1], [h for h, _ in parts[1:]]):
        if len(part):  # given as soon as `lookahead` of speech past it had arrived
            last_time = (part.first + len(part) - 1) / fps
            assert last_time < heard - lookahead + 1e-9 <= last_time + 1 / fps + 0.02 + 1e-9


@pytest.mark.parametrize("recognizer", ["neural", "phones"])
def test_frames_go_between_the_shortest_and_longest_lookahead_sooner_where_settled(spoken, recognizer):
    fps, shortest, longest = 60.0, 0.06, 0.14
    parts = _stream(spoken.audio, block=320, lookahead=shortest, max_lookahead=longest, fps=fps, recognizer=recognizer)
    assert [p.first for _, p in parts if len(p)] == list(np.cumsum([0, *[len(p) for _, p in parts if len(p)][:-1]]))
    waits = []
    for (_, part), heard in zip(parts[:-1], [h for h, _ in parts[1:]]):
        waits += [heard - (part.first + i) / fps for i in range(len(part))]
    waits = np.array(waits)
    assert np.all(waits >= shortest - 1e-9) and np.all(waits <= longest + 0.02 + 1e-9)
    at_once = np.mean(waits <= shortest + 0.02 + 1e-9)  # within one block of the shortest lookahead
    if recognizer == "phones":
        assert 0.3 < at_once < 0.95  # many go at once, the unsettled wait
    else:
        assert at_once == 1.0  # the front end's frames are final once its lookahead has arrived


@pytest.mark.parametrize("recognizer", ["neural", "phones"])
def test_with_a_long_lookahead_the_stream_is_the_files_animation(spoken, recognizer):
    offline = api.animate(spoken.audio, recognizer=recognizer)
    parts = _stream(spoken.audio, block=640, lookahead=100.0, recognizer=recognizer)
    values = np.concatenate([p.values for _, p in parts])
    assert values.shape == offline.values.shape
    assert np.corrcoef(values[:, JAW], offline.values[:, JAW])[0, 1] > 0.99


@pytest.mark.parametrize("recognizer", ["neural", "phones"])
def test_streamed_frames_follow_the_speech_as_it_arrives(spoken, recognizer):
    offline = api.animate(spoken.audio, recognizer=recognizer)
    parts = _stream(spoken.audio, block=320, lookahead=0.1, recognizer=recognizer)
    values = np.concatenate([p.values for _, p in parts])
    visemes = [v for _, p in parts for v in p.visemes]
    assert np.corrcoef(values[:, JAW], offline.values[:, JAW])[0, 1] > 0.75
    speech = [p for p in spoken.phones.phones if p.label != SILENCE]
    middle = slice(int(speech[0].end * 60), int(speech[-1].start * 60))
    assert values[middle, JAW].max() > 0.3  # the mouth opens for the vowels
    assert np.mean([v != "sil" for v in visemes[middle]]) > 0.6
    tail = values[int(spoken.audio.duration * 60) - 2 :]
    assert np.all(tail[:, JAW] < 0.2)  # and rests, a little open (motion.opening.resting), after the speech


def test_a_stream_closed_early_gives_its_recognizer_back(spoken):
    before = sum(len(v) for v in sphinx._idle.values())
    live = LiveAnimator(recognizer="phones")
    live.hear(spoken.audio.samples[:8000])
    live.close()
    live.close()
    assert sum(len(v) for v in sphinx._idle.values()) >= max(before, 1)


def test_an_unknown_live_recognizer_is_refused_with_the_choices():
    with pytest.raises(InputError, match="neural, phones"):
        LiveAnimator(recognizer="words")
