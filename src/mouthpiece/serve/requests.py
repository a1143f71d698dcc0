"""What the HTTP routes do with a request: receive its uploads into the private folder, check
its choices and size, turn an InputError into the client's status and sentence, and run a
render or dub job in a render worker.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from fastapi import HTTPException, UploadFile
from fastapi.responses import FileResponse
from starlette.types import Receive, Scope, Send

from ..errors import InputError, MouthpieceError, NoFaceError, TooLongError
from ..phonetics import check_language as _language_known
from ..workers import Pool, WorkFailed
from . import tasks
from .jobs import Job, JobStore, QueueFull

UPLOAD_CHUNK = 1 << 20  # bytes read from an upload at a time
MAX_JOB_PIXEL_FRAMES = 600 * 25 * 1024 * 1024  # a render's seconds x fps x width x height: 10 min of 1024² at 25 fps
JOB_TIMEOUT = 3 * 3600.0  # seconds a render may take
RETRY_AFTER = 30  # seconds a client is told to wait when the render queue is full
LIMIT_FLAGS = {"audio": "--max-seconds", "image": "--max-megapixels", "video": "--max-megapixels"}


def job_in_worker(
    renders: Pool,
    task: Callable[..., None],
    out: Path,
    progress: Callable[[float], None],
    *,
    uploads: tuple[Path | None, ...],
    **options: Any,
) -> None:
    """A render or dub job: ``task`` writes the video in a render worker; the uploads are removed once it ends."""
    try:
        renders.call(task, str(out), timeout=JOB_TIMEOUT, progress=progress, **options)
    except WorkFailed as e:
        raise MouthpieceError(f"The job stopped: {e}.") from None
    finally:
        remove(*uploads)


def accepted(job: Job) -> dict[str, object]:
    return {**job.to_dict(), "status_url": f"/v1/jobs/{job.id}", "result_url": f"/v1/jobs/{job.id}/result"}


def check_job_size(seconds: float, fps: float, width: int, height: int) -> None:
    if seconds * fps * width * height > MAX_JOB_PIXEL_FRAMES:
        raise HTTPException(
            413,
            f"A video of {seconds:.0f} s at {width}x{height} and {fps:g} fps is larger than this server makes; "
            "send a smaller size, fewer fps or less speech.",
        )


def check_choice(name: str, value: str | None, choices: Collection[str]) -> None:
    if value is not None and value not in choices:
        raise HTTPException(422, f"Unknown {name} {value!r}; choose one of {', '.join(choices)}.")


def check_language(language: str) -> None:
    try:
        _language_known(language)
    except InputError as e:
        raise HTTPException(422, str(e)) from None


def remove(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            path.unlink(missing_ok=True)


class SentOnce(FileResponse):
    """A file in the private folder, answered and then removed, however the sending ends."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            Path(self.path).unlink(missing_ok=True)


def refusal(error: InputError, path: Path, name: str | None, kind: str) -> HTTPException:
    """The client's status and sentence for its upload ``path``, which it called ``name``."""
    label = f"'{name}'" if name else "The upload"
    message = str(error).replace(f"'{path}'", label).replace(str(path), label)
    if kind == "avatar":  # not glTF, or files of its own: 415; too many keyframes: 413; nothing to animate: 422
        status = 415 if isinstance(error, tasks.UnreadableModel) else 413 if isinstance(error, TooLongError) else 422
        return HTTPException(status, message)
    if isinstance(error, TooLongError):
        return HTTPException(413, f"{message.rstrip('.')} (mouthpiece serve {LIMIT_FLAGS[kind]} raises the limit).")
    if isinstance(error, NoFaceError):
        return HTTPException(422, message)
    if kind in ("image", "video"):
        what = "an image" if kind == "image" else "a video"
        return HTTPException(415, f"{label} is not {what} this server can read: {message}")
    return HTTPException(415, f"{label} is not an audio or video file with sound this server can decode.")


def find_job(jobs: JobStore, job_id: str) -> Job:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"No job {job_id!r} (never made, or its result has expired).")
    return job


async def receive(upload: UploadFile, folder: Path, limit: int) -> Path:
    """The upload, written to a file with a random name; 413 once it passes ``limit`` bytes."""
    path = folder / secrets.token_hex(16)
    size = 0
    with open(path, "wb") as f:
        while chunk := await upload.read(UPLOAD_CHUNK):
            size += len(chunk)
            if size > limit:
                f.close()
                path.unlink(missing_ok=True)
                raise HTTPException(413, f"The upload is larger than the server's limit of {limit / 2**20:g} MB.")
            f.write(chunk)
    return path


@contextlib.contextmanager
def held_until_queued() -> Iterator[list[Path]]:
    """The uploads a render or dub route appends to the yielded list are removed if the route
    fails before its job takes them (429 with Retry-After when the job queue is full)."""
    held: list[Path] = []
    try:
        yield held
    except QueueFull as e:
        remove(*held)
        raise HTTPException(429, str(e), headers={"Retry-After": str(RETRY_AFTER)}) from None
    except BaseException:
        remove(*held)
        raise
