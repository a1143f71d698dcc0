"""The ``mouthpiece`` command: subcommands that call :mod:`mouthpiece.api`, nothing deeper.

Exit codes: 0 success, 1 failure (one sentence on stderr per failed input), 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import glob
import json
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__, api, batch, manifest
from .atomic import atomic_output
from .audio import save
from .errors import DependencyError, InputError, MouthpieceError
from .export import EXPORTERS, format_for_path, get_exporter
from .export.cues import REST_SHAPE, allowed_extended_shapes
from .inputs import read_text_file
from .motion import EMOTIONS, opening
from .motion.opening import MODEL_VARIABLE, OpeningModel
from .motion.style import SUFFIX as STYLE_SUFFIX
from .motion.style import load_style, save_style
from .phonetics import DEFAULT_LANGUAGE, RECOGNIZERS, default_recognizer
from .render.fit import FITS
from .render.video import EXTENSIONS as VIDEO_EXTENSIONS
from .types import Animation, Audio

ANIMATION_FPS = 60.0
VIDEO_FPS = api.VIDEO_FPS
DEMO_DUB_SENTENCE = "And now the same video says something else entirely."
DEMO_SENTENCE = "Hello! I am mouthpiece. Give me any voice, and I will move the lips to match it."


class ProgressBar:
    """A one-line progress bar on stderr, silent when stderr is not a terminal."""

    WIDTH = 30

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self.shown = False

    def __call__(self, fraction: float) -> None:
        if not self.enabled:
            return
        filled = int(self.WIDTH * min(max(fraction, 0.0), 1.0))
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _number_between(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number from ``low`` to ``high``."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {value}")
        return number

    return parse


GENERIC_STYLE = "generic"  # --style: the filter fitted on many speakers, not a person's own
_fps = _number_between(1, 240)
_intensity = _level = _number_between(0, 1)


def _export_options(args: argparse.Namespace, audio_path: str) -> dict[str, Any]:
    return {
        "extended_shapes": REST_SHAPE if args.no_extended_shapes else args.extended_shapes,
        "dat_fps": args.dat_fps,
        "preston_blair": args.dat_preston_blair,
        "sound_file": os.path.abspath(audio_path),
    }


def _animate_one(
    args: argparse.Namespace, audio_path: str, output: str | None, fmt: str, avatar: api.Avatar | None = None
) -> None:
    text = batch.transcript_of(audio_path, {"text": args.text, "text_sidecar": args.text_sidecar})
    bar = ProgressBar(os.path.basename(audio_path), enabled=not args.quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            animation = api.animate_file(audio_path, text=text, fps=args.fps, recognizer=args.recognizer,
                                         language=args.language, progress=bar)  # fmt: skip
        finally:
            bar.close()
    _print_warnings(args, audio_path, caught)
    if args.idle or args.emotion != "neutral":
        animation = api.add_life(
            animation, api.load_audio(audio_path), idle=args.idle, seed=args.seed, emotion=args.emotion,
            intensity=args.intensity,
        )  # fmt: skip
    if args.cue_shapes == "heard":
        animation = api.heard_cues(animation)
    if avatar is not None and output is not None:
        _report_avatar(args, api.animate_onto(animation, avatar, output))
        return
    options = _export_options(args, audio_path)
    if output is None:
        api.export_stream(animation, sys.stdout, format=fmt, **options)
    else:
        api.export_file(animation, output, format=fmt, **options)


def _cmd_animate(args: argparse.Namespace) -> int:
    inputs: list[str] = args.audio
    output: str | None = args.output
    if args.text_file is not None:
        args.text = read_text_file(args.text_file)  # read once; a bad file fails before any work
    if args.onto is not None:
        one = inputs[0]
        if len(inputs) != 1 or os.path.isdir(one) or (glob.has_magic(one) and not os.path.exists(one)):
            raise InputError("--onto animates one avatar with one speech file: give one input.")
        if args.format is not None:
            raise InputError("-f does not apply with --onto: the avatar is written as -o's extension says.")
        avatar = _load_avatar(args.onto, output)
        _animate_one(args, inputs[0], output, "", avatar)
        return 0
    if args.format is not None:
        get_exporter(args.format)  # an unknown format name fails before any work
    allowed_extended_shapes(args.extended_shapes)  # so do letters other than G, H and X
    several = len(inputs) > 1 or any(os.path.isdir(p) or (glob.has_magic(p) and not os.path.exists(p)) for p in inputs)
    if output is None or not (several or os.path.isdir(output)):
        if several:
            raise InputError("Several inputs need an output folder: add -o DIR.")
        fmt = args.format or (format_for_path(output) if output else "tsv")
        _animate_one(args, inputs[0], output, fmt)
        return 0
    if not os.path.isdir(output) and Path(output).suffix.lower() in {e.extension for e in EXPORTERS.values()}:
        raise InputError(f"Several inputs need an output folder, and '{output}' names a file: give -o a folder.")
    fmt = args.format or "tsv"
    items = batch.plan(batch.expand(inputs), output, EXPORTERS[fmt].extension)
    options = {
        "format": fmt, "text": args.text, "text_sidecar": args.text_sidecar, "fps": args.fps,
        "recognizer": args.recognizer, "language": args.language, "idle": args.idle, "seed": args.seed,
        "emotion": args.emotion, "intensity": args.intensity, "cue_shapes": args.cue_shapes,
        "style": args.style if args.style not in (None, GENERIC_STYLE) else None,
        "export": {k: v for k, v in _export_options(args, "").items() if k != "sound_file"},
    }  # fmt: skip
    if args.ray is not None:  # a cluster nobody answers at is told before anything is written
        from .cluster import check_reachable

        check_reachable(args.ray)
    os.makedirs(output, exist_ok=True)
    return _run_batch(args, items, options, f"files to {output}")


def _run_batch(
    args: argparse.Namespace,
    items: list[batch.BatchItem],
    options: dict[str, Any],
    wrote: str,
    task: Callable[[str, str, dict[str, Any]], dict[str, Any]] | None = None,
) -> int:
    """A batch with a progress bar, a line per failure and warning, the report, and its exit status."""
    bar = ProgressBar(f"{len(items)} files", enabled=not args.quiet)

    def done(result: batch.BatchResult) -> None:
        if result.status == "error":
            bar.close()
            print(f"mouthpiece: {result.message}", file=sys.stderr)
        for warning in result.warnings if not args.quiet else ():
            print(f"mouthpiece: warning: '{result.input}': {warning}", file=sys.stderr)

    try:
        results = batch.run(items, options, jobs=args.jobs, ray=getattr(args, "ray", None), task=task,
                            skip_existing=args.skip_existing, progress=bar, done=done)  # fmt: skip
    finally:
        bar.close()
    if args.report:
        batch.write_report(results, args.report)
    failures = sum(r.status == "error" for r in results)
    if not args.quiet:
        skipped = sum(r.status == "skipped" for r in results)
        print(f"wrote {len(results) - failures - skipped} {wrote}"
              + (f", skipped {skipped} that existed" if skipped else ""), file=sys.stderr)  # fmt: skip
    if failures:
        print(f"mouthpiece: {failures} of {len(items)} inputs failed.", file=sys.stderr)
    return 1 if failures else 0


def _need(args: argparse.Namespace, *names: str) -> None:
    """The files a render or dub of one video needs: InputError naming what is missing."""
    missing = [name.upper() for name in names if getattr(args, name) is None]
    if missing or args.output is None:
        wanted = " and ".join([*[n.upper() for n in names], "-o OUTPUT"])
        raise InputError(f"{args.command} needs {wanted} (or --manifest CSV for many videos).")


def _cmd_manifest(args: argparse.Namespace) -> int:
    """render/dub --manifest: a video per row of the CSV, in worker processes."""
    kind = args.command
    given = [name for name in ("portrait", "video", "audio", "output") if getattr(args, name, None) is not None]
    if given:
        raise InputError(f"--manifest takes every video's files from its rows: give no {given[0]} beside it.")
    items = manifest.read_manifest(args.manifest, kind)
    common = {"language": args.language, "recognizer": args.recognizer, "face": args.face}
    if kind == "render":
        options = {**common, "size": args.size, "fps": args.fps, "idle": not args.no_idle, "seed": args.seed,
                   "emotion": args.emotion, "intensity": args.intensity}  # fmt: skip
    else:
        options = {**common, "fit": args.fit, "original_audio": args.keep_original_audio_mix}
    options["style"] = args.style  # a row's own style column wins
    return _run_batch(args, items, options, "videos", task=manifest.TASKS[kind])


def _load_avatar(path: str, output: str | None) -> api.Avatar:
    """The avatar of --onto, once it and -o are known to fit each other (before any speech work)."""
    if output is None:
        raise InputError("--onto needs -o: the animated avatar to write (.glb, .gltf or .vrm).")
    avatar = api.load_avatar(path)
    api.check_avatar_output(avatar, output)
    _check_writable(output, "avatar")
    return avatar


def _report_avatar(args: argparse.Namespace, report: api.AvatarReport, *also: str) -> None:
    if not args.quiet:
        lines = report.lines()
        lines[0] = lines[0].replace(f"wrote {report.output}", f"wrote {' and '.join([report.output, *also])}", 1)
        print("\n".join(lines), file=sys.stderr)


def _size(value: str) -> tuple[int, int]:
    """``512`` (a square) or ``1920x1080``."""
    try:
        return manifest.parse_size(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _render(args: argparse.Namespace, portrait: api.Portrait, speech: Audio, animation: Animation, label: str) -> None:
    """Life, emotion, then the video (and the Animation that drove it when asked)."""
    animation = api.add_life(
        animation, speech, idle=not args.no_idle, seed=args.seed, emotion=args.emotion, intensity=args.intensity
    )
    bar = ProgressBar(label, enabled=not args.quiet)
    try:
        api.render_video(portrait, animation, args.output, audio=speech, progress=bar)
    finally:
        bar.close()
    _finish_video(args, animation)


def _finish_video(args: argparse.Namespace, animation: Animation) -> None:
    if args.animation:
        api.export_file(animation, args.animation, format="anim-json")
    if not args.quiet:
        print(f"wrote {args.output}" + (f" and {args.animation}" if args.animation else ""), file=sys.stderr)


def _load_portrait(args: argparse.Namespace) -> api.Portrait:
    _check_video_path(args.output)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        portrait = api.load_portrait(args.portrait, size=args.size, face=args.face)
    if not args.quiet:
        for w in caught:  # these name the photo themselves
            print(f"mouthpiece: warning: {w.message}", file=sys.stderr)
    return portrait


def _cmd_render(args: argparse.Namespace) -> int:
    if args.manifest is not None:
        return _cmd_manifest(args)
    _need(args, "portrait", "audio")
    _check_writable(args.animation, "animation file")
    text = read_text_file(args.text_file) if args.text_file is not None else args.text
    portrait = _load_portrait(args)  # a bad photo fails before any speech work
    speech = api.load_audio(args.audio)
    bar = ProgressBar(os.path.basename(args.output), enabled=not args.quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            animation = api.render_speech(
                portrait, speech, args.output, text=text, fps=args.fps, recognizer=args.recognizer,
                language=args.language, idle=not args.no_idle, seed=args.seed, emotion=args.emotion,
                intensity=args.intensity, progress=bar,
            )  # fmt: skip
        finally:
            bar.close()
    _print_warnings(args, args.audio, caught)
    _finish_video(args, animation)
    return 0


def _cmd_head(args: argparse.Namespace) -> int:
    """A photo's face as a 3D head (.glb, .gltf), speaking AUDIO (--text: its transcript) or --text."""
    api.check_head_output(args.output)
    _check_writable(args.output, "head")
    speech_path = os.path.splitext(args.output)[0] + ".wav" if args.audio is None and args.text else None
    _check_writable(speech_path, "speech file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        head = api.head_mesh(args.photo, face=args.face)  # a bad photo fails before any speech work
    for w in caught if not args.quiet else ():  # these name the photo themselves
        print(f"mouthpiece: warning: {w.message}", file=sys.stderr)
    speech: Audio | None = None
    animation: Animation | None = None
    if args.audio is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            animation = api.animate_file(args.audio, text=args.text, fps=args.fps, recognizer=args.recognizer,
                                         language=args.language)  # fmt: skip
        _print_warnings(args, args.audio, caught)
        speech = api.load_audio(args.audio)
    elif args.text:
        speech, animation = api.say(args.text, voice=args.language, fps=args.fps)
    if animation is not None and speech is not None:
        animation = api.add_life(animation, speech, idle=args.idle, seed=args.seed)
    report = api.write_head(head, args.output, animation=animation)
    if speech_path is not None and speech is not None:
        save(speech, speech_path)
    if not args.quiet:
        written = " and ".join([args.output, *([speech_path] if speech_path else [])])
        shape = f"a head of {head.vertex_count} vertices with {len(head.channels)} ARKit morph targets"
        said = "at rest (give AUDIO or --text to make it speak)" if report is None else (
            f"speaking {report.frames} frames ({report.frames / report.fps:.1f} s at {report.fps:g} fps)")  # fmt: skip
        print(f"wrote {written}: {shape}, {said}", file=sys.stderr)
    return 0


def _cmd_dub(args: argparse.Namespace) -> int:
    if args.manifest is not None:
        return _cmd_manifest(args)
    _need(args, "video", "audio")
    _check_video_path(args.output)
    _check_writable(args.animation, "animation file")
    text = read_text_file(args.text_file) if args.text_file is not None else args.text
    speech = api.load_audio(args.audio)
    bar = ProgressBar(os.path.basename(args.output), enabled=not args.quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            animation, count = api.dub_video(
                args.video, speech, args.output, text=text, face=args.face, fit=args.fit,
                original_audio=args.keep_original_audio_mix, recognizer=args.recognizer, language=args.language,
                progress=bar,
            )  # fmt: skip
        finally:
            bar.close()
    _print_warnings(args, args.audio, caught)
    if getattr(args, "style_note", None) and not args.quiet:
        print(f"mouthpiece: {args.style_note}.", file=sys.stderr)
    if count.faceless and not args.quiet:
        print(
            f"mouthpiece: {count.faceless} of {count.frames} frames did not show the face and were left as they were.",
            file=sys.stderr,
        )
    _finish_video(args, animation)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .serve import create_app
        from .serve.server import run
    except ImportError as e:
        raise DependencyError(f"mouthpiece serve needs the server's packages ({e.name} is missing): "
                              "pip install 'mouthpiece[serve]'.") from None  # fmt: skip
    if args.style not in (None, GENERIC_STYLE):  # the workers load it from the environment
        load_style(args.style)
        os.environ[MODEL_VARIABLE] = os.path.abspath(args.style)
    app = create_app(
        token=args.token, max_upload_mb=args.max_upload_mb, render_workers=args.render_workers,
        stream_workers=args.stream_workers, max_streams=args.max_streams, idle_timeout=args.idle_timeout,
        request_timeout=args.request_timeout, max_seconds=args.max_seconds, max_megapixels=args.max_megapixels,
        max_jobs=args.max_jobs, allowed_origins=tuple(args.allow_origin), allowed_hosts=tuple(args.allow_host),
    )  # fmt: skip
    run(app, host=args.host, port=args.port, quiet=args.quiet)
    return 0


def _cmd_say(args: argparse.Namespace) -> int:
    if args.onto:
        return _say_onto(args)
    _check_writable(args.output, "speech file" if not args.portrait else "video")
    _check_writable(args.animation, "animation file")
    if args.portrait:
        portrait = _load_portrait(args)
        speech, animation = api.say(args.text, voice=args.voice, fps=args.fps)
        _render(args, portrait, speech, animation, os.path.basename(args.output))
        return 0
    speech, animation = api.say(args.text, voice=args.voice, fps=args.fps)
    animation = api.add_life(animation, speech, idle=False, emotion=args.emotion, intensity=args.intensity)
    save(speech, args.output)
    if args.animation:
        api.export_file(animation, args.animation, format=args.format or "anim-json")
    if not args.quiet:
        print(f"wrote {args.output}" + (f" and {args.animation}" if args.animation else ""), file=sys.stderr)
    return 0


def _say_onto(args: argparse.Namespace) -> int:
    """say --onto: -o is the animated avatar, and the speech goes beside it as <stem>.wav."""
    if args.portrait:
        raise InputError("--portrait and --onto both say what -o is: give one of them.")
    avatar = _load_avatar(args.onto, args.output)
    speech_path = os.path.splitext(args.output)[0] + ".wav"
    _check_writable(args.animation, "animation file")
    speech, animation = api.say(args.text, voice=args.voice, fps=args.fps)
    animation = api.add_life(
        animation, speech, idle=not args.no_idle, seed=args.seed, emotion=args.emotion, intensity=args.intensity
    )
    report = api.animate_onto(animation, avatar, args.output)
    save(speech, speech_path)
    if args.animation:
        api.export_file(animation, args.animation, format=args.format or "anim-json")
    _report_avatar(args, report, speech_path, *([args.animation] if args.animation else []))
    return 0


def _check_writable(path: str | None, what: str) -> None:
    """A file can be written at ``path`` (its folder exists and is writable), checked before any work."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        raise InputError(f"Could not write {what} '{path}': the folder '{folder}' does not exist.")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise InputError(f"Could not write {what} '{path}': permission denied.")


def _check_video_path(path: str) -> None:
    if os.path.splitext(path)[1].lower() not in VIDEO_EXTENSIONS:
        raise InputError(f"Cannot write video to '{path}': use {', '.join(VIDEO_EXTENSIONS)}.")


def _print_warnings(args: argparse.Namespace, path: str, caught: list[warnings.WarningMessage]) -> None:
    if not args.quiet:
        for w in caught:
            print(f"mouthpiece: warning: '{path}': {w.message}", file=sys.stderr)


def _cmd_style(args: argparse.Namespace) -> int:
    if not args.output.endswith(STYLE_SUFFIX):
        raise InputError(f"Cannot write a style to '{args.output}': name it *{STYLE_SUFFIX}.")
    bar = ProgressBar(os.path.basename(args.output), enabled=not args.quiet)
    try:
        style = api.fit_style(args.video, language=args.language, recognizer=args.recognizer, progress=bar)
    finally:
        bar.close()
    save_style(style, args.output)
    if not args.quiet:
        card = style.scores()
        print(f"wrote {args.output}: fitted on {card['frames']} frames of {len(args.video)} video(s)",
              file=sys.stderr)  # fmt: skip
    return 0


def _style_for(args: argparse.Namespace) -> OpeningModel | None:
    """The style a command runs with: --style FILE, or for dub the source video's own (unless --style generic)."""
    chosen = getattr(args, "style", None)
    if chosen == GENERIC_STYLE or getattr(args, "manifest", None) is not None:  # a manifest's rows choose their own
        return None
    if chosen is not None:
        return load_style(chosen)
    if args.command != "dub":
        return None
    style, args.style_note = api.own_style(args.video, language=args.language, recognizer=args.recognizer)
    return style


def _cmd_languages(args: argparse.Namespace) -> int:
    for code, name in api.languages():
        print(f"{code}\t{name}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """Speak a bundled sentence, write its animation in every format, and make the bundled
    portrait say it."""
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    speech, animation = api.say(DEMO_SENTENCE, fps=args.fps)
    wav = out / "speech.wav"
    save(speech, wav)
    print(f"Said: {DEMO_SENTENCE!r} ({speech.duration:.1f} s) -> {wav}")
    for name, cls in EXPORTERS.items():
        plain = format_for_path(f"x{cls.extension}") == name
        path = out / (f"speech{cls.extension}" if plain else f"speech.{name.split('-')[0]}{cls.extension}")
        api.export_file(animation, path, format=name, sound_file=str(wav.resolve()))
        print(f"  {name:<10} {path}")

    video = out / "talking.mp4"
    portrait = api.load_portrait(api.SAMPLE_PORTRAIT)
    assert animation.phones is not None  # say() keeps the phones it animated
    frames = api.add_life(api.to_animation(animation.phones, audio=speech, fps=VIDEO_FPS), speech, seed=args.seed)
    api.render_video(portrait, frames, video, audio=speech)
    print(f"Talking portrait (public-domain photo of astronaut Eileen Collins) -> {video}")
    new_speech, _ = api.say(DEMO_DUB_SENTENCE)
    dubbed = out / "dubbed.mp4"
    api.dub_video(video, new_speech, dubbed, text=DEMO_DUB_SENTENCE)
    print(f"The same video dubbed to say {DEMO_DUB_SENTENCE!r} -> {dubbed}")
    print(f"Open {out}/ to see every export format and the videos; make your own with:")
    print('  mouthpiece say "Your words here." --portrait your-photo.jpg -o talking.mp4')
    print("  mouthpiece render your-photo.jpg your-speech.wav -o talking.mp4")
    print("  mouthpiece dub your-video.mp4 new-speech.wav -o dubbed.mp4")
    return 0


def _cmd_eval_sync(args: argparse.Namespace) -> int:
    result, seen, expected = api.evaluate_sync(args.video, audio=args.audio, recognizer=args.recognizer)
    name = os.path.basename(args.video)
    print(
        f"{name}: offset {result.offset:+d} frames ({result.offset_seconds * 1000:+.0f} ms), "
        f"confidence {result.confidence:.3f}  ({len(seen)} frames at {result.fps:g} fps; "
        f"positive offset: the audio is late)"
    )
    if result.windows:
        print(f"  {'window (s)':<14}{'offset':>8}{'confidence':>12}")
        for w in result.windows:
            print(f"  {w.start:5.1f}-{w.end:<7.1f}{w.offset:>+8d}{w.confidence:>12.3f}")
    if args.json:
        _write_report(args.json, {"video": args.video}, result.to_dict())
    if args.plot:
        from .evaluate.plot import plot_sync

        plot_sync(result, seen, expected, args.plot, title=f"{name}: offset {result.offset:+d} frames")
    return 0


def _cmd_eval_cues(args: argparse.Namespace) -> int:
    from .evaluate.cues import METRICS
    from .evaluate.plot import plot_cues

    report = api.evaluate_cues(args.reference, args.predicted)
    folder = os.path.isdir(args.reference)
    shown = report.utterances if args.per_utterance or not folder else ()
    width = max([10, *(len(u.name) + 2 for u in shown)])

    def row(label: str, metrics: dict[str, float]) -> str:
        return f"{label:<{width}}" + "".join(f"{metrics[m]:>{len(m) + 2}.3f}" for m in METRICS)

    counts = report.counts
    if folder:
        missing = ", ".join(report.missing[:5]) + (", ..." if len(report.missing) > 5 else "")
        print(f"{len(report.utterances)} of {len(report.utterances) + len(report.missing)} utterances scored", end="")
        print(f"; {len(report.missing)} have no prediction in '{args.predicted}': {missing}" if missing else "")
    print(f"{counts.frames} frames of 10 ms, {counts.bilabials} P/B/M, {counts.closures} predicted closures in speech")
    print(f"{'':<{width}}" + "".join(f"{m:>{len(m) + 2}}" for m in METRICS))
    for score in shown:
        print(row(score.name, score.metrics))
    if folder:
        print(row("macro", report.macro))
        print(row("pooled", report.pooled))
    ceiling = report.ceiling
    print(
        f"(the oracle itself scores bil_prec {ceiling['bil_prec']:.3f} and sil_acc {ceiling['sil_acc']:.3f}: "
        "it closes the lips before P/B and holds shapes through pauses under 0.35 s)"
    )
    if args.json:
        _write_report(args.json, {"reference": args.reference, "predicted": args.predicted}, report.to_dict())
    if args.plot:
        name = os.path.basename(os.path.normpath(args.reference)) if folder else report.utterances[0].name
        metrics = report.pooled if folder else report.utterances[0].metrics
        plot_cues(report, args.plot, title=f"{name}: acc {metrics['acc']:.3f}, open_r {metrics['open_r']:.3f}")
    return 0


def _cmd_eval_motion(args: argparse.Namespace) -> int:
    result = api.evaluate_motion(args.reference, args.video)
    reference, video = os.path.basename(args.reference), os.path.basename(args.video)
    print(
        f"{video} against {reference}: {result.compared} of {result.frames} frames at {result.fps:g} fps compared "
        f"({result.frames - result.compared} without a face in either)"
    )
    rows = [
        ("LMD (eye distances)", f"{result.lmd_mean:.4f}"),
        ("LMD (reference pixels)", f"{result.lmd_pixels:.2f}"),
        ("mouth-opening r", f"{result.mouth_r:.3f}"),
        ("jitter of the reference", f"{result.jitter_reference:.4f}"),
        ("jitter of the video", f"{result.jitter_video:.4f}"),
    ]
    for label, value in rows:
        print(f"  {label:<26}{value:>10}")
    print("(jitter: eye distances per frame, how much the lips shake; 0 for a still face)")
    if args.json:
        _write_report(args.json, {"reference": args.reference, "video": args.video}, result.to_dict())
    if args.plot:
        from .evaluate.plot import plot_motion

        plot_motion(result, args.plot, title=f"{video} against {reference}: LMD {result.lmd_mean:.4f}")
    return 0


def _cmd_eval_preserve(args: argparse.Namespace) -> int:
    result = api.evaluate_preserve(args.source, args.video)
    source, video = os.path.basename(args.source), os.path.basename(args.video)
    masked = int(result.masked.sum())
    print(
        f"{video} against {source}: {result.frames} frames at {result.fps:g} fps, the mouth and jaw left out of "
        f"{masked} ({result.frames - masked} without a face compared whole)"
    )
    print(f"  {'':<10}{'mean':>10}{'min':>10}{'worst frame':>13}")
    print(f"  {'PSNR (dB)':<10}{result.psnr_mean:>10.2f}{result.psnr_min:>10.2f}{result.psnr_worst:>13d}")
    print(f"  {'SSIM':<10}{result.ssim_mean:>10.4f}{result.ssim_min:>10.4f}{result.ssim_worst:>13d}")
    if args.json:
        _write_report(args.json, {"source": args.source, "video": args.video}, result.to_dict())
    if args.plot:
        from .evaluate.plot import plot_preserve

        plot_preserve(result, args.plot, title=f"{video} against {source}: SSIM {result.ssim_mean:.4f}")
    return 0


def _write_report(path: str, inputs: dict[str, str], result: dict[str, object]) -> None:
    """An evaluation's JSON report: the absolute paths of what it compared, then its result."""
    with atomic_output(path, what="JSON report") as temp, open(temp, "w", encoding="utf-8") as f:
        json.dump({**{k: os.path.abspath(v) for k, v in inputs.items()}, **result}, f, indent=1)


def _add_speech_options(command: argparse.ArgumentParser) -> None:
    """--text / --text-file, --recognizer and --language, for commands that take one speech file."""
    text = command.add_mutually_exclusive_group()
    text.add_argument("--text", help="the transcript of the speech (improves accuracy)")
    text.add_argument("--text-file", help="a UTF-8 file with the transcript")
    _add_hearing_options(command)


def _add_hearing_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--language",
        default=DEFAULT_LANGUAGE,
        help=f"the speech's language: any espeak-ng code or voice, e.g. de, fr, es, pt-br (default {DEFAULT_LANGUAGE}; "
        "`mouthpiece languages` lists them)",
    )
    command.add_argument(
        "--recognizer",
        default=None,
        help=f"how to hear speech without a transcript: {' or '.join(RECOGNIZERS)} "
        f"(default {default_recognizer('en')} for English, {default_recognizer('de')} for other languages)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mouthpiece",
        description="Make any face speak: speech or text to mouth cues, ARKit curves and talking-head video.",
    )
    parser.add_argument("--version", action="version", version=f"mouthpiece {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    animate = commands.add_parser("animate", help="speech (audio or video files) to mouth animation")
    animate.add_argument("audio", nargs="+", metavar="AUDIO", help="audio or video files with speech")
    animate.add_argument("-o", "--output", help="output file (one input) or folder (several inputs)")
    animate.add_argument(
        "-f", "--format", help=f"export format: {', '.join(EXPORTERS)} (default: from -o's extension, else tsv)"
    )
    text = animate.add_mutually_exclusive_group()
    text.add_argument("--text", help="the transcript of the speech (improves accuracy)")
    text.add_argument("--text-file", help="a UTF-8 file with the transcript")
    text.add_argument(
        "--text-sidecar", action="store_true", help="read each input's transcript from <stem>.txt beside it"
    )
    _add_hearing_options(animate)
    animate.add_argument(
        "--cue-shapes", choices=("phonetic", "heard"), default="phonetic",
        help="how the cues' open shapes (B, C, D) are chosen: by Rhubarb's phone conventions (default), or "
        "where the speech's heard jaw opens (closer to real mouths: see the README)",
    )  # fmt: skip
    shapes = animate.add_mutually_exclusive_group()
    shapes.add_argument("--no-extended-shapes", action="store_true", help="mouth cues A-F and X only (no G, H)")
    shapes.add_argument(
        "--extended-shapes", default="GHX", metavar="LETTERS",
        help="which of the extended shapes G, H, X to use, as Rhubarb's --extendedShapes (default GHX; "
        "without G: A, without H: C, without X: A)",
    )  # fmt: skip
    animate.add_argument("--dat-fps", type=int, default=24, help="frame rate of dat (Moho) output (default 24)")
    animate.add_argument("--dat-preston-blair", action="store_true", help="Preston Blair shape names in dat output")
    animate.add_argument(
        "--idle", action="store_true", help="add blinks, gaze, head motion and brow raises to the curves (see --seed)"
    )
    animate.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1,
        help="files animated at once, each in a worker process (default: the cores)",
    )  # fmt: skip
    animate.add_argument(
        "--ray", nargs="?", const="auto", metavar="ADDRESS",
        help="run the files as tasks on a Ray cluster (mouthpiece[cluster]): the one this machine joined with "
        "`ray start`, or the head at ADDRESS; inputs are read and outputs written here",
    )  # fmt: skip
    animate.add_argument("--skip-existing", action="store_true", help="leave outputs that exist (resume a batch)")
    animate.add_argument(
        "--onto", metavar="AVATAR",
        help="a 3D avatar (.glb, .gltf, .vrm) to animate: -o is then the avatar speaking (.glb, .gltf, .vrm)",
    )  # fmt: skip
    animate.add_argument("--report", help="a row per input to this file: ok/error/skipped, warnings, real-time factor "
                         "(.csv or .json)")  # fmt: skip
    animate.set_defaults(run=_cmd_animate)

    say_ = commands.add_parser("say", help="text to speech (espeak-ng) and its animation")
    say_.add_argument("text", help="what to say")
    say_.add_argument(
        "-o", "--output", required=True,
        help="speech file to write (.wav, .flac, .mp3, .ogg, .m4a); the video with --portrait, the avatar with --onto",
    )  # fmt: skip
    say_.add_argument(
        "--voice",
        "--language",
        dest="voice",
        default="en-us",
        help="any espeak-ng language or voice, e.g. en-us, en-gb, de, fr, en-us+f3 (default en-us)",
    )
    say_.add_argument("--animation", help="also write the animation here (format from -f, default anim-json)")
    say_.add_argument("-f", "--format", help="format of --animation (default anim-json)")
    say_.add_argument("--portrait", help="a photo with a face: -o is then a talking-head video (.mp4)")
    say_.add_argument(
        "--onto", metavar="AVATAR",
        help="a 3D avatar (.glb, .gltf, .vrm) to animate: -o is then the avatar speaking (.glb, .gltf, .vrm), "
        "and the speech goes beside it as .wav",
    )  # fmt: skip
    say_.set_defaults(run=_cmd_say)

    render = commands.add_parser("render", help="a photo and speech to a lip-synced talking-head video")
    render.add_argument("portrait", nargs="?", metavar="PORTRAIT", help="a photo with a face (JPEG, PNG, WebP)")
    render.add_argument("audio", nargs="?", metavar="AUDIO", help="speech: any audio or video file")
    render.add_argument("-o", "--output", help="the video to write (.mp4, .mov, .mkv)")
    _add_speech_options(render)
    render.add_argument("--animation", help="also write the Animation that drove the video here (anim-json)")
    render.set_defaults(run=_cmd_render)

    head = commands.add_parser("head", help="a photo's face as a 3D head (glTF) with ARKit morph targets, speaking")
    head.add_argument("photo", metavar="PHOTO", help="a photo with a face (JPEG, PNG, WebP)")
    head.add_argument("audio", nargs="?", metavar="AUDIO", help="speech for it to say: any audio or video file")
    head.add_argument("-o", "--output", required=True, help="the head to write (.glb, or .gltf with its data inside)")
    head.add_argument(
        "--text", help="with AUDIO, its transcript; without, what to say (espeak-ng; the speech goes beside -o as .wav)"
    )
    _add_hearing_options(head)
    head.add_argument("--face", type=int, help="which face when the photo has several: 0 is the leftmost")
    head.add_argument(
        "--idle", action=argparse.BooleanOptionalAction, default=True,
        help="blinks, gaze, head motion and brow raises with the speech (default; --no-idle: only the speech)",
    )  # fmt: skip
    head.add_argument("--fps", type=_fps, help="animation frames per second, 1-240 (default 60)")
    head.add_argument("--seed", type=int, default=0, help="seed for anything random (the output is deterministic)")
    head.add_argument("-q", "--quiet", action="store_true", help="no notices on stderr")
    head.set_defaults(run=_cmd_head)

    dub = commands.add_parser("dub", help="a video and new speech to the same video speaking it (lip-synced)")
    dub.add_argument("video", nargs="?", metavar="VIDEO", help="a video with a face (MP4, MOV, MKV, WebM, ...)")
    dub.add_argument("audio", nargs="?", metavar="AUDIO", help="the new speech: any audio or video file")
    dub.add_argument("-o", "--output", help="the video to write (.mp4, .mov, .mkv)")
    _add_speech_options(dub)
    dub.add_argument("--face", type=int, help="which face speaks: 0 is the leftmost (default: the largest)")
    dub.add_argument(
        "--fit",
        choices=FITS,
        default="pingpong",
        help="speech longer than the video: play it back and forth (pingpong, default) or again from the start "
        "(loop); or end with whichever is shorter (cut)",
    )
    dub.add_argument(
        "--keep-original-audio-mix",
        type=_level,
        default=0.0,
        metavar="0..1",
        help="mix the video's own soundtrack under the new speech at this level (default 0: speech only)",
    )
    dub.add_argument("--animation", help="also write the Animation that drove the mouth here (anim-json)")
    dub.add_argument("-q", "--quiet", action="store_true", help="no progress or notices on stderr")
    dub.set_defaults(run=_cmd_dub, fps=None)

    style = commands.add_parser("style", help="a person's own mouth style, fitted on videos of them speaking")
    style.add_argument("video", nargs="+", metavar="VIDEO", help="videos of one person speaking, face in view")
    style.add_argument("-o", "--output", required=True, help=f"the style file to write (*{STYLE_SUFFIX})")
    _add_hearing_options(style)
    style.add_argument("-q", "--quiet", action="store_true", help="no progress or notices on stderr")
    style.set_defaults(run=_cmd_style, fps=None)

    serve = commands.add_parser("serve", help="an HTTP API for speech to animation (needs mouthpiece[serve])")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on every route but /v1/health")
    serve.add_argument(
        "--max-upload-mb", type=float, default=50.0, help="largest upload accepted, MB (default 50; larger: 413)"
    )
    serve.add_argument(
        "--render-workers", type=int, default=1, help="render jobs run at once (default 1: in order of submission)"
    )
    serve.add_argument(
        "--stream-workers", type=int, default=None,
        help="processes that animate live streams (default: one per CPU core)",
    )  # fmt: skip
    serve.add_argument("--max-streams", type=int, default=40, help="live streams at once (default 40; more: 1013)")
    serve.add_argument(
        "--idle-timeout", type=float, default=30.0, help="seconds a live stream may send nothing (default 30)"
    )
    serve.add_argument(
        "--request-timeout", type=float, default=300.0, help="seconds an HTTP request may take (default 300; then 408)"
    )
    serve.add_argument(
        "--max-seconds", type=float, default=600.0, help="longest speech a request may send or ask for (default 600)"
    )
    serve.add_argument("--max-megapixels", type=float, default=40.0, help="largest portrait accepted (default 40)")
    serve.add_argument(
        "--max-jobs", type=int, default=16, help="renders waiting or running at once (default 16; then 429)"
    )
    serve.add_argument(
        "--allow-origin", action="append", default=[], metavar="ORIGIN",
        help="without --token, a web origin besides the server's own that may call it (repeatable)",
    )  # fmt: skip
    serve.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="without --token, a host name besides IP addresses and localhost that reaches it (repeatable)",
    )  # fmt: skip
    serve.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    serve.set_defaults(run=_cmd_serve, fps=None)

    for sub in (render, dub):
        sub.add_argument(
            "--manifest", metavar="CSV",
            help="many videos: a row per video (see the README); --jobs, --skip-existing and --report as for animate",
        )  # fmt: skip
        sub.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="with --manifest: videos at once")
        sub.add_argument("--skip-existing", action="store_true", help="with --manifest: leave videos that exist")
        sub.add_argument("--report", help="with --manifest: a row per video to this CSV or JSON file")
    for sub in (render, say_):
        sub.add_argument(
            "--size", type=_size, default=api.DEFAULT_SIZE, help="video size: N (square) or WxH (default 512)"
        )
        sub.add_argument("--face", type=int, help="which face when the photo has several: 0 is the leftmost")
        sub.add_argument(
            "--no-idle", action="store_true",
            help="video (or --onto avatar) without blinks, gaze or head motion: only the speech",
        )  # fmt: skip
    for sub in (animate, render, say_):
        sub.add_argument("--emotion", default="neutral", choices=EMOTIONS, help="expression (default neutral)")
        sub.add_argument(
            "--intensity", type=_intensity, default=api.DEFAULT_INTENSITY, help="of the emotion, 0-1 (default 0.6)"
        )

    evaluate = commands.add_parser(
        "eval", help="measure lip sync (sync), mouth cues (cues), lip motion (motion), the rest of the frame (preserve)"
    )
    measures = evaluate.add_subparsers(dest="measure", required=True, metavar="MEASURE")
    sync = measures.add_parser("sync", help="audio-visual offset (frames) and sync confidence of a talking-face video")
    sync.add_argument("video", metavar="VIDEO", help="a video of a speaking face")
    sync.add_argument("--audio", help="judge against this speech instead of the video's own audio track")
    sync.add_argument(
        "--recognizer", default="phones", help="how speech is heard: phones (default, fast), words-small, words"
    )
    sync.add_argument("--json", help="also write the report here (JSON)")
    sync.add_argument("--plot", help="also draw the tracks, the correlation curve and the drift here (PNG)")
    sync.add_argument("-q", "--quiet", action="store_true", help="no notices on stderr")
    sync.set_defaults(run=_cmd_eval_sync, fps=None)
    cues = measures.add_parser(
        "cues", help="accuracy of predicted mouth cues (Rhubarb TSV/XML/JSON, anim-json) against reference phones"
    )
    cues.add_argument(
        "reference", metavar="REFERENCE", help="reference phones (.phones.tsv, .TextGrid, .lab), or a folder of them"
    )
    cues.add_argument(
        "predicted", metavar="PREDICTED", help="mouth cues (.tsv, .xml, .json, .anim.json), or a folder of <utt>.tsv"
    )
    cues.add_argument("-u", "--per-utterance", action="store_true", help="in folder mode, a line per utterance")
    cues.add_argument("--json", help="also write the scores here (JSON)")
    cues.add_argument("--plot", help="also draw phones, shapes and openness (a folder: acc and open_r) here (PNG)")
    cues.set_defaults(run=_cmd_eval_cues, fps=None)
    motion_ = measures.add_parser(
        "motion", help="lip landmark distance (LMD), mouth-opening r and jitter of a video against a reference video"
    )
    motion_.add_argument("reference", metavar="REFERENCE_VIDEO", help="the video of the true lip motion")
    motion_.add_argument("video", metavar="VIDEO", help="a video of the same face, as many frames at the same rate")
    motion_.add_argument("--json", help="also write the report here (JSON)")
    motion_.add_argument("--plot", help="also draw both mouth openings and the LMD of each frame here (PNG)")
    motion_.set_defaults(run=_cmd_eval_motion, fps=None)
    preserve = measures.add_parser(
        "preserve", help="PSNR and SSIM of a lip-synced video against its source outside the mouth and jaw"
    )
    preserve.add_argument("source", metavar="SOURCE_VIDEO", help="the video before lip sync")
    preserve.add_argument("video", metavar="VIDEO", help="the lip-synced video: same size, frame rate and length")
    preserve.add_argument("--json", help="also write the per-frame scores here (JSON; an infinite PSNR is null)")
    preserve.add_argument("--plot", help="also draw PSNR and SSIM per frame here (PNG)")
    preserve.set_defaults(run=_cmd_eval_preserve, fps=None)

    languages = commands.add_parser(
        "languages", help="the languages --language takes (espeak-ng's), a code and a name per line"
    )
    languages.set_defaults(run=_cmd_languages, fps=None)

    demo = commands.add_parser("demo", help="speak a bundled sentence and write every export format")
    demo.add_argument("output", nargs="?", default="demo-out", help="folder to write to (default demo-out)")
    demo.set_defaults(run=_cmd_demo)

    for sub in (animate, render, dub, serve):
        own = " (default for dub: fitted on the video itself)" if sub is dub else ""
        sub.add_argument("--style", help=f"a style file from `mouthpiece style`, or 'generic'{own}")
    for sub in (animate, say_, demo, render):
        sub.add_argument("--fps", type=_fps, help="frames per second, 1-240 (default 60 for animation, 25 for video)")
        sub.add_argument("--seed", type=int, default=0, help="seed for anything random (the output is deterministic)")
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress or notices on stderr")
    return parser


def _reuse_freed_memory() -> None:
    """Ask glibc to keep large freed blocks for reuse instead of unmapping them.

    Rendering allocates several frame-sized arrays per frame (6 MB each at 1080p); by
    default glibc maps and unmaps each one, and the page faults cost a third of a 1080p
    render's CPU time (33 of 118 s, all in the kernel). Kept, the same memory is reused.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 1 << 30)
    libc.mallopt(m_trim_threshold, 1 << 30)


def _stop_on_signals() -> None:
    """SIGTERM (``kill``, ``timeout``, ``docker stop``) and SIGHUP (the terminal closed) unwind
    like Ctrl-C: outputs being written are removed (see :mod:`mouthpiece.atomic`) and the
    process exits 128 + the signal's number (143, 129)."""

    def stop(signum: int, frame: object) -> None:
        raise _Terminated(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread (an embedding app): leave it be
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, stop)


class _Terminated(BaseException):
    """SIGTERM or SIGHUP arrived; its value is the exit status."""


def main(argv: Sequence[str] | None = None) -> int:
    _reuse_freed_memory()
    _stop_on_signals()
    args = build_parser().parse_args(argv)
    if args.fps is None:
        makes_video = args.command in ("render", "dub") or getattr(args, "portrait", None)
        args.fps = VIDEO_FPS if makes_video else ANIMATION_FPS
    try:
        if args.command == "serve":
            return int(args.run(args))
        style = _style_for(args)
        with opening.using(style) if style is not None else contextlib.nullcontext():
            return int(args.run(args))
    except MouthpieceError as e:
        print(f"mouthpiece: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mouthpiece: interrupted.", file=sys.stderr)
        return 130
    except _Terminated as e:
        print("mouthpiece: terminated.", file=sys.stderr)
        return int(e.args[0])
    except BrokenPipeError:  # the reader went away (`mouthpiece animate x.wav | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error on exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
