"""Batches: folders, globs, worker processes, resuming, reports (`mouthpiece animate ... --jobs N`)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from mouthpiece.audio import save
from mouthpiece.batch import expand, plan
from mouthpiece.cli import main
from mouthpiece.errors import InputError
from mouthpiece.phonetics import tts

LINES = {  # our own lines, none from the evaluation corpora
    "intro/hello.wav": "Hello, my name is Bob.",
    "intro/plan.flac": "We have a plan for the big boat.",
    "battle/charge.wav": "Move up, move up, to the bridge!",
    "battle/retreat.mp3": "Pull back, we are out of time.",
}


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> Path:
    """A folder of voice lines in subfolders, and one broken file."""
    root = tmp_path_factory.mktemp("lines")
    for name, text in LINES.items():
        path = root / name
        path.parent.mkdir(exist_ok=True)
        save(tts(text, voice="en-us+f3")[0], path)
    (root / "battle" / "broken.wav").write_text("not audio at all")
    (root / "notes.txt").write_text("a file a folder search leaves alone")
    return root


def _outputs(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_is_animated_by_workers_into_the_same_tree_whatever_the_jobs(lines, tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    report = tmp_path / "report.csv"
    assert main(["animate", str(lines), "-o", str(one), "--jobs", "1", "-q"]) == 1  # the broken file fails
    assert main(["animate", str(lines), "-o", str(two), "--jobs", "2", "-q", "--report", str(report)]) == 1
    err = capsys.readouterr().err
    assert "broken.wav" in err and "1 of 5 inputs failed" in err
    expected = {str(Path(name).with_suffix(".tsv")) for name in LINES}
    assert set(_outputs(one)) == expected
    assert _outputs(two) == _outputs(one)  # byte for byte, whatever the number of workers
    with report.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and sorted(r["status"] for r in rows) == ["error", "ok", "ok", "ok", "ok"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(float(r["duration"]) > 1.0 and float(r["real_time_factor"]) > 0 for r in ok)
    assert "broken.wav" in next(r for r in rows if r["status"] == "error")["message"]


def test_skip_existing_resumes_a_batch_and_leaves_no_partial_files(lines, tmp_path):
    out = tmp_path / "out"
    pattern = str(lines / "**" / "*.wav")  # a glob, as a shell would not expand it
    main(["animate", pattern, "-o", str(out), "-q"])
    first = _outputs(out)
    assert set(first) == {"intro/hello.tsv", "battle/charge.tsv"}
    (out / "battle" / "charge.tsv").unlink()  # as if the batch had been killed (SIGKILL) while writing it
    (out / "battle" / ".charge.tsv.0a1b2c.tmp.tsv").write_text("0.00\tX\n0.")
    stamp = os.stat(out / "intro" / "hello.tsv").st_mtime_ns
    report = tmp_path / "again.json"
    main(["animate", pattern, "-o", str(out), "-q", "--skip-existing", "--report", str(report), "--jobs", "2"])
    assert _outputs(out) == first and os.stat(out / "intro" / "hello.tsv").st_mtime_ns == stamp
    summary = json.loads(report.read_text())
    assert (summary["ok"], summary["skipped"], summary["errors"]) == (1, 1, 1)
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no hidden temporary files


def test_names_are_planned_before_any_work(lines, tmp_path):
    found = expand([str(lines / "intro"), str(lines / "battle" / "charge.wav")])
    assert [relative for _, relative in found] == ["hello.wav", "plan.flac", "charge.wav"]
    items = plan(found, str(tmp_path), ".json")
    assert [Path(i.target).name for i in items] == ["hello.json", "plan.json", "charge.json"]
    with pytest.raises(InputError, match="would both be written to"):
        plan([("a/x.wav", "x.wav"), ("b/x.mp3", "x.mp3")], str(tmp_path), ".tsv")
    with pytest.raises(InputError, match="holds no audio or video files"):
        expand([str(tmp_path)])
    with pytest.raises(InputError, match="No file matches"):
        expand([str(lines / "*.ogg")])


@pytest.mark.slow
def test_a_batch_on_a_ray_cluster_writes_the_same_files_here(lines, tmp_path):
    pytest.importorskip("ray", reason="Ray comes with mouthpiece[cluster], which `make install` installs")
    import subprocess
    import sys

    from mouthpiece.cluster import local_cluster

    local, remote = tmp_path / "local", tmp_path / "ray"
    report = tmp_path / "ray.json"
    assert main(["animate", str(lines), "-o", str(local), "--jobs", "1", "-q", "--text-sidecar"]) == 1
    (lines / "intro" / "hello.txt").write_text(LINES["intro/hello.wav"])  # a transcript the driver ships
    try:
        with local_cluster(2) as address:
            # in its own process: Ray's import and its connection stay out of the test process
            run = subprocess.run(
                [sys.executable, "-m", "mouthpiece.cli", "animate", str(lines), "-o", str(remote), "--ray", address,
                 "--text-sidecar", "-q", "--report", str(report)],
                capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
            )  # fmt: skip
        with_text = tmp_path / "with-text.tsv"
        assert main(["animate", str(lines / "intro" / "hello.wav"), "-o", str(with_text), "--text-sidecar", "-q"]) == 0
    finally:
        (lines / "intro" / "hello.txt").unlink()
    assert run.returncode == 1 and "broken.wav" in run.stderr and "1 of 5 inputs failed" in run.stderr, run.stderr
    outputs = _outputs(remote)
    assert outputs.pop("intro/hello.tsv") == with_text.read_bytes()  # its transcript went with it
    assert outputs == {k: v for k, v in _outputs(local).items() if k != "intro/hello.tsv"}  # byte for byte
    rows = json.loads(report.read_text())["files"]
    assert sorted(r["status"] for r in rows) == ["error", "ok", "ok", "ok", "ok"]
    assert all(r["seconds"] > 0 for r in rows if r["status"] == "ok")
    assert not [p for p in remote.rglob(".*")]  # no temporary file left


def test_a_ray_address_nobody_answers_is_one_sentence(lines, tmp_path, capsys):
    pytest.importorskip("ray", reason="Ray comes with mouthpiece[cluster], which `make install` installs")
    assert main(["animate", str(lines), "-o", str(tmp_path / "out"), "--ray", "127.0.0.1:9", "-q"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "mouthpiece: No Ray cluster answers at '127.0.0.1:9' (Connection refused)." and "\n" not in err
    assert not (tmp_path / "out").exists()
