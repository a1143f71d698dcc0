"""Render jobs: queued in order, run by a bounded pool of workers, their results kept a while.

A job is a function that writes an MP4 to the path it is given and reports its progress
(0-1). With one worker (the default) jobs finish in the order they were submitted. At
most ``max_pending`` jobs wait or run at once (:class:`QueueFull` past that), and at most
``max_kept`` finished ones keep their files: a finished job's file is removed ``ttl``
seconds after it finished or when newer results push it out (looked at whenever the
store is used), and every file when the store closes: queued jobs are cancelled, and
running ones end as soon as their work does (the server kills it first).
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MouthpieceError

Work = Callable[[Path, Callable[[float], None]], None]  # (output path, progress) -> None


@dataclass
class Job:
    id: str
    submitted: float
    status: str = "queued"  # queued, running, done, failed, cancelled
    progress: float = 0.0
    error: str | None = None
    finished: float | None = None
    path: Path | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, object]:
        answer: dict[str, object] = {"id": self.id, "status": self.status, "progress": round(self.progress, 3),
                                     "submitted_at": self.submitted}  # fmt: skip
        if self.finished is not None:
            answer["finished_at"] = self.finished
        if self.error is not None:
            answer["error"] = self.error
        return answer


class QueueFull(Exception):
    """Already ``max_pending`` jobs are waiting or running."""


class JobStore:
    """Jobs by id, run by ``workers`` threads, their MP4s in ``folder`` (private to the store)."""

    def __init__(
        self, folder: Path, *, workers: int = 1, ttl: float = 3600.0, max_pending: int = 8, max_kept: int = 64
    ) -> None:
        self.folder = folder
        self.ttl, self.max_pending, self.max_kept = ttl, max_pending, max_kept
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mouthpiece-job")

    def submit(self, work: Work) -> Job:
        self._expire()
        job = Job(id=secrets.token_urlsafe(12), submitted=time.time())
        with self._lock:
            if sum(j.finished is None for j in self._jobs.values()) >= self.max_pending:
                raise QueueFull(f"{self.max_pending} renders are already waiting or running; try again later.")
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        self._expire()
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job, work: Work) -> None:
        job.status = "running"
        path = self.folder / f"{job.id}.mp4"

        def progress(fraction: float) -> None:
            job.progress = max(job.progress, min(float(fraction), 1.0))

        try:
            work(path, progress)
        except MouthpieceError as e:
            job.status, job.error = "failed", str(e)
        except Exception as e:  # a job must not take the worker down; the client is told
            job.status, job.error = "failed", f"the render failed: {type(e).__name__}: {e}"
        else:
            job.status, job.path, job.progress = "done", path, 1.0
        job.finished = time.time()

    def _expire(self) -> None:
        now = time.time()
        with self._lock:
            finished = sorted((j for j in self._jobs.values() if j.finished is not None), key=lambda j: j.finished or 0)
            pushed_out = finished[: max(0, len(finished) - self.max_kept)]
            old = pushed_out + [j for j in finished[len(pushed_out) :] if now - (j.finished or now) > self.ttl]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            if job.path is not None:
                job.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Cancel what is queued, wait for what runs to end, remove every file."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for job in self._jobs.values():
                if job.status == "queued":
                    job.status = "cancelled"
        shutil.rmtree(self.folder, ignore_errors=True)
