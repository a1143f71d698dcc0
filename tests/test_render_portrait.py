"""Talking portrait: the mesh warp, framing, rendered frames checked by re-detecting the face,
and the `render` / `say --portrait` commands end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from mouthpiece.cli import main
from mouthpiece.face.detect import find_face
from mouthpiece.render.image import load_image
from mouthpiece.render.portrait import PortraitRenderer, frame_photo, frame_portrait
from mouthpiece.render.warp import MeshWarp
from mouthpiece.vocabulary import CHANNELS

ASTRONAUT = resources.files("mouthpiece") / "data" / "astronaut.png"


def values(**weights: float) -> np.ndarray:
    row = np.zeros(len(CHANNELS), np.float32)
    for name, weight in weights.items():
        row[CHANNELS.index(name)] = weight
    return row


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def lip_gap(landmarks: np.ndarray) -> float:
    return float(landmarks[14, 1] - landmarks[13, 1])


# --- the warp ------------------------------------------------------------------------


def square_mesh() -> tuple[np.ndarray, np.ndarray]:
    """A 200 x 200 square with a centre point; four triangles."""
    rest = np.array([[0, 0], [199, 0], [0, 199], [199, 199], [100, 100]], float)
    return rest, np.array([[0, 1, 4], [1, 3, 4], [3, 2, 4], [2, 0, 4]])


def test_a_still_mesh_is_the_identity():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (200, 200, 3), np.uint8)
    rest, triangles = square_mesh()
    np.testing.assert_array_equal(MeshWarp(image, rest, triangles)(rest), image)


def test_moving_a_vertex_carries_the_picture_with_it():
    image = np.zeros((200, 200, 3), np.uint8)
    image[98:103, 98:103] = 255  # a dot on the centre vertex
    rest, triangles = square_mesh()
    moved = rest.copy()
    moved[4] += (12, -7)
    out = MeshWarp(image, rest, triangles)(moved)
    ys, xs = np.nonzero(out[..., 0] > 128)
    assert xs.mean() == pytest.approx(112, abs=0.6) and ys.mean() == pytest.approx(93, abs=0.6)
    np.testing.assert_array_equal(out[0], image[0])  # the fixed border stays


def test_a_coarse_map_node_that_strays_from_its_neighbours_is_mapped_pixel_by_pixel():
    """A node the index image gave to a sliver of a triangle it lies just outside takes that
    sliver's map from beyond its corners (a ringed speck on img05's lip); the warp maps
    the nodes around such a one exactly instead of interpolating them."""
    from mouthpiece.render.warp import STRAY_PX, _strays

    ys, xs = np.mgrid[0:20, 0:30].astype(np.float32)
    bent_x, bent_y = 1.1 * xs + 0.3 * ys + 0.002 * xs**2, 0.9 * ys - 0.2 * xs  # linear, gently bent
    assert not _strays(bent_x, bent_y).any()
    bent_y[8, 12] += 3 * STRAY_PX  # one node mapped from elsewhere
    stray = _strays(bent_x, bent_y)
    assert stray[7:10, 11:14].all() and stray.sum() == 9


def test_a_large_map_with_two_folds_is_mended_at_both(monkeypatch):
    """A box too large to map pixel by pixel is mapped on a coarse grid and mended pixel by
    pixel around each fold; with two folds far apart both are mended as the exact map has them."""
    from scipy.spatial import Delaunay

    from mouthpiece.render import warp

    size = 900
    grid = np.linspace(0, size - 1, 10)
    rest = np.array([(x, y) for y in grid for x in grid], float)
    mesh = MeshWarp(np.zeros((size, size, 3), np.uint8), rest, Delaunay(rest).simplices)
    moved = rest.copy()
    moved[[22, 77]] += (150.0, 20.0)  # two vertices pushed past their neighbours
    coarse = mesh.source_map(moved, (0, 0, size, size))
    monkeypatch.setattr(warp, "MAP_STEPS", (1,))
    exact = mesh.source_map(moved, (0, 0, size, size))
    assert np.hypot(coarse[0] - exact[0], coarse[1] - exact[1]).max() < 3.0


def test_a_stray_pixel_of_the_map_takes_its_neighbours_and_an_edge_stays():
    """A pixel or two on a sliver's edge mapped far across the source (a speck of collar under
    a lip) take what their neighbours sample; where one triangle covers another the map jumps
    along a line, and that line stays where it is."""
    from mouthpiece.render.warp import _despeckled

    ys, xs = np.mgrid[0:40, 0:60].astype(np.float32)
    map_x, map_y = xs + 0.3, ys.copy()
    map_y[20:, :] += 25.0  # a fold: the lower half samples 25 px further down
    edge_x, edge_y = map_x.copy(), map_y.copy()
    map_x[10, 30], map_y[10, 30] = 5.0, 38.0  # a speck
    map_x[30, 12:14], map_y[30, 12:14] = 50.0, 2.0  # a speck two pixels wide
    out_x, out_y = _despeckled(map_x.copy(), map_y.copy())
    np.testing.assert_allclose(out_x, edge_x, atol=1.01)
    np.testing.assert_allclose(out_y, edge_y, atol=1.01)
    assert np.array_equal(_despeckled(edge_x.copy(), edge_y.copy())[1], edge_y)  # the fold's line is kept


# --- framing -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(512, 512), (640, 360), (360, 640), (256, 256)])
def test_framing_keeps_the_face_inside_a_crop_inside_the_photo(size):
    image = load_image(ASTRONAUT)
    face = find_face(image, source="astronaut.png")
    framing = frame_photo((512, 512), face, size)
    width, height = size
    assert framing.x >= 0 and framing.y >= 0
    assert framing.x + width / framing.scale <= 512 + 1e-6 and framing.y + height / framing.scale <= 512 + 1e-6
    portrait = frame_portrait(image, face, size)
    assert portrait.image.shape == (height, width, 3)
    points = portrait.landmarks
    assert points[:, 0].min() > 0 and points[:, 0].max() < width and points[:, 1].max() < height
    # the framed landmarks sit on the framed face: detecting again agrees within a few pixels
    again = find_face(portrait.image, source="framed")
    assert np.abs(again[:, :2] - points[:, :2]).mean() < 0.03 * height


# --- rendered frames, checked by finding the face in them again ------------------------


@pytest.fixture(scope="module")
def renderer() -> PortraitRenderer:
    image = load_image(ASTRONAUT)
    portrait = frame_portrait(image, find_face(image, source="astronaut.png"), (384, 384))
    return PortraitRenderer(portrait.image, portrait.landmarks, channels=CHANNELS)


def test_rest_frame_keeps_everything_outside_the_face(renderer):
    frame = renderer.render(values())
    photo = renderer.image
    face = renderer.rig.source[:478, :2]
    (x0, y0), (x1, y1) = face.min(axis=0).astype(int) - 2, face.max(axis=0).astype(int) + 3
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert psnr(frame[outside], photo[outside]) >= 45
    # and outside the mouth and jaw the face itself is where it was
    again = find_face(frame, source="rest frame")
    still = [33, 133, 263, 362, 1, 4, 10, 107, 336, 234, 454]
    assert np.abs(again[still, :2] - renderer.rig.source[still, :2]).max() < 2.0


def test_an_open_jaw_opens_the_mouth_seen_in_the_frame(renderer):
    closed_frame = renderer.render(values())
    opened_frame = renderer.render(values(JawOpen=0.6, MouthLowerDownLeft=0.3, MouthLowerDownRight=0.3))
    closed, opened = find_face(closed_frame, source="closed"), find_face(opened_frame, source="o")
    assert lip_gap(opened) - lip_gap(closed) > 0.15 * renderer.rig.unit
    # the nose stays: its pixels, not its re-detected landmarks (MediaPipe moves them ~2 px with the mouth)
    bridge = renderer.rig.source[[1, 4, 5, 195, 197], :2]
    (x0, y0), (x1, y1) = np.floor(bridge.min(axis=0)).astype(int) - 3, np.ceil(bridge.max(axis=0)).astype(int) + 4
    moved = np.abs(opened_frame[y0:y1, x0:x1].astype(int) - closed_frame[y0:y1, x0:x1].astype(int))
    assert moved.max() <= 2


def test_an_open_mouth_shows_the_tongue_and_it_rises_for_l_and_n():
    """At rest the tongue's back shows low in an open mouth; raised (T D N L TH) its tip
    fills the middle of the opening under the upper teeth with the tongue's colour."""
    from mouthpiece.face import landmarks as lm
    from mouthpiece.face.rig import UPPER_TEETH

    image = load_image(ASTRONAUT)
    portrait = frame_portrait(image, find_face(image, source="astronaut.png"), (768, 768))  # a close-up
    renderer = PortraitRenderer(portrait.image, portrait.landmarks, channels=CHANNELS)
    row = values(JawOpen=0.7)
    low = renderer.render(row).copy()  # (a renderer draws the next frame into the same buffer)
    up = renderer.render(row, tongue_up=1.0).copy()
    points = renderer.pose(row)
    middle = points[lm.UPPER_LIP_INNER[5], :2]
    bottom = points[lm.LOWER_LIP_INNER[5], :2]
    teeth = points[UPPER_TEETH, :2].mean(axis=0)
    tongue = np.asarray(renderer._palette.tongue)

    def redness(frame: np.ndarray, at: np.ndarray) -> float:  # how near the pixel is to the tongue's colour
        x, y = np.round(at).astype(int)
        return -float(np.abs(frame[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).mean(0) - tongue).sum())

    under_teeth = teeth + (bottom - middle) * 0.4  # the upper middle of the opening, below the teeth
    above_lip = bottom - (bottom - middle) * 0.12
    assert redness(low, above_lip) > redness(low, under_teeth) + 40  # the back shows low, the middle is dark
    assert redness(up, under_teeth) > redness(low, under_teeth) + 40  # the raised tip fills it
    assert np.array_equal(renderer.render(row, tongue_up=0.0), low)


def test_a_blink_closes_the_eyes_seen_in_the_frame(renderer):
    def opening(landmarks: np.ndarray) -> float:
        return float(landmarks[145, 1] - landmarks[159, 1] + landmarks[374, 1] - landmarks[386, 1])

    open_eyes = find_face(renderer.render(values()), source="open")
    closed = find_face(renderer.render(values(EyeBlinkLeft=1.0, EyeBlinkRight=1.0)), source="blink")
    assert opening(closed) < 0.75 * opening(open_eyes)  # MediaPipe never quite closes a small eye


def test_a_head_turn_is_seen_in_the_frame(renderer):
    ahead = find_face(renderer.render(values()), source="ahead")
    turned = find_face(renderer.render(values(HeadYaw=0.1)), source="turned")
    assert turned[1, 0] - ahead[1, 0] > 2  # the nose towards the image's right
    corner = (slice(0, 20), slice(0, 20))
    np.testing.assert_array_equal(renderer.render(values(HeadYaw=0.1))[corner], renderer.image[corner])


def test_a_turned_head_leaves_the_background_behind_it_as_it_was(renderer):
    """The astronaut's flag and shuttle do not stretch with her head: every pixel above her
    mouth that her silhouette does not cover, before or after the turn, stays the photo's."""
    backdrop = renderer._backdrop
    assert backdrop is not None
    nose, corner = renderer.rig.source[4, :2].astype(int), (5, 5)
    assert backdrop.silhouette[nose[1], nose[0]] > 0.99 and backdrop.silhouette[corner] == 0.0
    for pose, tilted in ((values(HeadRoll=0.09), True), (values(HeadYaw=-0.09, HeadPitch=0.05), False)):
        frame = renderer.render(pose)
        turned = renderer._warp.last_map
        assert turned is not None
        (x0, y0, x1, y1), map_x, map_y = turned
        moved = backdrop.silhouette.copy()  # outside the warped box nothing moves
        moved[y0:y1, x0:x1] = cv2.remap(backdrop.silhouette, map_x, map_y, cv2.INTER_LINEAR)
        background = (backdrop.silhouette == 0) & (moved == 0) & (backdrop.body == 0)[:, None]
        assert background.sum() > 0.15 * background.size
        np.testing.assert_array_equal(frame[background], renderer.image[background])
        # where the head has moved away, what it uncovered is filled in, not its old edge
        uncovered = (backdrop.silhouette > 0.99) & (moved < 0.05)
        if not tilted:  # (a turn about the neck moves the outline little)
            continue
        assert uncovered.sum() > 100
        shown = frame[uncovered].astype(int)
        assert np.abs(shown - backdrop.plate[uncovered]).max() <= 0.05 * 255
        assert np.abs(shown - renderer.image[uncovered]).mean() > 10  # the old edge of her head is gone


# --- the commands ----------------------------------------------------------------------


def decode(path) -> tuple[list[np.ndarray], float]:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = sum(f.samples for f in container.decode(audio=0)) / container.streams.audio[0].rate
    return frames, audio


@pytest.mark.slow
def test_say_with_a_portrait_makes_a_talking_video(tmp_path):
    video, anim = tmp_path / "hello.mp4", tmp_path / "hello.json"
    code = main(["say", "Open wide, papa bear.", "--portrait", str(ASTRONAUT), "-o", str(video),
                 "--animation", str(anim), "--size", "512", "--seed", "3", "-q"])  # fmt: skip
    assert code == 0
    frames, audio_seconds = decode(video)
    data = json.loads(anim.read_text())
    assert data["fps"] == 25 and len(frames) == len(data["values"])
    assert frames[0].shape == (512, 512, 3)
    assert audio_seconds == pytest.approx(len(frames) / 25, abs=0.12)
    jaw = np.array(data["values"])[:, data["channels"].index("JawOpen")]
    gaps = []
    for k, frame in enumerate(frames):
        gaps.append(lip_gap(find_face(frame, source=f"frame {k}")))  # a face in every frame
    assert np.corrcoef(jaw, gaps)[0, 1] > 0.75  # a small face: benchmarks/portrait.py measures bigger ones


@pytest.mark.slow
def test_render_reads_speech_and_follows_the_seed(spoken, tmp_path):
    outputs = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        out = tmp_path / f"{name}.mp4"
        anim = tmp_path / f"{name}.json"
        args = ["render", str(ASTRONAUT), str(spoken.wav), "-o", str(out), "--text", spoken.text,
                "--size", "256", "--fps", "20", "--seed", str(seed), "--animation", str(anim), "-q"]  # fmt: skip
        assert main(args) == 0
        data = json.loads(anim.read_text())
        life = [data["channels"].index(c) for c in ("HeadYaw", "EyeBlinkLeft", "LeftEyeYaw")]
        outputs.append(np.array(data["values"])[:, life])
        assert data["fps"] == 20 and abs(len(data["values"]) - spoken.audio.duration * 20) <= 1
    np.testing.assert_array_equal(outputs[0], outputs[1])  # blinks, gaze and head motion follow the seed
    assert not np.array_equal(outputs[0], outputs[2])


def _no_face(d):
    path = d / "wall.png"
    Image.fromarray(np.full((300, 300, 3), 170, np.uint8)).save(path)
    return path


def _corrupt(d):
    path = d / "broken.jpg"
    data = (ASTRONAUT.read_bytes())[:5000]
    path.write_bytes(data)
    return path


def _zero_bytes(d):
    path = d / "empty.png"
    path.write_bytes(b"")
    return path


def _wrong_kind(d):
    path = d / "speech.jpg"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(200))
    return path


def _huge(d):
    path = d / "huge.png"  # a PNG header declaring 30000 x 30000 pixels
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)))
    return path


def _missing(d):
    return d / "nobody.png"


@pytest.mark.parametrize(
    "make, words",
    [
        (_no_face, "No face found"),
        (_corrupt, "broken.jpg"),
        (_zero_bytes, "empty.png"),
        (_wrong_kind, "speech.jpg"),
        (_huge, "huge.png"),
        (_missing, "nobody.png"),
    ],
    ids=["no face", "corrupt", "zero bytes", "wrong kind", "huge", "missing"],
)
def test_a_bad_photo_is_one_sentence_and_no_video(spoken, tmp_path, make, words):
    photo = make(tmp_path)
    out = tmp_path / "out.mp4"
    run = subprocess.run(
        [sys.executable, "-m", "mouthpiece.cli", "render", str(photo), str(spoken.wav), "-o", str(out)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and str(photo.name) in lines[0], run.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({photo.name} - {"nobody.png"})


def test_a_closed_eye_shows_a_dark_lash_line(renderer):
    from mouthpiece.face import landmarks as lm

    closed = values(EyeBlinkLeft=1.0, EyeBlinkRight=1.0)
    frame = renderer.render(closed).astype(float).mean(axis=2)
    points = renderer.pose(closed)
    lid = points[list(lm.LEFT_UPPER_LID[2:-2]), :2].round().astype(int)
    skin = (lid - (0, round(0.08 * renderer.rig.unit))).astype(int)  # the closed lid's skin above the line
    assert frame[lid[:, 1], lid[:, 0]].mean() < frame[skin[:, 1], skin[:, 0]].mean() - 15


def test_a_photo_that_shows_its_teeth_shows_them_again_when_the_mouth_opens(monkeypatch):
    """The astronaut smiles with her upper teeth showing: opened, the mouth shows those teeth
    (the photo's own pixels, where they were: the head has not moved), not painted ones; a
    head turn carries them along."""
    from mouthpiece.face import landmarks as lm
    from mouthpiece.render import photo_teeth

    image = load_image(ASTRONAUT)
    portrait = frame_portrait(image, find_face(image, source="astronaut.png"), (768, 768))  # a close-up

    def make() -> PortraitRenderer:
        return PortraitRenderer(portrait.image, portrait.landmarks, channels=CHANNELS)

    renderer = make()
    teeth = renderer._own_teeth
    assert teeth is not None
    row = values(JawOpen=0.6, MouthLowerDownLeft=0.3, MouthLowerDownRight=0.3, MouthUpperUpLeft=0.3,
                 MouthUpperUpRight=0.3)  # fmt: skip
    own = renderer.render(row).copy()
    opening = renderer.pose(row)[list(lm.UPPER_LIP_INNER + lm.LOWER_LIP_INNER[-2:0:-1]), :2]
    apart = np.zeros(own.shape[:2], np.uint8)
    cv2.fillPoly(apart, [np.round(opening).astype(np.int32)], (1,))
    x0, y0 = teeth.corner.astype(int)
    ys, xs = np.nonzero(teeth.alpha[..., 0] > 0.99)
    seen = apart[ys + y0, xs + x0] > 0
    ys, xs = ys[seen], xs[seen]
    assert len(ys) >= 50  # the teeth show between the parted lips
    photo = teeth.crop[ys, xs]
    assert np.abs(own[ys + y0, xs + x0].astype(np.float64) - photo).mean() < 6  # grey levels
    turned = renderer.render(values(HeadYaw=0.3, JawOpen=0.6)).copy()
    assert np.abs(turned[ys + y0, xs + x0].astype(np.float64) - photo).mean() > 15  # they moved with the head
    monkeypatch.setattr(photo_teeth.PhotoTeeth, "of", classmethod(lambda cls, image, rig: None))
    painted = make().render(row)
    assert np.abs(painted[ys + y0, xs + x0].astype(np.float64) - photo).mean() > 15  # painted teeth differ


def test_a_photo_with_shut_lips_has_no_teeth_of_its_own(renderer):
    import dataclasses

    from mouthpiece.render.photo_teeth import PhotoTeeth

    closed = dataclasses.replace(renderer.rig, source=renderer.rig.landmarks)  # the rig at rest: lips closed
    assert PhotoTeeth.of(renderer.image, closed) is None
