"""Mouths that move like real mouths on real speech: each clip's audio through our paths,
against the mouth seen in the clip (issue 13).

    python benchmarks/real_mouths.py                                  # the fast paths, all 22 clips
    python benchmarks/real_mouths.py --paths all                      # and live, render, dub (slow)
    python benchmarks/real_mouths.py --paths live,render,dub --clips vid0 --json out.json

Every clip of ../shared/fixtures/video and ../shared/fixtures/realdev (real footage, one
speaker each) is scored: the opening seen per video frame (inner-lip gap over the outer
eye corners' distance, frames without a face left out; see ``real_footage``) against a
prediction from the clip's own audio, by each path:

- **default**: ``mouthpiece animate CLIP --language L`` (``api.animate_file``; L the clip's
  language, English where none is stated: the ``words`` recognizer for English, ``neural``
  for German and French), JawOpen; style, render and dub name the language too
- **words-small**, **phones**, **neural**: the same with ``--recognizer words-small`` / ``phones`` / ``neural``
- **text**: with the clip's transcript (``--text``), where it has one
- **cues**: the default Animation exported as Rhubarb TSV, its cues read back through the
  openness table of ../shared/eval/score.py; **cues-heard** the same with ``--cue-shapes heard``
- **live**: the clip's audio streamed to a real ``mouthpiece serve`` at real-time rate in
  20 ms chunks (lookahead 60-140 ms; ``benchmarks/stream.py``'s client), JawOpen
- **streamed-phones**, **streamed-neural**: the live stream's animator in this process
  (``mouthpiece.live.LiveAnimator``, the same 20 ms chunks and lookahead, as fast as it
  runs) with either live recognizer: what the live path computes, without a server
- **style**: for each clip of a speaker with several clips (``anchor_cnn``, ``speaker_fr``),
  the default path with the speaker's own style (``mouthpiece style``, ``api.fit_style``)
  fitted on their *other* clips from the held-out generic filter; printed beside the
  default path's r0 on the same clips (the issue's figure: +0.05)
- **render**: a talking portrait (the bundled astronaut) rendered at the clip's frame rate,
  its mouth found again in every frame of the MP4
- **dub**: the clip dubbed with its own audio (``--fit cut``), its mouth found again

A JawOpen curve at 60 fps is averaged over each video frame's interval; see
``real_footage.curve_on_frames``. Per path the table gives per clip the scored frames,
r0 (Pearson r at lag 0) and the best lag in +-10 frames with its r (a positive lag: the
prediction runs late); the summary gives their means, the median best lag, the mean r
at a lag fitted leave-one-speaker-out (the median best lag of the other speakers' clips),
and the control: each clip's prediction against the next clip's mouth (chance, ~0). Every
path run beside ``default`` is then compared with it clip by clip: the mean difference of
r0 and its 95 % interval, resampling speakers (``real_footage.paired_difference``).

The jaw's opening filter (``mouthpiece.motion.opening``) was fitted on these very clips,
so every in-process path scores each clip with the filter fitted on the *other* speakers
(``held_out_opening``, leave-one-speaker-out); ``--shipped`` uses the shipped
filter instead (a figure of memory, not skill). The live path's server is started with
the held-out filter of each speaker in turn (``MOUTHPIECE_OPENING_MODEL``).

Runs one process at a time (the live path starts one server). Reads ../shared (third-party
footage); nothing here ships.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import held_out_opening
import numpy as np
from held_out_opening import held_out, held_out_file
from real_footage import (
    MAX_LAG,
    Clip,
    ObservedMouth,
    best_lag,
    control_pairs,
    cues_on_frames,
    curve_on_frames,
    leave_one_speaker_out,
    list_clips,
    load_clip_audio,
    measure_mouth,
    observe_mouth,
    paired_difference,
    pearson_at_lag,
    read_tsv_cues,
    spoken_in,
)

from mouthpiece import api
from mouthpiece.live import LiveAnimator
from mouthpiece.motion import opening
from mouthpiece.types import SAMPLE_RATE, Animation, Audio
from mouthpiece.vocabulary import CHANNELS

LIVE_FPS = 60.0  # frames/s the server streams at unless told otherwise
LIVE_OPTIONS = {"chunk_ms": 20.0, "lookahead_ms": 60.0, "max_lookahead_ms": 140.0}  # stream.py's defaults
FAST_PATHS = ("default", "words-small", "phones", "neural", "text", "cues", "cues-heard", "streamed-phones",
              "streamed-neural", "style")  # fmt: skip
SLOW_PATHS = ("live", "render", "dub")


@dataclass
class Session:
    """What the paths of one run share: a scratch folder, the live server, the default Animations."""

    folder: Path
    _server: Any = None
    _server_model: Path | None = None
    _portrait: Any = None
    _default: dict[str, Animation] = field(default_factory=dict)
    _audio: dict[str, Audio] = field(default_factory=dict)

    def audio(self, clip: Clip) -> Audio:
        if clip.name not in self._audio:
            self._audio = {clip.name: load_clip_audio(clip)}  # one clip's audio held at a time
        return self._audio[clip.name]

    def default_animation(self, clip: Clip) -> Animation:
        """The default path's Animation (the cues path exports it)."""
        if clip.name not in self._default:
            self._default[clip.name] = api.animate_file(clip.path, language=spoken_in(clip))
        return self._default[clip.name]

    def server(self, clip: Clip) -> Any:
        """The live server, with the opening filter held out from ``clip``'s speaker."""
        model = held_out_file(clip, self.folder)
        if self._server is not None and self._server_model != model:
            self.close()
        if self._server is None:
            from stream import Server

            if model is not None:
                os.environ[opening.MODEL_VARIABLE] = str(model)
            self._server, self._server_model = Server(), model
            os.environ.pop(opening.MODEL_VARIABLE, None)
        return self._server

    def portrait(self) -> Any:
        if self._portrait is None:
            self._portrait = api.load_portrait(api.SAMPLE_PORTRAIT)
        return self._portrait

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def jaw_on_frames(animation: Animation, mouth: ObservedMouth) -> np.ndarray:
    return curve_on_frames(animation.channel("JawOpen"), fps=animation.fps, frames=mouth)


def by_index(opening: np.ndarray, mouth: ObservedMouth) -> np.ndarray:
    """A video's per-frame opening made at the clip's frame rate, frame for frame (NaN past its end)."""
    out = np.full(mouth.frame_count, np.nan)
    n = min(len(opening), mouth.frame_count)
    out[:n] = opening[:n]
    return out


def predict_default(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray:
    return jaw_on_frames(session.default_animation(clip), mouth)


def predict_recognizer(recognizer: str) -> Callable[[Clip, ObservedMouth, Session], np.ndarray]:
    def predict(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray:
        return jaw_on_frames(api.animate_file(clip.path, recognizer=recognizer), mouth)

    return predict


def predict_text(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray | None:
    if not clip.transcript:
        return None
    return jaw_on_frames(api.animate_file(clip.path, text=clip.transcript), mouth)


def predict_cues(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray:
    tsv = io.StringIO()
    api.export_stream(session.default_animation(clip), tsv, format="tsv")
    return cues_on_frames(read_tsv_cues(tsv.getvalue()), frames=mouth)


def predict_heard_cues(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray:
    tsv = io.StringIO()
    api.export_stream(api.heard_cues(session.default_animation(clip)), tsv, format="tsv")
    return cues_on_frames(read_tsv_cues(tsv.getvalue()), frames=mouth)


def predict_live(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray:
    from stream import stream

    result = asyncio.run(stream(session.server(clip).url, session.audio(clip), realtime=True, **LIVE_OPTIONS))
    if not result["in_order"]:
        raise RuntimeError("the stream's frames did not arrive once each and in order")
    return curve_on_frames(result["jaw"], fps=LIVE_FPS, frames=mouth)


def predict_streamed(recognizer: str) -> Callable[[Clip, ObservedMouth, Session], np.ndarray]:
    def predict(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray:
        samples = session.audio(clip).samples
        chunk = int(LIVE_OPTIONS["chunk_ms"] * SAMPLE_RATE / 1000)
        parts = []
        shortest, longest = LIVE_OPTIONS["lookahead_ms"] / 1000, LIVE_OPTIONS["max_lookahead_ms"] / 1000
        with LiveAnimator(fps=LIVE_FPS, lookahead=shortest, max_lookahead=longest, recognizer=recognizer) as live:
            for start in range(0, len(samples), chunk):
                parts.append(live.hear(samples[start : start + chunk]))
            parts.append(live.finish())
        jaw = np.concatenate([p.values[:, CHANNELS.index("JawOpen")] for p in parts])
        return curve_on_frames(jaw, fps=LIVE_FPS, frames=mouth)

    return predict


def predict_style(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray | None:
    others = [c for c in list_clips() if c.speaker == clip.speaker and c.name != clip.name]
    if not others:
        return None
    language = spoken_in(clip)
    style = api.fit_style([c.path for c in others], language=language)  # from the filter in use: held out
    with opening.using(style):
        return jaw_on_frames(api.animate_file(clip.path, language=language), mouth)


def predict_render(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray:
    out = session.folder / f"render-{clip.name}.mp4"
    api.render_speech(session.portrait(), session.audio(clip), out, fps=mouth.fps, language=spoken_in(clip))
    rendered = measure_mouth(out)
    out.unlink()
    return by_index(rendered.opening, mouth)


def predict_dub(clip: Clip, mouth: ObservedMouth, session: Session) -> np.ndarray:
    out = session.folder / f"dub-{clip.name}.mp4"
    api.dub_video(clip.path, session.audio(clip), out, fit="cut", language=spoken_in(clip))
    dubbed = measure_mouth(out)
    out.unlink()
    return by_index(dubbed.opening, mouth)


PATHS: dict[str, Callable[[Clip, ObservedMouth, Session], np.ndarray | None]] = {
    "default": predict_default,
    "words-small": predict_recognizer("words-small"),
    "phones": predict_recognizer("phones"),
    "neural": predict_recognizer("neural"),
    "text": predict_text,
    "cues": predict_cues,
    "cues-heard": predict_heard_cues,
    "streamed-phones": predict_streamed("phones"),
    "streamed-neural": predict_streamed("neural"),
    "style": predict_style,
    "live": predict_live,
    "render": predict_render,
    "dub": predict_dub,
}


def score_path(
    name: str, clips: list[Clip], mouths: dict[str, ObservedMouth], session: Session
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run one path over the clips, printing its table as it goes; its rows and summary."""
    print(f"\n{name}")
    print(f"  {'clip':32} {'speaker':20} {'frames':>6} {'r0':>7} {'lag':>4} {'r lag':>7} {'s':>6}")
    rows: list[dict[str, Any]] = []
    predictions: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    for clip in clips:
        mouth = mouths[clip.name]
        tic = time.perf_counter()
        try:
            with held_out(clip):
                predicted = PATHS[name](clip, mouth, session)
        except Exception as e:  # a benchmark reports a failed clip and goes on to the next
            print(f"  {clip.name:32} {clip.speaker:20} FAILED: {type(e).__name__}: {e}", flush=True)
            rows.append({"clip": clip.name, "speaker": clip.speaker, "error": f"{type(e).__name__}: {e}"})
            continue
        if predicted is None:
            continue
        seconds = time.perf_counter() - tic
        predictions[clip.name] = predicted
        frames = int(np.sum(mouth.seen & ~np.isnan(predicted)))
        r0 = pearson_at_lag(predicted, mouth.opening, 0)
        lag, r_lag = best_lag(predicted, mouth.opening, max_lag=MAX_LAG)
        rows.append({"clip": clip.name, "speaker": clip.speaker, "frames": frames, "r0": r0, "best_lag": lag,
                     "r_best_lag": r_lag, "seconds": round(seconds, 2)})  # fmt: skip
        print(f"  {clip.name:32} {clip.speaker:20} {frames:6d} {r0:7.3f} {lag:+4d} {r_lag:7.3f} {seconds:6.1f}",
              flush=True)  # fmt: skip
    scored = [r for r in rows if "error" not in r]
    names = [r["clip"] for r in scored]
    for row, (mine, other) in zip(scored, control_pairs(names)):
        row["control_r0"] = pearson_at_lag(predictions[mine], mouths[other].opening, 0)
    lags = {r["clip"]: r["best_lag"] for r in scored}
    judged = [c for c in clips if c.name in predictions]
    loso = leave_one_speaker_out(
        judged,
        fit=lambda train: int(round(float(np.median([lags[c.name] for c in train])))) if train else 0,
        score=lambda lag, clip: pearson_at_lag(predictions[clip.name], mouths[clip.name].opening, lag),
    )
    summary = {
        "clips": len(scored),
        "failed": len(rows) - len(scored),
        "mean_r0": _mean([r["r0"] for r in scored]),
        "mean_r_best_lag": _mean([r["r_best_lag"] for r in scored]),
        "median_best_lag": float(np.median(list(lags.values()))) if lags else float("nan"),
        "loso_lag_r": loso.mean,
        "control_mean_r0": _mean([r["control_r0"] for r in scored if "control_r0" in r]),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"  {name}: {_summary_line(summary)}", flush=True)
    return rows, summary


def _mean(values: list[float]) -> float:
    values = [v for v in values if not np.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def _summary_line(s: dict[str, Any]) -> str:
    failed = f", {s['failed']} failed" if s["failed"] else ""
    return (f"{s['clips']} clips{failed}: mean r0 {s['mean_r0']:.3f}, best-lag r {s['mean_r_best_lag']:.3f}, "
            f"median lag {s['median_best_lag']:+.1f}, r at LOSO lag {s['loso_lag_r']:.3f}, "
            f"control r0 {s['control_mean_r0']:+.3f} ({s['seconds']:.0f} s)")  # fmt: skip


def r0_by_clip(result: dict[str, Any]) -> dict[str, float]:
    """A scored path's r0 per clip (clips that failed left out)."""
    return {r["clip"]: r["r0"] for r in result["clips"] if "r0" in r}


def print_paired(results: dict[str, Any]) -> None:
    """Each path's r0 minus the default path's on the same clips, with its 95 % interval
    (speakers resampled): whether a difference of means is more than chance."""
    base = r0_by_clip(results["default"])
    speakers = {r["clip"]: r["speaker"] for r in results["default"]["clips"]}
    print("paired against default (r0 minus default's on the same clips; 95 % interval, speakers resampled)")
    for name in results:
        if name != "default":
            d = paired_difference(base, r0_by_clip(results[name]), speakers)
            interval = f"[{d.low:+.3f}, {d.high:+.3f}]"
            print(f"  {name:15} {d.mean:+.3f} {interval} over {d.clips} clips, {d.speakers} speakers")


def observe_all(clips: list[Clip]) -> dict[str, ObservedMouth]:
    """Every clip's mouth (cached), printing what was seen."""
    print(f"{'clip':32} {'speaker':20} {'language':8} {'fps':>4} {'frames':>6} {'face':>5} {'text':>4}")
    mouths = {}
    for clip in clips:
        mouth = mouths[clip.name] = observe_mouth(clip.path)
        print(f"{clip.name:32} {clip.speaker:20} {clip.language:8} {mouth.fps:4g} {mouth.frame_count:6d} "
              f"{int(mouth.seen.sum()):5d} {'yes' if clip.transcript else '':>4}", flush=True)  # fmt: skip
    return mouths


def _finite(value: Any) -> Any:
    """``value`` with NaN numbers as None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def parse_paths(text: str) -> list[str]:
    names = []
    for name in text.split(","):
        name = name.strip()
        if name == "all":
            names += [*FAST_PATHS, *SLOW_PATHS]
        elif name == "fast":
            names += list(FAST_PATHS)
        elif name in PATHS:
            names.append(name)
        elif name:
            raise argparse.ArgumentTypeError(f"unknown path {name!r}; choose from all, fast, {', '.join(PATHS)}")
    return list(dict.fromkeys(names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=parse_paths, default=list(FAST_PATHS),
                        help=f"comma list of {', '.join(PATHS)}, or all (default: {','.join(FAST_PATHS)})")  # fmt: skip
    parser.add_argument("--clips", help="comma list of substrings: only clips whose name holds one")
    parser.add_argument("--json", type=Path, help="write every per-clip number and the summaries here")
    parser.add_argument("--shipped", action="store_true", help="score with the shipped opening filter (not held out)")
    args = parser.parse_args()
    held_out_opening.SHIPPED = args.shipped
    clips = list_clips()
    if args.clips:
        wanted = [s.strip() for s in args.clips.split(",") if s.strip()]
        clips = [c for c in clips if any(s in c.name for s in wanted)]
        if not clips:
            parser.error(f"no clip name holds any of {wanted}")
    mouths = observe_all(clips)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="real-mouths-") as folder:
        session = Session(Path(folder))
        try:
            for name in args.paths:
                rows, summary = score_path(name, clips, mouths, session)
                results[name] = {"clips": rows, "summary": summary}
        finally:
            session.close()
    print("\nsummary (mean over clips; lag > 0: the prediction runs late)")
    for name, result in results.items():
        print(f"  {name:12} {_summary_line(result['summary'])}")
    if "default" in results:
        print_paired(results)
    if "style" in results and "default" in results:
        styled = r0_by_clip(results["style"])
        generic = {c: r0 for c, r0 in r0_by_clip(results["default"]).items() if c in styled}
        if generic:
            a, b = _mean(list(generic.values())), _mean([styled[c] for c in generic])
            print(f"  style vs generic on the {len(generic)} clips of speakers with several: mean r0 {a:.3f} -> "
                  f"{b:.3f} ({b - a:+.3f}; target +0.05)")  # fmt: skip
    if args.json:
        report = {"max_lag": MAX_LAG, "paths": results,
                  "clips": [{"clip": c.name, "speaker": c.speaker, "language": c.language,
                             "fps": mouths[c.name].fps, "frames": mouths[c.name].frame_count,
                             "face_frames": int(mouths[c.name].seen.sum()), "transcript": c.transcript}
                            for c in clips]}  # fmt: skip
        args.json.write_text(json.dumps(_finite(report), indent=1) + "\n")
    if any(r["summary"]["failed"] for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
