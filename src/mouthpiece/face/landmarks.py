"""Named groups of MediaPipe's 478 face-mesh landmarks, and the mesh's triangles.

"Left" and "right" are the subject's: the subject's left eye is on the image's right
in an unmirrored photo. Contours run from the subject's right (image left) to the
subject's left. The iris points (468-477) come from ``refine_landmarks``.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, defaultdict

import numpy as np

LANDMARK_COUNT = 478  # MediaPipe's face mesh with the iris points

# Lips. The inner contours meet at the inner corners (78, 308) and bound the mouth opening.
MOUTH_CORNER_RIGHT, MOUTH_CORNER_LEFT = 61, 291  # outer corners
UPPER_LIP_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_LIP_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
UPPER_LIP_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_LIP_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
MOUTH_OPENING = UPPER_LIP_INNER + LOWER_LIP_INNER[-2:0:-1]  # round the opening between the lips
LIPS_OUTLINE = UPPER_LIP_OUTER + LOWER_LIP_OUTER[-2:0:-1]  # round the lips' outer edge

# Eyelids, outer corner to inner corner, and the irises (centre first, then the ring).
RIGHT_UPPER_LID = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_LOWER_LID = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_UPPER_LID = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_LOWER_LID = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS = (33, 133), (263, 362)  # an eye's centre is their mean
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)

# Brows, outer end to inner end.
RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)

# Nose wings (the alae, beside the nostrils).
RIGHT_NOSE_WING, LEFT_NOSE_WING = 129, 358

CHIN = 152
FOREHEAD = 10

# The face outline, clockwise in the image from the top of the forehead.
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centres of the subject's right and left eyes (the image's left and right), x and y."""
    return (
        landmarks[list(RIGHT_EYE_CORNERS), :2].mean(axis=0),
        landmarks[list(LEFT_EYE_CORNERS), :2].mean(axis=0),
    )


def eye_distance(landmarks: np.ndarray) -> float:
    """The distance between the eye centres, the unit faces are measured in."""
    right, left = eye_centres(landmarks)
    return float(np.hypot(*(left - right)))


@functools.cache
def mesh_triangles() -> np.ndarray:
    """The triangles of MediaPipe's face mesh (468 points; open at the mouth and eyes).

    MediaPipe publishes the mesh as its edges (``FACEMESH_TESSELATION``); a triangle is
    three mutually connected points, less the few such triples that are not faces
    (around the nose wings) and show themselves by all three edges being shared by more
    than two triples.

    Returns
    -------
    np.ndarray [shape=(852, 3), dtype=int32]
    """
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    edges = {tuple(sorted(edge)) for edge in FACEMESH_TESSELATION}
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    triples = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}
    uses = Counter(pair for triple in triples for pair in itertools.combinations(triple, 2))
    faces = [t for t in triples if min(uses[pair] for pair in itertools.combinations(t, 2)) <= 2]
    return np.array(sorted(faces), np.int32)


def mouth_opening(landmarks: np.ndarray) -> float:
    """The inner lips' gap at the middle of the mouth over the distance between the eyes.

    Parameters
    ----------
    landmarks : np.ndarray [shape=(478, 2 or 3)], MediaPipe face-mesh landmarks
    """
    return float(np.hypot(*(landmarks[14, :2] - landmarks[13, :2])) / max(eye_distance(landmarks), 1e-6))
