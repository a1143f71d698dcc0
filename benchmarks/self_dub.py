"""Dub realism against the truth: each real clip dubbed with its own audio, its mouth compared
frame by frame with the original footage's.

    python benchmarks/self_dub.py                               # all 22 clips (~10 min on two loaded cores)
    python benchmarks/self_dub.py --clips vid01,rd12 --json self_dub.json
    python benchmarks/self_dub.py --unrestricted                # also score a dub whose bank may use every frame

Every clip of ../shared/fixtures/video and ../shared/fixtures/realdev (``real_footage.list_clips``)
is dubbed with its own soundtrack in its own language (``api.dub_video(clip, its audio, out,
fit="cut", language=...)``, as ``benchmarks/real_mouths.py`` does), so the original footage
is the truth for the output. The dub's mouth bank (``render.mouth_bank``) may not take a
mouth from within ``--exclusion`` seconds (1 s) of the frame it dubs: a dub of new speech
never has the very frame whose mouth shape it needs, and self-dub would otherwise copy the
truth (``--unrestricted`` also scores a dub without that rule, as **ours, unrestricted**).
Frames are paired by index (``fit="cut"`` keeps the frame count; a mismatch is flagged ``*``)
and each video's face is tracked unsmoothed (``FaceTracker``); a frame without a face in
either video is left out. Per clip, against the original:

- **r**: Pearson r at lag 0 of the mouth opening (``face.landmarks.mouth_opening``, the
  measure of ``benchmarks/dub.py``'s realism figure). Target >= 0.5.
- **SSIM** of the mouth box, mean over frames: the lips' bounding box
  (``evaluate.motion.LIPS``) in the original frame grown by 25 % each side, the same box
  in both frames, scored by ``evaluate.preserve.ssim`` (luma, Gaussian window 11, sigma
  1.5, the standard constants; ``mouthpiece eval preserve``'s). Target >= 0.80.
- **LMD**: mean pixel distance between the two frames' lip landmarks (``LIPS``) over the
  original's outer-eye-corner distance (33-263). Target <= 0.05.
- **flicker**: mean absolute difference of consecutive frames (grey levels) in the box,
  the video's minus the original's. Target <= 2.
- (**amplitude**, no target: the spread of the video's mouth opening over the original's. A
  dub that opens wider than the person does scores a lower SSIM and LMD for the same r.)

Beside ours, two baselines scored the same way: **source**, the original frames themselves
(the ceiling: the same code run on the original's own measurements), and **frozen**, the
original with the first face frame's mouth box (feathered) pasted into every frame where the
face is, moved by a similarity fitted on eye, nose and mouth-corner landmarks.

Reads ../shared (third-party footage); the dubs go to a temporary folder; nothing here ships.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from real_footage import Clip, list_clips, pearson_at_lag, spoken_in

from mouthpiece import api
from mouthpiece.evaluate.motion import LIPS
from mouthpiece.evaluate.preserve import ssim
from mouthpiece.face.landmarks import mouth_opening
from mouthpiece.face.seen import inner_lip_opening
from mouthpiece.face.track import FaceTracker
from mouthpiece.render.dub_video import dub_video
from mouthpiece.render.reader import read_frames
from mouthpiece.types import Audio

VARIANTS = ("ours", "frozen", "source")
UNRESTRICTED = "ours, unrestricted"  # the variant scored with --unrestricted
EXCLUSION = 1.0  # seconds either side of a frame whose mouths its dub may not use
FIGURES = ("r", "ssim", "lmd", "flicker")
TARGETS = {"r": (">=", 0.5), "ssim": (">=", 0.80), "lmd": ("<=", 0.05), "flicker": ("<=", 2.0)}
GROW = 0.25  # of the lips' box, added on each side
MIN_BOX = 16  # pixels, the smallest box side (SSIM's window is 11)
EYE_CORNERS = (33, 263)
ANCHORS = (33, 133, 263, 362, 168, 6, 1, 61, 291)  # eye corners, nose, mouth corners: where the frozen mouth goes


def mouth_box(face: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the lips' bounding box grown by ``GROW`` each side, at least ``MIN_BOX``, in the frame."""
    low, high = face[list(LIPS), :2].min(axis=0), face[list(LIPS), :2].max(axis=0)
    centre, half = (low + high) / 2, np.maximum((high - low) * (0.5 + GROW), MIN_BOX / 2)
    x0, y0 = np.floor(centre - half).astype(int)
    x1, y1 = np.ceil(centre + half).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])


def grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64)


def lip_distance(face: np.ndarray, truth: np.ndarray) -> float:
    """Mean pixel distance of the lip landmarks over the truth's outer-eye-corner distance."""
    eyes = float(np.linalg.norm(truth[EYE_CORNERS[0], :2] - truth[EYE_CORNERS[1], :2]))
    return float(np.linalg.norm(face[list(LIPS), :2] - truth[list(LIPS), :2], axis=1).mean() / max(eyes, 1e-6))


class FrozenMouth:
    """The mouth of one frame pasted, feathered, into later frames where the face has moved."""

    def __init__(self, frame: np.ndarray, face: np.ndarray):
        self.frame = frame.astype(np.float32)
        x0, y0, x1, y1 = mouth_box(face, frame.shape)
        pad = max(2, round(0.15 * max(x1 - x0, y1 - y0)))  # the box is pasted whole; the feather lies outside it
        mask = np.zeros(frame.shape[:2], np.float32)
        mask[max(y0 - pad, 0) : y1 + pad, max(x0 - pad, 0) : x1 + pad] = 1.0
        self.mask = cv2.GaussianBlur(mask, (0, 0), pad / 2)
        self.points = face[list(ANCHORS), :2].astype(np.float32)

    def __call__(self, frame: np.ndarray, face: np.ndarray) -> np.ndarray:
        """``frame`` with the frozen mouth where ``face`` (its landmarks) has its mouth."""
        target = face[list(ANCHORS), :2].astype(np.float32)
        move, _ = cv2.estimateAffinePartial2D(self.points, target, method=cv2.LMEDS)
        if move is None:  # degenerate: follow by translation alone
            move = np.hstack([np.eye(2), (target - self.points).mean(axis=0)[:, None]]).astype(np.float64)
        size = (frame.shape[1], frame.shape[0])
        patch = cv2.warpAffine(self.frame, move, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpAffine(self.mask, move, size, flags=cv2.INTER_LINEAR)[..., None]
        return np.clip(frame * (1 - mask) + patch * mask + 0.5, 0, 255).astype(np.uint8)


class Tally:
    """One video's per-frame figures against the original, frame after frame."""

    def __init__(self) -> None:
        self.opening: list[tuple[float, float, float, float]] = []  # (video, truth) x (dub.py's, 3 pairs)
        self.ssim: list[float] = []
        self.lmd: list[float] = []
        self.flicker: list[tuple[float, float]] = []  # (video, truth) mean |frame - previous| in the box
        self._previous: tuple[int, np.ndarray, np.ndarray] | None = None

    def add(self, k: int, truth: np.ndarray, truth_face: Any, video: np.ndarray, face: Any) -> None:
        """Frame ``k``: the original's RGB frame and landmarks, the video's RGB frame and landmarks."""
        if truth_face is None or face is None:
            self.opening.append((math.nan,) * 4)
            return
        self.opening.append((mouth_opening(face), mouth_opening(truth_face),
                             inner_lip_opening(face), inner_lip_opening(truth_face)))  # fmt: skip
        x0, y0, x1, y1 = mouth_box(truth_face, truth.shape)
        box = (slice(y0, y1), slice(x0, x1))
        self.ssim.append(ssim(truth[box], video[box]))  # of the luma, as `mouthpiece eval preserve` measures it
        truth, video = grey(truth), grey(video)
        self.lmd.append(lip_distance(face, truth_face))
        if self._previous is not None and self._previous[0] == k - 1:
            _, last_truth, last_video = self._previous
            self.flicker.append((float(np.abs(video[box] - last_video[box]).mean()),
                                 float(np.abs(truth[box] - last_truth[box]).mean())))  # fmt: skip
        self._previous = (k, truth, video)

    def figures(self) -> dict[str, float]:
        o = np.array(self.opening, np.float64).reshape(-1, 4)
        flicker = np.array(self.flicker).reshape(-1, 2)
        return {
            "r": pearson_at_lag(o[:, 0], o[:, 1], 0),
            "r_3pairs": pearson_at_lag(o[:, 2], o[:, 3], 0),
            "amplitude": float(np.nanstd(o[:, 0]) / max(np.nanstd(o[:, 1]), 1e-9)),
            "ssim": float(np.mean(self.ssim)) if self.ssim else math.nan,
            "lmd": float(np.mean(self.lmd)) if self.lmd else math.nan,
            "flicker": float(np.mean(flicker[:, 0] - flicker[:, 1])) if len(flicker) else math.nan,
            "flicker_video": float(np.mean(flicker[:, 0])) if len(flicker) else math.nan,
            "flicker_truth": float(np.mean(flicker[:, 1])) if len(flicker) else math.nan,
            "scored": len(self.ssim),
        }


def score_clip(original: Path, dubbed: Path, unrestricted: Path | None = None) -> dict[str, Any]:
    """Frame counts of both videos and each variant's figures (see the module's docstring);
    with ``unrestricted`` (a dub whose bank could use every frame) that one's figures too."""
    tallies = {name: Tally() for name in VARIANTS}
    if unrestricted is not None:
        tallies[UNRESTRICTED] = Tally()
    frozen: FrozenMouth | None = None
    counts = [0, 0]
    other = read_frames(unrestricted) if unrestricted is not None else itertools.repeat(None)
    with FaceTracker() as track_truth, FaceTracker() as track_ours, FaceTracker() as track_frozen, \
            FaceTracker() as track_all:  # fmt: skip
        frames = zip(itertools.zip_longest(read_frames(original), read_frames(dubbed)), other)
        for k, ((source, ours), all_frames) in enumerate(frames):
            counts[0] += source is not None
            counts[1] += ours is not None
            if source is None or ours is None:
                continue
            if all_frames is not None:
                face_all = track_all(all_frames)
            face = track_truth(source)
            if face is not None and frozen is None:
                frozen = FrozenMouth(source, face)
            still = frozen(source, face) if frozen is not None and face is not None else source
            tallies["source"].add(k, source, face, source, face)
            tallies["ours"].add(k, source, face, ours, track_ours(ours))
            tallies["frozen"].add(k, source, face, still, track_frozen(still))
            if all_frames is not None:
                tallies[UNRESTRICTED].add(k, source, face, all_frames, face_all)
    return {"frames_source": counts[0], "frames_dub": counts[1], **{n: t.figures() for n, t in tallies.items()}}


def met(figure: str, value: float) -> str:
    op, target = TARGETS[figure]
    ok = value >= target if op == ">=" else value <= target
    return "met" if ok and not math.isnan(value) else "NOT met"


def row_text(name: str, row: dict[str, Any]) -> str:
    mark = " " if row["frames_source"] == row["frames_dub"] else "*"
    cells = " |".join(" ".join(f"{row[v][f]:{w}}" for f, w in zip(FIGURES, ("6.3f", "6.3f", "6.4f", "6.2f")))
                      for v in variants(row))  # fmt: skip
    return (f"  {name[:30]:30} {row['frames_source']:4d}/{row['frames_dub']:<4d}{mark} {row['ours']['scored']:5d} |"
            f"{cells} | {row['seconds']:5.0f}")  # fmt: skip


def variants(row: dict[str, Any]) -> tuple[str, ...]:
    return (*VARIANTS, UNRESTRICTED) if UNRESTRICTED in row else VARIANTS


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over the clips scored (NaN left out), per variant and figure, and the frames scored."""
    named = (*FIGURES, "r_3pairs", "amplitude")
    means = {v: {f: float(np.nanmean([r[v][f] for r in rows])) if rows else math.nan for f in named}
             for v in (variants(rows[0]) if rows else VARIANTS)}  # fmt: skip
    return {"clips_scored": len(rows), "frames_scored": sum(r["ours"]["scored"] for r in rows), "means": means}


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def self_dub(video: Path, speech: Audio, out: Path, *, language: str, exclusion: float) -> None:
    """``api.dub_video(video, speech, out, fit="cut", language=language)`` with its mouth bank kept
    ``exclusion`` seconds from each frame dubbed (an option of the renderer the API does not offer)."""
    dub_video(video, speech, out, text=None, face=None, fit="cut", original_audio=0.0, recognizer=None,
              language=language, progress=None, bank_exclusion=exclusion)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", help="comma list of substrings: only clips whose name holds one")
    parser.add_argument("--json", type=Path, help="write the per-clip figures and the means here")
    parser.add_argument(
        "--exclusion",
        type=float,
        default=EXCLUSION,
        help=f"seconds either side of a frame whose mouths its dub may not use (default {EXCLUSION})",
    )
    parser.add_argument("--unrestricted", action="store_true", help="also score a dub whose bank may use every frame")
    args = parser.parse_args()
    wanted = [s for s in (args.clips or "").split(",") if s]
    clips: list[Clip] = [c for c in list_clips() if not wanted or any(s in c.name for s in wanted)]
    if not clips:
        sys.exit(f"no clip's name holds any of {wanted}")
    started = time.perf_counter()
    head = " |".join(f"{v:>6} {'SSIM':>6} {'LMD':>6} {'flick':>6}" for v in ("r", "r", "r"))
    print("self-dub: each clip dubbed with its own audio (fit=cut), scored against the original footage")
    print(
        f"self-dub: the mouth bank kept {args.exclusion:g} s from the frame dubbed"
        + (f"; {UNRESTRICTED}: no such rule" if args.unrestricted else "")
    )
    extra = f"{UNRESTRICTED:^27} |" if args.unrestricted else ""
    print(f"  {'':30} {'':10} {'':5} |{'ours':^27} |{'frozen mouth':^27} |{'source (ceiling)':^27} |{extra}")
    head += f" |{head.split(' |')[0]}" if args.unrestricted else ""
    print(f"  {'clip':30} {'src/dub':>10} {'scored':>5} |{head} | {'s':>5}", flush=True)
    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="self-dub-") as folder:
        for clip in clips:
            tic = time.perf_counter()
            out = Path(folder) / f"{clip.name}.mp4"
            out_all = Path(folder) / f"{clip.name}-unrestricted.mp4"
            try:
                speech = api.load_audio(clip.path)
                self_dub(clip.path, speech, out, language=spoken_in(clip), exclusion=args.exclusion)
                if args.unrestricted:
                    self_dub(clip.path, speech, out_all, language=spoken_in(clip), exclusion=0.0)
                row = {"clip": clip.name, **score_clip(clip.path, out, out_all if args.unrestricted else None)}
            except Exception as e:  # a benchmark reports a failed clip and goes on to the next
                print(f"  {clip.name:30} FAILED: {type(e).__name__}: {e}", flush=True)
                failed.append({"clip": clip.name, "error": f"{type(e).__name__}: {e}"})
                continue
            finally:
                out.unlink(missing_ok=True)
                out_all.unlink(missing_ok=True)
            row["seconds"] = time.perf_counter() - tic
            rows.append(row)
            print(row_text(clip.name, row), flush=True)
    summary = summarise(rows)
    print(f"\nmeans over {summary['clips_scored']} clips ({summary['frames_scored']} frames scored"
          f"{f', {len(failed)} clips failed' if failed else ''}; * frame counts differ):")  # fmt: skip
    print(f"  {'':18}" + "".join(f"{f:>18}" for f in FIGURES))
    print(f"  {'target':18}" + "".join(f"{op + ' ' + str(t):>18}" for op, t in TARGETS.values()))
    for v in summary["means"]:
        m = summary["means"][v]
        print(f"  {v:18}" + "".join(f"{m[f]:9.4f} {met(f, m[f]):>8}" for f in FIGURES))
    print(f"  (r with real_mouths' 3-pair inner-lip measure: ours {summary['means']['ours']['r_3pairs']:.3f},"
          f" frozen {summary['means']['frozen']['r_3pairs']:.3f})")  # fmt: skip
    spread = {v: summary["means"][v]["amplitude"] for v in ("ours", "frozen")}
    print(f"  (the opening's spread over the original's, mean of clips: ours {spread['ours']:.2f},"
          f" frozen {spread['frozen']:.2f})")  # fmt: skip
    mismatched = [r["clip"] for r in rows if r["frames_source"] != r["frames_dub"]]
    print(f"  frame counts: {'all equal' if not mismatched else 'differ in ' + ', '.join(mismatched)};"
          f" {time.perf_counter() - started:.0f} s in all")  # fmt: skip
    if args.json:
        report = {"clips": rows, "failed": failed, "targets": TARGETS, **summary}
        args.json.write_text(json.dumps(_finite(report), indent=1) + "\n")


if __name__ == "__main__":
    main()
