"""Build docs/gallery.png: a contact sheet of what `mouthpiece render` and `dub` draw.

    python tools/gallery.py docs/gallery.png      # or: make gallery

Every picture comes from the bundled public-domain astronaut (src/mouthpiece/data): posed
frames of a talking portrait (a wide vowel, a closure, a blink, a head turn, a close-up of
the inside of the mouth) and a frame of a dub of a video the script renders first. The
same code and speech give the same sheet.
"""

from __future__ import annotations

import sys
import tempfile
from importlib import resources
from pathlib import Path

import av
import cv2
import numpy as np

from mouthpiece import api
from mouthpiece.render.portrait import PortraitRenderer
from mouthpiece.vocabulary import CHANNELS

ASTRONAUT = resources.files("mouthpiece") / "data" / "astronaut.png"
TILE = 256  # px, each picture's side on the sheet
LABEL = 28  # px of caption under each picture
SOURCE_TEXT = "Maybe we should bump the map by a pebble, Bob."
DUB_TEXT = "Wow, that is a really wide open yawn."


def values(**weights: float) -> np.ndarray:
    row = np.zeros(len(CHANNELS), np.float32)
    for name, weight in weights.items():
        row[CHANNELS.index(name)] = weight
    return row


POSES = (
    ("wide vowel (aa)", values(JawOpen=0.62, MouthLowerDownLeft=0.3, MouthLowerDownRight=0.3,
                               MouthUpperUpLeft=0.1, MouthUpperUpRight=0.1)),
    ("closure (P, B, M)", values(MouthClose=0.1, MouthPressLeft=0.45, MouthPressRight=0.45, MouthRollLower=0.2,
                                 MouthRollUpper=0.15)),
    ("blink", values(EyeBlinkLeft=1.0, EyeBlinkRight=1.0)),
    ("head turn", values(HeadYaw=0.2, HeadPitch=0.05, JawOpen=0.36, MouthStretchLeft=0.3, MouthStretchRight=0.3,
                         MouthSmileLeft=0.2, MouthSmileRight=0.2)),
)  # fmt: skip
MOUTH_CLOSE_UP = ("mouth close-up (E)", values(
    JawOpen=0.4, MouthStretchLeft=0.3, MouthStretchRight=0.3, MouthSmileLeft=0.2, MouthSmileRight=0.2,
    MouthLowerDownLeft=0.25, MouthLowerDownRight=0.25))  # fmt: skip


def face_crop(frame: np.ndarray, centre: np.ndarray, half: float) -> np.ndarray:
    """A square of side ``2 * half`` around ``centre``, scaled to a tile."""
    x0, y0 = (np.round(centre - half)).astype(int)
    side = int(round(2 * half))
    padded = cv2.copyMakeBorder(frame, side, side, side, side, cv2.BORDER_REPLICATE)
    crop = padded[y0 + side : y0 + 2 * side, x0 + side : x0 + 2 * side]
    interpolation = cv2.INTER_AREA if side > TILE else cv2.INTER_CUBIC
    return cv2.resize(crop, (TILE, TILE), interpolation=interpolation)


def portrait_tiles() -> list[tuple[str, np.ndarray]]:
    portrait = api.load_portrait(ASTRONAUT, size=(512, 512))
    renderer = PortraitRenderer(portrait.image, portrait.landmarks, channels=CHANNELS)
    oval = renderer.rig.source[:468, :2]
    centre, half = (oval.min(axis=0) + oval.max(axis=0)) / 2, 0.75 * float(np.ptp(oval[:, 1]))
    tiles = [(label, face_crop(renderer.render(row), centre, half)) for label, row in POSES]
    # The mouth at a close-up's resolution: the photo's face cropped and enlarged 3 times first.
    image = api.load_portrait(ASTRONAUT, size=(512, 512)).image
    box = np.round(np.r_[centre - half * 0.75, centre + half * 0.75]).astype(int)
    close = np.ascontiguousarray(cv2.resize(image[box[1] : box[3], box[0] : box[2]], None, fx=3, fy=3,
                                            interpolation=cv2.INTER_CUBIC))  # fmt: skip
    from mouthpiece.face.detect import find_face

    near = PortraitRenderer(close, find_face(close, source="close-up"), channels=CHANNELS)
    mouth = near.rig.source[[61, 291, 13, 14], :2]
    label, row = MOUTH_CLOSE_UP
    tiles.append((label, face_crop(near.render(row), mouth.mean(axis=0), 0.75 * float(np.ptp(mouth[:, 0])))))
    return tiles


def dub_tile(folder: Path) -> tuple[str, np.ndarray]:
    """A frame, mouth wide open, of a dub of a video the astronaut speaks in."""
    source_speech, source_animation = api.say(SOURCE_TEXT, fps=25)
    source = folder / "source.mp4"
    portrait = api.load_portrait(ASTRONAUT, size=(512, 512))
    api.render_video(portrait, source_animation, source, audio=source_speech)
    speech, _ = api.say(DUB_TEXT, fps=25)
    dubbed = folder / "dubbed.mp4"
    animation, _ = api.dub_video(source, speech, dubbed, text=DUB_TEXT, fit="cut")
    widest = int(np.argmax(animation.channel("JawOpen")))
    with av.open(str(dubbed)) as container:
        frame = next(f for k, f in enumerate(container.decode(video=0)) if k == widest).to_ndarray(format="rgb24")
    oval = portrait.landmarks[:468, :2]
    centre, half = (oval.min(axis=0) + oval.max(axis=0)) / 2, 0.75 * float(np.ptp(oval[:, 1]))
    return "dub (a video re-voiced)", face_crop(frame, centre, half)


def contact_sheet(tiles: list[tuple[str, np.ndarray]], columns: int = 3) -> np.ndarray:
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * (TILE + LABEL), columns * TILE, 3), 255, np.uint8)
    for k, (label, tile) in enumerate(tiles):
        y, x = (k // columns) * (TILE + LABEL), (k % columns) * TILE
        sheet[y : y + TILE, x : x + TILE] = tile
        cv2.putText(sheet, label, (x + 8, y + TILE + 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (40, 40, 40), 1, cv2.LINE_AA)
    return sheet


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/gallery.png")
    with tempfile.TemporaryDirectory() as folder:
        tiles = portrait_tiles() + [dub_tile(Path(folder))]
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(contact_sheet(tiles), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
