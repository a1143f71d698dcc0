"""eval motion and eval preserve: the measures on made-up landmarks and frames, end to end on
talking videos the tests render (one with the jaw opening half as far), and the bad inputs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest

from mouthpiece import api
from mouthpiece.evaluate.motion import LIPS, compare_motion, jitter, normalise
from mouthpiece.evaluate.preserve import mouth_jaw_region, psnr, ssim
from mouthpiece.render.video import VideoWriter

ASTRONAUT = resources.files("mouthpiece") / "data" / "astronaut.png"
FPS = 25
SENTENCE = "Open wide, papa bear, bump the map."  # about 2.7 s


def _face_track(frames: int = 40, seed: int = 0) -> list[np.ndarray]:
    """Landmarks of a face whose mouth opens and closes, eyes level 60 px apart."""
    rng = np.random.default_rng(seed)
    face = rng.random((478, 3)) * 100 + 100
    face[[33, 133], :2], face[[263, 362], :2] = (120.0, 120.0), (180.0, 120.0)
    track = []
    for t in range(frames):
        moved = face.copy()
        moved[14, 1] += 10 * math.sin(t / 4) ** 2  # the lower inner lip
        moved[list(LIPS[::2]), 1] += 3 * math.sin(t / 4) ** 2
        track.append(moved)
    return track


def _turned(face: np.ndarray, *, angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    cos, sin = math.cos(angle), math.sin(angle)
    out = face.copy()
    out[:, :2] = face[:, :2] @ np.array([[cos, sin], [-sin, cos]]) * scale + shift
    return out


def test_identical_tracks_score_lmd_0_r_1():
    track = _face_track()
    result = compare_motion(track, track, fps=FPS)
    assert result.compared == result.frames == 40
    assert result.lmd_mean == 0.0 and result.lmd_pixels == 0.0
    assert result.mouth_r == pytest.approx(1.0)
    assert result.jitter_reference == result.jitter_video


def test_position_roll_and_size_of_the_head_drop_out():
    track = _face_track()
    moved = [_turned(f, angle=0.1 * k % 0.5, scale=1.5, shift=(40.0, -25.0)) for k, f in enumerate(track)]
    result = compare_motion(track, moved, fps=FPS)
    assert result.lmd_mean == pytest.approx(0.0, abs=1e-9)
    assert result.mouth_r == pytest.approx(1.0)
    assert result.jitter_video == pytest.approx(result.jitter_reference)
    np.testing.assert_allclose(normalise(moved[3]), normalise(track[3]), atol=1e-9)


def test_a_different_mouth_shows_in_lmd_and_pixels():
    track = _face_track()
    wider = [f.copy() for f in track]
    for f in wider:
        f[list(LIPS), 1] += 6.0  # a tenth of the eye distance
    result = compare_motion(track, wider, fps=FPS)
    assert result.lmd_mean == pytest.approx(0.1)
    assert result.lmd_pixels == pytest.approx(6.0)


def test_frames_without_a_face_are_skipped():
    track = _face_track(10)
    holes: list[np.ndarray | None] = list(track)
    holes[4] = None
    result = compare_motion(track, holes, fps=FPS)
    assert (result.frames, result.compared) == (10, 9)
    assert np.isnan(result.lmd[4]) and np.isnan(result.opening_video[4]) and not np.isnan(result.opening_reference[4])


def test_jitter_is_zero_still_and_grows_with_shaking():
    track = _face_track()
    still = np.array([normalise(track[0])[list(LIPS)]] * 20)
    present = np.ones(20, bool)
    assert jitter(still, present) == 0.0
    rng = np.random.default_rng(1)
    shaking = [f + np.concatenate([rng.normal(0, 2.0, (478, 2)), np.zeros((478, 1))], axis=1) for f in track]
    result = compare_motion(track, shaking, fps=FPS)
    assert result.jitter_video > 3 * result.jitter_reference
    assert math.isnan(jitter(still, np.array([True, False] * 10)))  # no three frames in a row


def _frames() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured frame, a face's landmarks on it, and the mouth-and-jaw region they give."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    face = np.zeros((478, 3))
    face[:, :2] = (80.0, 60.0)
    face[[33, 133], :2], face[[263, 362], :2] = (60.0, 40.0), (100.0, 40.0)
    face[1, :2] = (80.0, 60.0)  # nose tip
    for k, i in enumerate((61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267)):
        face[i, :2] = (65 + k, 75 + (k % 3))
    face[[152, 148, 377], :2] = (80.0, 95.0), (70.0, 92.0), (90.0, 92.0)  # chin, on the face oval
    return frame, face, mouth_jaw_region(face, height=120, width=160)


def test_identical_frames_and_changes_inside_the_region_score_inf_and_1():
    frame, _, region = _frames()
    assert region[80, 80] and region[94, 80] and not region[20, 80] and not region[60, 20]
    assert psnr(frame, frame) == math.inf and ssim(frame, frame) == 1.0
    changed = frame.copy()
    changed[region] = 255 - changed[region]
    assert psnr(frame, changed, keep=~region) == math.inf
    assert ssim(frame, changed, keep=~region) == 1.0
    assert psnr(frame, changed) < 25 and ssim(frame, changed) < 0.95


def test_changes_outside_the_region_lower_both():
    frame, _, region = _frames()
    changed = frame.copy()
    changed[5:45, 5:45] = 0  # a twelfth of the frame
    assert 10 < psnr(frame, changed, keep=~region) < 30
    assert ssim(frame, changed, keep=~region) < 0.95


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Two talking-portrait MP4s of the astronaut, the same but for the jaw opening half as far in the second."""
    folder = tmp_path_factory.mktemp("motion")
    speech, animation = api.say(SENTENCE, fps=FPS)
    portrait = api.load_portrait(ASTRONAUT, size=(384, 384))
    talking, jaw = folder / "talking.mp4", folder / "jaw.mp4"
    api.render_video(portrait, animation, talking)
    values = animation.values.copy()
    values[:, animation.channels.index("JawOpen")] *= 0.5
    api.render_video(portrait, replace(animation, values=values), jaw)
    return talking, jaw


def test_motion_of_a_video_against_itself_and_a_smaller_jaw(videos):
    talking, jaw = videos
    same = api.evaluate_motion(talking, talking)
    assert same.compared == same.frames > 50
    assert same.lmd_mean < 1e-6 and same.mouth_r == pytest.approx(1.0)
    other = api.evaluate_motion(talking, jaw)
    assert other.lmd_mean > 0.01 and other.lmd_pixels > 1.0
    assert other.mouth_r > 0.5  # the same words, less open


def test_preserve_of_a_video_against_itself_and_a_smaller_jaw(videos):
    talking, jaw = videos
    same = api.evaluate_preserve(talking, talking)
    assert same.psnr_mean == math.inf and same.ssim_min == 1.0 and same.masked.all()
    other = api.evaluate_preserve(talking, jaw)
    assert other.psnr_min > 35, (other.psnr_min, other.psnr_worst)
    assert other.ssim_min > 0.98


def _cli(*arguments: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mouthpiece.cli", "eval", *map(str, arguments)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("measure", ["motion", "preserve"])
def test_commands_print_a_table_and_write_json_and_a_plot(videos, tmp_path, measure):
    talking, jaw = videos
    report, picture = tmp_path / "report.json", tmp_path / "report.png"
    run = _cli(measure, talking, jaw, "--json", report, "--plot", picture)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("jaw.mp4 against talking.mp4:") and run.stderr == ""
    data = json.loads(report.read_text())
    if measure == "motion":
        assert "LMD (eye distances)" in run.stdout and 0.01 < data["lmd"] < 1
        assert len(data["lmd_per_frame"]) == data["frames"] and data["skipped"] == 0
    else:
        assert "PSNR (dB)" in run.stdout and data["psnr_min"] > 35 and 0.98 < data["ssim_mean"] < 1
        assert len(data["psnr"]) == len(data["ssim"]) == data["frames"] == data["masked_frames"]
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _grey(folder, name: str, *, frames: int, size: tuple[int, int] = (160, 120)):
    path = folder / name
    with VideoWriter(path, width=size[0], height=size[1], fps=FPS) as writer:
        for _ in range(frames):
            writer.write(np.full((size[1], size[0], 3), 150, np.uint8))
    return path


@pytest.mark.parametrize(
    "measure, make, words",
    [
        ("motion", lambda d: (_grey(d, "a.mp4", frames=20), _grey(d, "b.mp4", frames=25)), "has 20 frames but"),
        ("preserve", lambda d: (_grey(d, "a.mp4", frames=20), _grey(d, "b.mp4", frames=23)), "has 20 frames but"),
        ("preserve", lambda d: (_grey(d, "a.mp4", frames=5), _grey(d, "b.mp4", frames=5, size=(96, 64))), "96x64"),
        ("motion", lambda d: (_grey(d, "a.mp4", frames=5), _grey(d, "b.mp4", frames=5)), "No frame shows a face"),
        ("motion", lambda d: (_grey(d, "a.mp4", frames=5), d / "b.mp4"), "does not exist"),
        ("preserve", lambda d: (d / "b.mp4", _grey(d, "a.mp4", frames=5)), "does not exist"),
    ],
    ids=["motion: unequal lengths", "preserve: unequal lengths", "different sizes", "no face", "missing", "missing"],
)
def test_bad_inputs_get_one_sentence(tmp_path, measure, make, words):
    first, second = make(tmp_path)
    run = _cli(measure, first, second)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "b.mp4" in lines[0], run.stderr


def test_one_frame_more_is_allowed(tmp_path):
    result = api.evaluate_preserve(_grey(tmp_path, "a.mp4", frames=6), _grey(tmp_path, "b.mp4", frames=7))
    assert result.frames == 6 and not result.masked.any() and result.psnr_mean == math.inf
