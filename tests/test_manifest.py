"""Render and dub batches from a manifest CSV (`mouthpiece render|dub --manifest jobs.csv --jobs N`)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from mouthpiece import api
from mouthpiece.audio import save
from mouthpiece.cli import main
from mouthpiece.render.reader import probe_video

ASTRONAUT = resources.files("mouthpiece") / "data" / "astronaut.png"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Two voice lines, a photo and a short talking video to dub, side by side."""
    root = tmp_path_factory.mktemp("manifest")
    for name, text in (("one.wav", "Bob bought a map."), ("two.wav", "We will be back soon.")):
        save(api.say(text)[0], root / name)
    (root / "face.png").write_bytes(ASTRONAUT.read_bytes())
    speech, animation = api.say("How are you today?", fps=25)
    api.render_video(api.load_portrait(ASTRONAUT, size=(128, 128)), animation, root / "take.mp4", audio=speech)
    return root


def test_a_render_manifest_makes_a_video_per_row_with_its_own_options(folder, tmp_path):
    manifest = folder / "render.csv"
    manifest.write_text(
        "portrait,audio,output,size,emotion,seed,idle\n"
        "face.png,one.wav,out/one.mp4,128,happy,3,false\n"
        "face.png,two.wav,out/two.mp4,96x128,,,\n"
        "face.png,missing.wav,out/three.mp4,,,,\n"
        "face.png,one.wav,out/four.mp4,,,seven,\n"
    )
    report = tmp_path / "report.json"
    command = ["render", "--manifest", str(manifest), "--jobs", "2", "--fps", "10", "-q", "--report", str(report)]
    assert main(command) == 1
    sizes = {name: probe_video(folder / "out" / name) for name in ("one.mp4", "two.mp4")}
    assert (sizes["one.mp4"].width, sizes["one.mp4"].height) == (128, 128)
    assert (sizes["two.mp4"].width, sizes["two.mp4"].height) == (96, 128)  # the row's size over --size
    assert all(info.fps == 10 and info.has_audio for info in sizes.values())  # --fps for every row
    assert sorted(p.name for p in (folder / "out").iterdir()) == ["one.mp4", "two.mp4"]  # nothing half-written
    rows = {Path(r["output"]).name: r for r in json.loads(report.read_text())["files"]}
    statuses = [rows[n]["status"] for n in ("one.mp4", "two.mp4", "three.mp4", "four.mp4")]
    assert statuses == ["ok", "ok", "error", "error"]
    assert "missing.wav" in rows["three.mp4"]["message"] and "does not exist" in rows["three.mp4"]["message"]
    assert "Row 5" in rows["four.mp4"]["message"] and "seed" in rows["four.mp4"]["message"]
    # resuming does only what is missing
    assert main(["render", "--manifest", str(manifest), "--jobs", "1", "--skip-existing", "-q",
                 "--report", str(report)]) == 1  # fmt: skip
    statuses = sorted(r["status"] for r in json.loads(report.read_text())["files"])
    assert statuses == ["error", "error", "skipped", "skipped"]


def test_a_dub_manifest_dubs_each_row(folder):
    manifest = folder / "dub.csv"
    manifest.write_text("video,audio,output,fit,style\ntake.mp4,two.wav,dubs/two.mp4,cut,generic\n")
    assert main(["dub", "--manifest", str(manifest), "--jobs", "1", "-q"]) == 0
    take, dubbed = probe_video(folder / "take.mp4"), probe_video(folder / "dubs" / "two.mp4")
    assert (dubbed.width, dubbed.height, dubbed.fps) == (take.width, take.height, take.fps)
    assert dubbed.duration <= take.duration + 0.05  # cut: no longer than the video


@pytest.mark.parametrize(
    "header, says",
    [
        ("portrait,audio\n", "has no column 'output'"),
        ("portrait,audio,output,colour\n", "column 'colour' that is no option of render"),
        ("portrait,audio,output\n", "has no rows"),
    ],
)
def test_a_manifest_that_cannot_be_used_is_one_sentence(folder, tmp_path, capsys, header, says):
    manifest = tmp_path / "bad.csv"
    manifest.write_text(header)
    assert main(["render", "--manifest", str(manifest), "-q"]) == 1
    err = capsys.readouterr().err.strip()
    assert says in err and str(manifest) in err and err.count("\n") == 0


def test_render_without_its_files_or_with_both_says_so(folder, capsys):
    assert main(["render", str(folder / "face.png"), "-q"]) == 1
    assert "render needs PORTRAIT and AUDIO and -o OUTPUT (or --manifest CSV" in capsys.readouterr().err
    assert main(["render", str(folder / "face.png"), "--manifest", str(folder / "render.csv"), "-q"]) == 1
    assert "give no portrait beside it" in capsys.readouterr().err
