"""The real-speech shards of ``training.real_speech``: a game's voiced lines, aligned to their text."""

from __future__ import annotations

import json

import numpy as np

from mouthpiece.audio.save import save
from mouthpiece.phonetics.tts import tts
from mouthpiece.vocabulary import VISEMES
from training import real_speech

SAID = "Mama bakt brood met boter."
NOT_SAID = "Dit is een heel andere zin die veel langer duurt dan wat er werkelijk gezegd werd, echt waar."


def make_game(root):
    """A game folder as Fish Fillets NG lays it out: a level's Dutch script and its lines' sounds."""
    (root / "script" / "kitchen").mkdir(parents=True)
    (root / "sound" / "kitchen" / "nl").mkdir(parents=True)
    lines = {"kit-m-mama": SAID, "kit-v-other": NOT_SAID}
    script = "".join(f'dialogId("{name}", "font", "English")\ndialogStr("{text}")\n\n' for name, text in lines.items())
    (root / "script" / "kitchen" / "dialogs_nl.lua").write_text(script, encoding="utf-8")
    audio, phones = tts(SAID, voice="nl")
    for name in lines:  # both sound files say SAID: the second line's text does not match
        save(audio, root / "sound" / "kitchen" / "nl" / f"{name}.ogg")
    return phones


def test_a_line_becomes_frames_whose_closures_follow_its_speech_and_a_mismatched_one_is_refused(tmp_path):
    phones = make_game(tmp_path / "game")
    out = tmp_path / "data"
    real_speech.main(["--game", str(tmp_path / "game"), "--out", str(out), "--languages", "nl"])
    shards = sorted(out.glob("*/shard_real*.npz"))
    assert len(shards) == 1 and shards[0].parent.name == "train"
    with np.load(shards[0]) as z:
        assert z["ids"].tolist() == ["nl-kitchen-kit-m-mama", "nl-kitchen-kit-m-mama-d"]
        assert all(chain.startswith("real:") for chain in z["chains"]) and z["chains"][0] == "real:clean"
        clean = z["viseme"][z["offsets"][0] : z["offsets"][1]]
    summary = json.loads((out / "summary_real30.json").read_text())
    assert summary["refused"] == {"nl:misaligned": 1}
    # every bilabial espeak-ng said (M, M, B, B, M) has closure frames within 40 ms of it
    closed = np.flatnonzero(clean == VISEMES.index("PP")) / 100 + 0.0125
    bilabials = [p for p in phones.phones if p.label in ("P", "B", "M")]
    assert len(bilabials) >= 4
    for p in bilabials:
        assert np.min(np.abs(closed - (p.start + p.end) / 2)) < 0.04 + (p.end - p.start) / 2
