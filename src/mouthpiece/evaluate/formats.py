"""The files ``eval cues`` compares: reference phones and predicted mouth cues, in the field's formats.

Reference phones (:func:`read_reference`) become a :class:`~mouthpiece.types.PhoneTrack`
that ends where the last phone ends. The format is told by the content, then the extension:

- Praat TextGrid (a file starting ``File type = "ooTextFile"``, long or short text
  format, UTF-8 or UTF-16): the interval tier whose name contains "phone", else the
  first interval tier; empty intervals are silence. Our own 40-line reader, not praatio:
  praatio 6.2.2 reads the same files but answers damaged ones with whatever its code
  hits (IndexError on a truncated header, ParsingError, TextgridStateError for overlapping
  intervals), so every caller would catch everything; ours gives one sentence naming the
  file for every damage the fuzzer makes (``tests/test_fuzz.py``).
- Festival label file (``.lab`` with a line ``#``): header lines up to the ``#``, then
  ``end_time  colour  label`` per line in seconds, each phone starting where the
  previous one ended.
- HTK label file (other ``.lab``): ``start end label [...]`` per line, in units of
  100 ns when every time is a whole number, else in seconds.
- TSV (anything else): ``start<TAB>end<TAB>phone[<TAB>anything]`` in seconds, with an
  optional header line.

Phone labels (:func:`reference_label`): ARPAbet with optional stress digits (``AH0`` is
the schwa ``AX``, other digits are dropped), Rhubarb's ``Schwa`` (``AX``), and the
silence names in :data:`SILENCE_LABELS`. Rhubarb's non-speech sounds are speech the
mouth shows: Breath, Cough and Smack take ``EH`` (Rhubarb's shape C), Noise ``IH``
(shape B). Those two vowels also draw the lips' anticipation over the consonants before
them, which Rhubarb's non-speech sounds do not; the corpora we score have none.

Predicted mouth cues (:func:`read_predicted`) become a :class:`~mouthpiece.types.ShapeTrack`
over the reference's ``[0, duration)``, the format told by the first character:

- ``<``: Rhubarb XML, ``<mouthCue start=".." end="..">SHAPE</mouthCue>`` elements;
- ``{``: Rhubarb JSON (``"mouthCues": [{"start", "end", "value"}]``), or our anim-json
  (``"schema": "mouthpiece.animation"``, its ``cues`` track);
- else Rhubarb TSV, ``time<TAB>shape`` per line: each cue lasts until the next, the
  last until the end of the utterance, the mouth is X before the first; blank lines,
  ``#`` lines and extra columns are ignored.

Cues are cut at the utterance's end and gaps between them show X.
:func:`pair_folders` matches a folder of references with a folder of predictions.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..errors import InputError
from ..export.anim_json import read_anim_json
from ..types import Phone, PhoneTrack, Segment, ShapeTrack
from ..vocabulary import PHONES, SHAPES, SILENCE

SILENCE_LABELS = frozenset({"sil", "pau", "sp", "spn", "h#", ""})  # compared in lower case
RHUBARB_LABELS = {"schwa": "AX", "breath": "EH", "cough": "EH", "smack": "EH", "noise": "IH"}  # lower case
HTK_UNITS = 1e7  # HTK label times per second (100 ns)
OVERLAP_TOLERANCE = 1e-6  # s, how far a span may start before the previous one ends (rounding)

# Suffixes of the files folder mode pairs, in order of preference when an utterance has several.
REFERENCE_SUFFIXES = (".phones.tsv", ".TextGrid", ".lab")  # matched ignoring case
PREDICTED_SUFFIXES = (".tsv", ".xml", ".json", ".anim.json")

_ARPABET = re.compile(r"([A-Z]+)([0-2]?)")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# Praat's text formats as a stream of values: strings ("" escapes a quote), flags and
# numbers; comments after "!", the long format's "item [3]:" indices and its key names
# (xmin =, intervals: size =) are skipped.
_PRAAT_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(![^\n]*)|(\[\s*\d*\s*\])|(<exists>|<absent>)|' + _NUMBER.pattern)


class Utterance(NamedTuple):
    """One utterance of folder mode: its name and the paths of its two files."""

    name: str
    reference: str
    predicted: str


def reference_label(label: str) -> str | None:
    """The phone of ``vocabulary.PHONES`` a reference label stands for; None if unknown.

    >>> reference_label("AH0"), reference_label("ey1"), reference_label("Schwa"), reference_label("pau")
    ('AX', 'EY', 'AX', 'sil')
    >>> reference_label("Noise"), reference_label("QQ") is None
    ('IH', True)
    """
    text = label.strip()
    if text.lower() in SILENCE_LABELS:
        return SILENCE
    if text.lower() in RHUBARB_LABELS:
        return RHUBARB_LABELS[text.lower()]
    match = _ARPABET.fullmatch(text.upper())
    if match is None or match.group(1) not in PHONES:
        return None
    return "AX" if match.group(1) == "AH" and match.group(2) == "0" else match.group(1)


def _read_bytes(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise InputError(f"{what} '{path}' does not exist.") from None
    except IsADirectoryError:
        raise InputError(f"{what} '{path}' is a folder, not a file.") from None
    except OSError as e:
        raise InputError(f"Could not read {what.lower()} '{path}': {e.strerror}.") from e


def _decode(data: bytes, path: str, what: str) -> str:
    """UTF-8, or UTF-16 with a byte-order mark (as Praat writes non-ASCII TextGrids)."""
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise InputError(f"{what} '{path}' is not text ({e.reason} at byte {e.start}).") from None


# --- Reference phones -----------------------------------------------------------------


def read_reference(path: str | os.PathLike[str]) -> PhoneTrack:
    """The reference phones of one utterance: TSV, TextGrid, HTK or Festival label file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; the format is told by its content and extension (see the module's docstring).

    Returns
    -------
    PhoneTrack
        The phones in file order, silences as ``sil``; its duration is the last phone's end.

    Raises
    ------
    InputError
        When the file is missing or unreadable, malformed, has an unknown phone label,
        overlapping or unordered phones, or no phones at all.
    """
    name = os.fspath(path)
    text = _decode(_read_bytes(name, "Reference file"), name, "Reference file")
    lines = text.splitlines()
    if text.lstrip().startswith("File type") and "ooTextFile" in text[:200]:
        spans = _textgrid_spans(text, name)
    elif name.lower().endswith(".lab") and any(line.strip() == "#" for line in lines):
        spans = _festival_spans(lines, name)
    elif name.lower().endswith(".lab"):
        spans = _htk_spans(lines, name)
    else:
        spans = _tsv_spans(lines, name)
    return _phone_track(spans, name)


class _Span(NamedTuple):
    start: float
    end: float
    label: str
    where: str  # "line 3" or "interval 3", for messages


def _phone_track(spans: Iterable[_Span], name: str) -> PhoneTrack:
    phones: list[Phone] = []
    previous_end = 0.0
    for span in spans:
        phone = reference_label(span.label)
        if phone is None:
            raise InputError(f"Reference file '{name}' has an unknown phone label {span.label!r} ({span.where}).")
        if not (span.start >= 0 and span.end >= span.start):
            raise InputError(
                f"Reference file '{name}' has a phone at a negative time or ending before it starts ({span.where})."
            )
        if span.start < previous_end - OVERLAP_TOLERANCE:
            raise InputError(f"Reference file '{name}' has overlapping or unordered phones ({span.where}).")
        phones.append(Phone(min(max(span.start, previous_end), span.end), span.end, phone))  # rounding overlaps
        previous_end = span.end
    if not phones or previous_end <= 0:
        raise InputError(f"Reference file '{name}' has no phones.")
    try:
        return PhoneTrack(tuple(phones), previous_end)
    except InputError as e:  # not expected after the checks above; still named
        raise InputError(f"Reference file '{name}' holds invalid phones: {e}") from e


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text) else None


def _tsv_spans(lines: list[str], name: str) -> list[_Span]:
    spans: list[_Span] = []
    header_allowed = True
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        start, end = (_number(f.strip()) for f in (fields + ["", ""])[:2])
        if start is None or end is None:
            if header_allowed:
                header_allowed = False
                continue
            raise InputError(f"Reference file '{name}' line {number} is not 'start<TAB>end<TAB>phone': {line!r}.")
        header_allowed = False
        spans.append(_Span(start, end, fields[2] if len(fields) > 2 else "", f"line {number}"))
    return spans


def _htk_spans(lines: list[str], name: str) -> list[_Span]:
    rows: list[tuple[str, str, str, int]] = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or _number(fields[0]) is None or _number(fields[1]) is None:
            raise InputError(f"Reference file '{name}' line {number} is not 'start end label': {line!r}.")
        rows.append((fields[0], fields[1], fields[2] if len(fields) > 2 else "", number))
    whole = all(re.fullmatch(r"\d+", a) and re.fullmatch(r"\d+", b) for a, b, _, _ in rows)
    scale = HTK_UNITS if whole else 1.0
    return [_Span(float(a) / scale, float(b) / scale, label, f"line {n}") for a, b, label, n in rows]


def _festival_spans(lines: list[str], name: str) -> list[_Span]:
    body = next(i for i, line in enumerate(lines) if line.strip() == "#") + 1
    spans: list[_Span] = []
    start = 0.0
    for number, line in enumerate(lines[body:], body + 1):
        fields = line.split()
        if not fields:
            continue
        end = _number(fields[0])
        if end is None:
            raise InputError(f"Reference file '{name}' line {number} is not 'end_time colour label': {line!r}.")
        spans.append(_Span(start, end, fields[2] if len(fields) > 2 else "", f"line {number}"))
        start = end
    return spans


def _praat_values(text: str) -> list[Any]:
    """The strings (str), numbers (float) and flags (bool) of a Praat text file, in order."""
    values: list[Any] = []
    for match in _PRAAT_TOKEN.finditer(text):
        string, comment, index, flag = match.groups()
        if string is not None:
            values.append(string.replace('""', '"'))
        elif flag is not None:
            values.append(flag == "<exists>")
        elif comment is None and index is None:
            values.append(float(match.group(0)))
    return values


def _textgrid_spans(text: str, name: str) -> list[_Span]:
    values = _praat_values(text)
    try:
        if values[1] != "TextGrid":
            raise ValueError("not a TextGrid")
        position = 6  # after: file type, object class, xmin, xmax, <exists>, size
        tiers: list[tuple[str, list[tuple[Any, ...]]]] = []
        for _ in range(int(values[5]) if values[4] else 0):
            kind, tier_name, count = values[position], values[position + 1], int(values[position + 4])
            position += 5
            width = 3 if kind == "IntervalTier" else 2
            items = values[position : position + width * count]
            if len(items) != width * count:
                raise ValueError("it ends inside a tier")
            position += width * count
            if kind == "IntervalTier":
                tiers.append((str(tier_name), [tuple(items[i : i + 3]) for i in range(0, len(items), 3)]))
    except (IndexError, ValueError, TypeError):
        raise InputError(f"Reference file '{name}' is not a readable Praat TextGrid (text format).") from None
    if not tiers:
        raise InputError(f"Reference file '{name}' has no interval tier.")
    chosen = next((tier for tier in tiers if "phone" in tier[0].lower()), tiers[0])
    spans = []
    for k, (start, end, label) in enumerate(chosen[1], 1):
        if not (isinstance(start, float) and isinstance(end, float) and isinstance(label, str)):
            raise InputError(f"Reference file '{name}' has a malformed interval {k} in tier {chosen[0]!r}.")
        spans.append(_Span(start, end, label, f"interval {k} of tier {chosen[0]!r}"))
    return spans


# --- Predicted mouth cues ---------------------------------------------------------------


def read_predicted(path: str | os.PathLike[str], *, duration: float) -> ShapeTrack:
    """A predicted mouth-cue track: Rhubarb TSV, XML or JSON, or anim-json.

    Parameters
    ----------
    path : str or os.PathLike
        The file; the format is told by its content (see the module's docstring).
    duration : float >= 0
        Seconds of the utterance: the last TSV cue lasts until then, and every cue is
        cut there.

    Returns
    -------
    ShapeTrack
        Over ``[0, duration)``; X wherever no cue shows.

    Raises
    ------
    InputError
        When the file is missing or unreadable, in none of the formats, malformed, or
        has no cues.
    """
    name = os.fspath(path)
    data = _read_bytes(name, "Prediction file")
    first = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"<":
        cues = _xml_cues(data, name)
    elif first == b"{":
        cues = _json_cues(_decode(data, name, "Prediction file"), name)
    else:
        return _tsv_track(_decode(data, name, "Prediction file"), name, duration)
    return _cue_track(cues, name, duration)


def _tsv_track(text: str, name: str, duration: float) -> ShapeTrack:
    starts: list[tuple[float, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split("\t") if "\t" in stripped else stripped.split()
        time = _number(fields[0].strip())
        shape = fields[1].strip().upper() if len(fields) > 1 else ""
        if time is None or time < 0 or shape not in SHAPES:
            raise InputError(
                f"Prediction file '{name}' line {number} is not 'time<TAB>shape' (shapes A-H, X): {line[:60]!r}."
            )
        if starts and time < starts[-1][0]:
            raise InputError(f"Prediction file '{name}' line {number} goes back in time, to {time:g} s.")
        starts.append((time, shape))
    if not starts:
        raise InputError(f"Prediction file '{name}' has no mouth cues.")
    ends = [t for t, _ in starts[1:]] + [max(duration, starts[-1][0])]
    return _clip([Segment(t, end, shape) for (t, shape), end in zip(starts, ends)], duration)


def _xml_cues(data: bytes, name: str) -> list[tuple[Any, Any, Any]]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise InputError(f"Prediction file '{name}' is not valid XML ({e}).") from None
    cues = [(cue.get("start"), cue.get("end"), (cue.text or "").strip()) for cue in root.iter("mouthCue")]
    if not cues:
        raise InputError(f"Prediction file '{name}' has no <mouthCue> elements.")
    return cues


def _json_cues(text: str, name: str) -> list[tuple[Any, Any, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"Prediction file '{name}' is not valid JSON ({e}).") from None
    if isinstance(data, dict) and "schema" in data:
        cues = read_anim_json(name).cues
        if cues is None:
            raise InputError(f"Animation file '{name}' has no mouth cues.")
        return [(s.start, s.end, s.label) for s in cues.segments]
    entries = data.get("mouthCues") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"Prediction file '{name}' is neither Rhubarb JSON (no 'mouthCues' list) nor anim-json.")
    if not entries:
        raise InputError(f"Prediction file '{name}' has no mouth cues.")
    return [(e.get("start"), e.get("end"), e.get("value")) for e in entries]


def _cue_track(cues: list[tuple[Any, Any, Any]], name: str, duration: float) -> ShapeTrack:
    """Cues with explicit start and end times, checked, as a track over ``[0, duration)``."""
    segments: list[Segment] = []
    for k, (start, end, shape) in enumerate(cues, 1):
        a, b = (_number(str(v)) if isinstance(v, (str, int, float)) else None for v in (start, end))
        if a is None or b is None or not 0 <= a <= b or not isinstance(shape, str) or shape.upper() not in SHAPES:
            raise InputError(f"Prediction file '{name}' has a malformed cue {k}: {start!r} to {end!r}, {shape!r}.")
        if segments and a < segments[-1].end - OVERLAP_TOLERANCE:
            raise InputError(f"Prediction file '{name}' has overlapping or unordered cues at cue {k} ({a:g} s).")
        segments.append(Segment(max(a, segments[-1].end if segments else 0.0), b, shape.upper()))
    return _clip(segments, duration)


def _clip(segments: list[Segment], duration: float) -> ShapeTrack:
    kept = [Segment(s.start, min(s.end, duration), s.label) for s in segments if s.start < duration]
    return ShapeTrack(tuple(s for s in kept if s.end > s.start), duration)


# --- Folders ------------------------------------------------------------------------------


def utterance_name(path: str | os.PathLike[str]) -> str:
    """A file's name without its reference or prediction suffix.

    >>> utterance_name("dev/en1_s00.phones.tsv"), utterance_name("out/en1_s00.anim.json")
    ('en1_s00', 'en1_s00')
    """
    base = os.path.basename(os.fspath(path))
    for suffix in sorted(REFERENCE_SUFFIXES + PREDICTED_SUFFIXES, key=len, reverse=True):
        if base.lower().endswith(suffix.lower()):
            return base[: -len(suffix)]
    return os.path.splitext(base)[0]


def pair_folders(
    reference: str | os.PathLike[str], predicted: str | os.PathLike[str]
) -> tuple[list[Utterance], list[str]]:
    """Match the references in one folder with the predictions in another by utterance name.

    Parameters
    ----------
    reference : folder of ``<utt>.phones.tsv``, ``<utt>.TextGrid`` or ``<utt>.lab``
    predicted : folder of ``<utt>.tsv``, ``<utt>.xml``, ``<utt>.json`` or ``<utt>.anim.json``

    Returns
    -------
    pairs : list of Utterance, sorted by name, those with both files
    missing : list of str, the names of references without a prediction

    Raises
    ------
    InputError
        When a folder cannot be listed or holds no reference at all.
    """
    found: dict[str, tuple[int, str]] = {}  # utterance -> (preference, file name)
    for base in _listing(reference):
        for rank, suffix in enumerate(REFERENCE_SUFFIXES):
            if base.lower().endswith(suffix.lower()) and len(base) > len(suffix):
                utt = base[: -len(suffix)]
                found[utt] = min(found.get(utt, (rank, base)), (rank, base))
                break
    references = {utt: os.path.join(reference, base) for utt, (_, base) in found.items()}
    if not references:
        raise InputError(f"Reference folder '{os.fspath(reference)}' holds no .phones.tsv, .TextGrid or .lab file.")
    available = set(_listing(predicted))
    pairs, missing = [], []
    for utt in sorted(references):
        prediction = next((utt + s for s in PREDICTED_SUFFIXES if utt + s in available), None)
        if prediction is None:
            missing.append(utt)
        else:
            pairs.append(Utterance(utt, references[utt], os.path.join(predicted, prediction)))
    return pairs, missing


def _listing(folder: str | os.PathLike[str]) -> list[str]:
    name = os.fspath(folder)
    try:
        return sorted(entry.name for entry in os.scandir(name) if entry.is_file())
    except FileNotFoundError:
        raise InputError(f"Folder '{name}' does not exist.") from None
    except OSError as e:
        raise InputError(f"Could not list folder '{name}': {e.strerror}.") from e
