"""The command line's grammar: every command, its arguments and their help."""

from __future__ import annotations

import argparse

from .. import __version__, api
from ..cpus import usable_cpus
from ..export import EXPORTERS
from ..motion import EMOTIONS
from ..motion.style import SUFFIX as STYLE_SUFFIX
from ..phonetics import DEFAULT_LANGUAGE, RECOGNIZERS, default_recognizer
from ..render.fit import FITS
from .animate import _cmd_animate
from .common import _fps, _intensity, _level, _positive_seconds, _size
from .demo import _cmd_demo
from .evaluate import _cmd_eval_cues, _cmd_eval_motion, _cmd_eval_preserve, _cmd_eval_sync
from .head import _cmd_head
from .languages import _cmd_languages
from .say import _cmd_say
from .serve import _cmd_serve
from .style import _cmd_style
from .video import _cmd_dub, _cmd_render


def _add_speech_options(command: argparse.ArgumentParser) -> None:
    """--text / --text-file, --recognizer and --language, for commands that take one speech file."""
    text = command.add_mutually_exclusive_group()
    text.add_argument("--text", help="the transcript of the speech (improves accuracy)")
    text.add_argument("--text-file", help="a UTF-8 file with the transcript")
    _add_hearing_options(command)


def _add_hearing_options(command: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """--language and --recognizer; ``default``: the recognizer's default, where it is not the language's."""
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
        + (
            f"(default {default})"
            if default
            else f"(default {default_recognizer('en')} for English, {default_recognizer('de')} for other languages)"
        ),
    )


def _add_length_limit(command: argparse.ArgumentParser) -> None:
    """--max-seconds, for commands that decode speech files."""
    command.add_argument(
        "--max-seconds",
        type=_positive_seconds,
        default=None,
        help="refuse speech longer than this, before decoding the rest (default: no limit; a few kilobytes "
        "of a damaged or hostile file can hold hours)",
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
    _add_length_limit(animate)
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
        "--jobs", type=int, default=usable_cpus(),
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

    say_ = commands.add_parser("say", help="text to speech (espeak-ng, or the Piper voice) and its animation")
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
        help="any espeak-ng language or voice, e.g. en-us, en-gb, de, fr, en-us+f3 (default en-us); or piper, "
        "a natural-sounding US English voice (the piper extra)",
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
    _add_length_limit(render)
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
    _add_length_limit(head)
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
    _add_length_limit(dub)
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
    _add_hearing_options(style, default=api.STYLE_RECOGNIZER)
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
        sub.add_argument("--jobs", type=int, default=usable_cpus(), help="with --manifest: videos at once")
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
