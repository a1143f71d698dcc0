"""A video's face followed once: the style fit records the track, the dub replays it
(:mod:`mouthpiece.face.recorded`), with the landmarks a tracker of its own would give."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mouthpiece import api
from mouthpiece.audio import save
from mouthpiece.cli import main
from mouthpiece.face import recorded
from mouthpiece.face.recorded import ReplayedTracker, recall
from mouthpiece.face.seen import seen_mouth
from mouthpiece.face.track import FaceTracker
from mouthpiece.phonetics import tts
from mouthpiece.render.reader import probe_video, read_frames
from mouthpiece.timebase import frame_count

FPS = 25


@pytest.fixture(scope="module")
def talking(tmp_path_factory) -> Path:
    """The bundled astronaut saying a sentence, with idle head motion (so the face moves)."""
    speech, _ = tts("Maybe the open window lets the warm air in.", voice="en-us")
    out = tmp_path_factory.mktemp("replay") / "talking.mp4"
    api.render_speech(api.load_portrait(api.SAMPLE_PORTRAIT, size=(256, 256)), speech, out, fps=FPS, seed=3)
    return out


def test_a_replayed_track_gives_what_the_tracker_would(talking):
    frames = list(read_frames(talking, fps=FPS))
    seen = seen_mouth(talking)
    track = recall(talking, None)
    assert track is not None and len(track.landmarks) == len(frames) == len(seen.opening)
    with FaceTracker(fps=FPS) as live, ReplayedTracker(track, range(len(frames)), fps=FPS) as replayed:
        for frame in frames:
            mine, theirs = live(frame), replayed(frame)
            assert mine is not None and theirs is not None
            np.testing.assert_array_equal(mine, theirs)  # smoothed alike from the same raw landmarks
        assert replayed(frames[0]) is None  # past its order: no face


def test_a_track_gives_the_mouth_opening_of_every_frame(talking):
    seen = seen_mouth(talking)
    track = recall(talking, None)
    assert track is not None
    openings = track.openings()
    assert openings.shape == seen.opening.shape and np.isfinite(openings).all()
    assert np.ptp(openings) > 0.05  # the astronaut speaks: her mouth opens and closes
    gone = recorded.FaceTrack(track.video, None, track.landmarks.copy(), 1)
    gone.landmarks[3] = np.nan  # a frame without the face
    assert np.isnan(gone.openings()[3]) and np.isfinite(np.delete(gone.openings(), 3)).all()


def test_a_track_is_not_recalled_for_another_face_or_a_changed_file(talking):
    seen_mouth(talking)
    assert recall(talking, None) is not None
    assert recall(talking, 0) is None  # another choice of face may be another face
    stat = os.stat(talking)
    try:
        os.utime(talking, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert recall(talking, None) is None
    finally:
        os.utime(talking, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_long_video_is_not_recorded(talking, monkeypatch):
    recorded.remember(recorded.FaceTrack(("elsewhere", 0, 0), None, np.zeros((1, 478, 3), np.float32), 1))
    monkeypatch.setattr(recorded, "MAX_FRAMES", 10)
    seen_mouth(talking)
    assert recall(talking, None) is None


def test_a_dub_in_its_own_style_follows_the_face_once(talking, tmp_path, monkeypatch):
    """The style fit follows the face through every frame; the dub that comes after replays
    that track (MediaPipe looks at no frame again), and writes every frame."""
    looked = []
    follow = FaceTracker._follow
    monkeypatch.setattr(FaceTracker, "_follow", lambda self, frame: looked.append(1) or follow(self, frame))
    speech, _ = tts("Bob bought a big blue map.", voice="en-us")
    wav = tmp_path / "new.wav"
    save(speech, wav)
    frames = probe_video(talking).frame_count
    out = tmp_path / "own.mp4"
    assert main(["dub", str(talking), str(wav), "-o", str(out), "-q", "--fit", "cut"]) == 0
    assert frames - 2 <= len(looked) < frames  # the style fit's frames (its first found by detection)
    assert probe_video(out).frame_count == min(frames, frame_count(speech.duration, fps=FPS))
    looked.clear()
    monkeypatch.setattr(recorded, "_latest", None)  # as in a process that has fitted no style
    generic = tmp_path / "generic.mp4"
    assert main(["dub", str(talking), str(wav), "-o", str(generic), "-q", "--fit", "cut", "--style", "generic"]) == 0
    assert len(looked) >= probe_video(generic).frame_count - 1  # the dub follows the face itself
