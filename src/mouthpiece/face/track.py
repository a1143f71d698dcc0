"""Follow one face through the frames of a video: MediaPipe's face mesh in tracking mode.

In tracking mode MediaPipe looks for the face where it was in the previous frame and
runs its detector again only when it loses it, so frames cost a few milliseconds each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from .detect import new_face_mesh, quiet_native_stderr

MIN_TRACKING_CONFIDENCE = 0.5


def track_face(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
    """Per frame the landmarks of the face followed, or None where there is none.

    Parameters
    ----------
    frames : iterable of np.ndarray [shape=(H, W, 3), dtype=uint8], RGB, in order

    Yields
    ------
    np.ndarray [shape=(478, 3), dtype=float32] or None
        ``(x, y, z)`` in pixels, as :func:`~mouthpiece.face.detect.detect_faces` gives.
    """
    mesh = new_face_mesh(static_image_mode=False, max_num_faces=1, min_tracking_confidence=MIN_TRACKING_CONFIDENCE)
    with mesh, quiet_native_stderr():  # its graph threads print as they start, after process() returns
        for frame in frames:
            height, width = frame.shape[:2]
            result = mesh.process(np.ascontiguousarray(frame))
            faces = result.multi_face_landmarks
            if not faces:
                yield None
                continue
            yield np.array([(p.x * width, p.y * height, p.z * width) for p in faces[0].landmark], np.float32)
