"""eval cues: the reference and prediction formats, the metrics on a case worked by hand and
on espeak-ng speech with exact phones, folder mode, and the bad inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mouthpiece import api
from mouthpiece.cli import main
from mouthpiece.errors import InputError
from mouthpiece.evaluate.cues import METRICS, sample_shapes, score_cues
from mouthpiece.evaluate.formats import read_predicted, read_reference, reference_label
from mouthpiece.motion import to_cues
from mouthpiece.types import Animation, Phone, PhoneTrack, Segment, ShapeTrack
from mouthpiece.vocabulary import CHANNELS, SILENCE, VOWELS

# --- writing the formats -------------------------------------------------------------------


def tiled(phones: PhoneTrack) -> list[Phone]:
    """The phones with times rounded to 100 ns and any gap filled with silence, as every
    format can hold them (Festival labels have no start times, HTK counts 100 ns)."""
    out: list[Phone] = []
    for p in phones.phones:
        start, end = round(p.start, 7), round(p.end, 7)
        if out and start > out[-1].end:
            out.append(Phone(out[-1].end, start, SILENCE))
        out.append(Phone(start, end, p.label))
    return out


def stressed(label: str) -> str:
    """The label as CMUdict writes it: AX is AH0, other vowels carry a stress digit."""
    return "AH0" if label == "AX" else label + "1" if label in VOWELS else label


def write_tsv(phones: list[Phone], path) -> None:
    lines = ["start\tend\tphone\tnote"] + [f"{p.start!r}\t{p.end!r}\t{p.label}\tx" for p in phones]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_textgrid(phones: list[Phone], path, *, short: bool = False, encoding: str = "utf-8") -> None:
    """A TextGrid with a words tier first and the phones (CMUdict labels, silence empty) second."""
    end = phones[-1].end
    tiers = [("words", [(0.0, end, "please pass me")]), ("phones", [(p.start, p.end, p.label) for p in phones])]
    if short:
        lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "0", repr(end), "<exists>", "2"]
        for name, intervals in tiers:
            lines += ['"IntervalTier"', f'"{name}"', "0", repr(end), str(len(intervals))]
            for a, b, label in intervals:
                lines += [repr(a), repr(b), '"' + ("" if label == SILENCE else stressed(label)) + '"']
    else:
        lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ", f"xmax = {end!r} ",
                 "tiers? <exists> ", "size = 2 ", "item []: "]  # fmt: skip
        for k, (name, intervals) in enumerate(tiers, 1):
            lines += [f"    item [{k}]:", '        class = "IntervalTier" ', f'        name = "{name}" ']
            lines += ["        xmin = 0 ", f"        xmax = {end!r} ", f"        intervals: size = {len(intervals)} "]
            for i, (a, b, label) in enumerate(intervals, 1):
                text = "" if label == SILENCE else stressed(label)
                lines += [f"        intervals [{i}]:", f"            xmin = {a!r} ", f"            xmax = {b!r} ",
                          f'            text = "{text}" ']  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding=encoding)


def write_htk(phones: list[Phone], path) -> None:
    """HTK: 100 ns units, lower-case labels, silence as ``sp``."""
    rows = [f"{round(p.start * 1e7)} {round(p.end * 1e7)} {'sp' if p.label == SILENCE else p.label.lower()}"
            for p in phones]  # fmt: skip
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_festival(phones: list[Phone], path) -> None:
    """Festival: end times only, silence as ``pau``, Rhubarb's ``Schwa``."""
    names = {SILENCE: "pau", "AX": "Schwa"}
    rows = ["separator ;", "nfields 1", "#"] + [f"    {p.end!r} 125 {names.get(p.label, p.label)}" for p in phones]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_cues(track: ShapeTrack, path, fmt: str) -> None:
    """A mouth-cue track in one of our export formats."""
    animation = Animation(fps=100, values=np.zeros((0, len(CHANNELS))), cues=track)
    api.export_file(animation, path, format=fmt)


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in METRICS)


@pytest.fixture(scope="module")
def reference(spoken, tmp_path_factory):
    """The spoken sentence's exact phones as tiled phones and a reference TSV."""
    folder = tmp_path_factory.mktemp("cues")
    phones = tiled(spoken.phones)
    write_tsv(phones, folder / "plums.phones.tsv")
    return phones, folder


@pytest.fixture(scope="module")
def animated(spoken, reference):
    """``mouthpiece animate`` of the spoken wav with its transcript, as Rhubarb TSV."""
    _, folder = reference
    target = folder / "plums.tsv"
    assert main(["animate", str(spoken.wav), "--text-sidecar", "-o", str(target), "-q"]) == 0
    return target


# --- formats ---------------------------------------------------------------------------------


def test_every_reference_format_reads_as_the_same_phones(reference, tmp_path):
    phones, folder = reference
    files = {
        "tsv": folder / "plums.phones.tsv",
        "textgrid": tmp_path / "long.TextGrid",
        "textgrid-short-utf16": tmp_path / "short.TextGrid",
        "htk": tmp_path / "htk.lab",
        "festival": tmp_path / "festival.lab",
    }
    write_textgrid(phones, files["textgrid"])
    write_textgrid(phones, files["textgrid-short-utf16"], short=True, encoding="utf-16")
    write_htk(phones, files["htk"])
    write_festival(phones, files["festival"])
    for kind, path in files.items():
        track = read_reference(path)
        assert [p.label for p in track.phones] == [p.label for p in phones], kind
        times = [t for p in track.phones for t in (p.start, p.end)]
        assert times == pytest.approx([t for p in phones for t in (p.start, p.end)], abs=1e-9), kind
        assert track.duration == pytest.approx(phones[-1].end, abs=1e-9)


@pytest.mark.parametrize(
    "label, phone",
    [("AH0", "AX"), ("AH1", "AH"), ("ah", "AH"), ("ER0", "ER"), ("Schwa", "AX"), ("Breath", "EH"), ("Noise", "IH"),
     ("sil", SILENCE), ("SIL", SILENCE), ("pau", SILENCE), ("sp", SILENCE), ("spn", SILENCE), ("h#", SILENCE),
     ("", SILENCE), ("QQ", None), ("AH5", None), ("+NSN+", None)],
)  # fmt: skip
def test_reference_labels(label, phone):
    assert reference_label(label) == phone


def test_the_four_prediction_formats_score_the_same(reference, animated, tmp_path):
    phones, folder = reference
    track = read_predicted(animated, duration=phones[-1].end)
    scores = {"tsv": api.evaluate_cues(folder / "plums.phones.tsv", animated).utterances[0].metrics}
    for fmt, name in (("xml", "p.xml"), ("json", "p.json"), ("anim-json", "p.anim.json")):
        write_cues(track, tmp_path / name, fmt)
        scores[fmt] = api.evaluate_cues(folder / "plums.phones.tsv", tmp_path / name).utterances[0].metrics
    noisy = tmp_path / "noisy.tsv"  # comments, blank lines, extra columns and spaces
    lines = animated.read_text().splitlines()
    noisy.write_text("# made by hand\n\n" + "\n".join(f"{line}\tmore\t1" for line in lines) + "\n")
    scores["noisy tsv"] = api.evaluate_cues(folder / "plums.phones.tsv", noisy).utterances[0].metrics
    assert all(same(scores["tsv"], s) for s in scores.values()), scores


def test_tsv_cues_last_until_the_end_and_x_comes_first(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("0.20\tB\n0.50\tD\n")
    assert sample_shapes(read_predicted(path, duration=0.8), 80).tolist() == ["X"] * 20 + ["B"] * 30 + ["D"] * 30


# --- metrics -----------------------------------------------------------------------------------


def test_a_case_worked_by_hand():
    """1 s: silence, AA, a P, AA, silence. The prediction closes 20 ms after the P (a hit)
    and once inside the first vowel (a miss)."""
    phones = PhoneTrack([(0, 0.3, "sil"), (0.3, 0.45, "AA"), (0.45, 0.55, "P"), (0.55, 0.7, "AA"), (0.7, 1.0, "sil")],
                        1.0)  # fmt: skip
    oracle = sample_shapes(to_cues(phones, bilabial_closed_share=0.0), 100)
    # the lips close 7 cs before the P (half the vowel before it), and the vowel after it shows through its release
    assert "".join(oracle) == "X" * 30 + "D" * 8 + "A" * 7 + "D" * 25 + "X" * 30
    predicted = ShapeTrack([(0.3, 0.35, "D"), (0.35, 0.37, "A"), (0.37, 0.57, "D"), (0.57, 0.62, "A"),
                            (0.62, 0.7, "D")], 1.0)  # fmt: skip
    score = score_cues(phones, predicted)
    assert score.metrics == pytest.approx({
        "acc": 0.86,  # wrong: the early A (2 frames), the missed closure (7) and the late A (5)
        "acc_tol40": 0.95,  # within 4 frames of the oracle's A or D, all but the late A
        "open_r": 1511 / 2211,  # openness 0/1 in both: (26 * 100 - 33 * 33) / (33 * 67)
        "bil_recall": 1.0,  # the A at 0.57 s is within 30 ms of the P's end (0.55 s)
        "bil_prec": 0.5,  # of the two A runs in speech, one is at the P
        "sil_acc": 1.0,
        "speech_X": 0.0,
    })  # fmt: skip
    assert score.counts.closures == 2 and score.counts.bilabials == 1


def test_the_oracle_scores_itself_perfectly_where_it_can(reference, spoken):
    phones, _ = reference
    track = PhoneTrack(phones, phones[-1].end)
    score = score_cues(track, to_cues(track, bilabial_closed_share=0.0))
    metrics = score.metrics
    assert metrics["acc"] == metrics["acc_tol40"] == metrics["bil_recall"] == metrics["bil_prec"] == 1.0
    assert metrics["open_r"] == pytest.approx(1.0)
    assert metrics["speech_X"] == 0.0
    # It closes the lips before the first P and holds its shapes through the short pause at
    # the comma, so it is not X in all of the reference's silence: that is the ceiling.
    assert metrics["sil_acc"] == score.ceiling.metrics(1.0)["sil_acc"] < 1.0
    assert score.counts.bilabials == len(spoken.bilabial_times())


def test_animate_scores_sensibly_and_a_shift_scores_lower(reference, animated):
    phones, folder = reference
    report = api.evaluate_cues(folder / "plums.phones.tsv", animated)
    metrics = report.utterances[0].metrics
    assert metrics["acc"] > 0.5 and metrics["bil_recall"] > 0.7 and metrics["open_r"] > 0.5
    assert metrics["acc"] <= metrics["acc_tol40"] and metrics["speech_X"] < 0.1
    track = read_predicted(animated, duration=phones[-1].end)
    late = ShapeTrack([Segment(s.start + 0.1, min(s.end + 0.1, track.duration), s.label) for s in track.segments
                       if s.start + 0.1 < track.duration], track.duration)  # fmt: skip
    assert score_cues(PhoneTrack(phones, phones[-1].end), late).metrics["acc"] < metrics["acc"] - 0.1


# --- the command -----------------------------------------------------------------------------------


def test_one_utterance_on_the_command_line(reference, animated, tmp_path, capsys):
    _, folder = reference
    report, plot = tmp_path / "cues.json", tmp_path / "cues.png"
    assert main(["eval", "cues", str(folder / "plums.phones.tsv"), str(animated), "--json", str(report),
                 "--plot", str(plot)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "plums" in out and "bil_recall" in out
    data = json.loads(report.read_text())
    assert [u["name"] for u in data["utterances"]] == ["plums"] and data["missing"] == []
    assert set(METRICS) <= set(data["pooled"]) and data["pooled"]["acc"] == data["utterances"][0]["acc"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_folders_score_what_they_share_and_pool_by_frames(reference, animated, tmp_path, capsys):
    phones, folder = reference
    refs, preds = tmp_path / "refs", tmp_path / "preds"
    refs.mkdir()
    preds.mkdir()
    write_tsv(phones, refs / "a.phones.tsv")
    write_textgrid(phones[:-3], refs / "b.TextGrid")  # shorter
    write_htk(phones, refs / "c.lab")  # no prediction
    track = read_predicted(animated, duration=phones[-1].end)
    (preds / "a.tsv").write_text(animated.read_text())
    write_cues(track, preds / "b.xml", "xml")
    report_path, plot = tmp_path / "r.json", tmp_path / "r.png"
    argv = ["eval", "cues", str(refs), str(preds), "--per-utterance", "--json", str(report_path), "--plot", str(plot)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 of 3 utterances scored; 1 have no prediction" in out and "pooled" in out and "\nb " in out
    data = json.loads(report_path.read_text())
    assert [u["name"] for u in data["utterances"]] == ["a", "b"] and data["missing"] == ["c"]
    a, b = data["utterances"]
    assert a["frames"] > b["frames"]
    pooled_acc = (a["correct"] + b["correct"]) / (a["frames"] + b["frames"])
    assert data["pooled"]["acc"] == pytest.approx(pooled_acc, abs=1e-4)
    assert data["macro"]["acc"] == pytest.approx((a["acc"] + b["acc"]) / 2, abs=1e-4)
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "reference_text, prediction_text, mentions",
    [
        (None, "0.0\tX\n", "missing.phones.tsv"),
        ("0\t0.5\tsil\n0.5\t1.0\tQQ\n", "0.0\tX\n", "'QQ'"),
        ("0\t0.5\tsil\n0.5\t1.0\tAA\n", None, "missing.tsv"),
        ("0\t0.5\tsil\n0.5\t1.0\tAA\n", "hello world\n", "pred.tsv"),
        ("0\t0.5\tsil\n0.5\t1.0\tAA\n", "0.0\tX\n0.5\tQ\n", "pred.tsv"),
        ("0\t0.5\tsil\n0.5\t1.0\tAA\n", "0.5\tA\n0.2\tB\n", "pred.tsv"),
        ("0\t0.5\tsil\n0.5\t1.0\tAA\n", "", "pred.tsv"),
        ("0\t0.5\tsil\n0.5\t1.0\tAA\n", "<mouthCues><mouthCue start='0' end=", "pred.tsv"),
        ("0\t0.5\tsil\n0.5\t1.0\tAA\n", '{"cues": []}', "pred.tsv"),
        ("0\t0.5\tsil\n0.5\t1.0\tAA\n", '{"mouthCues": [{"start": 0, "end": "x", "value": "A"}]}', "pred.tsv"),
        ("0\t0.5\tsil\n0.4\t1.0\tAA\n", "0.0\tX\n", "overlapping"),
        ("start\tend\tphone\n", "0.0\tX\n", "no phones"),
        ("0\t0.5\tsil\nnot a phone line\n", "0.0\tX\n", "line 2"),
    ],
)
def test_bad_inputs_fail_with_one_sentence(tmp_path, capsys, reference_text, prediction_text, mentions):
    ref = tmp_path / ("ref.phones.tsv" if reference_text is not None else "missing.phones.tsv")
    pred = tmp_path / ("pred.tsv" if prediction_text is not None else "missing.tsv")
    if reference_text is not None:
        ref.write_text(reference_text)
    if prediction_text is not None:
        pred.write_text(prediction_text)
    assert main(["eval", "cues", str(ref), str(pred)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mouthpiece: ") and err.count("\n") == 1 and mentions in err, err
    with pytest.raises(InputError):
        api.evaluate_cues(ref, pred)


def test_a_folder_and_a_file_do_not_mix(reference, tmp_path, capsys):
    _, folder = reference
    assert main(["eval", "cues", str(folder), str(folder / "plums.phones.tsv")]) == 1
    assert "folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["eval", "cues", str(folder), str(empty)]) == 1
    assert "has a prediction" in capsys.readouterr().err
