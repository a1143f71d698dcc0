"""Seeded degradations of 16 kHz speech whose phone times stay known.

Each function takes samples (float32, 16 kHz) and a ``numpy.random.Generator`` and
returns new samples of the same length, except :func:`speed` (which returns the factor
times are divided by) and :func:`pad`. :func:`degrade` draws a random chain of them.
"""

from __future__ import annotations

import io

import av
import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

from mouthpiece.audio.resample import resample

RATE = 16_000  # Hz


def speed(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Play faster or slower (pitch and tempo together); times divide by the returned factor."""
    factor = float(rng.uniform(0.88, 1.14))
    to_rate = int(round(RATE / factor / 100)) * 100
    return resample(x, from_rate=RATE, to_rate=to_rate), RATE / to_rate


def pad(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Add 0-0.6 s of silence before and after; returns the samples added before."""
    before, after = (int(v) for v in rng.integers(0, int(0.6 * RATE), 2))
    return np.concatenate([np.zeros(before, np.float32), x, np.zeros(after, np.float32)]), before


def reverb(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A room: convolution with exponentially decaying noise (RT60 0.15-0.9 s) plus the direct path."""
    rt60 = rng.uniform(0.15, 0.9)
    n = int(rt60 * RATE)
    t = np.arange(n) / RATE
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    rir *= rng.uniform(0.1, 0.6) / np.sqrt(np.sum(rir**2))  # reverberant energy re the direct sound
    rir[0] = 1.0
    rir[: int(0.002 * RATE)] *= np.linspace(0, 1, int(0.002 * RATE)) if n > 40 else 1
    rir[0] = 1.0
    return fftconvolve(x, rir)[: len(x)].astype(np.float32)


def band_limit(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A telephone band (300-3400 Hz) or a random low-pass (2-6 kHz) or high-pass (100-400 Hz)."""
    kind = rng.integers(3)
    if kind == 0:
        sos = butter(6, [300, 3400], "bandpass", fs=RATE, output="sos")
    elif kind == 1:
        sos = butter(6, rng.uniform(2000, 6000), "lowpass", fs=RATE, output="sos")
    else:
        sos = butter(4, rng.uniform(100, 400), "highpass", fs=RATE, output="sos")
    return sosfilt(sos, x).astype(np.float32)


CODECS = (  # (codec, container, sample rate, bit rates)
    ("libmp3lame", "mp3", 16_000, (8_000, 16_000, 24_000, 32_000)),
    ("aac", "adts", 16_000, (12_000, 16_000, 24_000)),
    ("libopus", "ogg", 16_000, (6_000, 8_000, 12_000, 16_000)),
    ("libopencore_amrnb", "amr", 8_000, (4_750, 7_950, 12_200)),
    ("pcm_mulaw", "wav", 8_000, (0,)),
)


def codec(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Encode and decode with a lossy codec at a low bit rate, re-aligned to the input."""
    name, container, rate, rates = CODECS[rng.integers(len(CODECS))]
    bit_rate = int(rates[rng.integers(len(rates))])
    y = resample(x, from_rate=RATE, to_rate=rate)
    pcm = np.clip(y * 32767, -32768, 32767).astype(np.int16)
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(name, rate=rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        frame_len = 1024
        for i in range(0, len(pcm), frame_len):
            chunk = pcm[i : i + frame_len]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    parts = []
    with av.open(buf, "r") as inp:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in inp.decode(audio=0):
            for f in resampler.resample(frame):
                parts.append(f.to_ndarray().reshape(-1))
        for f in resampler.resample(None):
            parts.append(f.to_ndarray().reshape(-1))
    decoded = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    return _align(decoded, x)


def _align(y: np.ndarray, ref: np.ndarray, max_lag: int = 4000) -> np.ndarray:
    """``y`` shifted so that it best matches ``ref`` (cross-correlation), cut or padded to its length."""
    n = min(len(ref), 3 * RATE)
    a, b = ref[:n], np.concatenate([y, np.zeros(max(0, n + max_lag - len(y)), np.float32)])[: n + max_lag]
    corr = fftconvolve(b, a[::-1], mode="full")[n - 1 : n - 1 + max_lag + 1]  # lag 0..max_lag of b vs a
    lag = int(np.argmax(corr))
    out = y[lag : lag + len(ref)]
    return np.concatenate([out, np.zeros(len(ref) - len(out), np.float32)])


def _pink(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    return np.fft.irfft(spectrum / f ** (exponent / 2), n)


def noise(x: np.ndarray, rng: np.random.Generator, pool: list[np.ndarray]) -> np.ndarray:
    """Additive noise at an SNR of -2 to 30 dB: white, pink, brown, hum or babble from ``pool``."""
    n = len(x)
    kinds = ["white", "pink", "brown", "hum"] + (["babble"] * 3 if len(pool) >= 4 else [])
    kind = kinds[rng.integers(len(kinds))]
    if kind == "white":
        v = rng.standard_normal(n)
    elif kind == "pink":
        v = _pink(n, rng, 1.0)
    elif kind == "brown":
        v = _pink(n, rng, 2.0)
    elif kind == "hum":
        f0 = rng.choice([50.0, 60.0])
        t = np.arange(n) / RATE
        v = sum(rng.uniform(0.2, 1) * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) for k in range(1, 6))
        v = v + 0.1 * rng.standard_normal(n)
    else:
        v = np.zeros(n)
        for _ in range(int(rng.integers(3, 7))):
            other = pool[rng.integers(len(pool))]
            start = int(rng.integers(0, max(1, len(other) - 1)))
            piece = np.resize(np.roll(other, -start), n)
            v += piece / (np.sqrt(np.mean(piece**2)) + 1e-9)
    speech_power = np.mean(x[np.abs(x) > 0.01 * np.max(np.abs(x)) + 1e-9] ** 2) if np.any(x) else 1e-6
    snr_db = rng.uniform(-2, 30)
    v = v * np.sqrt(speech_power / (np.mean(v**2) + 1e-12) / 10 ** (snr_db / 10))
    return (x + v).astype(np.float32)


def gain(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scale to a peak of -40 to -1 dBFS (and, rarely, clip)."""
    peak = np.max(np.abs(x)) + 1e-9
    level = 10 ** (rng.uniform(-40, -1) / 20)
    if rng.uniform() < 0.05:
        level *= 3  # overdriven
    return np.clip(x * (level / peak), -1, 1).astype(np.float32)


def degrade(x: np.ndarray, rng: np.random.Generator, pool: list[np.ndarray]) -> tuple[np.ndarray, float, int, str]:
    """A random chain: speed, padding, reverb, noise, band limit, codec, gain.

    Returns
    -------
    samples, time factor (new time = old time / factor + offset), offset in samples, a
    short description of the chain.
    """
    steps = []
    factor = 1.0
    if rng.uniform() < 0.3:
        x, factor = speed(x, rng)
        steps.append(f"speed{factor:.2f}")
    x, offset = pad(x, rng)
    if rng.uniform() < 0.35:
        x = reverb(x, rng)
        steps.append("reverb")
    if rng.uniform() < 0.65:
        x = noise(x, rng, pool)
        steps.append("noise")
    if rng.uniform() < 0.25:
        x = band_limit(x, rng)
        steps.append("band")
    if rng.uniform() < 0.25:
        x = codec(x, rng)
        steps.append("codec")
    x = gain(x, rng)
    return x, factor, offset, "+".join(steps) or "clean"
