"""The mouthpiece command end to end, on speech the tests synthesize with espeak-ng."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from mouthpiece import api
from mouthpiece.audio import save
from mouthpiece.cli import main
from mouthpiece.export import read_anim_json
from mouthpiece.types import Audio
from mouthpiece.vocabulary import CHANNELS

ASTRONAUT = Path(__file__).resolve().parents[1] / "src" / "mouthpiece" / "data" / "astronaut.png"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mouthpiece.cli", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def parse_tsv(text: str) -> list[tuple[float, str]]:
    return [(float(t), shape) for t, shape in (line.split("\t") for line in text.strip().splitlines())]


def shape_at(cues: list[tuple[float, str]], t: float) -> str:
    current = "X"
    for start, shape in cues:
        if start > t:
            break
        current = shape
    return current


def closed_near(cues, start, end, slack=0.03) -> bool:
    return any(shape_at(cues, t) == "A" for t in np.arange(start - slack, end + slack, 0.01))


@pytest.mark.slow
def test_animate_prints_rhubarb_tsv_with_closures_at_espeaks_bilabials(spoken):
    result = run("animate", str(spoken.wav), "--text", spoken.text)
    assert result.returncode == 0, result.stderr
    cues = parse_tsv(result.stdout)
    assert cues[0] == (0.0, "X") and cues[-1][1] == "X"
    assert cues[-1][0] == pytest.approx(spoken.audio.duration, abs=0.011)
    assert all(a[0] < b[0] for a, b in zip(cues, cues[1:]))
    for start, end in spoken.bilabial_times():
        assert closed_near(cues, start, end), (start, end)


def test_animate_without_transcript_writes_a_plausible_track(spoken, tmp_path, capsys):
    out = tmp_path / "plums.tsv"
    assert main(["animate", str(spoken.wav), "-o", str(out), "-q"]) == 0
    cues = parse_tsv(out.read_text())
    words = spoken.phones.words
    speaking = [shape_at(cues, t) for t in np.arange(words[0].start + 0.05, words[-1].end - 0.05, 0.01)]
    assert sum(s in "BCDEFGH" for s in speaking) > 0.6 * len(speaking)  # the mouth moves while speaking
    assert shape_at(cues, 0.0) == "X" and cues[-1][1] == "X"  # and rests outside speech
    # closure accuracy without a transcript is measured by benchmarks/accuracy.py, not asserted here


def test_heard_cue_shapes_keep_the_closures_and_open_where_the_jaw_does(spoken, tmp_path):
    phonetic, heard = tmp_path / "phonetic.tsv", tmp_path / "heard.tsv"
    assert main(["animate", str(spoken.wav), "--text", spoken.text, "-o", str(phonetic), "-q"]) == 0
    assert main(["animate", str(spoken.wav), "--text", spoken.text, "-o", str(heard), "-q",
                 "--cue-shapes", "heard", "-f", "anim-json"]) == 0  # fmt: skip
    from mouthpiece.export import read_anim_json

    animation = read_anim_json(heard)
    cues = [(s.start, s.label) for s in animation.cues.segments]
    for start, end in spoken.bilabial_times():
        assert closed_near(cues, start, end), (start, end)
    assert {label for _, label in cues} <= set("ABCDFGHX") and "E" not in {label for _, label in cues}
    jaw, fps = animation.channel("JawOpen"), animation.fps
    widest = [jaw[int(s.start * fps) : max(int(s.start * fps) + 1, int(s.end * fps))].mean()
              for s in animation.cues.segments if s.label == "D"]  # fmt: skip
    slight = [jaw[int(s.start * fps) : max(int(s.start * fps) + 1, int(s.end * fps))].mean()
              for s in animation.cues.segments if s.label == "B"]  # fmt: skip
    assert widest and slight and np.mean(widest) > np.mean(slight) + 0.1
    assert parse_tsv(phonetic.read_text()) != cues


def _check_formats(path: Path, fmt: str, duration: float) -> None:
    text = path.read_text(encoding="utf-8")
    if fmt == "tsv":
        assert parse_tsv(text)[-1][1] == "X"
    elif fmt == "xml":
        root = ET.fromstring(text)
        assert root.tag == "rhubarbResult"
        cues = root.find("mouthCues")
        assert cues is not None and len(cues) > 3
        assert float(root.find("metadata/duration").text) == pytest.approx(duration, abs=0.01)
    elif fmt == "json":
        data = json.loads(text)
        assert data["mouthCues"][0]["start"] == 0 and {c["value"] for c in data["mouthCues"]} <= set("ABCDEFGHX")
    elif fmt == "dat":
        lines = text.splitlines()
        assert lines[0] == "MohoSwitch1" and all(len(line.split()) == 2 for line in lines[1:])
    elif fmt == "arkit-csv":
        rows = list(csv.reader(text.splitlines()))
        assert rows[0][2:] == list(CHANNELS) and rows[0][:2] == ["Timecode", "BlendShapeCount"]
        jaw = np.array([float(r[2 + CHANNELS.index("JawOpen")]) for r in rows[1:]])
        assert len(rows) - 1 == int(np.ceil(duration * 30)) and jaw.max() > 0.3
    elif fmt == "anim-json":
        animation = read_anim_json(path)
        assert animation.fps == 30 and animation.phones is not None and animation.cues is not None
    elif fmt == "oculus":
        rows = list(csv.reader(text.splitlines()))
        weights = np.array(rows[1:], float)[:, 1:]
        np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-4)


@pytest.mark.parametrize(
    "fmt, name", [("tsv", "a.tsv"), ("xml", "a.xml"), ("json", "a.json"), ("dat", "a.dat"),
                  ("arkit-csv", "a.csv"), ("anim-json", "a.anim"), ("oculus", "a.oculus")],
)  # fmt: skip
def test_every_format_parses_back(spoken, tmp_path, fmt, name):
    out = tmp_path / name
    args = ["animate", str(spoken.wav), "-o", str(out), "--fps", "30", "-q", "--text", spoken.text]
    if not name.endswith((".tsv", ".xml", ".json", ".dat", ".csv")):
        args += ["-f", fmt]
    assert main(args) == 0
    _check_formats(out, fmt, spoken.audio.duration)


def test_no_extended_shapes_gives_only_a_to_f_and_x(spoken, capsys):
    assert main(["animate", str(spoken.wav), "--no-extended-shapes", "--text-sidecar", "-q"]) == 0
    assert {s for _, s in parse_tsv(capsys.readouterr().out)} <= set("ABCDEFX")


@pytest.mark.parametrize("letters, allowed", [("GX", "ABCDEFGX"), ("H", "ABCDEFH"), ("", "ABCDEF")])
def test_extended_shapes_choose_a_subset_as_rhubarbs_option_does(spoken, capsys, letters, allowed):
    assert main(["animate", str(spoken.wav), "--extended-shapes", letters, "--text-sidecar", "-q"]) == 0
    cues = parse_tsv(capsys.readouterr().out)
    assert {s for _, s in cues} <= set(allowed) and len(cues) > 5
    if "X" not in letters:
        assert cues[0][1] == "A" and cues[-1][1] == "A"  # rest is A where X is not drawn


def test_extended_shapes_other_than_g_h_x_are_refused(spoken, capsys):
    assert main(["animate", str(spoken.wav), "--extended-shapes", "GQ", "-q"]) == 1
    assert "letters from G, H and X" in capsys.readouterr().err


def test_silence_is_a_valid_all_rest_animation(tmp_path, capsys):
    wav = tmp_path / "quiet.wav"
    save(Audio(np.zeros(16_000, np.float32)), wav)
    assert main(["animate", str(wav), "-q"]) == 0
    assert parse_tsv(capsys.readouterr().out) == [(0.0, "X"), (1.0, "X")]


def test_a_transcript_that_does_not_fit_falls_back_with_a_warning(tmp_path, capsys):
    wav = tmp_path / "short.wav"
    save(Audio(np.zeros(4_000, np.float32)), wav)
    long_text = "This transcript is much too long for a quarter of a second of silence to hold."
    assert main(["animate", str(wav), "--text", long_text]) == 0
    assert "recognizing phones instead" in capsys.readouterr().err


def test_batch_writes_one_file_per_input_and_survives_a_bad_one(spoken, tmp_path, capsys):
    bad = tmp_path / "broken.wav"
    bad.write_text("not audio at all")
    out = tmp_path / "out"
    code = main(["animate", str(spoken.wav), str(bad), "-o", str(out), "-f", "json", "--text-sidecar", "-q"])
    assert code == 1
    assert sorted(os.listdir(out)) == ["plums.json"]
    err = capsys.readouterr().err
    assert "broken.wav" in err and "1 of 2 inputs failed" in err


def test_a_batch_never_writes_two_inputs_to_one_file(spoken, tmp_path, capsys):
    lines = tmp_path / "lines"
    lines.mkdir()
    (lines / "radio.wav").write_bytes(spoken.wav.read_bytes())
    save(spoken.audio, lines / "radio.flac")
    out = tmp_path / "out"
    assert main(["animate", str(lines / "radio.wav"), str(lines / "radio.flac"), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "radio.wav' and '" in err and "radio.flac' would both be written to" in err
    assert not out.exists()  # refused before any work
    single = tmp_path / "single.tsv"
    assert main(["animate", str(lines / "radio.wav"), str(spoken.wav), "-o", str(single), "-q"]) == 1
    assert "names a file: give -o a folder" in capsys.readouterr().err and not single.exists()


def _bad_inputs(tmp_path: Path, spoken) -> dict[str, tuple[list[str], str]]:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    truncated = tmp_path / "truncated.m4a"
    save(spoken.audio, truncated)
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
    zero = tmp_path / "zero.wav"
    zero.write_bytes(b"")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café crème".encode("latin-1"))
    wav = str(spoken.wav)
    return {
        "missing file": (["animate", str(tmp_path / "nope.wav")], "nope.wav"),
        "not audio": (["animate", str(text_file)], "notes.txt"),
        "truncated file": (["animate", str(truncated)], "truncated.m4a"),
        "zero-length audio": (["animate", str(empty)], "empty.wav"),
        "zero-byte file": (["animate", str(zero)], "zero.wav"),
        "unknown format": (["animate", wav, "-f", "gif"], "gif"),
        "unknown extension": (["animate", wav], ".gif"),
        "non-UTF-8 transcript": (["animate", wav, "--text-file", str(latin1)], "latin1.txt"),
        "missing transcript": (["animate", wav, "--text-file", str(tmp_path / "none.txt")], "none.txt"),
        "longer than --max-seconds": (["animate", wav, "--max-seconds", "0.5"], spoken.wav.name),
        "longer than --max-seconds, with text": (
            ["animate", wav, "--max-seconds", "0.5", "--text", spoken.text],
            spoken.wav.name,
        ),
    }


@pytest.mark.parametrize(
    "case",
    ["missing file", "not audio", "truncated file", "zero-length audio", "zero-byte file", "unknown format",
     "unknown extension", "non-UTF-8 transcript", "missing transcript", "longer than --max-seconds",
     "longer than --max-seconds, with text"],
)  # fmt: skip
def test_bad_input_gets_one_sentence_exit_1_and_no_output(spoken, tmp_path, case):
    args, named = _bad_inputs(tmp_path, spoken)[case]
    out = tmp_path / "result" / ("out.gif" if case == "unknown extension" else "out.tsv")
    out.parent.mkdir()
    result = run(*args, "-o", str(out))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mouthpiece: ") and named in lines[0]
    assert os.listdir(out.parent) == []


def test_usage_errors_exit_2():
    assert run("animate").returncode == 2
    assert run("animate", "x.wav", "--fps", "0").returncode == 2
    assert run("render", "x.png", "x.wav", "--max-seconds", "0").returncode == 2


def test_say_writes_speech_and_its_animation(tmp_path):
    wav, anim = tmp_path / "hi.wav", tmp_path / "hi.json"
    result = run("say", "Bob bought a map.", "-o", str(wav), "--animation", str(anim), "--fps", "25")
    assert result.returncode == 0, result.stderr
    with wave.open(str(wav)) as w:
        assert w.getframerate() == 16_000 and w.getnframes() > 8_000
    animation = read_anim_json(anim)
    assert animation.fps == 25 and [w.text for w in animation.phones.words] == ["Bob", "bought", "a", "map"]
    bad = run("say", "Hello", "--voice", "no-such-voice", "-o", str(tmp_path / "x.wav"))
    assert bad.returncode == 1 and "no-such-voice" in bad.stderr and not (tmp_path / "x.wav").exists()


def test_demo_writes_every_format_a_talking_video_and_its_dub(tmp_path):
    from mouthpiece.render.reader import probe_video

    result = run("demo", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    files = sorted(os.listdir(tmp_path / "demo"))
    assert len(files) == 10 and {"speech.wav", "speech.tsv", "talking.mp4", "dubbed.mp4"} <= set(files)
    assert str(tmp_path / "demo" / "talking.mp4") in result.stdout
    talking, dubbed = (probe_video(tmp_path / "demo" / name) for name in ("talking.mp4", "dubbed.mp4"))
    assert (dubbed.width, dubbed.height, dubbed.fps) == (talking.width, talking.height, talking.fps)


def test_progress_is_reported_and_drawn_only_on_a_terminal(spoken, monkeypatch, capsys):
    from mouthpiece import api
    from mouthpiece.cli import ProgressBar

    seen: list[float] = []
    animation = api.animate_file(spoken.wav, progress=seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    assert animation.phones.words  # the words recognition heard are kept

    ProgressBar("x", enabled=True)(0.5)  # stderr is not a terminal under pytest: silent
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = ProgressBar("plums.wav", enabled=True)
    bar(0.5)
    bar.close()
    assert "plums.wav [###############...............]  50%" in capsys.readouterr().err


def test_animate_can_add_life_and_emotion_to_the_curves(spoken, tmp_path):
    def curves(*extra: str) -> dict[str, np.ndarray]:
        out = tmp_path / f"{len(list(tmp_path.iterdir()))}.anim.json"
        result = run(
            "animate", str(spoken.wav), "--text", spoken.text, "-f", "anim-json", "-o", str(out), "--fps", "30", *extra
        )
        assert result.returncode == 0, result.stderr
        data = json.loads(out.read_text())
        values = np.array(data["values"])
        return {name: values[:, i] for i, name in enumerate(data["channels"])}

    plain = curves()
    assert not plain["EyeBlinkLeft"].any() and not plain["HeadYaw"].any()  # as Rhubarb users expect
    lively = curves("--idle", "--seed", "4")
    assert lively["EyeBlinkLeft"].max() > 0.9 and np.abs(lively["HeadYaw"]).max() > 0
    np.testing.assert_array_equal(lively["HeadYaw"], curves("--idle", "--seed", "4")["HeadYaw"])
    happy = curves("--emotion", "happy", "--intensity", "1")
    assert happy["MouthSmileLeft"].mean() > plain["MouthSmileLeft"].mean() + 0.2
    assert not happy["EyeBlinkLeft"].any()


@pytest.fixture(scope="module")
def talking_video(spoken, tmp_path_factory) -> Path:
    """A small talking portrait with its speech: a video to dub."""
    path = tmp_path_factory.mktemp("video") / "take.mp4"
    portrait = api.load_portrait(ASTRONAUT, size=(256, 256))
    api.render_video(portrait, api.animate(spoken.audio, text=spoken.text, fps=25), path, audio=spoken.audio)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("command", ["render", "dub"])
@pytest.mark.parametrize("name, status, says", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated"),
                                                ("SIGHUP", 129, "terminated")])  # fmt: skip
def test_a_signal_mid_video_leaves_no_file_and_exits_non_zero(spoken, talking_video, tmp_path, command, name,
                                                              status, says):  # fmt: skip
    import signal
    import time

    # long enough to be stopped mid-way: the encoder holds its first 20 kB back for a while,
    # and 6 repeats of a render once finished just as the signal came (a fresh clone's CI)
    repeats = 20 if command == "render" else 30
    long = tmp_path / "long.wav"
    save(Audio(np.tile(spoken.audio.samples, repeats), spoken.audio.sample_rate), long)
    out = tmp_path / "out" / "talk.mp4"
    out.parent.mkdir()
    source = str(ASTRONAUT) if command == "render" else str(talking_video)
    extra = ["--style", "generic"] if command == "dub" else []
    # SIGINT as at a terminal: a suite started in the background (`pytest &` from a script)
    # passes its children SIGINT ignored, and the CLI would never hear it
    process = subprocess.Popen([sys.executable, "-m", "mouthpiece.cli", command, source, str(long), "-o", str(out),
                                "--text", " ".join([spoken.text] * repeats), "-q", *extra],
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip

    def written() -> int:
        return sum(p.stat().st_size for p in out.parent.iterdir() if p.is_file())

    deadline = time.monotonic() + 120
    while written() < 20_000 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # until frames are being encoded (past the face tracker's start-up)
    assert process.poll() is None and not out.exists(), f"the {command} ended before it could be stopped"
    process.send_signal(getattr(signal, name))
    _, err = process.communicate(timeout=60)
    assert process.returncode == status and says in err, (process.returncode, err)
    assert list(out.parent.iterdir()) == []  # neither the video nor its hidden temporary file


@pytest.mark.parametrize("command", ["say", "render"])
def test_an_unwritable_animation_path_fails_before_any_work(spoken, tmp_path, capsys, command):
    portrait = Path(__file__).resolve().parents[1] / "src" / "mouthpiece" / "data" / "astronaut.png"
    out = tmp_path / ("hello.wav" if command == "say" else "talk.mp4")
    animation = tmp_path / "no" / "such" / "folder" / "a.json"
    args = ["say", "Hello.", "-o", str(out)] if command == "say" else ["render", str(portrait), str(spoken.wav),
                                                                         "-o", str(out)]  # fmt: skip
    assert main([*args, "--animation", str(animation), "-q"]) == 1
    assert "does not exist" in capsys.readouterr().err and not out.exists()
