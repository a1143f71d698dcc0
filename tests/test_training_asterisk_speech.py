"""The real-speech shards of ``training.asterisk_speech``: a telephone system's prompts, aligned to their text."""

from __future__ import annotations

import gzip
import json

import numpy as np
from encoded_audio import encode

from mouthpiece.phonetics.tts import tts
from mouthpiece.vocabulary import VISEMES
from training import asterisk_speech

SAID = "Por favor, marque el numero de su buzon."
NOT_SAID = "Esta es una frase completamente distinta que dura mucho mas de lo que realmente se dijo, de verdad."


def write_g722(samples: np.ndarray, path) -> None:
    """Raw G.722 at 16 kHz, as the -g722 packages hold their prompts."""
    encode(path, [(np.clip(samples, -1, 1) * 32767).astype(np.int16)], format="g722", codec="g722")


def make_packages(root):
    """The Spanish packages as Debian lays them out: the prompt list and the G.722 recordings."""
    docs, sounds = root / "doc" / "asterisk-core-sounds-es", root / "sounds" / "es_MX_f_Allison"
    docs.mkdir(parents=True)
    (sounds / "digits").mkdir(parents=True)
    listing = f"; Core Asterisk Sounds in Spanish\n\nbeep: [un tono]\nvm-buzon: {SAID}\ndigits/otro: {NOT_SAID}\n"
    with gzip.open(docs / "core-sounds-es.txt.gz", "wt", encoding="utf-8") as f:
        f.write(listing)
    audio, phones = tts(SAID, voice="es-419")
    for name in ("vm-buzon", "digits/otro", "beep"):  # both spoken prompts say SAID: the second's text does not match
        write_g722(audio.samples, sounds / f"{name}.g722")
    return audio, phones


def test_g722_prompts_are_read_at_16_khz(tmp_path):
    audio, _ = make_packages(tmp_path)
    listed = asterisk_speech.prompts("es", tmp_path / "sounds", tmp_path / "doc")
    assert [(name, text) for name, _, text in listed] == [("digits/otro", NOT_SAID), ("vm-buzon", SAID)]
    samples = asterisk_speech.read_g722(listed[1][1])
    assert abs(len(samples) - len(audio.samples)) < 400
    n = min(len(samples), len(audio.samples)) // 640 * 640
    envelope = [np.abs(x[:n]).reshape(-1, 640).mean(1) for x in (samples, audio.samples)]
    assert np.corrcoef(*envelope)[0, 1] > 0.95  # the same speech, through a codec


def test_a_prompt_becomes_frames_whose_closures_follow_its_speech_and_a_mismatched_one_is_refused(tmp_path):
    _, phones = make_packages(tmp_path)
    out = tmp_path / "data"
    asterisk_speech.main(["--sounds", str(tmp_path / "sounds"), "--docs", str(tmp_path / "doc"), "--out", str(out),
                          "--languages", "es"])  # fmt: skip
    shards = sorted(out.glob("*/shard_asterisk*.npz"))
    assert len(shards) == 1 and shards[0].parent.name == "train"
    with np.load(shards[0]) as z:
        assert z["ids"].tolist() == ["es-vm-buzon", "es-vm-buzon-d"]
        assert z["chains"][0] == "real:clean" and z["chains"][1].startswith("real:")
        clean = z["viseme"][z["offsets"][0] : z["offsets"][1]]
    summary = json.loads((out / "summary_asterisk40.json").read_text())
    assert sum(summary["refused"].values()) == 1
    closed = np.flatnonzero(clean == VISEMES.index("PP")) / 100 + 0.0125
    bilabials = [p for p in phones.phones if p.label in ("P", "B", "M")]
    assert len(bilabials) >= 3
    for p in bilabials:
        assert np.min(np.abs(closed - (p.start + p.end) / 2)) < 0.04 + (p.end - p.start) / 2
