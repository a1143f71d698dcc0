"""The HTTP API against a real server on 127.0.0.1: success and failure of each route."""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
import uvicorn  # noqa: E402

from mouthpiece import api  # noqa: E402
from mouthpiece.audio import save  # noqa: E402
from mouthpiece.export import read_anim_json  # noqa: E402
from mouthpiece.serve import create_app  # noqa: E402

TOKEN = "s3cret-token"


@dataclass
class Server:
    url: str
    token: str | None

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, bytes, dict[str, str]]:  # fmt: skip
        headers = dict(headers or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def upload(self, path: str, fields: dict[str, tuple[str, bytes] | str], **options) -> tuple[int, bytes, dict]:
        boundary = secrets.token_hex(8)
        parts = []
        for name, value in fields.items():
            if isinstance(value, tuple):
                filename, data = value
                head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                head += "Content-Type: application/octet-stream\r\n\r\n"
                parts.append(f"--{boundary}\r\n{head}".encode() + data + b"\r\n")
            else:
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.request("POST", path, body=body, headers=headers, **options)


def _serve(token: str | None, max_upload_mb: float, **options: float) -> Iterator[Server]:
    app = create_app(token=token, max_upload_mb=max_upload_mb, **options)  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Server(f"http://127.0.0.1:{port}", token)
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from _serve(None, max_upload_mb=1.0)


@pytest.fixture(scope="module")
def guarded() -> Iterator[Server]:
    yield from _serve(TOKEN, max_upload_mb=1.0)


@pytest.fixture(scope="module")
def wav_bytes(tmp_path_factory) -> bytes:
    speech, _ = api.say("Bob bought a big blue map.")
    path = tmp_path_factory.mktemp("serve") / "line.wav"
    save(speech, path)
    return path.read_bytes()


def test_health_answers_without_a_token(server, guarded):
    for s in (server, guarded):
        status, body, _ = s.request("GET", "/v1/health", auth=False)
        assert status == 200 and json.loads(body)["status"] == "ok"


def test_the_openapi_docs_are_served(server):
    status, body, _ = server.request("GET", "/openapi.json")
    assert status == 200 and {"/v1/animate", "/v1/say", "/v1/health"} <= set(json.loads(body)["paths"])
    assert server.request("GET", "/docs")[0] == 200


def test_animate_returns_the_requested_format(server, wav_bytes):
    status, body, headers = server.upload("/v1/animate?format=tsv", {"audio": ("line.wav", wav_bytes)})
    assert status == 200, body
    rows = [line.split("\t") for line in body.decode().strip().splitlines()]
    assert rows[0][1] == "X" and all(len(r) == 2 for r in rows) and float(rows[-1][0]) > 1.0  # Rhubarb TSV
    status, body, headers = server.upload(
        "/v1/animate?format=anim-json&fps=30", {"audio": ("line.wav", wav_bytes), "text": "Bob bought a big blue map."}
    )
    assert status == 200 and headers["content-type"].startswith("application/json")
    animation = read_anim_json(io.StringIO(body.decode()))
    assert animation.fps == 30 and animation.channel("JawOpen").max() > 0.2
    assert [w.text.lower() for w in animation.phones.words][:3] == ["bob", "bought", "a"]


def test_animate_refuses_what_it_cannot_use(server, wav_bytes):
    status, body, _ = server.upload("/v1/animate", {"audio": ("notes.txt", b"just some text, not sound" * 10)})
    assert status == 415 and "notes.txt" in json.loads(body)["detail"]
    status, body, _ = server.upload("/v1/animate", {"audio": ("big.wav", b"\0" * (1 << 20) + wav_bytes)})
    assert status == 413 and "1 MB" in json.loads(body)["detail"]
    status, body, _ = server.upload("/v1/animate?format=gif", {"audio": ("line.wav", wav_bytes)})
    assert status == 400 and "gif" in json.loads(body)["detail"]
    assert server.upload("/v1/animate", {"text": "no audio"})[0] == 422
    assert server.upload("/v1/animate?fps=1000", {"audio": ("line.wav", wav_bytes)})[0] == 422


def test_an_uploaded_file_name_is_never_used_as_a_path(server, wav_bytes, tmp_path):
    target = tmp_path / "escaped.wav"
    status, _, _ = server.upload("/v1/animate", {"audio": (f"../../../../{target}", wav_bytes)})
    assert status == 200 and not target.exists()


def test_say_returns_speech_and_its_animation(server):
    body = json.dumps({"text": "Hello there.", "fps": 25}).encode()
    status, answer, _ = server.request("POST", "/v1/say", body=body, headers={"Content-Type": "application/json"})
    assert status == 200
    result = json.loads(answer)
    wav = base64.b64decode(result["audio_wav_base64"])
    assert wav[:4] == b"RIFF" and result["duration"] > 0.5
    animation = read_anim_json(io.StringIO(json.dumps(result["animation"])))
    assert animation.fps == 25 and abs(animation.frame_count / 25 - result["duration"]) < 0.1
    assert np.max(animation.channel("JawOpen")) > 0.2


def test_say_refuses_bad_requests(server):
    post = lambda payload: server.request(  # noqa: E731
        "POST", "/v1/say", body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    assert post({"text": ""})[0] == 422
    status, body, _ = post({"text": "Hello", "voice": "no-such-voice"})
    assert status == 422 and "no-such-voice" in json.loads(body)["detail"]


def test_a_token_guards_every_route_but_health(guarded, wav_bytes):
    assert guarded.upload("/v1/animate", {"audio": ("line.wav", wav_bytes)}, auth=False)[0] == 401
    wrong = guarded.request("POST", "/v1/say", body=b"{}", headers={"Authorization": "Bearer nope"}, auth=False)
    assert wrong[0] == 401 and wrong[2].get("www-authenticate") == "Bearer"
    assert guarded.upload("/v1/animate", {"audio": ("line.wav", wav_bytes)})[0] == 200


def test_unknown_routes_are_404(server):
    assert server.request("GET", "/v1/jobs/nope")[0] == 404


ASTRONAUT = resources.files("mouthpiece") / "data" / "astronaut.png"


def _wait(server: Server, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, body, _ = server.request("GET", f"/v1/jobs/{job_id}")
        assert status == 200, body
        job = json.loads(body)
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_a_render_job_makes_the_talking_video(server, wav_bytes, tmp_path):
    from mouthpiece.render.reader import probe_video

    photo = ASTRONAUT.read_bytes()
    status, body, _ = server.upload("/v1/render", {"portrait": ("face.png", photo), "audio": ("line.wav", wav_bytes),
                                                   "size": "128"})  # fmt: skip
    assert status == 202, body
    job = json.loads(body)
    assert server.request("GET", job["result_url"])[0] in (409, 200)  # 409 while it is not done yet
    assert _wait(server, job["id"])["status"] == "done"
    status, video, headers = server.request("GET", job["result_url"])
    assert status == 200 and headers["content-type"] == "video/mp4"
    (tmp_path / "out.mp4").write_bytes(video)
    info = probe_video(tmp_path / "out.mp4")
    assert (info.width, info.height, info.fps) == (128, 128, 25.0) and info.has_audio
    assert info.duration == pytest.approx(len(wav_bytes) / 32_000, abs=0.2)  # 16 kHz 16-bit WAV


def test_ten_render_jobs_at_once_all_finish_in_order(server):
    photo = ASTRONAUT.read_bytes()
    ids = []
    for k in range(10):
        fields = {"portrait": ("face.png", photo), "text": f"Number {k}.", "size": "96", "fps": "10"}
        status, body, _ = server.upload("/v1/render", fields)
        assert status == 202, body
        ids.append(json.loads(body)["id"])
    jobs = [_wait(server, job_id) for job_id in ids]
    assert [job["status"] for job in jobs] == ["done"] * 10
    finished = [job["finished_at"] for job in jobs]
    assert finished == sorted(finished)  # in the order they were submitted
    videos = [server.request("GET", f"/v1/jobs/{job_id}/result")[1] for job_id in ids]
    assert all(video[4:8] == b"ftyp" for video in videos) and len(set(videos)) == 10  # each says its own number


def test_render_refuses_what_it_cannot_use(server, wav_bytes):
    photo = ASTRONAUT.read_bytes()
    status, body, _ = server.upload("/v1/render", {"portrait": ("face.png", b"not an image at all"), "text": "Hi."})
    assert status == 415 and "face.png" in json.loads(body)["detail"]
    blank = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (200, 200), (90, 140, 200)).save(blank, format="PNG")
    status, body, _ = server.upload("/v1/render", {"portrait": ("sky.png", blank.getvalue()), "text": "Hi."})
    assert status == 422 and "No face" in json.loads(body)["detail"]
    assert server.upload("/v1/render", {"portrait": ("face.png", photo)})[0] == 422  # no speech at all
    status, body, _ = server.upload("/v1/render", {"portrait": ("face.png", photo), "audio": ("a.txt", b"words" * 9)})
    assert status == 415
    assert server.request("GET", "/v1/jobs/no-such-job/result")[0] == 404


def test_a_finished_render_expires():
    photo = ASTRONAUT.read_bytes()
    for server in _serve(None, max_upload_mb=5, result_ttl=0.5):
        status, body, _ = server.upload("/v1/render", {"portrait": ("face.png", photo), "text": "Hi.", "size": "96"})
        job = json.loads(body)
        assert _wait(server, job["id"])["status"] == "done"
        assert server.request("GET", job["result_url"])[0] == 200
        time.sleep(1.0)
        status, body, _ = server.request("GET", job["result_url"])
        assert status == 404 and "expired" in json.loads(body)["detail"]


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip


def test_the_web_page_speaks_typed_text_in_a_browser(server, tmp_path):
    """Load the page in headless Chromium, submit text, wait for the video, play it, look at it."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make install installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1100})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(server.url + "/")
            page.fill("#text", "Bob bought a big blue map.")
            page.click("#speak")
            page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=120_000)
            page.evaluate("() => { const v = document.getElementById('video'); v.muted = true; return v.play(); }")
            page.wait_for_function("document.getElementById('video').currentTime > 0.5", timeout=30_000)
            size = page.evaluate("() => [video.videoWidth, video.videoHeight, video.duration]")
            # the timeline is drawn: some of its pixels are not blank
            inked = page.evaluate(
                "() => { const c = document.getElementById('timeline');"
                " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n / (d.length / 4); }"
            )
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
            if os.environ.get("MOUTHPIECE_KEEP_SCREENSHOT"):
                page.screenshot(path=os.environ["MOUTHPIECE_KEEP_SCREENSHOT"], full_page=True)
        finally:
            browser.close()
    assert not errors, errors
    assert size[:2] == [256, 256] and size[2] > 1.0
    assert inked > 0.02
    assert (tmp_path / "page.png").stat().st_size > 10_000
