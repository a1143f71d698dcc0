"""Render and dub batches from a manifest: ``mouthpiece render|dub --manifest jobs.csv --jobs N``.

A manifest is a CSV file with a header and a row per video to make::

    portrait,audio,output,text,emotion,seed      (render: portrait, audio and output are needed)
    faces/ana.jpg,lines/001.wav,out/001.mp4,,happy,3
    video,audio,output,fit,style                 (dub: video, audio and output are needed)
    takes/ana.mp4,lines/fr/001.wav,out/fr/001.mp4,cut,generic

Paths are relative to the manifest's folder. The other columns are per-row options
(:data:`OPTIONS`); an empty cell, or a column left out, takes the command line's value.
The rows run like an animate batch's files (:func:`mouthpiece.batch.run`): in worker
processes, each video written atomically, ``--skip-existing`` to resume, a report row per
video; a bad row (a missing file, a wrong value) is reported and the others go on.
"""

from __future__ import annotations

import contextlib
import csv
import os
import warnings
from collections.abc import Callable
from typing import Any

from .batch import BatchItem
from .errors import InputError
from .inputs import existing_file

REQUIRED = {"render": ("portrait", "audio", "output"), "dub": ("video", "audio", "output")}


def _flag(value: str) -> bool:
    word = value.strip().lower()
    if word not in ("true", "false", "yes", "no", "1", "0"):
        raise ValueError(f"expected true or false, got {value!r}")
    return word in ("true", "yes", "1")


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None


def parse_size(value: str) -> tuple[int, int]:
    """A video size: ``512`` (a square) or ``1920x1080``, even numbers from 16 to 7680.

    >>> parse_size("512"), parse_size("1280X720")
    ((512, 512), (1280, 720))
    """
    parts = value.strip().lower().split("x")
    try:
        width, height = (int(parts[0]), int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
    except (ValueError, IndexError):
        raise ValueError(f"expected N or WIDTHxHEIGHT, got {value!r}") from None
    if len(parts) > 2 or not (16 <= width <= 7680 and 16 <= height <= 7680) or width % 2 or height % 2:
        raise ValueError(f"width and height must be even numbers from 16 to 7680, got {value!r}")
    return width, height


COMMON: dict[str, Callable[[str], Any]] = {
    "text": str,
    "language": str,
    "recognizer": str,
    "face": _integer,
    "style": str,
}
OPTIONS: dict[str, dict[str, Callable[[str], Any]]] = {
    "render": {**COMMON, "fps": _number, "size": parse_size, "emotion": str, "intensity": _number, "seed": _integer,
               "idle": _flag},
    "dub": {**COMMON, "fit": str, "original_audio": _number},
}  # fmt: skip


def read_manifest(path: str, kind: str) -> list[BatchItem]:
    """The rows of the ``kind`` ("render" or "dub") manifest at ``path`` as batch items
    (``source``: the audio, ``target``: the output, ``options``: the rest). A row whose value
    cannot be read keeps it as ``options["error"]``, for its report row.

    Raises InputError when the file cannot be read, lacks a needed column or has no row.
    """
    existing_file(path, kind="manifest")
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            columns = [c.strip() for c in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"Cannot read the manifest '{path}': {e}.") from None
    missing = [c for c in REQUIRED[kind] if c not in columns]
    if missing:
        raise InputError(f"The {kind} manifest '{path}' has no column {', '.join(map(repr, missing))} "
                         f"(its header needs {', '.join(REQUIRED[kind])}).")  # fmt: skip
    known = set(REQUIRED[kind]) | set(OPTIONS[kind])
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise InputError(f"The {kind} manifest '{path}' has a column {unknown[0]!r} that is no option of {kind}; "
                         f"its columns can be: {', '.join(sorted(known))}.")  # fmt: skip
    if not rows:
        raise InputError(f"The {kind} manifest '{path}' has no rows.")
    folder = os.path.dirname(os.path.abspath(path))
    items = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        items.append(_item(cells, kind, folder, f"Row {number} of '{path}'"))
    return items


def _item(cells: dict[str, str], kind: str, folder: str, row: str) -> BatchItem:
    """One row as a batch item; a value it cannot read goes in ``options["error"]``."""

    def place(name: str) -> str:
        return os.path.join(folder, cells[name]) if cells.get(name) else ""

    options: dict[str, Any] = {REQUIRED[kind][0]: place(REQUIRED[kind][0])}
    try:
        for name in REQUIRED[kind]:
            if not cells.get(name):
                raise ValueError(f"its {name} is empty")
        for name, read in OPTIONS[kind].items():
            if cells.get(name):
                try:
                    options[name] = read(cells[name])
                except ValueError as e:
                    raise ValueError(f"its {name}: {e}") from None
        if options.get("style") not in (None, "own", "generic"):
            options["style"] = place("style")  # a style file
    except ValueError as e:
        options["error"] = f"{row} cannot be done: {e}."
    return BatchItem(place("audio") or row, place("output") or row, options)


def render_one(source: str, target: str, options: dict[str, Any]) -> dict[str, Any]:
    """A manifest row's talking portrait: ``options["portrait"]`` speaking ``source``, to ``target``."""
    from . import api
    from .motion import opening
    from .motion.style import load_style

    _refuse_bad_row(options)
    style = options.get("style")
    chosen = opening.using(load_style(style)) if style not in (None, "own", "generic") else contextlib.nullcontext()
    with chosen, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        portrait = api.load_portrait(existing_file(options["portrait"], kind="image"), size=options["size"],
                                     face=options.get("face"))  # fmt: skip
        speech = api.load_audio(source, max_seconds=options.get("max_seconds"))
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        api.render_speech(portrait, speech, target, text=options.get("text"), fps=options["fps"],
                          recognizer=options.get("recognizer"), language=options["language"],
                          idle=options["idle"], seed=options["seed"], emotion=options["emotion"],
                          intensity=options["intensity"])  # fmt: skip
    return {"duration": speech.duration, "warnings": [str(w.message) for w in caught]}


def dub_one(source: str, target: str, options: dict[str, Any]) -> dict[str, Any]:
    """A manifest row's dub: ``options["video"]`` speaking ``source``, to ``target``, in the
    person's own style unless the row's ``style`` is ``generic`` or a style file."""
    from . import api
    from .motion import opening

    _refuse_bad_row(options)
    video = existing_file(options["video"], kind="video")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        style, why = api.dub_style(video, options.get("style"), language=options["language"],
                                   recognizer=options.get("recognizer"), face=options.get("face"))  # fmt: skip
        if why:
            warnings.warn(why, stacklevel=1)
        speech = api.load_audio(source, max_seconds=options.get("max_seconds"))
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        with opening.using(style) if style is not None else contextlib.nullcontext():
            api.dub_video(video, speech, target, text=options.get("text"), face=options.get("face"),
                          fit=options["fit"], original_audio=options["original_audio"],
                          recognizer=options.get("recognizer"), language=options["language"])  # fmt: skip
    return {"duration": speech.duration, "warnings": [str(w.message) for w in caught]}


TASKS: dict[str, Callable[[str, str, dict[str, Any]], dict[str, Any]]] = {"render": render_one, "dub": dub_one}


def _refuse_bad_row(options: dict[str, Any]) -> None:
    if "error" in options:
        raise InputError(options["error"])
