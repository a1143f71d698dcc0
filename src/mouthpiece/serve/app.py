"""The HTTP API: speech to Animation in any export format, text to speech and its Animation.

Routes (all under ``/v1``; OpenAPI docs at ``/docs``; what they do with uploads and refusals is :mod:`.requests`):

- ``GET /``: the web page (``static/index.html``): pick a portrait, type text or give an
  audio file, watch the video render, with the visemes and main curves drawn under it;
- ``GET /v1/health``: ``{"status": "ok", "version": ...}``, never behind the token;
- ``POST /v1/animate?format=tsv&fps=60``: a multipart upload (field ``audio``, any audio
  or video file; optional field ``text``, its transcript) -> the Animation in ``format``;
  with a field ``avatar`` (a .glb, .vrm, or .gltf with its data embedded) -> that avatar
  with the Animation on its morph targets and head (``animate --onto``), a
  ``model/gltf-binary`` (.glb, .vrm) or ``model/gltf+json`` (.gltf) file; ``format`` must
  then be left out (the answer is the model, in the form it came);
- ``POST /v1/say``: JSON ``{"text": ..., "voice": "en-us", "fps": 60}`` -> JSON with the
  speech as a base64 WAV and its Animation (anim-json);
- ``POST /v1/render``: a portrait and speech (``audio``, or ``text`` to be spoken) -> a job
  (202); ``GET /v1/jobs/{id}`` its status and progress, ``GET /v1/jobs/{id}/result`` the
  MP4 once done (409 before). Jobs run in a bounded pool (:mod:`.jobs`) and expire.
- ``POST /v1/dub``: a video with a face and new speech (``audio``) -> a job like a render's:
  the same video speaking it.
- ``POST /v1/head``: a ``portrait`` (none: the sample's) -> its 3D head with the 52 ARKit morph
  targets, a GLB the page shows with the three.js served at ``/static/vendor/three/`` (:mod:`.head`).

The routes take the CLI's options, with its limits: ``recognizer``, ``language``, ``emotion``
and ``intensity``, ``idle`` and ``seed`` (animate and render), ``face`` (render and dub), and
dub's ``fit``, ``original_audio`` and ``style`` (``own``: fitted on the video, as the CLI does).
- ``WS /v1/stream``: live speech in, Animation frames out as soon as known (:mod:`.streams`).

Safety: an upload is written, as it arrives, to a file with a random name in a private
temporary folder (nothing a client sends is used as a path) and refused with 413 once it
passes the size limit; a file that does not decode as audio gets 415; each request's files
are removed when it ends. Every decode is bounded (seconds of speech, pixels of a
portrait, characters of text, megabytes of an avatar's keyframes) and runs in a worker
process (:mod:`.workers`, the functions of :mod:`.tasks`), so the event loop stays free
and a request past the request timeout is answered 408 and its work killed. An uploaded
avatar that names files of its own is refused before it is read: a client never makes the
server read a path. Who may call, how large a body may be and how long a request may
take are checked before any route by :mod:`.guard`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import FastAPI, File, Form, HTTPException, Query, UploadFile, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from .. import __version__, api
from ..cpus import usable_cpus
from ..errors import InputError
from ..export import EXPORTERS
from ..motion import EMOTIONS
from ..phonetics import DEFAULT_LANGUAGE, RECOGNIZERS
from ..render.fit import FITS
from ..workers import Pool, WorkFailed, WorkTimedOut
from . import tasks
from .docs import DOCS_PAGE
from .guard import Guard
from .head import GLB_TYPE, THREE_FILES, THREE_URL, make_head, three_file
from .jobs import JobStore
from .requests import (
    UPLOAD_CHUNK,
    SentOnce,
    accepted,
    check_choice,
    check_job_size,
    check_language,
    find_job,
    held_until_queued,
    job_in_worker,
    receive,
    refusal,
    remove,
)
from .streams import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_STREAMS, MAX_TEXT_CHARACTERS, StreamWorkers, serve_stream

CHARACTERS_PER_SECOND = 12.0  # of text spoken, to size a render of text before it is synthesized

DEFAULT_MAX_UPLOAD_MB = 50
DEFAULT_MAX_SECONDS = 600.0  # s of speech a request may send or ask for
DEFAULT_MAX_MEGAPIXELS = 40.0  # of a portrait
DEFAULT_MAX_JOBS = 16  # renders waiting or running at once
RESULT_TTL = 3600.0  # seconds a finished render's video is kept
DEFAULT_REQUEST_TIMEOUT = 300.0  # seconds an HTTP request may take, upload included
MEDIA_TYPES = {".json": "application/json", ".xml": "application/xml", ".csv": "text/csv"}
MODEL_TYPES = {".glb": "model/gltf-binary", ".vrm": "model/gltf-binary", ".gltf": "model/gltf+json"}
DEFAULT_MAX_KEYFRAMES_MB = 128.0  # of keyframes /v1/animate adds to an avatar (60 s at 60 fps, 52 targets: 0.8 MB)
# The page and its sample portrait hold nothing private: a browser fetches them before it has
# a token to send (the page asks for one and sends it with its API calls).
OPEN_PATHS = (
    "/", "/favicon.ico", "/sample/portrait.png", "/v1/health", "/docs", "/openapi.json", "/docs/oauth2-redirect",
    *(THREE_URL + name for name in THREE_FILES),
)  # fmt: skip
STATIC = Path(__file__).parent / "static"
LANGUAGE_HELP = "the speech's language: an espeak-ng code or voice (en-us, de, fr, pt-br, ...)"
RECOGNIZER_HELP = f"how speech without a transcript is heard: {', '.join(RECOGNIZERS)} (default: by language)"
EMOTION_HELP = f"expression: {', '.join(EMOTIONS)}"
STYLES = ("own", "generic")  # dub: the person's own style fitted on the video, or the generic one
MAX_SEED = 2**31 - 1
FACE_HELP = "which face: 0 is the leftmost (default: the largest)"
PORTRAIT_HELP = "a photo with a face (JPEG, PNG, WebP)"
IDLE_HELP = "blinks, gaze, head motion and brow raises (false: only the speech)"
TEXT_HELP = "the transcript of the speech"
AVATAR_HELP = ("a 3D avatar (.glb, .vrm, or .gltf with its data embedded): the answer is it, with the animation on "
               "its morph targets and head (leave out format)")  # fmt: skip


class SayRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARACTERS, description="what to say")
    voice: str = Field(
        DEFAULT_LANGUAGE, max_length=100, description="an espeak-ng language or voice: en-us, de, fr+f2; or piper"
    )
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
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
    max_jobs: int = DEFAULT_MAX_JOBS,
    max_keyframes_mb: float = DEFAULT_MAX_KEYFRAMES_MB,
    request_workers: int | None = None,
    allowed_origins: tuple[str, ...] = (),
    allowed_hosts: tuple[str, ...] = (),
) -> Guard:
    """The server's application; ``uvicorn.run(create_app(), host=..., port=...)`` serves it.

    Heavy work runs in worker processes: ``request_workers`` for the routes (default one per
    core), ``render_workers`` for render jobs, ``stream_workers`` for live streams.
    """
    limit = int(max_upload_mb * 2**20)
    max_pixels = int(max_megapixels * 1e6)
    folder = Path(tempfile.mkdtemp(prefix="mouthpiece-serve-"))
    os.chmod(folder, 0o700)
    private = {"TMPDIR": str(folder)}  # what workers spool goes nowhere else

    jobs = JobStore(folder / "jobs", workers=render_workers, ttl=result_ttl, max_pending=max_jobs)
    (folder / "jobs").mkdir()
    cores = usable_cpus()
    work = Pool(request_workers or cores, environment=private)
    renders = Pool(render_workers, environment=private)
    streams = StreamWorkers(stream_workers or cores, max_streams=max_streams)  # one per core

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(work.warm)
        await streams.start()
        try:
            yield
        finally:
            await streams.stop()  # open streams get an error message and close
            renders.close()  # running renders are killed, then
            jobs.close()  # queued ones cancelled
            work.close()
            shutil.rmtree(folder, ignore_errors=True)  # nothing left behind on shutdown

    app = FastAPI(
        title="mouthpiece", version=__version__, description="Make any face speak: speech to animation.",
        lifespan=lifespan, docs_url=None,
    )  # fmt: skip

    app.state.streams, app.state.folder, app.state.workers = streams, folder, (work, renders)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Any, error: RequestValidationError) -> JSONResponse:
        """One sentence naming the field, never the value sent (which may be megabytes)."""
        first = error.errors()[0] if error.errors() else {}
        field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "the request"
        return JSONResponse({"detail": f"{field!r}: {first.get('msg', 'not valid')}."}, status_code=422)

    async def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await work.run(function, *args, timeout=request_timeout, **kwargs)
        except WorkTimedOut:
            raise HTTPException(408, f"The request took longer than {request_timeout:g} s.") from None
        except WorkFailed as e:
            raise HTTPException(500, f"The work failed: {e}.") from None

    async def received_speech(audio: UploadFile, held: list[Path]) -> tuple[Path, float]:
        """A job's speech upload (held until the job takes it) and its length; 413/415 past the limits."""
        speech = await receive(audio, folder, limit)
        held.append(speech)
        try:
            return speech, await run(tasks.speech_seconds, str(speech), max_seconds=max_seconds)
        except InputError as e:
            raise refusal(e, speech, audio.filename, "audio") from None

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket) -> None:
        await serve_stream(ws, streams, token=token, folder=folder, idle_timeout=idle_timeout, max_bytes=limit)

    # Routes that do nothing blocking are coroutines: a plain `def` route would wait for a thread
    # of the pool that busy uploads' file writes share, which under load took 100+ ms.
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)  # no icon, and no 404 in the log for each page view

    @app.get("/sample/portrait.png", include_in_schema=False)
    async def sample_portrait() -> FileResponse:
        return FileResponse(api.SAMPLE_PORTRAIT, media_type="image/png")

    app.add_api_route(THREE_URL + "{name}", three_file, include_in_schema=False)  # what the page's 3D head loads

    @app.get("/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post("/v1/animate")
    async def animate(
        audio: Annotated[UploadFile, File(description="speech: any audio or video file")],
        text: Annotated[
            str | None, Form(max_length=MAX_TEXT_CHARACTERS, description="the transcript of the speech")
        ] = None,
        avatar: Annotated[UploadFile | None, File(description=AVATAR_HELP)] = None,
        format: Annotated[
            str | None, Query(description=f"one of {', '.join(EXPORTERS)} (default tsv); none with an avatar")
        ] = None,
        fps: Annotated[float, Query(ge=1, le=240)] = 60.0,
        language: Annotated[str, Query(max_length=100, description=LANGUAGE_HELP)] = DEFAULT_LANGUAGE,
        recognizer: Annotated[str | None, Query(max_length=40, description=RECOGNIZER_HELP)] = None,
        emotion: Annotated[str, Query(max_length=40, description=EMOTION_HELP)] = "neutral",
        intensity: Annotated[float, Query(ge=0, le=1, description="of the emotion")] = api.DEFAULT_INTENSITY,
        idle: Annotated[bool, Query(description="add blinks, gaze, head motion and brow raises")] = False,
        seed: Annotated[int, Query(ge=0, le=MAX_SEED, description="picks the idle motion")] = 0,
    ) -> Response:
        if avatar is not None and format is not None:
            raise HTTPException(400, "Leave out 'format' when sending an avatar: the answer is the avatar itself, "
                                     "in the form it came, with the animation on it.")  # fmt: skip
        format = format or "tsv"
        if format not in EXPORTERS:
            raise HTTPException(400, f"Unknown format {format!r}; expected one of {', '.join(EXPORTERS)}.")
        check_language(language)
        check_choice("recognizer", recognizer, RECOGNIZERS)
        check_choice("emotion", emotion, EMOTIONS)
        life = {"idle": idle, "seed": seed, "emotion": emotion, "intensity": intensity}
        if avatar is not None:
            return await animate_onto(audio, avatar, text=text, fps=fps, language=language, recognizer=recognizer,
                                      life=life)  # fmt: skip
        path = await receive(audio, folder, limit)
        try:
            exported = await run(tasks.animate_upload, str(path), text=text, fps=fps, format=format, language=language,
                                 recognizer=recognizer, life=life, max_seconds=max_seconds)  # fmt: skip
        except InputError as e:
            raise refusal(e, path, audio.filename, "audio") from None
        finally:
            path.unlink(missing_ok=True)
        media = MEDIA_TYPES.get(EXPORTERS[format].extension, "text/plain")
        return PlainTextResponse(exported, media_type=media)

    async def animate_onto(audio: UploadFile, avatar: UploadFile, **options: Any) -> Response:
        """/v1/animate with an avatar: checked before the speech is heard, written in a worker,
        answered as a file that is removed once sent (or once the request fails)."""
        speech = await receive(audio, folder, limit)
        model: Path | None = None
        out: Path | None = None
        try:
            model = await receive(avatar, folder, limit)
            try:
                extension = await run(tasks.check_avatar, str(model))
            except InputError as e:
                raise refusal(e, model, avatar.filename, "avatar") from None
            out = folder / (secrets.token_hex(16) + extension)
            try:
                await run(tasks.animate_onto_upload, str(speech), avatar=str(model), out=str(out),
                          max_seconds=max_seconds, max_bytes=int(max_keyframes_mb * 2**20), **options)  # fmt: skip
            except InputError as e:
                if str(model) in str(e):  # every refusal names its file
                    raise refusal(e, model, avatar.filename, "avatar") from None
                raise refusal(e, speech, audio.filename, "audio") from None
        except BaseException:
            remove(speech, model, out)
            raise
        remove(speech, model)
        return SentOnce(out, media_type=MODEL_TYPES[extension], filename="mouthpiece" + extension)

    @app.post("/v1/say")
    async def say(request: SayRequest) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], await run(tasks.say, request.text, voice=request.voice, fps=request.fps,
                                                  max_seconds=max_seconds))  # fmt: skip
        except InputError as e:
            raise HTTPException(422, str(e)) from None

    @app.post("/v1/head", response_class=Response, responses={200: {"content": {GLB_TYPE: {}}}})
    async def head(
        portrait: Annotated[UploadFile | None, File(description=PORTRAIT_HELP + " (none: the sample portrait)")] = None,
        face: Annotated[int | None, Form(ge=0, le=999, description=FACE_HELP)] = None,
    ) -> Response:
        return await make_head(portrait, folder=folder, limit=limit, run=run, face=face, max_pixels=max_pixels)

    @app.post("/v1/render", status_code=202)
    async def render(
        portrait: Annotated[UploadFile, File(description=PORTRAIT_HELP)],
        audio: Annotated[UploadFile | None, File(description="speech: any audio or video file")] = None,
        text: Annotated[
            str | None,
            Form(max_length=MAX_TEXT_CHARACTERS, description="the transcript of the audio; without audio, what to say"),
        ] = None,
        size: Annotated[int, Form(ge=64, le=2048, description="the video's width and height, even")] = 512,
        fps: Annotated[float, Form(ge=1, le=240)] = 25.0,
        language: Annotated[str, Form(max_length=100, description=LANGUAGE_HELP)] = DEFAULT_LANGUAGE,
        recognizer: Annotated[str | None, Form(max_length=40, description=RECOGNIZER_HELP)] = None,
        face: Annotated[int | None, Form(ge=0, le=999, description=FACE_HELP)] = None,
        emotion: Annotated[str, Form(max_length=40, description=EMOTION_HELP)] = "neutral",
        intensity: Annotated[float, Form(ge=0, le=1, description="of the emotion")] = api.DEFAULT_INTENSITY,
        idle: Annotated[bool, Form(description=IDLE_HELP)] = True,
        seed: Annotated[int, Form(ge=0, le=MAX_SEED, description="picks the idle motion")] = 0,
    ) -> dict[str, object]:
        if audio is None and not (text and text.strip()):
            raise HTTPException(422, "Send the speech as 'audio', or 'text' to be spoken.")
        check_language(language)
        check_choice("recognizer", recognizer, RECOGNIZERS)
        check_choice("emotion", emotion, EMOTIONS)
        life = {"idle": idle, "seed": seed, "emotion": emotion, "intensity": intensity}
        size -= size % 2
        with held_until_queued() as held:
            photo = await receive(portrait, folder, limit)
            held.append(photo)
            speech: Path | None = None
            # the cheap checks first: a job too large is refused before its face is looked for
            seconds = len(text or "") / CHARACTERS_PER_SECOND
            if audio is not None:
                speech, seconds = await received_speech(audio, held)
            check_job_size(seconds, fps, size, size)
            try:
                await run(tasks.check_portrait, str(photo), size=size, face=face, max_pixels=max_pixels)
            except InputError as e:
                raise refusal(e, photo, portrait.filename, "image") from None
            job = jobs.submit(partial(job_in_worker, renders, tasks.render, uploads=(photo, speech),
                                      portrait=str(photo), audio=None if speech is None else str(speech), text=text,
                                      size=size, fps=fps, language=language, recognizer=recognizer, face=face,
                                      life=life, max_seconds=max_seconds, max_pixels=max_pixels))  # fmt: skip
        return accepted(job)

    @app.post("/v1/dub", status_code=202)
    async def dub(
        video: Annotated[UploadFile, File(description="a video with a face (MP4, MOV, MKV, WebM, ...)")],
        audio: Annotated[UploadFile, File(description="the new speech: any audio or video file")],
        text: Annotated[str | None, Form(max_length=MAX_TEXT_CHARACTERS, description=TEXT_HELP)] = None,
        language: Annotated[str, Form(max_length=100, description=LANGUAGE_HELP)] = DEFAULT_LANGUAGE,
        recognizer: Annotated[str | None, Form(max_length=40, description=RECOGNIZER_HELP)] = None,
        face: Annotated[int | None, Form(ge=0, le=999, description=FACE_HELP)] = None,
        fit: Annotated[str, Form(max_length=20, description=f"speech longer than the video: {FITS}")] = "pingpong",
        original_audio: Annotated[float, Form(ge=0, le=1, description="level of the video's own sound")] = 0.0,
        style: Annotated[str, Form(max_length=20, description="own (fitted on the video) or generic")] = "own",
    ) -> dict[str, object]:
        check_language(language)
        check_choice("recognizer", recognizer, RECOGNIZERS)
        check_choice("fit", fit, FITS)
        check_choice("style", style, STYLES)
        with held_until_queued() as held:
            source = await receive(video, folder, limit)
            held.append(source)
            try:
                fps, width, height = await run(tasks.video_size, str(source), max_pixels=max_pixels)
            except InputError as e:
                raise refusal(e, source, video.filename, "video") from None
            speech, seconds = await received_speech(audio, held)
            check_job_size(seconds, fps, width, height)
            job = jobs.submit(partial(job_in_worker, renders, tasks.dub, uploads=(source, speech), video=str(source),
                                      audio=str(speech), text=text, language=language, recognizer=recognizer,
                                      face=face, fit=fit, original_audio=original_audio, own_style=style == "own",
                                      max_seconds=max_seconds))  # fmt: skip
        return accepted(job)

    @app.get("/v1/jobs/{job_id}")
    async def job_status(job_id: str) -> dict[str, object]:
        return find_job(jobs, job_id).to_dict()

    @app.get("/v1/jobs/{job_id}/result")
    async def job_result(job_id: str) -> FileResponse:
        job = find_job(jobs, job_id)
        if job.status != "done" or job.path is None:
            detail = f"Job {job_id} is {job.status}" + (f": {job.error}" if job.error else "; ask again later.")
            raise HTTPException(409, detail)
        return FileResponse(job.path, media_type="video/mp4", filename="mouthpiece.mp4")

    return Guard(app, token=token, open_paths=OPEN_PATHS, body_limit=2 * limit + UPLOAD_CHUNK,
                 request_timeout=request_timeout, allowed_origins=allowed_origins,
                 allowed_hosts=allowed_hosts)  # fmt: skip
