"""A talking portrait: one photo, warped frame by frame to follow an Animation.

1. Frame the photo to the output size (:func:`frame_photo`): the largest crop of the
   output's shape that fits the photo, centred on the face as far as the photo allows
   (never more than ``MAX_FACE_HEIGHTS`` face heights tall, so a small face in a big
   photo still fills the frame), scaled once.
2. Rig the face (:func:`~mouthpiece.face.rig.build_rig`) on the framed photo.
3. Per frame: pose the rig's landmarks with the frame's channel values, warp the photo
   by its mesh (:class:`~.warp.MeshWarp`), keep the background behind a turned head
   still (:class:`~.backdrop.Backdrop`), soften the chin's edge where the jaw brings it
   down onto the neck (:class:`~.chin.ChinEdge`), paint the inside of the mouth where the
   lips have parted (:func:`~.mouth.draw_mouth`), and the lid's skin and a lash line
   where the lids close (:func:`~.eyes.draw_lids`, :func:`~.eyes.draw_lashes`).

Everything outside the rig's anchor ring is the framed photo, untouched, and so is the
background inside it.
"""

from __future__ import annotations

import copy
import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from ..cpus import usable_cpus
from ..face import landmarks as lm
from ..face.rig import POSE, Poser, build_rig
from ..face.teeth import lips_past_the_teeth
from ..types import Animation, FaceRig
from .backdrop import Backdrop, head_reach
from .chin import ChinEdge
from .eyes import LashColours, LidSkin, draw_lashes, draw_lids
from .mouth import MouthPalette, clear_photo_mouth, draw_mouth, raised_tongue
from .photo_teeth import PhotoTeeth
from .warp import MeshWarp

RENDER_THREADS = min(2, usable_cpus())  # more add little: the encoder and recognizer need cores too
NATIVE_UPSCALE = 1.5  # a photo enlarged more than this is rendered at its own size, then scaled
MAX_FACE_HEIGHTS = 6.0  # the tallest crop, in face heights (forehead to chin)
FACE_CENTRE_HEIGHT = 0.45  # where the face's centre sits in the crop, from its top


@dataclass(frozen=True)
class Portrait:
    """A photo framed for output, and its face's landmarks in the framed pixels.

    Frames are rendered at the image's size, then scaled to ``output_size`` when that is
    larger: a photo enlarged for a big video is warped at the size it has detail for.
    """

    image: np.ndarray  # [H, W, 3] uint8 RGB
    landmarks: np.ndarray  # [478, 3] pixels of ``image``
    output_size: tuple[int, int] | None = None  # (width, height) of the video; None: the image's

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames rendered from it."""
        return self.output_size or (self.image.shape[1], self.image.shape[0])


@dataclass(frozen=True)
class Framing:
    """Where the output frame comes from in the photo: a crop box scaled to ``size``."""

    x: float  # crop's left edge, photo pixels
    y: float  # crop's top edge
    scale: float  # output pixels per photo pixel
    size: tuple[int, int]  # output (width, height)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """The framed photo, [height, width, 3] uint8."""
        width, height = self.size
        matrix = np.array([[self.scale, 0, -self.x * self.scale], [0, self.scale, -self.y * self.scale]])
        interpolation = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_CUBIC
        if self.scale < 1:  # INTER_AREA only averages when resizing, so crop then resize
            x0, y0 = int(round(self.x)), int(round(self.y))
            x1, y1 = x0 + int(round(width / self.scale)), y0 + int(round(height / self.scale))
            crop = image[max(y0, 0) : y1, max(x0, 0) : x1]
            return cv2.resize(crop, (width, height), interpolation=interpolation)
        return cv2.warpAffine(image, matrix, (width, height), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)

    def points(self, points: np.ndarray) -> np.ndarray:
        """Photo landmarks ``[N, 3]`` -> output pixels (depth scales with x and y)."""
        out = np.asarray(points, np.float64) * self.scale
        out[:, 0] -= self.x * self.scale
        out[:, 1] -= self.y * self.scale
        return out


def frame_photo(image_size: tuple[int, int], landmarks: np.ndarray, size: tuple[int, int]) -> Framing:
    """How to frame a photo of ``image_size`` (width, height) with a face at ``landmarks`` to ``size``."""
    image_width, image_height = image_size
    width, height = size
    aspect = width / height
    oval = landmarks[list(lm.FACE_OVAL), :2]
    face_height = float(np.ptp(oval[:, 1]))
    crop_height = min(image_height, image_width / aspect, MAX_FACE_HEIGHTS * face_height)
    crop_width = crop_height * aspect
    centre_x, centre_y = oval.mean(axis=0)
    x = float(np.clip(centre_x - crop_width / 2, 0, image_width - crop_width))
    y = float(np.clip(centre_y - FACE_CENTRE_HEIGHT * crop_height, 0, image_height - crop_height))
    return Framing(x=x, y=y, scale=height / crop_height, size=(width, height))


class PortraitRenderer:
    """Renders frames of one framed photo for the channels of an Animation.

    Parameters
    ----------
    image : np.ndarray [shape=(H, W, 3), dtype=uint8], the framed photo
    landmarks : np.ndarray [shape=(478, 3)], its face's landmarks in its pixels
    channels : tuple of str, the channels of the values passed to :meth:`render`
    output_size : (width, height) or None, frames are scaled to this after rendering
    """

    def __init__(
        self,
        image: np.ndarray,
        landmarks: np.ndarray,
        *,
        channels: tuple[str, ...],
        output_size: tuple[int, int] | None = None,
    ):
        self.image = image
        self.output_size = None if output_size == (image.shape[1], image.shape[0]) else output_size
        self._pose = [channels.index(name) for name in POSE if name in channels]
        # a head that turns needs what lies behind it, and its rig reaches to its hair's edge
        self._backdrop = Backdrop.of(image, landmarks) if self._pose else None
        reach = None if self._backdrop is None else head_reach(self._backdrop.silhouette, landmarks)
        landmarks = lips_past_the_teeth(image, landmarks)  # teeth between lips the mesh reads as shut: parted
        self.rig: FaceRig = build_rig(landmarks, head_reach=reach)
        self._poser = Poser(self.rig, channels)
        self._palette = MouthPalette.of(image, self.rig.source, unit=self.rig.unit)
        self._lashes = LashColours.of(image, self.rig.source, unit=self.rig.unit)
        self._lids = LidSkin.of(image, self.rig.source, unit=self.rig.unit)
        self._own_teeth: PhotoTeeth | None = None
        if not np.array_equal(self.rig.landmarks, self.rig.source):  # the photo's mouth is open
            self._own_teeth = PhotoTeeth.of(image, self.rig)
            image = clear_photo_mouth(image, self.rig.source, unit=self.rig.unit)
        self._warp = MeshWarp(image, self.rig.source, self.rig.triangles)
        self._chin = ChinEdge(self.rig.landmarks, unit=self.rig.unit)
        self._tongue = channels.index("TongueOut") if "TongueOut" in channels else None

    def twin(self) -> PortraitRenderer:
        """A renderer of the same face that shares the rig but none of the scratch buffers."""
        twin = copy.copy(self)
        twin._warp = copy.copy(self._warp)
        twin._warp.reset_buffers()
        return twin

    def pose(self, values: np.ndarray) -> np.ndarray:
        """The rig's landmark positions for one frame, [N, 3] pixels."""
        return self._poser(values)

    def render(self, values: np.ndarray, tongue_up: float = 0.0) -> np.ndarray:
        """One frame for one row of channel values, [H, W, 3] uint8; ``tongue_up`` (0-1, from
        the frame's visemes: :func:`~.mouth.raised_tongue`) raises the tongue's tip."""
        points = self._poser(values)
        frame = self._warp(points)
        if self._backdrop is not None and self._warp.last_map is not None and np.any(values[self._pose] != 0):
            self._backdrop.composite(frame, *self._warp.last_map)
        self._chin(frame, points)
        tongue_out = 0.0 if self._tongue is None else float(values[self._tongue])
        draw_mouth(frame, points, unit=self.rig.unit, palette=self._palette, tongue_out=tongue_out,
                   tongue_up=tongue_up, own_teeth=self._own_teeth)  # fmt: skip
        draw_lids(frame, points, self.rig.landmarks, unit=self.rig.unit, skin=self._lids)
        draw_lashes(frame, points, self.rig.landmarks, unit=self.rig.unit, lashes=self._lashes)
        if self.output_size is not None:
            frame = cv2.resize(frame, self.output_size, interpolation=cv2.INTER_CUBIC)
        return frame


def frame_portrait(image: np.ndarray, landmarks: np.ndarray, size: tuple[int, int]) -> Portrait:
    """A photo and its face's landmarks, framed to ``size`` (width, height) by :func:`frame_photo`.

    When that would enlarge the photo by more than ``NATIVE_UPSCALE`` the portrait keeps
    the crop at the photo's own resolution and frames are scaled up after rendering.
    """
    framing = frame_photo((image.shape[1], image.shape[0]), landmarks, size)
    if framing.scale > NATIVE_UPSCALE:
        native = (int(round(size[0] / framing.scale)), int(round(size[1] / framing.scale)))
        framing = Framing(x=framing.x, y=framing.y, scale=native[1] / (size[1] / framing.scale), size=native)
        return Portrait(image=framing.apply(image), landmarks=framing.points(landmarks), output_size=size)
    return Portrait(image=framing.apply(image), landmarks=framing.points(landmarks))


class FrameRenderer:
    """Renders rows of channel values to frames, in order, on a few threads at once.

    Most of a frame's work is NumPy and OpenCV, which let go of the GIL, so two threads
    render about a third faster than one. Each thread slot has its own
    :class:`PortraitRenderer` (they keep scratch buffers), and only ``threads`` frames are
    in flight, so memory stays a few frames' worth. Use it as a context manager.
    """

    def __init__(self, portrait: Portrait, *, channels: tuple[str, ...], threads: int = RENDER_THREADS):
        first = PortraitRenderer(portrait.image, portrait.landmarks, channels=channels, output_size=portrait.size)
        self._renderers = [first] + [first.twin() for _ in range(threads - 1)]
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mouthpiece-render")

    def __call__(self, rows: Iterable[np.ndarray], tongue_up: Iterable[float] | None = None) -> Iterator[np.ndarray]:
        """The frame of each row, in order (``tongue_up``: per row, see :meth:`PortraitRenderer.render`)."""
        pending: deque[Future[np.ndarray]] = deque()
        raised = itertools.repeat(0.0) if tongue_up is None else tongue_up
        for k, (values, up) in enumerate(zip(rows, raised)):
            if len(pending) == len(self._renderers):
                yield pending.popleft().result()
            pending.append(self._pool.submit(self._renderers[k % len(self._renderers)].render, values, float(up)))
        while pending:
            yield pending.popleft().result()

    def __enter__(self) -> FrameRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def render_frames(portrait: Portrait, animation: Animation) -> Iterator[np.ndarray]:
    """The frames of ``animation`` on ``portrait``, one per animation frame: frame k shows
    the animation at k / fps."""
    with FrameRenderer(portrait, channels=animation.channels) as render:
        yield from render(animation.values, raised_tongue(animation.viseme_weights, animation.frame_count))
