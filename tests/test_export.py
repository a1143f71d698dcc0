"""Tests of the export stage: every format parsed back with a real parser."""

from __future__ import annotations

import csv
import io
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pytest

import mouthpiece.export as export
from mouthpiece.errors import InputError, UnknownFormatError
from mouthpiece.export import (
    EXPORTERS,
    Exporter,
    format_for_path,
    get_exporter,
    read_anim_json,
    write_file,
)
from mouthpiece.types import Animation, PhoneTrack, ShapeTrack, VisemeTrack
from mouthpiece.vocabulary import CHANNELS, VISEMES

FPS = 30.0
DURATION = 2.0  # s
FRAMES = 60
ANIMATED = ("JawOpen", "MouthClose", "MouthFunnel", "HeadYaw")

# Every shape, a 2 cs C (shorter than a 24 fps frame) and a gap from 1.60 s that is X.
SEGMENTS = [
    (0.00, 0.20, "X"), (0.20, 0.35, "A"), (0.35, 0.50, "B"), (0.50, 0.52, "C"),
    (0.52, 0.80, "D"), (0.80, 1.00, "E"), (1.00, 1.20, "F"), (1.20, 1.40, "G"),
    (1.40, 1.60, "H"),
]  # fmt: skip
RHUBARB_CUES = [
    ("0.00", "0.20", "X"), ("0.20", "0.35", "A"), ("0.35", "0.50", "B"), ("0.50", "0.52", "C"),
    ("0.52", "0.80", "D"), ("0.80", "1.00", "E"), ("1.00", "1.20", "F"), ("1.20", "1.40", "G"),
    ("1.40", "1.60", "H"), ("1.60", "2.00", "X"),
]  # fmt: skip
BASIC_CUES = [(start, end, {"G": "A", "H": "C"}.get(s, s)) for start, end, s in RHUBARB_CUES]
VISEME_SEGMENTS = [(0.0, 0.2, "sil"), (0.2, 0.35, "PP"), (0.35, 1.0, "aa"), (1.0, 1.4, "FF")]


def make_animation(*, weights: bool = True, cues: ShapeTrack | None = None) -> Animation:
    """2 s at 30 fps: channel c ramps from 0 to (c + 1) / 4 (HeadYaw from 0 to -1 rad)."""
    ramp = np.linspace(0.0, 1.0, FRAMES)[:, None] * np.array([0.25, 0.5, 0.75, -1.0])
    rng = np.random.default_rng(0)
    return Animation(
        fps=FPS,
        values=ramp,
        channels=ANIMATED,
        phones=PhoneTrack(
            [(0.0, 0.2, "sil"), (0.2, 0.35, "M", 0.9), (0.35, 1.0, "AA"), (1.0, 1.4, "F", 0.5)],
            DURATION,
            [(0.2, 1.0, "ma"), (1.0, 1.4, "f")],
        ),
        visemes=VisemeTrack(VISEME_SEGMENTS, DURATION),
        cues=ShapeTrack(SEGMENTS, DURATION) if cues is None else cues,
        viseme_weights=rng.dirichlet(np.ones(len(VISEMES)), FRAMES) if weights else None,
    )


def run(exporter: Exporter, animation: Animation) -> str:
    stream = io.StringIO()
    exporter.export(animation, stream)
    return stream.getvalue()


def parse_tsv(text: str) -> list[tuple[str, str]]:
    return [tuple(row) for row in csv.reader(io.StringIO(text), delimiter="\t")]


def parse_xml(text: str) -> list[tuple[str, str, str]]:
    root = ET.fromstring(text.split("\n", 1)[1])  # fromstring refuses an encoding declaration
    return [(c.get("start"), c.get("end"), c.text) for c in root.iter("mouthCue")]


def parse_json(text: str) -> list[tuple[str, str, str]]:
    # parse_float=str keeps the two decimals Rhubarb writes
    cues = json.loads(text, parse_float=str)["mouthCues"]
    return [(c["start"], c["end"], c["value"]) for c in cues]


# --- Rhubarb mouth-cue formats ---------------------------------------------------------


@pytest.mark.parametrize(("extended", "cues"), [(True, RHUBARB_CUES), (False, BASIC_CUES)])
def test_tsv_lists_cue_starts_then_the_end_with_x(extended: bool, cues: list) -> None:
    text = run(get_exporter("tsv", extended_shapes=extended), make_animation())
    assert text.endswith("\n") and "\r" not in text
    expected = [(start, shape) for start, _, shape in cues] + [("2.00", "X")]
    assert parse_tsv(text) == expected


@pytest.mark.parametrize("extended", [True, False])
def test_xml_has_rhubarbs_structure(extended: bool) -> None:
    exporter = get_exporter("xml", extended_shapes=extended, sound_file="/tmp/a & b.wav")
    text = run(exporter, make_animation())
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<rhubarbResult>\n  <metadata>')
    root = ET.fromstring(text.split("\n", 1)[1])
    assert root.tag == "rhubarbResult"
    assert [child.tag for child in root] == ["metadata", "mouthCues"]
    assert root.findtext("metadata/soundFile") == "/tmp/a & b.wav"
    assert root.findtext("metadata/duration") == "2.00"
    assert {c.tag for c in root.find("mouthCues")} == {"mouthCue"}
    assert parse_xml(text) == (RHUBARB_CUES if extended else BASIC_CUES)


@pytest.mark.parametrize("extended", [True, False])
def test_json_has_rhubarbs_structure(extended: bool) -> None:
    exporter = get_exporter("json", extended_shapes=extended, sound_file='C:\\say "hi".wav')
    text = run(exporter, make_animation())
    document = json.loads(text, parse_float=str)
    assert list(document) == ["metadata", "mouthCues"]
    assert document["metadata"] == {"soundFile": 'C:\\say "hi".wav', "duration": "2.00"}
    assert all(list(cue) == ["start", "end", "value"] for cue in document["mouthCues"])
    assert parse_json(text) == (RHUBARB_CUES if extended else BASIC_CUES)
    assert '    { "start": 0.00, "end": 0.20, "value": "X" },\n' in text


@pytest.mark.parametrize(
    ("segments", "duration", "expected"),
    [
        # a gap is X, and neighbours with one shape join
        ([(0.1, 0.2, "A"), (0.2, 0.3, "A")], 0.5, [("0.00", "X"), ("0.10", "A"), ("0.30", "X")]),
        # times round to centiseconds; a segment that rounds to nothing disappears
        ([(0.0, 0.104, "B"), (0.104, 0.106, "C"), (0.106, 0.3, "D")], 0.3,
         [("0.00", "B"), ("0.10", "C"), ("0.11", "D")]),
        ([(0.0, 0.101, "B"), (0.101, 0.104, "C"), (0.104, 0.3, "D")], 0.3,
         [("0.00", "B"), ("0.10", "D")]),
        # nothing at all
        ([], 0.0, []),
    ],
)  # fmt: skip
def test_tsv_timeline_rules(segments: list, duration: float, expected: list) -> None:
    animation = make_animation(cues=ShapeTrack(segments, duration))
    rows = parse_tsv(run(get_exporter("tsv"), animation))
    assert rows == [*expected, (f"{duration:.2f}", "X")]


def test_basic_shapes_join_what_they_merge() -> None:
    animation = make_animation(cues=ShapeTrack([(0.0, 0.1, "A"), (0.1, 0.2, "G")], 0.2))
    assert parse_tsv(run(get_exporter("tsv", extended_shapes=False), animation)) == [
        ("0.00", "A"),
        ("0.20", "X"),
    ]


@pytest.mark.parametrize(("name", "parse"), [("xml", parse_xml), ("json", parse_json)])
def test_empty_cues_get_one_zero_length_x(name: str, parse: Callable[[str], list]) -> None:
    animation = make_animation(cues=ShapeTrack([], 0.0))
    assert parse(run(get_exporter(name), animation)) == [("0.00", "0.00", "X")]


@pytest.mark.parametrize("name", ["tsv", "xml", "json", "dat"])
def test_mouth_cue_formats_need_cues(name: str) -> None:
    animation = Animation(fps=FPS, values=np.zeros((FRAMES, len(CHANNELS))))
    with pytest.raises(InputError, match="no mouth cues"):
        run(get_exporter(name), animation)


# --- dat -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # frame 1 + int(24 * start): C starts on frame 13 at 0.50 s, so D (0.52 s, also
        # frame 13) is skipped
        ({}, [(1, "X"), (5, "A"), (9, "B"), (13, "C"), (20, "E"), (25, "F"), (29, "G"),
              (34, "H"), (39, "X"), (49, "X")]),
        ({"dat_fps": 100}, [(1, "X"), (21, "A"), (36, "B"), (51, "C"), (53, "D"), (81, "E"),
                            (101, "F"), (121, "G"), (141, "H"), (161, "X"), (201, "X")]),
        ({"extended_shapes": False}, [(1, "X"), (5, "A"), (9, "B"), (13, "C"), (20, "E"),
                                      (25, "F"), (29, "A"), (34, "C"), (39, "X"), (49, "X")]),
        ({"preston_blair": True}, [(1, "rest"), (5, "MBP"), (9, "etc"), (13, "E"), (20, "O"),
                                   (25, "U"), (29, "FV"), (34, "L"), (39, "rest"), (49, "rest")]),
    ],
)  # fmt: skip
def test_dat_frames_and_names(options: dict, expected: list) -> None:
    lines = run(get_exporter("dat", **options), make_animation()).splitlines()
    assert lines[0] == "MohoSwitch1"
    frames = [line.split(" ") for line in lines[1:]]
    assert [(int(frame), shape) for frame, shape in frames] == expected


@pytest.mark.parametrize(
    ("segments", "duration", "expected"),
    [
        # the last cue starts on the end frame, so the closing X moves one frame on
        ([(0.0, 0.46, "A"), (0.46, 0.47, "B")], 0.47, ["1 A", "12 B", "13 X"]),
        ([], 0.0, ["1 X"]),
    ],
)
def test_dat_end_frame(segments: list, duration: float, expected: list) -> None:
    animation = make_animation(cues=ShapeTrack(segments, duration))
    assert run(get_exporter("dat"), animation).splitlines()[1:] == expected


@pytest.mark.parametrize("fps", [23.9, 100.5, "30"])
def test_dat_rejects_frame_rates_outside_24_to_100(fps: object) -> None:
    with pytest.raises(InputError, match="between 24 and 100 fps"):
        get_exporter("dat", dat_fps=fps)


# --- arkit-csv -------------------------------------------------------------------------


def test_arkit_csv_is_a_live_link_face_take() -> None:
    animation = make_animation()
    rows = list(csv.reader(io.StringIO(run(get_exporter("arkit-csv"), animation))))
    header, body = rows[0], rows[1:]
    assert header == ["Timecode", "BlendShapeCount", *CHANNELS]
    assert len(header) == 2 + 61 and header[2:54][-1] == "TongueOut"
    assert header[-9:] == [
        "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
        "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
    ]  # fmt: skip
    assert len(body) == FRAMES
    assert {row[1] for row in body} == {"61"}
    assert all(len(row) == len(header) for row in body)
    table = np.array([[float(v) for v in row[2:]] for row in body])
    for name in ANIMATED:
        assert np.allclose(table[:, CHANNELS.index(name)], animation.channel(name), atol=1e-6)
    others = [i for i, name in enumerate(CHANNELS) if name not in ANIMATED]
    assert not table[:, others].any()
    assert all(len(v.split(".")[1]) == 6 for v in body[-1][2:])
    assert [body[i][0] for i in (0, 1, 29, 30, 45, 59)] == [
        "00:00:00:00.000", "00:00:00:01.000", "00:00:00:29.000",
        "00:00:01:00.000", "00:00:01:15.000", "00:00:01:29.000",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("frame", "fps", "expected"),
    [
        (0, 60, "00:00:00:00.000"),
        (59, 60, "00:00:00:59.000"),
        (60 * 3725 + 7, 60, "01:02:05:07.000"),
        (30, 29.97, "00:00:01:00.030"),
        (3, 24, "00:00:00:03.000"),
    ],
)
def test_live_link_timecode(frame: int, fps: float, expected: str) -> None:
    from mouthpiece.export.arkit_csv import timecode

    assert timecode(frame, fps=fps) == expected


# --- oculus ----------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [True, False])
def test_oculus_writes_a_weight_row_per_frame(weights: bool) -> None:
    animation = make_animation(weights=weights)
    rows = list(csv.reader(io.StringIO(run(get_exporter("oculus"), animation))))
    assert rows[0] == "time,sil,PP,FF,TH,DD,kk,CH,SS,nn,RR,aa,E,I,O,U".split(",")
    table = np.array([[float(v) for v in row] for row in rows[1:]])
    assert table.shape == (FRAMES, 16)
    assert np.allclose(table[:, 0], np.arange(FRAMES) / FPS, atol=1e-6)
    if weights:
        assert np.allclose(table[:, 1:], animation.viseme_weights, atol=1e-6)
    else:
        assert set(np.unique(table[:, 1:])) == {0.0, 1.0}
        assert np.all(table[:, 1:].sum(axis=1) == 1)
        shown = [VISEMES[i] for i in table[:, 1:].argmax(axis=1)]
        expected = [animation.visemes.label_at(i / FPS) for i in range(FRAMES)]
        assert shown == expected
        assert shown[0] == "sil" and shown[6] == "PP" and shown[-1] == "sil"  # after 1.4 s: rest


def test_oculus_needs_weights_or_visemes() -> None:
    animation = Animation(fps=FPS, values=np.zeros((FRAMES, len(CHANNELS))))
    with pytest.raises(InputError, match="neither viseme weights nor a viseme track"):
        run(get_exporter("oculus"), animation)


# --- anim-json -------------------------------------------------------------------------


def assert_same_animation(a: Animation, b: Animation) -> None:
    assert (a.fps, a.channels, a.frame_count) == (b.fps, b.channels, b.frame_count)
    assert a.duration == b.duration
    assert np.allclose(a.values, b.values, atol=1e-6)
    assert (a.phones, a.visemes, a.cues) == (b.phones, b.visemes, b.cues)
    if a.viseme_weights is None:
        assert b.viseme_weights is None
    else:
        assert np.allclose(a.viseme_weights, b.viseme_weights, atol=1e-6)


@pytest.mark.parametrize(
    "animation",
    [
        make_animation(),
        make_animation(weights=False),
        Animation(fps=60, values=np.full((3, len(CHANNELS)), 0.5)),
        Animation(fps=24, values=np.zeros((1, 1)), channels=("JawOpen",),
                  phones=PhoneTrack([], 0.5), cues=ShapeTrack([(0.0, 0.1, "A")], 0.09)),
    ],
    ids=["full", "no-weights", "bare", "odd-durations"],
)  # fmt: skip
def test_anim_json_round_trips(animation: Animation) -> None:
    text = run(get_exporter("anim-json"), animation)
    document = json.loads(text)
    assert (document["schema"], document["version"]) == ("mouthpiece.animation", 1)
    assert {"fps", "duration", "channels", "values", "phones", "words", "visemes", "cues",
            "viseme_weights"} <= set(document)  # fmt: skip
    assert len(document["values"]) == animation.frame_count
    assert_same_animation(read_anim_json(io.StringIO(text)), animation)


def test_anim_json_reads_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "take.json"
    write_file(get_exporter("anim-json"), make_animation(), path)
    assert_same_animation(read_anim_json(path), make_animation())
    assert_same_animation(read_anim_json(str(path)), make_animation())


def _document(**changes: object) -> str:
    document = json.loads(run(get_exporter("anim-json"), make_animation()))
    for key, value in changes.items():
        if value is ...:
            del document[key]
        else:
            document[key] = value
    return json.dumps(document)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a mouthpiece.animation document"),
        (_document(schema=...), "not a mouthpiece.animation document"),
        (_document(schema="rhubarb"), "its schema is 'rhubarb'"),
        (_document(version=2), "version 2; this mouthpiece reads version 1"),
        (_document(version=...), "version None"),
        (_document(fps=...), "malformed: no key 'fps'"),
        (_document(values=[[1, 2], [3]]), "malformed"),
        (_document(cues=[{"start": 0, "end": 1}]), "malformed: no key 'label'"),
        (_document(fps=1000), "invalid animation: Animation fps must be between 1 and 240"),
        (_document(phones=None), "malformed: it has words but no phones"),
        (_document(visemes=[{"start": 0, "end": 1, "label": "A"}]), "invalid animation"),
    ],
)
def test_anim_json_reader_rejects_bad_files(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        read_anim_json(io.StringIO(text))


def test_anim_json_reader_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Could not read animation file '.*nope.json'"):
        read_anim_json(tmp_path / "nope.json")


# --- registry --------------------------------------------------------------------------


def test_registry_names_and_public_api() -> None:
    assert list(EXPORTERS) == ["tsv", "xml", "json", "dat", "arkit-csv", "anim-json", "oculus"]
    for name, cls in EXPORTERS.items():
        assert cls.name == name and cls.extension.startswith(".")
    assert set(export.__all__) == {
        "EXPORTERS", "Exporter", "format_for_path", "get_exporter", "read_anim_json", "supported_options", "write_file",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "options", "error", "match"),
    [
        ("tsv", {}, None, None),
        ("dat", {"dat_fps": 30, "preston_blair": True}, None, None),
        ("foo", {}, UnknownFormatError, "Unknown export format 'foo'; choose one of: "
         "tsv, xml, json, dat, arkit-csv, anim-json, oculus."),
        ("TSV", {}, UnknownFormatError, "Unknown export format 'TSV'"),
        ("tsv", {"sound_file": "x"}, InputError, "'tsv' has no option 'sound_file'"),
        ("oculus", {"extended_shapes": False}, InputError, "its options are: none"),
    ],
)  # fmt: skip
def test_get_exporter(name: str, options: dict, error: type[Exception] | None, match: str | None) -> None:
    if error is None:
        exporter = get_exporter(name, **options)
        assert isinstance(exporter, EXPORTERS[name])
        assert all(getattr(exporter, k) == v for k, v in options.items())
    else:
        with pytest.raises(error, match=match):
            get_exporter(name, **options)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("out.tsv", "tsv"), ("a/b/out.XML", "xml"), ("cues.json", "json"), ("moho.dat", "dat"),
        ("take.csv", "arkit-csv"), ("dir.v2/take.Csv", "arkit-csv"),
        ("out.txt", UnknownFormatError), ("noextension", UnknownFormatError),
        (".tsv", UnknownFormatError),
    ],
)  # fmt: skip
def test_format_for_path(path: str, expected: str | type[Exception]) -> None:
    if isinstance(expected, str):
        assert format_for_path(path) == expected
    else:
        with pytest.raises(expected, match="Cannot tell the export format"):
            format_for_path(path)


# --- write_file ------------------------------------------------------------------------


@dataclass(frozen=True)
class FailingExporter(Exporter):
    """Writes half a file, then raises ``error``."""

    error: Exception = InputError("This export failed midway.")

    name = "failing"
    extension = ".txt"

    def export(self, animation: Animation, stream: TextIO) -> None:
        stream.write("half of it\n")
        stream.flush()
        raise self.error


@pytest.mark.parametrize("name", list(EXPORTERS))
def test_write_file_writes_what_export_writes(tmp_path: Path, name: str) -> None:
    exporter = get_exporter(name)
    path = tmp_path / f"out{exporter.extension}"
    write_file(exporter, make_animation(), path)
    assert path.read_text(encoding="utf-8") == run(exporter, make_animation())
    assert os.listdir(tmp_path) == [path.name]
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would create it


def test_write_file_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.tsv"
    path.write_text("old\n")
    path.chmod(0o640)
    write_file(get_exporter("tsv"), make_animation(), path)
    assert path.read_text().startswith("0.00\tX\n")
    assert path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["out.tsv"]


@pytest.mark.parametrize("error", [InputError("failed midway"), RuntimeError("failed midway")])
@pytest.mark.parametrize("existing", [None, "precious\n"])
def test_write_file_leaves_nothing_on_failure(tmp_path: Path, existing: str | None, error: Exception) -> None:
    path = tmp_path / "out.txt"
    if existing is not None:
        path.write_text(existing)
    with pytest.raises(type(error), match="failed midway"):
        write_file(FailingExporter(error), make_animation(), path)
    if existing is None:
        assert os.listdir(tmp_path) == []
    else:
        assert os.listdir(tmp_path) == ["out.txt"]
        assert path.read_text() == existing


def test_write_file_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Could not write export file '.*missing/out.tsv'"):
        write_file(get_exporter("tsv"), make_animation(), tmp_path / "missing" / "out.tsv")


def test_write_file_leaves_nothing_when_the_animation_lacks_cues(tmp_path: Path) -> None:
    animation = Animation(fps=FPS, values=np.zeros((FRAMES, len(CHANNELS))))
    with pytest.raises(InputError, match="no mouth cues"):
        write_file(get_exporter("dat"), animation, tmp_path / "out.dat")
    assert os.listdir(tmp_path) == []
