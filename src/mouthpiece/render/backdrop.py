"""What lies behind a portrait's head: its silhouette, and the background a turning head uncovers.

The face's mesh turns the head by warping everything inside its anchor ring, which lies
outside the head: the background between the head's outline and that ring is stretched
along with the head. On a plain wall that passes unseen; on a textured one it smears.
Instead, after the warp:

1. the person's silhouette (MediaPipe's person segmentation) is warped with the same map
   as the photo; the rig's head ring is pushed out to the silhouette's edge
   (:func:`head_reach`), so hair and outline turn with the face instead of stretching;
2. each pixel above the mouth is the warped frame where the warped silhouette covers it,
   else the backdrop: the photo itself, with the background continued over where the
   head was (OpenCV's inpainting) for what a turned head uncovers.

With the head at rest the silhouette and the frame are the photo's, and so is every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face import landmarks as lm

# The segmenter's soft edge is blurred over several pixels: cut hard, and rather outside the
# head than inside, or a turned head leaves a ghost of its edge behind.
PERSON = 0.3  # probability from which a pixel is the person's
# Below the mouth the silhouette is not trusted: a collar as pale as the wall (the
# astronaut's, up to her mouth) is taken for wall, and cutting the warped body along it
# splits the collar in two. From these face heights from the chin (negative: above it,
# fading in) the warped frame is shown as it is.
BODY_FROM = (-0.45, -0.2)
MAX_REACH = 2.2  # outline distances from the face's centre: hair reaching further is not followed
REACH_MARGIN = 0.04  # outline distances the head ring lies beyond the silhouette's edge
SEGMENTATION_INPUT = 256  # px, the segmenter's input side: a larger photo is scaled down for it
INPAINT_RADIUS = 3  # px of the quarter-size picture the background is continued at
FILL_SCALE = 4


@dataclass(frozen=True)
class Backdrop:
    silhouette: np.ndarray  # [H, W] float32 in [0, 1]: how much each pixel is the person's
    plate: np.ndarray  # [H, W, 3] uint8: the photo, with the background continued where the head hides it
    body: np.ndarray  # [H] float32 in [0, 1]: per row, how much the warped frame shows whatever the silhouette

    @classmethod
    def of(cls, image: np.ndarray, landmarks: np.ndarray) -> Backdrop:
        """The backdrop of a framed photo [H, W, 3] uint8 RGB with a face at ``landmarks`` (pixels)."""
        head = (person(image) >= PERSON).astype(np.uint8)
        silhouette = cv2.GaussianBlur(head.astype(np.float32), (3, 3), 0)  # a pixel's feather
        plate = np.where(silhouette[..., None] > 0, behind(image, head), image)  # the photo wherever it shows
        face_height = float(np.ptp(landmarks[list(lm.FACE_OVAL), 1]))
        rows = (np.arange(image.shape[0], dtype=np.float32) - float(landmarks[lm.CHIN, 1])) / face_height
        warped = np.clip((rows - BODY_FROM[0]) / (BODY_FROM[1] - BODY_FROM[0]), 0.0, 1.0)
        return cls(silhouette.astype(np.float32), plate, warped.astype(np.float32))

    def composite(self, frame: np.ndarray, box: tuple[int, int, int, int], map_x: np.ndarray, map_y: np.ndarray):
        """Lay the backdrop under the pixels of ``frame`` in ``box`` that the silhouette,
        warped by the map that made them, no longer covers (in place)."""
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0:
            return
        alpha = cv2.remap(self.silhouette, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        alpha = np.maximum(alpha, self.body[y0:y1, None])
        region = frame[y0:y1, x0:x1]
        region[:] = cv2.blendLinear(region, self.plate[y0:y1, x0:x1], alpha, 1.0 - alpha)


def behind(image: np.ndarray, head: np.ndarray) -> np.ndarray:
    """The background continued over the ``head`` mask [H, W] uint8 of the photo (filled
    from outside it only, or a turned head would leave skin-coloured smears; at a quarter
    of the size, as a background seen through a gap is soft anyway), the whole picture."""
    if not head.any():
        return image
    hidden = cv2.dilate(head, np.ones((5, 5), np.uint8))
    height, width = head.shape
    small = (max(1, width // FILL_SCALE), max(1, height // FILL_SCALE))
    shrunk = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
    holes = (cv2.resize(hidden.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
    return cv2.resize(cv2.inpaint(shrunk, holes, INPAINT_RADIUS, cv2.INPAINT_TELEA), (width, height),
                      interpolation=cv2.INTER_LINEAR)  # fmt: skip


def head_reach(silhouette: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """[36] per point of the face outline, how far the silhouette reaches from the face's
    centre through that point, in multiples of the point's own distance (1 where it ends
    at the outline, or runs out of the picture, or past ``MAX_REACH``): the rig's
    ``head_reach``."""
    oval = np.asarray(landmarks, np.float64)[list(lm.FACE_OVAL), :2]
    centre = oval.mean(axis=0)
    height, width = silhouette.shape
    reach = np.ones(len(oval))
    for i, point in enumerate(oval):
        step = 1.0 / max(float(np.hypot(*(point - centre))), 1.0)  # a pixel along the ray
        t = np.arange(1.0, MAX_REACH, step)
        xs, ys = np.round(centre[0] + t * (point[0] - centre[0])), np.round(centre[1] + t * (point[1] - centre[1]))
        inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        out = np.flatnonzero(~inside)
        last = out[0] if len(out) else len(t)
        head = silhouette[ys[:last].astype(int), xs[:last].astype(int)] >= 0.5
        ends = np.flatnonzero(~head)
        if len(ends):  # (the silhouette cut by the picture's edge, or too far, is not followed)
            reach[i] = t[ends[0]] + REACH_MARGIN
    return reach


def person(image: np.ndarray) -> np.ndarray:
    """[H, W] float32 in [0, 1]: how likely each pixel of an RGB photo shows the person."""
    import mediapipe as mp

    height, width = image.shape[:2]
    scale = min(1.0, SEGMENTATION_INPUT / max(height, width))
    small = image if scale == 1.0 else cv2.resize(image, (round(width * scale), round(height * scale)),
                                                   interpolation=cv2.INTER_AREA)  # fmt: skip
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        mask = segmenter.process(np.ascontiguousarray(small)).segmentation_mask
    mask = np.clip(np.asarray(mask, np.float32), 0.0, 1.0)
    return mask if scale == 1.0 else cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
