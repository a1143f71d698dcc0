"""``mouthpiece demo``: every main job on the bundled input."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import api
from ..audio import save
from ..export import EXPORTERS, format_for_path
from .common import VIDEO_FPS

DEMO_DUB_SENTENCE = "And now the same video says something else entirely."
DEMO_SENTENCE = "Hello! I am mouthpiece. Give me any voice, and I will move the lips to match it."


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
