"""Find faces in an image and their 478 MediaPipe face-mesh landmarks.

MediaPipe 0.10.21's legacy face mesh ships its detector and landmark models inside the
wheel, so nothing is downloaded. ``refine_landmarks`` adds the 10 iris points
(468-477) to the 468 mesh points. Landmarks come back in pixels: ``x`` right, ``y``
down, and ``z`` the relative depth MediaPipe reports, in the same pixel scale (smaller
is nearer the camera).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import DependencyError, NoFaceError
from .landmarks import eye_distance

MAX_FACES = 8  # faces looked for in one image
# MediaPipe's detector sees a 128-pixel copy of the whole image, where the faces of a wide
# shot are too small to find: an image this much wider than tall (or taller than wide) is
# also searched in square tiles, and a face found there that is not one already found (its
# centre further than SAME_FACE eye distances from theirs) is added.
WIDE = 1.4
SAME_FACE = 0.5
MIN_DETECTION_CONFIDENCE = 0.5

_lock = threading.Lock()


def detect_faces(image: np.ndarray) -> list[np.ndarray]:
    """The landmarks of every face found in ``image``, ordered left to right.

    Parameters
    ----------
    image : np.ndarray [shape=(H, W, 3), dtype=uint8], RGB

    Returns
    -------
    list of np.ndarray [shape=(478, 3), dtype=float32]
        Per face, ``(x, y, z)`` in pixels; faces sorted by their leftmost point.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image, got shape {image.shape} and dtype {image.dtype}")
    faces = _detect(image, 0, 0)
    height, width = image.shape[:2]
    short, long = sorted((height, width))
    if long > WIDE * short:  # square tiles along the long side, overlapping by half
        for start in np.linspace(0, long - short, int(np.ceil(2 * long / short)) - 1).round().astype(int):
            x0, y0 = (start, 0) if width > height else (0, start)
            for face in _detect(image[y0 : y0 + short, x0 : x0 + short], x0, y0):
                centre = face[:, :2].mean(axis=0)
                if all(np.hypot(*(centre - f[:, :2].mean(axis=0))) > SAME_FACE * eye_distance(f) for f in faces):
                    faces.append(face)
    return sorted(faces, key=lambda landmarks: float(landmarks[:, 0].min()))


def _detect(image: np.ndarray, x0: int, y0: int) -> list[np.ndarray]:
    """The faces MediaPipe finds in ``image``, in the pixels of a larger one it sits in at ``(x0, y0)``."""
    height, width = image.shape[:2]
    with _lock, quiet_native_stderr():
        result = _face_mesh().process(np.ascontiguousarray(image))
    return [
        np.array([(p.x * width + x0, p.y * height + y0, p.z * width) for p in face.landmark], np.float32)
        for face in result.multi_face_landmarks or ()
    ]


def find_face(image: np.ndarray, *, source: str, index: int | None = None) -> np.ndarray:
    """The landmarks of one face in ``image``: the largest, or the ``index``-th from the left.

    Parameters
    ----------
    image : np.ndarray [shape=(H, W, 3), dtype=uint8], RGB
    source : str, the image's name for error messages
    index : int or None, 0 for the leftmost face; None picks the largest

    Returns
    -------
    np.ndarray [shape=(478, 3), dtype=float32]

    Raises
    ------
    NoFaceError
        No face in the image, or fewer than ``index + 1``.
    """
    faces = detect_faces(image)
    if not faces:
        raise NoFaceError(f"No face found in '{source}'.")
    if index is None:
        return largest(faces)
    if not 0 <= index < len(faces):
        found = f"{len(faces)} face" + ("s" if len(faces) > 1 else "")
        raise NoFaceError(f"'{source}' has {found}; there is no face {index} (0 is the leftmost).")
    return faces[index]


def largest(faces: list[np.ndarray]) -> np.ndarray:
    """The face (landmarks) whose bounding box is largest."""
    return max(faces, key=_area)


def _area(landmarks: np.ndarray) -> float:
    extent = landmarks[:, :2].max(axis=0) - landmarks[:, :2].min(axis=0)
    return float(extent[0] * extent[1])


_mesh: Any = None


def _face_mesh() -> Any:
    """One face mesh per process for photos, built on first use."""
    global _mesh
    if _mesh is None:
        _mesh = new_face_mesh(static_image_mode=True, max_num_faces=MAX_FACES)
    return _mesh


def new_face_mesh(**options: Any) -> Any:
    """A MediaPipe ``FaceMesh`` with iris landmarks, built quietly (importing MediaPipe takes
    a second or two the first time)."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ start-up chatter
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError as e:
        cause = _interruption(e)
        if cause is not None:  # Ctrl-C or a signal during the import: that, not a broken install
            raise cause from None
        raise DependencyError(
            f"MediaPipe's face mesh could not be imported ({e}); run `make install`, "
            "or `pip install --no-deps mediapipe==0.10.21` with the '[face]' extra."
        ) from e
    with quiet_native_stderr():
        return face_mesh.FaceMesh(refine_landmarks=True, min_detection_confidence=MIN_DETECTION_CONFIDENCE, **options)


def _interruption(error: BaseException) -> BaseException | None:
    """The KeyboardInterrupt (or the CLI's signal exception, any non-Exception) behind ``error``:
    a C extension interrupted mid-import reports only "initialization failed"."""
    seen: BaseException | None = error
    while seen is not None:
        if not isinstance(seen, Exception):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


_quiet_lock = threading.Lock()
_quiet_users = 0
_quiet_saved: tuple[int, Any] | None = None  # the real fd 2 and Python's sys.stderr while quiet


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what native code prints straight to file descriptor 2 (MediaPipe's TFLite and
    absl notices, which no log level reaches before absl is initialised, and which its
    graph threads print whenever they like), while Python's ``sys.stderr`` keeps writing
    to the real stderr. Nests and overlaps freely (two trackers at once): the first user
    silences, the last one to leave restores."""
    global _quiet_users, _quiet_saved
    with _quiet_lock:
        if _quiet_users == 0:
            sys.stderr.flush()
            saved = os.dup(2)
            python_stderr = sys.stderr
            sys.stderr = open(  # noqa: SIM115 - closed when the last user leaves
                os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding, errors="backslashreplace"
            )
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
            _quiet_saved = (saved, python_stderr)
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0 and _quiet_saved is not None:
                saved, python_stderr = _quiet_saved
                sys.stderr.close()
                sys.stderr = python_stderr
                os.dup2(saved, 2)
                os.close(saved)
                _quiet_saved = None
