"""The HTTP API: speech to Animation in any export format, text to speech and its Animation.

Routes (all under ``/v1``; OpenAPI docs at ``/docs``):

- ``GET /``: the web page (``static/index.html``): pick a portrait, type text or give an
  audio file, watch the video render, with the visemes and main curves drawn under it;
- ``GET /v1/health``: ``{"status": "ok", "version": ...}``, never behind the token;
- ``POST /v1/animate?format=tsv&fps=60``: a multipart upload (field ``audio``, any audio
  or video file; optional field ``text``, its transcript) -> the Animation in ``format``;
- ``POST /v1/say``: JSON ``{"text": ..., "voice": "en-us", "fps": 60}`` -> JSON with the
  speech as a base64 WAV and its Animation (anim-json);
- ``POST /v1/render``: a portrait and speech (``audio``, or ``text`` to be spoken) -> a job
  (202); ``GET /v1/jobs/{id}`` its status and progress, ``GET /v1/jobs/{id}/result`` the
  MP4 once done (409 before). Jobs run in a bounded pool (:mod:`.jobs`) and expire.
- ``WS /v1/stream``: live speech in, Animation frames out as soon as known (:mod:`.streams`).

Safety: an upload is written, as it arrives, to a file with a random name in a private
temporary folder (nothing a client sends is used as a path) and refused with 413 once it
passes the size limit; a file that does not decode as audio gets 415; with a token every
route but health needs ``Authorization: Bearer <token>`` (401 otherwise). Each request's
files are removed when it ends. A request that takes longer than the request timeout
gets 408; a stream silent for the idle timeout is closed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import io
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile, WebSocket
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from .. import __version__, api
from ..audio import save
from ..errors import InputError, NoFaceError, UnknownFormatError
from ..export import EXPORTERS
from .jobs import Job, JobStore
from .streams import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_STREAMS, StreamWorkers, serve_stream

UPLOAD_CHUNK = 1 << 20  # bytes read from an upload at a time
DEFAULT_MAX_UPLOAD_MB = 50
RESULT_TTL = 3600.0  # seconds a finished render's video is kept
DEFAULT_REQUEST_TIMEOUT = 300.0  # seconds an HTTP request may take, upload included
MEDIA_TYPES = {".json": "application/json", ".xml": "application/xml", ".csv": "text/csv"}
# The page and its sample portrait hold nothing private: a browser fetches them before it has
# a token to send (the page asks for one and sends it with its API calls).
OPEN_PATHS = ("/", "/sample/portrait.png", "/v1/health", "/docs", "/openapi.json", "/docs/oauth2-redirect")
STATIC = Path(__file__).parent / "static"


class SayRequest(BaseModel):
    text: str = Field(min_length=1, max_length=10_000, description="what to say")
    voice: str = Field("en-us", description="an espeak-ng voice: en-us, en-gb, de, fr, ...")
    fps: float = Field(60.0, ge=1, le=240, description="frames per second of the Animation")


def create_app(
    *,
    token: str | None = None,
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
    render_workers: int = 1,
    result_ttl: float = RESULT_TTL,
    stream_workers: int | None = None,
    max_streams: int = DEFAULT_MAX_STREAMS,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> FastAPI:
    """The server's application; ``uvicorn.run(create_app(), host=..., port=...)`` serves it."""
    limit = int(max_upload_mb * 2**20)
    folder = Path(tempfile.mkdtemp(prefix="mouthpiece-serve-"))
    os.chmod(folder, 0o700)

    jobs = JobStore(folder / "jobs", workers=render_workers, ttl=result_ttl)
    (folder / "jobs").mkdir()
    streams = StreamWorkers(stream_workers or os.cpu_count() or 1, max_streams=max_streams)  # one per core

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await streams.start()
        yield
        await streams.stop()  # open streams get an error message and close
        jobs.close()  # queued renders cancelled, running ones finished
        shutil.rmtree(folder, ignore_errors=True)  # nothing left behind on shutdown

    app = FastAPI(
        title="mouthpiece", version=__version__, description="Make any face speak: speech to animation.",
        lifespan=lifespan,
    )  # fmt: skip

    app.state.streams, app.state.folder = streams, folder

    @app.middleware("http")
    async def check_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if token is not None and request.url.path not in OPEN_PATHS:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return JSONResponse({"detail": "Missing or wrong bearer token."}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        try:
            return await asyncio.wait_for(call_next(request), request_timeout)
        except asyncio.TimeoutError:
            return JSONResponse({"detail": f"The request took longer than {request_timeout:g} s."}, status_code=408)

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket) -> None:
        await serve_stream(ws, streams, token=token, folder=folder, idle_timeout=idle_timeout, max_bytes=limit)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    @app.get("/sample/portrait.png", include_in_schema=False)
    def sample_portrait() -> FileResponse:
        return FileResponse(api.SAMPLE_PORTRAIT, media_type="image/png")

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post("/v1/animate")
    async def animate(
        audio: Annotated[UploadFile, File(description="speech: any audio or video file")],
        text: Annotated[str | None, Form(description="the transcript of the speech")] = None,
        format: Annotated[str, Query(description=f"one of {', '.join(EXPORTERS)}")] = "tsv",
        fps: Annotated[float, Query(ge=1, le=240)] = 60.0,
    ) -> Response:
        if format not in EXPORTERS:
            raise HTTPException(400, f"Unknown format {format!r}; expected one of {', '.join(EXPORTERS)}.")
        path = await _receive(audio, folder, limit)
        try:
            speech = _decode(path, audio.filename)
            animation = api.animate(speech, text=text, fps=fps)
            out = io.StringIO()
            api.export_stream(animation, out, format=format)
        except UnknownFormatError as e:
            raise HTTPException(400, str(e)) from None
        except InputError as e:
            raise HTTPException(422, str(e)) from None
        finally:
            path.unlink(missing_ok=True)
        media = MEDIA_TYPES.get(EXPORTERS[format].extension, "text/plain")
        return PlainTextResponse(out.getvalue(), media_type=media)

    @app.post("/v1/say")
    def say(request: SayRequest) -> dict[str, Any]:
        try:
            speech, animation = api.say(request.text, voice=request.voice, fps=request.fps)
        except InputError as e:
            raise HTTPException(422, str(e)) from None
        wav = folder / f"{secrets.token_hex(16)}.wav"
        try:
            save(speech, wav)
            sound = base64.b64encode(wav.read_bytes()).decode("ascii")
        finally:
            wav.unlink(missing_ok=True)
        out = io.StringIO()
        api.export_stream(animation, out, format="anim-json")
        return {"audio_wav_base64": sound, "duration": speech.duration, "animation": json.loads(out.getvalue())}

    @app.post("/v1/render", status_code=202)
    async def render(
        portrait: Annotated[UploadFile, File(description="a photo with a face (JPEG, PNG, WebP)")],
        audio: Annotated[UploadFile | None, File(description="speech: any audio or video file")] = None,
        text: Annotated[str | None, Form(description="the transcript of the audio; without audio, what to say")] = None,
        size: Annotated[int, Form(ge=64, le=2048, description="the video's width and height, even")] = 512,
        fps: Annotated[float, Form(ge=1, le=60)] = 25.0,
    ) -> dict[str, object]:
        if audio is None and not (text and text.strip()):
            raise HTTPException(422, "Send the speech as 'audio', or 'text' to be spoken.")
        photo = await _receive(portrait, folder, limit)
        try:
            face = api.load_portrait(photo, size=(size - size % 2, size - size % 2))
        except NoFaceError as e:
            raise HTTPException(422, str(e).replace(str(photo), portrait.filename or "the portrait")) from None
        except InputError:
            raise HTTPException(415, f"'{portrait.filename}' is not an image this server can read.") from None
        finally:
            photo.unlink(missing_ok=True)
        speech = None
        if audio is not None:
            path = await _receive(audio, folder, limit)
            try:
                speech = _decode(path, audio.filename)
            finally:
                path.unlink(missing_ok=True)

        def work(out: Path, progress: Callable[[float], None]) -> None:
            if speech is None:
                assert text is not None
                spoken, animation = api.say(text, fps=fps)
                animation = api.add_life(animation, spoken)
                api.render_video(face, animation, out, audio=spoken, progress=progress)
            else:
                api.render_speech(face, speech, out, text=text, fps=fps, progress=progress)

        job = jobs.submit(work)
        return {**job.to_dict(), "status_url": f"/v1/jobs/{job.id}", "result_url": f"/v1/jobs/{job.id}/result"}

    @app.get("/v1/jobs/{job_id}")
    def job_status(job_id: str) -> dict[str, object]:
        return _job(jobs, job_id).to_dict()

    @app.get("/v1/jobs/{job_id}/result")
    def job_result(job_id: str) -> FileResponse:
        job = _job(jobs, job_id)
        if job.status != "done" or job.path is None:
            detail = f"Job {job_id} is {job.status}" + (f": {job.error}" if job.error else "; ask again later.")
            raise HTTPException(409, detail)
        return FileResponse(job.path, media_type="video/mp4", filename="mouthpiece.mp4")

    return app


def _job(jobs: JobStore, job_id: str) -> Job:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"No job {job_id!r} (never made, or its result has expired).")
    return job


async def _receive(upload: UploadFile, folder: Path, limit: int) -> Path:
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


def _decode(path: Path, name: str | None) -> Any:
    try:
        return api.load_audio(path)
    except InputError:
        label = f"'{name}'" if name else "The upload"
        raise HTTPException(415, f"{label} is not an audio or video file with sound this server can decode.") from None
