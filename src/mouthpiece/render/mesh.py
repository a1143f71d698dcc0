"""A head from one photo: the face as a textured 3D mesh with the rig's 52 ARKit morph targets.

:func:`build_head` makes a :class:`HeadMesh` from a photo and its face's landmarks:

1. Rig the face (:func:`~mouthpiece.face.rig.build_rig`): the same rig, and so the same
   motion, as the portrait videos. Its rest landmarks (lips together) with MediaPipe's
   depth are the mesh's vertices; where the photo shows them (``rig.source``) is where
   each samples the photo, its texture.
2. The skin (:func:`_skin`): MediaPipe's face mesh (its published tesselation,
   :func:`~mouthpiece.face.landmarks.mesh_triangles`, open at the mouth and the eyes)
   and a strip out to the rig's head ring (hair, the head's edge), bent backwards.
3. The inside of the mouth (:mod:`.mesh_mouth`): a dark cavity hung from the inner lip
   contours, so an open mouth is never a hole, with teeth and a tongue.
4. The eyes (:func:`_eyes`): a sphere behind each lid opening, the photo projected onto
   it, turned by the EyeLook targets; lids that close are lifted clear of it.
5. Morph targets: each ARKit channel's displacement of every vertex at weight 1, the
   rig's basis (``TongueOut``, which the rig leaves to the renderer, moves the tongue).

Units and axes are glTF's: metres (the eye centres :data:`EYE_DISTANCE` apart), X the
subject's left (the photo's right), Y up, Z out of the face towards the camera; the face
is set upright (its eyes level) whatever the tilt of the head in the photo. The
origin is the rig's pivot on the neck, which the head turns about. :mod:`.head_gltf`
writes the head as glTF.

ARKit's MouthClose closes the lips against the jaw's opening; the rig's Poser never lets
it pass JawOpen (it would push the lower lip through the upper one). Morph targets add
up linearly, so :func:`head_animation` caps MouthClose at JawOpen in the curves instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..face import landmarks as lm
from ..face.regions import FaceFrame
from ..face.rig import HEAD_RING, build_rig
from ..types import Animation, FaceRig
from ..vocabulary import ARKIT_BLENDSHAPES
from .mesh_mouth import mouth_parts, polar_triangles
from .mouth import clear_photo_mouth

EYE_DISTANCE = 0.063  # metres between the eye centres, an adult's (one face unit)
HEAD_RING_SLOPE = 0.8  # how far back the head ring lies, per unit it lies outside the face outline
# Eyes: a sphere this much wider than the farthest lid point from the iris, so it fills the
# opening; this much (face units) behind every skin vertex in front of it.
EYEBALL_MARGIN = 1.15
LID_CLEARANCE = 0.015
EYE_CAP = np.radians(110.0)  # how far round from the front the sphere goes
EYE_RINGS, EYE_SEGMENTS = 10, 24
MAX_TURN_SINE = 0.9  # an eye turns at most asin(this)
SOCKET_SHRINK = 0.5  # the socket's far ring, as a share of the lid contour's distance from the iris
MAX_TEXTURE = 1024  # px, the texture's sides at most
TEXTURE_MARGIN = 4  # px around what the mesh samples
JPEG_QUALITY = 90


@dataclass(frozen=True)
class Part:
    """One primitive of the head's mesh.

    name : str, e.g. ``"Skin"``
    positions : np.ndarray [shape=(V, 3), dtype=float32], metres, at rest
    triangles : np.ndarray [shape=(F, 3), dtype=int32], counter-clockwise seen from the front
    targets : np.ndarray [shape=(52, V, 3), dtype=float32], metres; per ARKit channel
        (``ARKIT_BLENDSHAPES`` order) every vertex's displacement at weight 1
    texcoords : np.ndarray [shape=(V, 2), dtype=float32] or None, where each vertex samples
        the texture (0-1, v downwards); None for a part coloured by ``colours``
    colours : np.ndarray [shape=(V, 3), dtype=float32] or None, sRGB 0-1 per vertex
    """

    name: str
    positions: np.ndarray
    triangles: np.ndarray
    targets: np.ndarray
    texcoords: np.ndarray | None = None
    colours: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("positions", "targets", "texcoords", "colours"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float32))
        object.__setattr__(self, "triangles", np.ascontiguousarray(self.triangles, dtype=np.int32))
        count = len(self.positions)
        if self.targets.shape != (len(ARKIT_BLENDSHAPES), count, 3):
            raise ValueError(f"part {self.name!r}: targets of shape {self.targets.shape} for {count} vertices")
        if (self.texcoords is None) == (self.colours is None):
            raise ValueError(f"part {self.name!r}: give texcoords or colours, not both or neither")
        if self.triangles.size and not (0 <= self.triangles.min() and self.triangles.max() < count):
            raise ValueError(f"part {self.name!r}: a triangle refers to a vertex it does not have")


@dataclass(frozen=True)
class HeadMesh:
    """A head made from a photo: its parts, their texture, and where it came from.

    parts : tuple of Part (``Skin``, ``Eyes`` textured; ``Mouth``, ``Teeth``, ``Tongue`` coloured)
    channels : the morph targets' channels, ``ARKIT_BLENDSHAPES``
    texture : bytes, a JPEG of the part of the photo the textured parts sample
    source : str, the photo's name
    """

    parts: tuple[Part, ...]
    texture: bytes
    source: str
    channels: tuple[str, ...] = ARKIT_BLENDSHAPES

    @property
    def vertex_count(self) -> int:
        return sum(len(part.positions) for part in self.parts)


_Geometry = tuple[str, np.ndarray, np.ndarray, np.ndarray]  # name, positions [V, 3], triangles, targets [52, V, 3]


class _Space:
    """The photo's pixels (x right, y down, z away, the rig's) to the model's metres, upright:
    the face's own x axis (eye to eye) along X, so a photo of a tilted head makes an upright one."""

    def __init__(self, rig: FaceRig, frame: FaceFrame):
        self.pivot = rig.pivot.astype(np.float64)
        scale = EYE_DISTANCE / rig.unit  # metres per pixel
        self.turn = np.eye(3)
        self.turn[:2, :2] = frame.axes  # rows: the face's x and y axes in the photo
        self.turn *= np.array([[scale], [-scale], [-scale]])  # y down -> Y up, z away -> Z towards the camera

    def points(self, pixels: np.ndarray) -> np.ndarray:
        return (np.asarray(pixels, np.float64) - self.pivot) @ self.turn.T

    def moves(self, pixels: np.ndarray) -> np.ndarray:
        return np.asarray(pixels, np.float64) @ self.turn.T


def build_head(image: np.ndarray, landmarks: np.ndarray, *, source: str) -> HeadMesh:
    """The head of the face at ``landmarks`` in ``image``.

    Parameters
    ----------
    image : np.ndarray [shape=(H, W, 3), dtype=uint8], RGB
    landmarks : np.ndarray [shape=(478, 3)], the face's MediaPipe landmarks in ``image``'s pixels
    source : str, the photo's name

    Returns
    -------
    HeadMesh
    """
    rig = build_rig(landmarks)
    frame = FaceFrame.of(rig.source[: lm.LANDMARK_COUNT])
    basis = arkit_basis(rig)
    space = _Space(rig, frame)
    skin, skin_pixels = _skin(rig, basis)
    eyes, eye_pixels = _eyes(rig, basis, skin, frame)  # this lifts the skin's lids clear of the eyes
    inside = mouth_parts(image, rig, basis, frame, skin=(skin[1], skin[2]))
    if not np.array_equal(rig.landmarks, rig.source):  # the photo's mouth is open: paint out its teeth
        image = clear_photo_mouth(image, rig.source, unit=rig.unit)
    texture, to_uv = _texture(image, np.concatenate([skin_pixels, eye_pixels]))
    parts = [
        _part(space, skin, texcoords=to_uv(skin_pixels), facing_front=True),
        _part(space, eyes, texcoords=to_uv(eye_pixels)),
        *(_part(space, (name, positions, triangles, targets), colours=colours)
          for name, positions, triangles, targets, colours in inside),
    ]  # fmt: skip
    return HeadMesh(parts=tuple(parts), texture=texture, source=source)


def _part(
    space: _Space,
    geometry: _Geometry,
    *,
    texcoords: np.ndarray | None = None,
    colours: np.ndarray | None = None,
    facing_front: bool = False,
) -> Part:
    """A part in the model's metres from its geometry in the photo's pixels."""
    name, positions, triangles, targets = geometry
    model = space.points(positions)
    triangles = _facing_front(model, triangles) if facing_front else triangles
    return Part(name, model, triangles, space.moves(targets), texcoords=texcoords, colours=colours)


def arkit_basis(rig: FaceRig) -> np.ndarray:
    """The rig's displacements in ``ARKIT_BLENDSHAPES`` order, [52, N, 3] pixels (zero for a
    channel the rig does not move: TongueOut)."""
    basis = np.zeros((len(ARKIT_BLENDSHAPES), *rig.landmarks.shape), np.float64)
    for k, channel in enumerate(ARKIT_BLENDSHAPES):
        if channel in rig.channels:
            basis[k] = rig.basis[rig.channels.index(channel)]
    return basis


def head_animation(animation: Animation) -> Animation:
    """``animation`` as the head's morph targets show it as the rig would: MouthClose at most JawOpen.

    >>> from mouthpiece.vocabulary import CHANNELS
    >>> values = np.zeros((2, len(CHANNELS)), np.float32)
    >>> values[:, CHANNELS.index("MouthClose")], values[:, CHANNELS.index("JawOpen")] = 0.1, [0.0, 0.3]
    >>> [round(float(v), 2) for v in head_animation(Animation(fps=30, values=values)).channel("MouthClose")]
    [0.0, 0.1]
    """
    if "MouthClose" not in animation.channels:
        return animation
    values = animation.values.copy()
    close = animation.channels.index("MouthClose")
    jaw = animation.channel("JawOpen") if "JawOpen" in animation.channels else 0.0
    values[:, close] = np.minimum(values[:, close], jaw)
    return replace(animation, values=values)


def _skin(rig: FaceRig, basis: np.ndarray) -> tuple[_Geometry, np.ndarray]:
    """The face mesh and the strip out to the head ring (pixels), and where each vertex is in the photo."""
    ids = np.r_[np.arange(lm.mesh_triangles().max() + 1), np.arange(HEAD_RING.start, HEAD_RING.stop)]
    vertex = np.full(len(rig.landmarks), -1)
    vertex[ids] = np.arange(len(ids))
    positions = rig.landmarks[ids].astype(np.float64)
    oval = rig.landmarks[list(lm.FACE_OVAL)]
    ring = vertex[HEAD_RING]
    outside = np.hypot(*(positions[ring, :2] - oval[:, :2]).T)
    positions[ring, 2] = oval[:, 2] + HEAD_RING_SLOPE * outside  # the head curves away from the camera
    inner = vertex[list(lm.FACE_OVAL)]
    count = len(inner)
    strips = [(inner[i], ring[i], ring[(i + 1) % count]) for i in range(count)]
    strips += [(inner[i], ring[(i + 1) % count], inner[(i + 1) % count]) for i in range(count)]
    triangles = np.concatenate([vertex[lm.mesh_triangles()], np.array(strips)])
    return ("Skin", positions, triangles, basis[:, ids]), rig.source[ids, :2]


def _eyes(rig: FaceRig, basis: np.ndarray, skin: _Geometry, frame: FaceFrame) -> tuple[_Geometry, np.ndarray]:
    """The eyes (pixels) and where each vertex samples the photo; the skin's targets are changed
    so that no lid passes behind an eyeball.

    Each eye is a sphere behind the lids' opening, the photo projected onto it, turned by
    the EyeLook targets as far as the rig moves the iris; and a socket, a ring sewn to the
    lid contour that runs back into the sphere, so that no line of sight through the
    opening misses the eye.
    """
    _, skin_positions, _, skin_targets = skin
    clearance = LID_CLEARANCE * frame.unit
    spheres = []
    for upper, lower, iris in (
        (lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID, lm.RIGHT_IRIS[0]),
        (lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID, lm.LEFT_IRIS[0]),
    ):
        contour = list(upper + lower[-2:0:-1])  # round the opening; skin vertex i is landmark i
        centre_xy = rig.landmarks[iris, :2].astype(np.float64)
        radius = EYEBALL_MARGIN * float(np.hypot(*(skin_positions[contour, :2] - centre_xy).T).max())
        # as far forward as it can be while every skin vertex in front of it stays in front
        depth = np.max(skin_positions[:, 2] + clearance + _sphere_depth(skin_positions, centre_xy, radius))
        centre = np.array([*centre_xy, depth])
        _lift_lids(skin_positions, skin_targets, centre, radius, clearance)
        spheres.append((contour, iris, centre, radius))
    positions: list[np.ndarray] = []
    pixels: list[np.ndarray] = []
    triangles: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for contour, iris, centre, radius in spheres:
        sphere, faces = _sphere(centre, radius)
        rim = skin_positions[contour]
        socket = centre + SOCKET_SHRINK * (rim - centre)
        socket[:, 2] = centre[2]
        count = len(contour)
        ring = [(i, (i + 1) % count, count + (i + 1) % count) for i in range(count)]
        ring += [(i, count + (i + 1) % count, count + i) for i in range(count)]
        start = sum(len(p) for p in positions)
        triangles += [faces + start, np.array(ring) + start + len(sphere)]
        positions += [sphere, rim, socket]
        pixels += [sphere[:, :2], rig.source[contour, :2], rig.source[contour, :2]]
        targets += [
            np.stack([_turn(sphere, centre, radius, basis[k, iris, :2]) for k in range(len(basis))]),
            skin_targets[:, contour],
            skin_targets[:, contour],
        ]
    geometry = ("Eyes", np.concatenate(positions), np.concatenate(triangles), np.concatenate(targets, axis=1))
    return geometry, np.concatenate(pixels)


def _sphere_depth(points: np.ndarray, centre_xy: np.ndarray, radius: float) -> np.ndarray:
    """How far behind each point a sphere's centre must lie for its surface to be behind the point
    (-inf for points beside the sphere)."""
    distance = np.hypot(*(points[:, :2] - centre_xy).T)
    return np.where(distance < radius, np.sqrt(np.maximum(radius**2 - distance**2, 0.0)), -np.inf)


def _sphere(centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The front of a sphere facing the camera (-z): vertices [V, 3] and triangles, outward-facing."""
    polar = np.linspace(0.0, EYE_CAP, EYE_RINGS + 1)[1:]
    around = np.linspace(0.0, 2 * np.pi, EYE_SEGMENTS, endpoint=False)
    p, a = np.meshgrid(polar, around, indexing="ij")
    rings = np.stack([np.sin(p) * np.cos(a), np.sin(p) * np.sin(a), -np.cos(p)], axis=-1).reshape(-1, 3)
    points = centre + radius * np.concatenate([[[0.0, 0.0, -1.0]], rings])
    faces_array = polar_triangles(EYE_RINGS, EYE_SEGMENTS)
    # outward: the normal points away from the centre (in pixels, where z points away from the camera)
    a, b, c = (points[faces_array[:, i]] for i in range(3))
    inward = np.einsum("ij,ij->i", np.cross(b - a, c - a), (a + b + c) / 3 - centre) < 0
    faces_array[inward] = faces_array[inward][:, ::-1]
    return points, faces_array


def _turn(points: np.ndarray, centre: np.ndarray, radius: float, iris_move: np.ndarray) -> np.ndarray:
    """Displacements [V, 3] that turn a sphere so that its front moves across the image by ``iris_move`` (pixels)."""
    shift = float(np.hypot(*iris_move))
    if shift < 1e-9:
        return np.zeros_like(points)
    sine = min(shift / radius, MAX_TURN_SINE)
    front, turned = np.array([0.0, 0.0, -1.0]), np.array([*(iris_move / shift * sine), -np.sqrt(1 - sine**2)])
    axis = np.cross(front, turned)
    axis /= np.linalg.norm(axis)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + sine * cross + (1 - np.sqrt(1 - sine**2)) * cross @ cross  # Rodrigues
    return (points - centre) @ rotation.T + centre - points


def _lift_lids(positions: np.ndarray, targets: np.ndarray, centre: np.ndarray, radius: float, clearance: float) -> None:
    """Bring forward, in ``targets`` (changed in place), each skin vertex a target would move
    behind the sphere: a closing lid slides over the eyeball, not through it."""
    moved = positions[None] + targets  # [52, V, 3]
    distance = np.hypot(moved[..., 0] - centre[0], moved[..., 1] - centre[1])
    surface = centre[2] - np.sqrt(np.maximum(radius**2 - distance**2, 0.0)) - clearance
    behind = (distance < radius) & (moved[..., 2] > surface) & np.any(targets != 0, axis=-1)
    targets[..., 2] -= np.where(behind, moved[..., 2] - surface, 0.0)


def _facing_front(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """``triangles`` ordered counter-clockwise as the camera (on +Z) sees them."""
    a, b, c = (positions[triangles[:, i], :2] for i in range(3))
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    out = triangles.copy()
    out[area < 0] = out[area < 0][:, ::-1]
    return out


def _texture(image: np.ndarray, pixels: np.ndarray) -> tuple[bytes, Callable[[np.ndarray], np.ndarray]]:
    """The part of ``image`` around ``pixels`` [N, 2] as JPEG bytes, and the function that maps
    pixels of ``image`` to texture coordinates [N, 2] (0-1, v downwards) in it."""
    height, width = image.shape[:2]
    x0, y0 = np.clip(np.floor(pixels.min(axis=0)).astype(int) - TEXTURE_MARGIN, 0, [width - 1, height - 1])
    x1, y1 = np.clip(np.ceil(pixels.max(axis=0)).astype(int) + TEXTURE_MARGIN, [x0 + 1, y0 + 1], [width, height])
    crop = image[y0:y1, x0:x1]
    # each side to a power of two (what WebGL 1 needs to mipmap), at most MAX_TEXTURE
    size = tuple(min(MAX_TEXTURE, 1 << int(np.ceil(np.log2(max(side, 1))))) for side in crop.shape[1::-1])
    if size != crop.shape[1::-1]:
        larger = size[0] * size[1] > crop.shape[0] * crop.shape[1]
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC if larger else cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", np.ascontiguousarray(crop[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # OpenCV encodes any uint8 image; this would be a broken build
        raise RuntimeError("OpenCV could not encode the head's texture as JPEG")
    origin, size_px = np.array([x0, y0], np.float64), np.array([x1 - x0, y1 - y0], np.float64)

    def to_uv(points: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(points, np.float64) - origin) / size_px, 0.0, 1.0)

    return jpeg.tobytes(), to_uv
