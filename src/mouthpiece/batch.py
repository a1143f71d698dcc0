"""Many speech files animated at once: ``mouthpiece animate FILES|FOLDERS|GLOBS -o OUT --jobs N``.

1. :func:`expand`: files as given, folders searched recursively for audio and video
   files, glob patterns (``'lines/**/*.wav'``) matched; each input keeps its path below
   the folder or pattern it was found by.
2. :func:`plan`: each input's output under the output folder, at the same relative path
   with the format's extension; two inputs that would write one file are refused,
   naming both, before any work.
3. :func:`run`: ``jobs`` warm worker processes (:class:`~mouthpiece.workers.Pool`), one
   file per call, or one Ray task per file on a cluster (:mod:`~mouthpiece.cluster`);
   each output is written atomically, so a batch killed half-way leaves whole files only
   and ``skip_existing`` resumes it. One bad file never stops the rest: its row says
   what was wrong.
4. :func:`write_report`: a row per input (status ``ok``, ``error`` or ``skipped``, the
   sentence, warnings, seconds of speech, seconds taken and their ratio) as CSV or JSON.

The work of one file is :func:`animate_one`, the same for one worker or many, so a batch's
outputs do not depend on ``jobs``.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import json
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .atomic import remove_stale_temporaries
from .errors import InputError, MouthpieceError
from .inputs import read_text_file

if TYPE_CHECKING:
    from .types import Animation

# What a folder is searched for: audio and video files FFmpeg decodes.
MEDIA_EXTENSIONS = frozenset({
    ".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma", ".aif", ".aiff", ".caf",
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi",
})  # fmt: skip
WORK_TIMEOUT = 24 * 3600.0  # s, for one file: a batch waits as long as a file takes


@dataclass(frozen=True)
class BatchItem:
    source: str  # the input file
    target: str  # its output file
    options: dict[str, Any] = field(default_factory=dict)  # this item's own, over the batch's (a manifest row's)


@dataclass
class BatchResult:
    input: str
    output: str
    status: str  # ok, error or skipped
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    duration: float = 0.0  # s of speech
    seconds: float = 0.0  # s taken

    @property
    def real_time_factor(self) -> float:
        return self.seconds / self.duration if self.duration > 0 else 0.0


def expand(paths: Iterable[str]) -> list[tuple[str, str]]:
    """``(file, its path relative to where it was found)`` for every input, in order.

    InputError names a folder with no audio or video files, or a pattern that matches none.
    """
    found: list[tuple[str, str]] = []
    for path in paths:
        if os.path.isdir(path):
            files = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names
                     if Path(name).suffix.lower() in MEDIA_EXTENSIONS]  # fmt: skip
            if not files:
                raise InputError(f"The folder '{path}' holds no audio or video files.")
            found += [(f, os.path.relpath(f, path)) for f in sorted(files)]
        elif not os.path.exists(path) and glob.has_magic(path):
            matches = sorted(m for m in glob.glob(path, recursive=True) if os.path.isfile(m))
            if not matches:
                raise InputError(f"No file matches '{path}'.")
            base = _fixed_prefix(path)
            found += [(m, os.path.relpath(m, base)) for m in matches]
        else:
            found.append((path, os.path.basename(path)))
    return found


def _fixed_prefix(pattern: str) -> str:
    """The folder part of a glob pattern before its first wildcard: ``lines/**/*.wav`` -> ``lines``."""
    parts = Path(pattern).parts
    fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))]]
    return os.path.join(*fixed) if fixed else "."


def plan(inputs: list[tuple[str, str]], output: str, extension: str) -> list[BatchItem]:
    """Each input's output file under the folder ``output``; InputError when two would be one."""
    items: list[BatchItem] = []
    first_for: dict[str, str] = {}
    for source, relative in inputs:
        target = os.path.join(output, str(Path(relative).with_suffix(extension)))
        key = os.path.normcase(os.path.abspath(target))
        if key in first_for and os.path.abspath(first_for[key]) != os.path.abspath(source):
            raise InputError(f"'{first_for[key]}' and '{source}' would both be written to '{target}'; "
                             "rename one, or animate them into different folders.")  # fmt: skip
        if key not in first_for:
            first_for[key] = source
            items.append(BatchItem(source, target))
    return items


def animate_one(source: str, target: str, options: dict[str, Any]) -> dict[str, Any]:
    """Animate ``source`` and write ``target`` (atomically): its seconds of speech and warnings.

    ``options``: ``format``, ``text``, ``text_sidecar``, ``fps``, ``recognizer``,
    ``language``, ``idle``, ``seed``, ``emotion``, ``intensity``, ``cue_shapes``, ``style`` (a
    style file or None), ``max_seconds`` (None: no limit) and ``export`` (the format's options).
    """
    exported = export_text(source, options, sound_file=os.path.abspath(source))
    write_text(target, exported.pop("text"))
    return exported


def animation_of(
    source: str, options: dict[str, Any], progress: Callable[[float], None] | None = None
) -> tuple[Animation, list[str]]:
    """The Animation of ``source`` as ``animate`` makes it with ``options`` (see :func:`animate_one`),
    and the warnings it gave; the same for one file and for a batch's."""
    from . import api
    from .motion import opening
    from .motion.style import load_style

    style = options.get("style")
    chosen = opening.using(load_style(style)) if style else contextlib.nullcontext()
    with chosen, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        animation = api.animate_file(source, text=transcript_of(source, options), fps=options["fps"],
                                     recognizer=options.get("recognizer"), language=options["language"],
                                     progress=progress, max_seconds=options.get("max_seconds"))  # fmt: skip
        if options.get("idle") or options.get("emotion", "neutral") != "neutral":
            animation = api.add_life(animation, api.load_audio(source), idle=options.get("idle", False),
                                     seed=options.get("seed", 0), emotion=options.get("emotion", "neutral"),
                                     intensity=options.get("intensity", 1.0))  # fmt: skip
    if options.get("cue_shapes") == "heard":
        animation = api.heard_cues(animation)
    return animation, [str(w.message) for w in caught]


def export_text(source: str, options: dict[str, Any], *, sound_file: str) -> dict[str, Any]:
    """The export of ``source``'s Animation (``text``), its seconds of speech and warnings;
    ``sound_file`` is the input's name as the formats that record it write it."""
    from . import api

    animation, said = animation_of(source, options)
    out = io.StringIO()
    export = {**options.get("export", {}), "sound_file": sound_file}
    api.export_stream(animation, out, format=options["format"], **export)
    return {"text": out.getvalue(), "duration": animation.duration, "warnings": said}


def write_text(target: str, text: str) -> None:
    """``text`` to ``target`` as the exporters write files: UTF-8, newlines as they are, atomically."""
    from .atomic import atomic_output

    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with atomic_output(target, what="export file") as partial, open(partial, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def transcript_of(source: str, options: dict[str, Any]) -> str | None:
    """The transcript for ``source``: the one given, or with ``text_sidecar`` its ``<stem>.txt``."""
    if options.get("text") is not None:
        return str(options["text"])
    sidecar = Path(source).with_suffix(".txt")
    return read_text_file(str(sidecar)) if options.get("text_sidecar") and sidecar.exists() else None


def run(
    items: list[BatchItem],
    options: dict[str, Any],
    *,
    jobs: int = 1,
    ray: str | None = None,
    task: Callable[[str, str, dict[str, Any]], dict[str, Any]] | None = None,
    skip_existing: bool = False,
    progress: Callable[[float], None] | None = None,
    done: Callable[[BatchResult], None] | None = None,
) -> list[BatchResult]:
    """Every item done by ``task`` (default :func:`animate_one`; ``task(source, target, options)``
    returns the seconds of speech and the warnings), ``jobs`` at a time (1: in this process), or
    animated on the Ray cluster at address ``ray`` (``"auto"``: the one this machine belongs
    to); results in the items' order."""
    work = task or animate_one
    results: dict[int, BatchResult] = {}
    lock = threading.Lock()

    def finish(index: int, result: BatchResult) -> None:
        with lock:
            results[index] = result
            if done is not None:
                done(result)
            if progress is not None:
                progress(len(results) / len(items))

    remove_stale_temporaries(item.target for item in items)  # a killed run's half-written files
    todo = []
    for index, item in enumerate(items):
        if skip_existing and os.path.exists(item.target):
            finish(index, BatchResult(item.source, item.target, "skipped", "the output exists"))
        else:
            todo.append((index, item))
    if ray is not None and task is not None:
        raise InputError("--ray runs animate batches; render and dub manifests run with --jobs.")
    if ray is not None:
        from .cluster import run_on_ray

        try:
            run_on_ray(todo, options, address=ray, finish=finish)
        finally:
            remove_stale_temporaries(item.target for index, item in todo if index not in results)
    elif jobs <= 1:
        for index, item in todo:
            finish(index, _attempt(item, lambda item: work(item.source, item.target, {**options, **item.options})))
    else:
        from .workers import Pool

        pool = Pool(min(jobs, max(1, len(todo))))

        def in_worker(item: BatchItem) -> dict[str, Any]:
            done = pool.call(work, item.source, item.target, {**options, **item.options}, timeout=WORK_TIMEOUT)
            return cast(dict[str, Any], done)

        try:
            with ThreadPoolExecutor(max_workers=pool.size) as threads:
                futures = {threads.submit(_attempt, item, in_worker): index for index, item in todo}
                for future in as_completed(futures):
                    finish(futures[future], future.result())
        finally:
            pool.close()  # on SIGTERM or Ctrl-C too: the workers die mid-file ...
            remove_stale_temporaries(item.target for index, item in todo if index not in results)  # ... and that goes
    return [results[i] for i in range(len(items))]


def _attempt(item: BatchItem, work: Callable[[BatchItem], dict[str, Any]]) -> BatchResult:
    from .workers import WorkFailed

    start = time.perf_counter()
    try:
        outcome = work(item)
    except (MouthpieceError, WorkFailed) as e:
        message = str(e) if isinstance(e, MouthpieceError) else f"The work on '{item.source}' failed: {e}."
        outcome = {"error": message}
    return result_of(item, outcome, time.perf_counter() - start)


def result_of(item: BatchItem, outcome: dict[str, Any], seconds: float) -> BatchResult:
    """An item's report row from what its work returned: ``error`` (a sentence), or its
    ``duration`` and ``warnings``."""
    if "error" in outcome:
        return BatchResult(item.source, item.target, "error", outcome["error"], seconds=seconds)
    return BatchResult(item.source, item.target, "ok", "", outcome["warnings"], outcome["duration"], seconds)


REPORT_FIELDS = ("input", "output", "status", "message", "warnings", "duration", "seconds", "real_time_factor")


def write_report(results: list[BatchResult], path: str) -> None:
    """The batch's rows to ``path``, JSON for ``.json``, else CSV (written atomically)."""
    from .atomic import atomic_output

    rows = [{**asdict(r), "real_time_factor": round(r.real_time_factor, 4), "duration": round(r.duration, 3),
             "seconds": round(r.seconds, 3)} for r in results]  # fmt: skip
    with atomic_output(path, what="report") as partial, open(partial, "w", encoding="utf-8", newline="") as f:
        if path.lower().endswith(".json"):
            json.dump({"files": rows, "ok": sum(r.status == "ok" for r in results),
                       "errors": sum(r.status == "error" for r in results),
                       "skipped": sum(r.status == "skipped" for r in results)}, f, indent=1)  # fmt: skip
            f.write("\n")
            return
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "warnings": " | ".join(row["warnings"])})
        f.write(out.getvalue())
