"""mouthpiece.audio on media made here: formats in, bad inputs out, streaming, features."""

from __future__ import annotations

import os
import re
import tracemalloc
import wave
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

import mouthpiece.audio
from mouthpiece.audio import from_samples, load, loudness, pitch, save, stream, voice_activity
from mouthpiece.errors import InputError
from mouthpiece.timebase import frame_count
from mouthpiece.types import SAMPLE_RATE, Audio

SECONDS = 1.5  # s, length of the format clips
AMPLITUDE = 0.5  # peak of the test tones
TONE_DB = 20 * np.log10(AMPLITUDE / np.sqrt(2))  # dBFS, their RMS level (-9.03)


def tone(freq: float, *, rate: int, seconds: float = SECONDS, channels: int = 1) -> np.ndarray:
    """A sine of ``AMPLITUDE`` [shape=(n, channels)], the same in every channel."""
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((AMPLITUDE * np.sin(2 * np.pi * freq * t))[:, None], channels, axis=1)


def write_wave(path: Path, x: np.ndarray, *, rate: int, width: int) -> None:
    """Integer PCM WAV of ``width`` bytes per sample (1 = unsigned 8-bit) with the stdlib."""
    full = 2 ** (8 * width - 1)
    ints = np.clip(np.round(x * full), -full, full - 1).astype("<i8") + (128 if width == 1 else 0)
    data = ints.reshape(-1, 1).view(np.uint8)[:, :width].tobytes()  # low bytes, little-endian
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)


def encode(
    path: Path, x: np.ndarray, *, rate: int, codec: str, video: str | None = None, audio_delay: float = 0.0
) -> None:
    """Write ``x`` [shape=(n, channels)] with PyAV, optionally beside a tiny video track
    whose first frame is at 0 while the audio's first sample is at ``audio_delay`` s.

    PyAV's encoder converts the float frames to the codec's format and frame size.
    """
    layout = {1: "mono", 2: "stereo", 8: "7.1"}[x.shape[1]]
    with av.open(str(path), "w") as container:
        if video:
            picture = container.add_stream(video, rate=10)
            picture.width, picture.height, picture.pix_fmt = 64, 64, "yuv420p"
        # FFmpeg's own Vorbis encoder is marked experimental (there is no libvorbis in the wheel).
        options = {"strict": "experimental"}
        sound = container.add_stream(codec, rate=rate, layout=layout, options=options)
        for start in range(0, len(x), 1000):
            # packed, not planar: PyAV 18 mishandles the planes of eight channels
            chunk = np.ascontiguousarray(x[start : start + 1000], dtype=np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout=layout)
            frame.sample_rate, frame.pts = rate, start + round(audio_delay * rate)
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))
        if video:
            for i in range(round(SECONDS * 10)):
                image = np.full((64, 64, 3), 10 * i, np.uint8)
                container.mux(picture.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(picture.encode(None))


# name, how (sample width in bytes for the stdlib writer, else a codec), rate, channels,
# tone Hz, video codec, lossy
FORMATS = [
    ("u8.wav", 1, 8_000, 1, 150, None, False),
    ("s16.wav", 2, 16_000, 1, 440, None, False),
    ("s24.wav", 3, 22_050, 1, 150, None, False),
    ("s32.wav", 4, 48_000, 1, 440, None, False),
    ("f32.wav", "pcm_f32le", 16_000, 1, 150, None, False),
    ("f64.wav", "pcm_f64le", 32_000, 2, 440, None, False),
    ("stereo.wav", 2, 44_100, 2, 440, None, False),
    ("flac.flac", "flac", 44_100, 2, 150, None, False),
    ("mp3.mp3", "libmp3lame", 44_100, 2, 150, None, True),
    ("vorbis.ogg", "vorbis", 44_100, 2, 440, None, True),
    ("opus.opus", "libopus", 48_000, 1, 150, None, True),
    ("aac.m4a", "aac", 44_100, 2, 440, None, True),
    ("movie.mp4", "aac", 44_100, 2, 150, "libx264", True),
    ("movie.webm", "libopus", 48_000, 2, 440, "libvpx", True),
    ("movie.mkv", "flac", 32_000, 1, 150, "libx264", False),
    ("movie.mov", "pcm_s16le", 16_000, 1, 440, "libx264", False),
    ("seven-one.wav", "pcm_s16le", 48_000, 8, 440, None, False),  # 7.1: PyAV's planar read crashed here
    ("seven-one.m4a", "aac", 48_000, 8, 150, None, True),
]


@pytest.mark.parametrize("name, how, rate, channels, freq, video, lossy", FORMATS, ids=[f[0] for f in FORMATS])
def test_load_formats(tmp_path, name, how, rate, channels, freq, video, lossy):
    path = tmp_path / name
    x = tone(freq, rate=rate, channels=channels)
    if isinstance(how, int):
        write_wave(path, x, rate=rate, width=how)
    else:
        encode(path, x, rate=rate, codec=how, video=video)

    audio = load(path)

    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    # AAC comes back longer by its encoder padding.
    assert abs(audio.duration - SECONDS) <= (0.1 if lossy else 0.05)
    inner = audio.samples[1600:-1600]  # skip 0.1 s at both ends (codec ramps)
    # Channels are averaged: identical channels keep the level of one.
    assert 10 * np.log10(np.mean(inner**2)) == pytest.approx(TONE_DB, abs=1.0 if lossy else 0.1)
    f0, voiced = pitch(audio)
    assert voiced.mean() > 0.9
    assert np.median(f0[voiced]) == pytest.approx(freq, rel=0.03)


def onset(audio: Audio) -> float:
    """Time of the first sample louder than a tenth of the peak, s."""
    return float(np.argmax(np.abs(audio.samples) > 0.1 * np.abs(audio.samples).max()) / audio.sample_rate)


@pytest.mark.parametrize("name, codec", [("movie.mp4", "aac"), ("movie.mov", "pcm_s16le"), ("movie.mkv", "flac")])
@pytest.mark.parametrize("delay", [0.1, -0.1])
def test_audio_is_read_on_the_video_clock(tmp_path, name, codec, delay):
    # A tone from 0.5 s; the audio track starts `delay` s after the first video frame
    # (an edit list in MP4/MOV, a start time in MKV), so the tone is heard at 0.5 + delay.
    x = np.concatenate([np.zeros((8_000, 1)), tone(440, rate=16_000, seconds=1.0)])
    encode(tmp_path / name, x, rate=16_000, codec=codec, video="libx264", audio_delay=delay)
    encode(tmp_path / "plain.mka", x, rate=16_000, codec="flac", audio_delay=abs(delay))

    assert onset(load(tmp_path / name)) == pytest.approx(0.5 + delay, abs=0.012)
    # Audio without video keeps its first sample at 0, whatever its start time.
    assert onset(load(tmp_path / "plain.mka")) == pytest.approx(0.5, abs=0.012)


def test_audio_timed_far_from_its_video_is_refused_not_padded(tmp_path):
    # a damaged timestamp would otherwise pad a few kilobytes out to hours of silence
    encode(tmp_path / "odd.mkv", tone(440, rate=16_000, seconds=0.5), rate=16_000, codec="flac", video="libx264",
           audio_delay=700.0)  # fmt: skip
    with pytest.raises(InputError, match=r"odd\.mkv' is damaged: its audio starts \+700 s"):
        load(tmp_path / "odd.mkv")


def test_surround_wav_is_averaged(tmp_path):
    path = tmp_path / "surround.wav"
    write_wave(path, tone(440, rate=48_000, channels=6), rate=48_000, width=2)
    audio = load(path)
    assert audio.duration == pytest.approx(SECONDS, abs=0.01)
    assert np.abs(audio.samples).max() == pytest.approx(AMPLITUDE, abs=0.01)


def test_truncated_wav_loads_what_is_there(tmp_path):
    path = tmp_path / "cut.wav"
    write_wave(path, tone(150, rate=16_000, seconds=1.0), rate=16_000, width=2)
    data = path.read_bytes()
    path.write_bytes(data[: 44 + (len(data) - 44) // 2])
    assert load(path).duration == pytest.approx(0.5, abs=0.01)


def test_stream_that_changes_rate_and_channels(tmp_path):
    # Two ADTS AAC files back to back: the decoder's frames switch from 44.1 kHz stereo
    # to 22.05 kHz mono mid-stream.
    path = tmp_path / "joined.aac"
    for name, rate, channels, freq in [("a.aac", 44_100, 2, 440), ("b.aac", 22_050, 1, 150)]:
        x = tone(freq, rate=rate, seconds=1.0, channels=channels)
        encode(tmp_path / name, x, rate=rate, codec="aac")
        with path.open("ab") as joined:
            joined.write((tmp_path / name).read_bytes())
    audio = load(path)
    assert audio.duration == pytest.approx(2.0, abs=0.15)
    f0, voiced = pitch(audio)
    assert np.median(f0[:90][voiced[:90]]) == pytest.approx(440, rel=0.03)
    assert np.median(f0[-90:][voiced[-90:]]) == pytest.approx(150, rel=0.03)


def _missing(d: Path) -> Path:
    return d / "missing.wav"


def _directory(d: Path) -> Path:
    (d / "folder.wav").mkdir()
    return d / "folder.wav"


def _text_as_wav(d: Path) -> Path:
    (d / "notes.wav").write_text("not audio at all\n" * 100)
    return d / "notes.wav"


def _text(d: Path) -> Path:
    (d / "notes.txt").write_text("not audio at all\n" * 100)
    return d / "notes.txt"


def _zero_bytes(d: Path) -> Path:
    (d / "zero.wav").write_bytes(b"")
    return d / "zero.wav"


def _no_samples(d: Path) -> Path:
    write_wave(d / "header.wav", np.zeros((0, 1)), rate=16_000, width=2)
    return d / "header.wav"


def _video_only(d: Path) -> Path:
    with av.open(str(d / "silent.mp4"), "w") as container:
        picture = container.add_stream("libx264", rate=10)
        picture.width, picture.height, picture.pix_fmt = 64, 64, "yuv420p"
        black = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8))
        for _ in range(5):
            container.mux(picture.encode(black))
        container.mux(picture.encode(None))
    return d / "silent.mp4"


def _truncated_flac(d: Path) -> Path:
    encode(d / "full.flac", tone(440, rate=16_000, seconds=3), rate=16_000, codec="flac")
    data = (d / "full.flac").read_bytes()
    (d / "half.flac").write_bytes(data[: len(data) // 2])
    return d / "half.flac"


def _random_bytes(d: Path) -> Path:
    (d / "noise.mp3").write_bytes(np.random.default_rng(0).bytes(5000))
    return d / "noise.mp3"


@pytest.mark.parametrize(
    "make, phrase",
    [
        (_missing, "does not exist"),
        (_directory, "is a directory"),
        (_text_as_wav, "is not an audio file"),
        (_text, "is not an audio file"),
        (_zero_bytes, "is empty"),
        (_no_samples, "contains no audio samples"),
        (_video_only, "has no audio track"),
        (_truncated_flac, "is corrupt or truncated"),
        (_random_bytes, "is not an audio file"),
    ],
)
def test_bad_input(tmp_path, make: Callable[[Path], Path], phrase: str):
    path = make(tmp_path)
    with pytest.raises(InputError, match=re.escape(path.name)) as caught:
        load(path)
    message = str(caught.value)
    assert phrase in message
    assert message.endswith(".") and "\n" not in message


def test_stream_checks_the_path_before_iterating(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        stream(tmp_path / "missing.flac")
    with pytest.raises(InputError, match="Block length"):
        stream(tmp_path / "missing.flac", block_seconds=0)


def test_stream_yields_fixed_blocks(tmp_path):
    path = tmp_path / "clip.wav"
    write_wave(path, tone(440, rate=44_100, seconds=1.1, channels=2), rate=44_100, width=2)
    blocks = list(stream(path, block_seconds=0.25))
    assert [len(b) for b in blocks] == [4000, 4000, 4000, 4000, 1600]
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), load(path).samples)


def test_stream_memory_is_bounded(tmp_path):
    minutes = 10
    path = tmp_path / "long.wav"  # 8 kHz unsigned 8-bit: 4.8 MB on disk, 38 MB decoded
    samples = np.tile(tone(150, rate=8_000, seconds=1.0), (60 * minutes, 1))
    write_wave(path, samples, rate=8_000, width=1)
    decoded_bytes = 60 * minutes * SAMPLE_RATE * 4
    total = 0
    tracemalloc.start()
    try:
        for block in stream(path, block_seconds=1.0):
            total += len(block)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == pytest.approx(60 * minutes * SAMPLE_RATE, abs=16)
    assert peak < decoded_bytes / 50


def test_silent_wav_is_not_an_error(tmp_path):
    path = tmp_path / "silence.wav"
    write_wave(path, np.zeros((16_000, 1)), rate=16_000, width=2)
    audio = load(path)
    assert audio.duration == 1.0 and not audio.samples.any()
    assert not voice_activity(audio).any()
    assert not pitch(audio)[1].any()
    assert (loudness(audio) == -100).all()


def test_from_samples_downmixes_and_resamples():
    rate = 44_100
    pcm = np.round(tone(440, rate=rate, channels=2) * 32767).astype(np.int16)
    audio = from_samples(pcm, sample_rate=rate)
    assert audio.sample_rate == SAMPLE_RATE
    assert len(audio.samples) == int(np.ceil(len(pcm) * SAMPLE_RATE / rate))
    assert 10 * np.log10(np.mean(audio.samples**2)) == pytest.approx(TONE_DB, abs=0.1)
    f0, voiced = pitch(audio)
    assert np.median(f0[voiced]) == pytest.approx(440, rel=0.03)
    assert not from_samples(np.full(100, 128, np.uint8), sample_rate=SAMPLE_RATE).samples.any()


@pytest.mark.parametrize(
    "samples, sample_rate",
    [
        (np.zeros(0), 16_000),
        (np.zeros((2, 3, 4)), 16_000),
        (np.array([0.0, np.nan]), 16_000),
        (np.array(["a", "b"]), 16_000),
        (np.zeros(10), 0),
    ],
)
def test_from_samples_rejects(samples, sample_rate):
    with pytest.raises(InputError):
        from_samples(samples, sample_rate=sample_rate)


@pytest.mark.parametrize("seconds", [0.0, 0.0101, 1.0, 1.234])
@pytest.mark.parametrize("fps", [24, 30, 60, 100])
def test_features_have_one_value_per_frame(seconds, fps):
    audio = Audio(np.random.default_rng(1).normal(0, 0.1, round(seconds * SAMPLE_RATE)))
    expected = frame_count(audio.duration, fps=fps)
    f0, voiced = pitch(audio, fps=fps)
    assert len(loudness(audio, fps=fps)) == len(f0) == len(voiced) == expected
    assert len(voice_activity(audio, fps=fps)) == expected
    assert voiced.dtype == bool and f0.dtype == np.float32


def test_loudness_of_a_full_scale_sine(tmp_path):
    path = tmp_path / "full.wav"
    write_wave(path, tone(440, rate=16_000, seconds=2) / AMPLITUDE, rate=16_000, width=2)
    level = loudness(load(path))
    assert level[1:-1] == pytest.approx(-3.01, abs=0.5)


def test_pitch_follows_a_chirp():
    seconds, start, end = 2.0, 100.0, 400.0  # Hz, linear sweep
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * (start * t + (end - start) * t**2 / (2 * seconds))
    f0, voiced = pitch(Audio(0.5 * np.sin(phase)))
    truth = start + (end - start) * (np.arange(len(f0)) + 0.5) / 100 / seconds
    assert voiced.mean() > 0.95
    assert np.mean(np.abs(f0[voiced] / truth[voiced] - 1) < 0.03) > 0.95


def test_pitch_checks_its_range():
    with pytest.raises(InputError, match="fmin"):
        pitch(Audio(np.zeros(1600)), fmin=300, fmax=200)


@pytest.mark.parametrize("noise", [0.0, 0.001])
def test_voice_activity_on_tone_silence_tone(noise):
    gap = np.random.default_rng(2).normal(0, noise, SAMPLE_RATE)
    first, last = (tone(f, rate=SAMPLE_RATE, seconds=1)[:, 0] for f in (440, 150))
    active = voice_activity(Audio(np.concatenate([first, gap, last])))
    assert active[:100].all() and active[200:].all()
    assert not active[130:199].any()  # after the 0.2 s hangover, before the window meets the tone


@pytest.mark.parametrize("level", [0.0, 1e-4, 1e-3, 0.05])
def test_voice_activity_ignores_steady_noise(level):
    noise = np.random.default_rng(3).normal(0, level, 3 * SAMPLE_RATE)
    assert not voice_activity(Audio(noise)).any()


def test_voice_activity_finds_speech_without_pauses():
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    syllables = 0.05 + 0.45 * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))  # 4 Hz, 20 dB of modulation
    speechlike = syllables * np.random.default_rng(4).normal(0, 1, len(t)).clip(-3, 3) / 3
    assert voice_activity(Audio(speechlike.astype(np.float32))).all()


@pytest.mark.parametrize("fps", [0, -1, float("nan")])
def test_features_check_fps(fps):
    with pytest.raises(InputError, match="Frames per second"):
        loudness(Audio(np.zeros(160)), fps=fps)


def test_public_api():
    assert set(mouthpiece.audio.__all__) == {
        "load", "stream", "from_samples", "save", "log_mel", "loudness", "pitch", "voice_activity",
    }  # fmt: skip
    assert all(callable(getattr(mouthpiece.audio, name)) for name in mouthpiece.audio.__all__)


@pytest.mark.parametrize("extension", [".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a"])
def test_save_writes_a_file_that_loads_back(tmp_path, extension):
    tone = Audio((0.5 * np.sin(2 * np.pi * 300 * np.arange(16_000) / 16_000)).astype(np.float32))
    path = tmp_path / f"tone{extension}"
    save(tone, path)
    back = load(path)
    assert abs(back.duration - 1.0) < 0.1
    middle = back.samples[3_200:12_800]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.08)  # level kept
    assert os.listdir(tmp_path) == [path.name]


def test_save_rejects_unknown_extensions_and_leaves_nothing(tmp_path):
    with pytest.raises(InputError, match="tone.gif"):
        save(Audio(np.zeros(10, np.float32)), tmp_path / "tone.gif")
    with pytest.raises(InputError, match="does not exist"):
        save(Audio(np.zeros(10, np.float32)), tmp_path / "missing" / "tone.wav")
    assert os.listdir(tmp_path) == []
