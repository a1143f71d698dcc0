"""The HTTP API against a real server on 127.0.0.1: success and failure of each route."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")

from serving import Server, serve_app  # noqa: E402
from test_avatar import ARKIT_TARGETS, VRM_TARGETS, MeshSpec, build_avatar, read_back  # noqa: E402

from mouthpiece import api  # noqa: E402
from mouthpiece.audio import save  # noqa: E402
from mouthpiece.export import read_anim_json  # noqa: E402
from mouthpiece.phonetics import tts  # noqa: E402

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from serve_app(None, max_upload_mb=1.0)


@pytest.fixture(scope="module")
def guarded() -> Iterator[Server]:
    yield from serve_app(TOKEN, max_upload_mb=1.0)


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
        assert s.request("GET", "/favicon.ico", auth=False)[0] == 204  # a browser's question, not a 404


def test_the_openapi_docs_are_served(server):
    status, body, _ = server.request("GET", "/openapi.json")
    paths = json.loads(body)["paths"]
    assert status == 200 and {"/v1/animate", "/v1/say", "/v1/health"} <= set(paths)
    assert server.request("GET", "/docs")[0] == 200
    form = json.loads(body)["components"]["schemas"]["Body_render_v1_render_post"]["properties"]
    assert form["fps"]["maximum"] == 240  # the CLI's range


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


def test_animate_takes_the_clis_options(server, wav_bytes):
    def animation(query: str):
        status, body, _ = server.upload(f"/v1/animate?format=anim-json&fps=30{query}", {"audio": ("l.wav", wav_bytes)})
        assert status == 200, body
        return read_anim_json(io.StringIO(body.decode()))

    plain, lively = animation(""), animation("&idle=true&seed=3&emotion=happy&intensity=1&recognizer=phones")
    assert np.abs(plain.channel("HeadYaw")).max() == 0 and plain.channel("EyeBlinkLeft").max() == 0
    assert np.abs(lively.channel("HeadYaw")).max() > 0.005  # a 2 s line may hold no blink
    assert lively.channel("MouthSmileLeft").mean() > plain.channel("MouthSmileLeft").mean() + 0.1
    for query, says in [("&recognizer=ears", "recognizer"), ("&emotion=smug", "emotion"), ("&seed=-1", "seed")]:
        status, body, _ = server.upload(f"/v1/animate?{query[1:]}", {"audio": ("l.wav", wav_bytes)})
        assert status == 422 and says in json.loads(body)["detail"], body


def test_an_uploaded_file_name_is_never_used_as_a_path(server, wav_bytes, tmp_path):
    target = tmp_path / "escaped.wav"
    status, _, _ = server.upload("/v1/animate", {"audio": (f"../../../../{target}", wav_bytes)})
    assert status == 200 and not target.exists()


def _no_files_left(server: Server) -> bool:
    """Whether the private folder holds no upload or answer (they go once a request has ended)."""
    deadline = time.monotonic() + 5  # an answered file is removed just after its last byte is sent
    while any(p.is_file() for p in server.app.state.folder.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(p.is_file() for p in server.app.state.folder.iterdir())


@pytest.mark.parametrize(
    "name, vrm, media",
    [("avatar.glb", None, "model/gltf-binary"), ("avatar.gltf", None, "model/gltf+json"),
     ("avatar.vrm", 1, "model/gltf-binary")],
)  # fmt: skip
def test_animate_onto_an_uploaded_avatar(server, wav_bytes, tmp_path, name, vrm, media):
    targets = ARKIT_TARGETS if vrm is None else VRM_TARGETS[vrm]
    avatar = build_avatar(tmp_path / name, [MeshSpec("Face", targets)], vrm=vrm)
    fields = {"audio": ("line.wav", wav_bytes), "avatar": (name, avatar.read_bytes())}
    status, body, headers = server.upload("/v1/animate?fps=30&idle=true", fields)
    assert status == 200, body
    extension = os.path.splitext(name)[1]
    assert headers["content-type"] == media and f'filename="mouthpiece{extension}"' in headers["content-disposition"]
    (tmp_path / f"talking{extension}").write_bytes(body)
    written = read_back(tmp_path / f"talking{extension}")
    assert [a.name for a in written.gltf.animations] == ["Idle", "mouthpiece"]  # its own animation kept
    times, _ = written.channel("Face", "weights")
    # jawOpen; on VRM the five vowel expressions, of which the retarget picks by shape (which of
    # them "Bob" gets turns on espeak-ng's audio, which varies a little with the calls before)
    speech = written.weights("Face")[:, 0] if vrm is None else written.weights("Face")[:, :5].max(axis=1)
    assert times[-1] == pytest.approx(len(wav_bytes) / 32_000, abs=0.1) and speech.max() > 0.2
    assert written.channel("J_Bip_C_Head", "rotation")[1].shape == (len(times), 4)  # idle=true: the head moves
    assert _no_files_left(server)


def test_animate_onto_refuses_avatars_it_cannot_use(server, wav_bytes, tmp_path):
    glb = build_avatar(tmp_path / "face.glb", [MeshSpec("Face", ARKIT_TARGETS)]).read_bytes()
    outside = build_avatar(tmp_path / "outside.gltf", [MeshSpec("Face", ARKIT_TARGETS)], buffer="file")
    outside_bytes = outside.read_text().replace('"outside.bin"', '"../../../../etc/hostname"').encode()
    image = json.loads(outside.read_text())
    image["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(
        (tmp_path / "outside.bin").read_bytes()).decode()  # fmt: skip
    image["images"] = [{"uri": "/etc/passwd", "mimeType": "image/png"}]
    statue = build_avatar(tmp_path / "statue.glb", [MeshSpec("Face", ["Smile2", "Frown"])]).read_bytes()
    cases = [
        ({"avatar": ("face.glb", glb)}, "?format=tsv", 400, "format"),
        ({"avatar": ("notes.glb", b"hello, I am not a model" * 10)}, "", 415, "'notes.glb' is not a glTF 2.0"),
        ({"avatar": ("list.gltf", b"[1, 2, 3]")}, "", 415, "'list.gltf' is not a glTF 2.0"),
        ({"avatar": ("scene.gltf", outside_bytes)}, "", 415, "'scene.gltf' refers to the file '../../../../etc"),
        ({"avatar": ("shown.gltf", json.dumps(image).encode())}, "", 415, "'/etc/passwd'"),
        ({"avatar": ("statue.glb", statue)}, "", 422, "'statue.glb' has no morph target named"),
        ({"avatar": ("huge.glb", glb + b"\0" * (1 << 20))}, "", 413, "1 MB"),
        ({"avatar": ("face.glb", glb), "audio": ("notes.txt", b"just some text, not sound" * 10)}, "", 415,
         "'notes.txt' is not an audio"),
    ]  # fmt: skip
    for fields, query, code, says in cases:
        status, body, _ = server.upload(f"/v1/animate{query}", {"audio": ("line.wav", wav_bytes), **fields})
        detail = json.loads(body)["detail"]
        assert status == code and says in detail and detail.count(". ") == 0, (fields.keys(), status, detail)
        assert "mouthpiece-serve-" not in detail  # the server's paths never show
    assert _no_files_left(server)


def test_animate_onto_refuses_an_answer_larger_than_the_servers_limit(wav_bytes, tmp_path):
    glb = build_avatar(tmp_path / "face.glb", [MeshSpec("Face", ARKIT_TARGETS)]).read_bytes()
    for small in serve_app(None, max_upload_mb=1.0, max_keyframes_mb=0.01, request_workers=1):
        fields = {"audio": ("line.wav", wav_bytes), "avatar": ("face.glb", glb)}
        status, body, _ = small.upload("/v1/animate?fps=240", fields)
        detail = json.loads(body)["detail"]
        assert status == 413 and "'face.glb'" in detail and "0.01 MB" in detail, detail
        assert small.upload("/v1/animate?fps=10", fields)[0] == 200  # fewer fps fit
        assert _no_files_left(small)


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


def test_render_takes_the_clis_options(server):
    photo = ASTRONAUT.read_bytes()
    fields = {"portrait": ("face.png", photo), "text": "Hi.", "size": "96", "fps": "10", "idle": "false",
              "emotion": "sad", "seed": "7", "face": "0"}  # fmt: skip
    status, body, _ = server.upload("/v1/render", fields)
    assert status == 202, body
    assert _wait(server, json.loads(body)["id"])["status"] == "done"
    status, body, _ = server.upload("/v1/render", {**fields, "face": "3"})  # the photo has one face
    assert status == 422 and "no face 3" in json.loads(body)["detail"]
    status, body, _ = server.upload("/v1/render", {**fields, "emotion": "smug"})
    assert status == 422 and "emotion" in json.loads(body)["detail"]


def _blank_png() -> bytes:
    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (200, 200), (90, 140, 200)).save(blank, format="PNG")
    return blank.getvalue()


@pytest.mark.parametrize("fields", [{"portrait": ("me.png", ASTRONAUT.read_bytes())}, {}], ids=["upload", "sample"])
def test_head_makes_the_portraits_3d_head(server, tmp_path, fields):
    import pygltflib

    status, body, headers = server.upload("/v1/head", fields)
    assert status == 200, body
    assert headers["content-type"] == "model/gltf-binary" and body[:4] == b"glTF"
    assert 'filename="head.glb"' in headers["content-disposition"]
    (tmp_path / "head.glb").write_bytes(body)
    gltf = pygltflib.GLTF2().load(str(tmp_path / "head.glb"))
    assert [node.name for node in gltf.nodes] == ["Head", "Face"]
    names = gltf.meshes[0].extras["targetNames"]
    assert len(names) == 52 and "jawOpen" in names
    assert all(len(p.targets) == 52 for p in gltf.meshes[0].primitives)
    assert _no_files_left(server)


def test_head_refuses_a_photo_it_cannot_use(server):
    photo = ASTRONAUT.read_bytes()
    cases = [
        ({"portrait": ("sky.png", _blank_png())}, 422, "No face found in 'sky.png'"),
        ({"portrait": ("me.png", photo), "face": "3"}, 422, "no face 3"),
        ({"portrait": ("face.png", b"not an image at all")}, 415, "'face.png' is not an image"),
        ({"portrait": ("big.png", b"\0" * (1 << 20) + photo)}, 413, "1 MB"),
        ({"portrait": ("me.png", photo), "face": "-1"}, 422, "face"),
    ]
    for fields, code, says in cases:
        status, body, _ = server.upload("/v1/head", fields)
        detail = json.loads(body)["detail"]
        assert status == code and says in detail and detail.count(". ") == 0, (fields.keys(), status, detail)
        assert "mouthpiece-serve-" not in detail  # the server's paths never show
    assert _no_files_left(server)


def test_the_pages_threejs_is_served_by_name_only_and_without_a_token(guarded):
    for name, kind in [("three.module.min.js", "text/javascript"), ("GLTFLoader.min.js", "text/javascript"),
                       ("LICENSE", "text/plain")]:  # fmt: skip
        status, body, headers = guarded.request("GET", f"/static/vendor/three/{name}", auth=False)
        assert status == 200 and headers["content-type"].startswith(kind) and len(body) > 1000, name
    assert b"three.js authors" in guarded.request("GET", "/static/vendor/three/LICENSE")[1]
    folder = "/static/vendor/three/"
    for path in (folder + "../../app.py", folder + "..%2F..%2Fapp.py", folder + "%2e%2e%2fhead.py", folder,
                 "/static/index.html", folder + "README.md/x"):  # fmt: skip
        assert guarded.request("GET", path)[0] == 404, path
    assert guarded.upload("/v1/head", {}, auth=False)[0] == 401  # making a head needs the token


@pytest.fixture(scope="module")
def talking_video(tmp_path_factory) -> bytes:
    """A 128 px talking portrait of 1.5 s at 25 fps with its speech: a video to dub."""
    speech, animation = api.say("How are you today?", fps=25)
    path = tmp_path_factory.mktemp("serve") / "source.mp4"
    api.render_video(api.load_portrait(ASTRONAUT, size=(128, 128)), animation, path, audio=speech)
    return path.read_bytes()


@pytest.mark.parametrize("style", ["generic", "own"])
def test_a_dub_job_makes_the_video_speak_the_new_speech(server, talking_video, wav_bytes, tmp_path, style):
    from mouthpiece.render.reader import probe_video

    (tmp_path / "source.mp4").write_bytes(talking_video)
    source = probe_video(tmp_path / "source.mp4")
    fields = {"video": ("source.mp4", talking_video), "audio": ("line.wav", wav_bytes), "style": style}
    status, body, _ = server.upload("/v1/dub", fields)
    assert status == 202, body
    job = json.loads(body)
    assert _wait(server, job["id"])["status"] == "done"
    status, video, headers = server.request("GET", job["result_url"])
    assert status == 200 and headers["content-type"] == "video/mp4"
    (tmp_path / "dub.mp4").write_bytes(video)
    info = probe_video(tmp_path / "dub.mp4")
    assert (info.width, info.height, info.fps) == (source.width, source.height, source.fps) and info.has_audio
    # pingpong: as long as the new speech, which is longer than the video
    assert info.duration == pytest.approx(len(wav_bytes) / 32_000, abs=0.2) and info.duration > source.duration


def test_dub_refuses_what_it_cannot_use(server, talking_video, wav_bytes):
    status, body, _ = server.upload("/v1/dub", {"video": ("clip.mp4", b"not a video" * 50),
                                                "audio": ("line.wav", wav_bytes)})  # fmt: skip
    assert status == 415 and "clip.mp4" in json.loads(body)["detail"]
    status, body, _ = server.upload("/v1/dub", {"video": ("clip.mp4", talking_video), "audio": ("a.txt", b"w" * 99)})
    assert status == 415 and "a.txt" in json.loads(body)["detail"]
    for field, value in [("fit", "stretch"), ("style", "mine"), ("original_audio", "2")]:
        fields = {"video": ("clip.mp4", talking_video), "audio": ("line.wav", wav_bytes), field: value}
        status, body, _ = server.upload("/v1/dub", fields)
        assert status == 422 and field in json.loads(body)["detail"], body
    assert server.upload("/v1/dub", {"video": ("clip.mp4", talking_video)})[0] == 422  # no speech


def test_a_finished_render_expires():
    photo = ASTRONAUT.read_bytes()
    for server in serve_app(None, max_upload_mb=5, result_ttl=0.5):
        status, body, _ = server.upload("/v1/render", {"portrait": ("face.png", photo), "text": "Hi.", "size": "96"})
        job = json.loads(body)
        assert _wait(server, job["id"])["status"] == "done"
        assert server.request("GET", job["result_url"])[0] == 200
        time.sleep(1.0)
        status, body, _ = server.request("GET", job["result_url"])
        assert status == 404 and "expired" in json.loads(body)["detail"]


CHROMIUM = "/usr/bin/chromium"


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(np.round(samples * 32768), -32768, 32767)).astype("<i2").tobytes()


def _ws_url(server: Server, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/v1/stream" + query


def _stream_speech(server: Server, samples: np.ndarray, start: dict, *, chunk: int = 640, query: str = "",
                   headers: dict | None = None, more_text: str | None = None,
                   ) -> tuple[dict, list[dict], list[bytes], dict]:  # fmt: skip
    """Send ``samples`` in chunks (as fast as the server takes them; ``more_text`` halfway);
    the ready message, every frame, every image and the end message."""
    from websockets.sync.client import connect

    frames, images = [], []
    with connect(_ws_url(server, query), additional_headers=headers, max_size=2**24) as ws:
        ws.send(json.dumps({"type": "start", **start}))
        ready = json.loads(ws.recv(timeout=60))
        pcm = _pcm16(samples)
        for i in range(0, len(pcm), chunk):
            if more_text is not None and i == len(pcm) // 2 // chunk * chunk:
                ws.send(json.dumps({"type": "text", "text": more_text}))
            ws.send(pcm[i : i + chunk])
        ws.send(json.dumps({"type": "end"}))
        while True:
            message = ws.recv(timeout=60)
            if isinstance(message, bytes):
                images.append(message)
                continue
            reply = json.loads(message)
            if reply["type"] == "frames":
                frames.extend(reply["frames"])
            else:
                return ready, frames, images, reply


def _refusal(server: Server, messages: list, *, query: str = "") -> tuple[dict | None, int | None]:
    """Send ``messages`` (JSON-able dicts, text or bytes) and read until the server closes:
    its error message and close code."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    error = None
    with connect(_ws_url(server, query)) as ws:
        for message in messages:
            ws.send(json.dumps(message) if isinstance(message, dict) else message)
        try:
            while True:
                reply = ws.recv(timeout=30)
                if isinstance(reply, str) and json.loads(reply)["type"] == "error":
                    error = json.loads(reply)
        except ConnectionClosed:
            pass
        return error, ws.close_code


@pytest.mark.parametrize("recognizer", [None, "phones"])
def test_a_stream_gives_every_frame_once_in_order(server, recognizer):
    speech, _ = api.say("Bob bought a big blue map.")
    offline = api.animate(speech, recognizer=recognizer or "neural", fps=30)  # neural: the stream's default
    start = {"fps": 30, "lookahead_ms": 1000} | ({"recognizer": recognizer} if recognizer else {})
    ready, frames, images, end = _stream_speech(server, speech.samples, start)
    assert ready["type"] == "ready" and ready["fps"] == 30 and len(ready["channels"]) == offline.values.shape[1]
    assert [f["index"] for f in frames] == list(range(len(offline.values))) and not images
    assert end == {"type": "end", "frames": len(frames), "duration": pytest.approx(speech.duration, abs=1e-3)}
    assert all(f["time"] == pytest.approx(f["index"] / 30, abs=1e-4) for f in frames)
    jaw = ready["channels"].index("JawOpen")
    streamed = np.array([f["values"] for f in frames])
    assert np.corrcoef(streamed[:, jaw], offline.values[:, jaw])[0, 1] > 0.99
    assert {f["viseme"] for f in frames} >= {"sil", "PP", "aa"}


def test_a_stream_with_text_follows_it_and_takes_more_as_it_comes(server):
    first, second = "Bob bought a big blue map.", "Please pass the plums to me."
    speech, phones = tts(f"{first} {second}", voice="en-us+f3", rate_wpm=150)
    offline = api.animate(speech, text=f"{first} {second}", fps=30)
    _, frames, _, end = _stream_speech(server, speech.samples, {"fps": 30, "text": first}, more_text=second)
    assert [f["index"] for f in frames] == list(range(len(offline.values))) and end["frames"] == len(frames)
    closures = [(p.start + p.end) / 2 for p in phones.phones if p.label in ("P", "B", "M")]
    assert np.mean([frames[int(t * 30)]["viseme"] == "PP" for t in closures]) >= 0.8


def test_a_stream_with_idle_motion_blinks_and_moves_the_head(server):
    speech, _ = api.say("Bob bought a big blue map. Please pass the plums to the man by the window.")
    silence = np.zeros(16_000 * 4, np.float32)
    ready, frames, _, _ = _stream_speech(server, np.concatenate([speech.samples, silence]), {"idle": True})
    values = np.array([f["values"] for f in frames])
    blink, yaw = values[:, ready["channels"].index("EyeBlinkLeft")], values[:, ready["channels"].index("HeadYaw")]
    assert blink.max() > 0.95 and 0 < np.abs(yaw).max() < 0.07
    assert np.abs(np.diff(yaw)).max() < 0.002  # a calm drift, not jumps between messages
    _, plain, _, _ = _stream_speech(server, speech.samples, {})
    assert max(f["values"][ready["channels"].index("EyeBlinkLeft")] for f in plain) == 0


def test_a_stream_with_a_portrait_sends_its_video_frames(server):
    cv2 = pytest.importorskip("cv2")
    speech, _ = api.say("Bob bought a big blue map.")
    start = {"portrait": "sample", "size": 128, "video_fps": 20, "lookahead_ms": 80}
    ready, frames, images, end = _stream_speech(server, speech.samples, start)
    assert ready["video_fps"] == 20
    assert len(images) == int(np.ceil(speech.duration * 20 - 1e-9))
    indices = [int.from_bytes(m[:4], "little") for m in images]
    assert indices == list(range(len(images)))
    pictures = [cv2.imdecode(np.frombuffer(m[4:], np.uint8), cv2.IMREAD_COLOR) for m in images]
    assert all(p.shape == (128, 128, 3) for p in pictures)
    jaw = ready["channels"].index("JawOpen")
    opening = [frames[int(i / 20 * 60)]["values"][jaw] for i in range(len(images))]
    shut, wide = pictures[int(np.argmin(opening))], pictures[int(np.argmax(opening))]
    assert np.abs(shut.astype(int) - wide.astype(int)).max() > 60  # the mouth moved in the pictures


@pytest.mark.parametrize(
    ("messages", "code", "says"),
    [
        ([b"\0\0" * 320], 1008, "start message"),
        (["not json"], 1008, "JSON"),
        ([{"type": "begin"}], 1008, "first message"),
        ([{"type": "start", "fps": 0}], 1008, "fps"),
        ([{"type": "start", "lookahead_ms": "soon"}], 1008, "lookahead_ms"),
        ([{"type": "start", "lookahead_ms": 100, "max_lookahead_ms": 50}], 1008, "at least"),
        ([{"type": "start", "idle": "yes"}], 1008, "idle"),
        ([{"type": "start", "recognizer": "words"}], 1008, "recognizer"),
        ([{"type": "start", "portrait": "/etc/passwd"}], 1008, "portrait"),
        ([{"type": "start", "portrait": "data:image/png;base64,!!!"}], 1008, "base64"),
        ([{"type": "start", "portrait": "data:image/png;base64," + base64.b64encode(b"GIF89a nonsense").decode()}],
         1008, "image"),
        ([{"type": "start"}, b"\0\0\0"], 1008, "even"),
        ([{"type": "start"}, b"\0\0" * 16_001], 1009, "one second"),
        ([{"type": "start"}, {"type": "pause"}], 1008, "Unknown message type"),
        ([{"type": "start", "text": 5}], 1008, '"text"'),
        ([{"type": "start", "text": "a" * 10_001}], 1009, "at most"),
        ([{"type": "start", "text": "Hi.", "voice": "no-such-voice"}], 1008, "Unknown espeak-ng voice"),
        ([{"type": "start"}, {"type": "text", "text": "Hi."}], 1008, 'started with "text"'),
        ([{"type": "start", "text": ""}, {"type": "text", "text": None}], 1008, '"text"'),
    ],
)  # fmt: skip
def test_a_stream_refuses_bad_messages_with_a_sentence(server, messages, code, says):
    error, close_code = _refusal(server, messages)
    assert close_code == code
    assert error is not None and says in error["message"]


def test_a_portrait_without_a_face_is_refused(server):
    blank = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (200, 200), (120, 160, 200)).save(blank, format="PNG")
    portrait = "data:image/png;base64," + base64.b64encode(blank.getvalue()).decode()
    error, code = _refusal(server, [{"type": "start", "portrait": portrait}])
    assert code == 1008 and "no face" in error["message"]


def test_a_token_guards_the_stream(guarded):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    speech, _ = api.say("Hello.")
    with pytest.raises(InvalidStatus):  # a wrong token in the handshake: refused before the socket opens
        _stream_speech(guarded, speech.samples, {}, query="?token=wrong")
    with pytest.raises(InvalidStatus):
        _stream_speech(guarded, speech.samples, {}, headers={"Sec-WebSocket-Protocol": "mouthpiece, bearer.wrong"})
    for start in ({}, {"token": "wrong"}):  # none in the handshake: the start message must carry it
        error, code = _refusal(guarded, [{"type": "start", **start}])
        assert code == 1008 and error is not None and "token" in error["message"]
    for start, options in (
        ({"token": TOKEN}, {}),
        ({}, {"query": f"?token={TOKEN}"}),
        ({}, {"headers": {"Authorization": f"bearer {TOKEN}"}}),
    ):
        _, frames, _, end = _stream_speech(guarded, speech.samples, start, **options)
        assert end["frames"] == len(frames) > 0
    with connect(_ws_url(guarded), subprotocols=["mouthpiece", f"bearer.{TOKEN}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "mouthpiece"
        ws.send(json.dumps({"type": "start"}))
        assert json.loads(ws.recv(timeout=60))["type"] == "ready"


@pytest.fixture(scope="module")
def strict() -> Iterator[Server]:
    yield from serve_app(
        None, max_upload_mb=1.0, idle_timeout=0.5, request_timeout=1.0, max_streams=1, stream_workers=1
    )


def test_a_silent_stream_is_closed_after_the_idle_timeout(strict):
    start = time.monotonic()
    error, code = _refusal(strict, [{"type": "start"}, b"\0\0" * 320])
    assert code == 1001 and "sent nothing" in error["message"]
    assert time.monotonic() - start < 10


def test_streams_past_the_limit_are_told_to_come_back_later(strict):
    from websockets.sync.client import connect

    with connect(_ws_url(strict)) as first:
        first.send(json.dumps({"type": "start"}))
        assert json.loads(first.recv(timeout=30))["type"] == "ready"
        error, code = _refusal(strict, [{"type": "start"}])
        assert code == 1013 and "try again later" in error["message"]


def test_a_request_slower_than_the_timeout_gets_408(strict):
    import socket

    port = int(strict.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        head = "POST /v1/animate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        connection.sendall((head + "Content-Length: 100000\r\n\r\n--b\r\n").encode())
        reply = connection.recv(4096).decode(errors="replace")  # the server answers while the body is unsent
    assert reply.startswith("HTTP/1.1 408")


CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip


@contextlib.contextmanager
def _page_in_chromium(
    url: str, *, extra_args: tuple[str, ...] = (), height: int = 1100, requests: list[str] | None = None
):
    """The page at ``url`` in headless Chromium, and the list its script errors go to; the URL
    of every request and WebSocket it opens goes to ``requests``."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make install installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            page = browser.new_page(viewport={"width": 900, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            if requests is not None:
                page.on("request", lambda request: requests.append(request.url))
                page.on("websocket", lambda socket: requests.append(socket.url))
            page.goto(url)
            yield page, errors
        finally:
            browser.close()


def _screenshot(page, path: Path, suffix: str = "") -> None:
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("MOUTHPIECE_KEEP_SCREENSHOT"):
        page.screenshot(path=os.environ["MOUTHPIECE_KEEP_SCREENSHOT"].replace(".png", f"{suffix}.png"), full_page=True)


def test_the_web_page_speaks_typed_text_in_a_browser(server, tmp_path):
    """Load the page in headless Chromium, submit text, wait for the video, play it, look at it."""
    with _page_in_chromium(server.url + "/") as (page, errors):
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
        _screenshot(page, tmp_path / "page.png")
    assert not errors, errors
    assert size[:2] == [256, 256] and size[2] > 1.0
    assert inked > 0.02
    assert (tmp_path / "page.png").stat().st_size > 10_000


def test_the_web_page_makes_an_uploaded_avatar_speak(server, tmp_path):
    """Choose an avatar on the page, type text, and download the avatar speaking it (and its speech)."""
    avatar = build_avatar(tmp_path / "me.glb", [MeshSpec("Face", ARKIT_TARGETS)])
    with _page_in_chromium(server.url + "/") as (page, errors):
        page.fill("#text", "Bob bought a big blue map.")
        page.click("#avatar-box summary")
        page.set_input_files("#avatar", str(avatar))
        page.click("#avatar-go")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=120_000)
        names = page.evaluate("() => [...document.querySelectorAll('#avatar-links a')].map((a) => a.download)")
        _screenshot(page, tmp_path / "avatar.png", "-avatar")
        model = page.evaluate(
            "async () => { const a = document.querySelector('#avatar-links a');"
            " const bytes = new Uint8Array(await (await fetch(a.href)).arrayBuffer());"
            " let text = ''; for (const b of bytes) text += String.fromCharCode(b); return btoa(text); }"
        )
    assert not errors, errors
    assert names == ["me-talking.glb", "me-talking.wav"]
    (tmp_path / "talking.glb").write_bytes(base64.b64decode(model))
    written = read_back(tmp_path / "talking.glb")
    times, _ = written.channel("Face", "weights")
    assert times[-1] > 1.0 and written.weights("Face")[:, 0].max() > 0.2  # the jaw opens


@pytest.mark.parametrize("following", [False, True], ids=["recognized", "following-the-text"])
def test_the_web_page_streams_the_microphone_live(server, tmp_path, following):
    """Chromium's fake microphone plays espeak speech; the page streams it (following the
    typed text when asked) and draws the portrait's frames and the curves live, then stops."""
    sentence = "Bob bought a big blue map. Please pass the plums."
    speech, _ = api.say(sentence)
    wav = tmp_path / "microphone.wav"
    save(speech, wav)
    microphone = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={wav}")  # fmt: skip
    with _page_in_chromium(server.url + "/", extra_args=microphone, height=1300) as (page, errors):
        if following:
            page.fill("#text", sentence)
            page.check("#live-follow")
        page.click("#live-start")
        page.wait_for_function("window.liveStats.images >= 50 && window.liveStats.frames >= 120", timeout=60_000)
        live = page.evaluate(
            "() => { const c = document.getElementById('live');"
            " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            " let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) lit++;"
            " return lit / (d.length / 4); }"
        )
        _screenshot(page, tmp_path / "live.png", "-live")
        page.click("#live-stop")
        page.wait_for_function("window.liveStats.ended", timeout=30_000)
        stats = page.evaluate("() => window.liveStats")
        status = page.inner_text("#status")
    assert not errors, errors
    assert live > 0.5  # the portrait is drawn on the canvas
    assert stats["maxJaw"] > 0.2  # the speech opened the mouth
    assert status.startswith("Stream ended:")


HEAD_JAW = "() => { const m = mouthpieceHead.mesh; return m.morphTargetInfluences[m.morphTargetDictionary.jawOpen]; }"
STATUS = "document.getElementById('status').textContent"


def _jaw_while(page, done: str, timeout: float = 60) -> list[float]:
    """The 3D head's jawOpen influence, read every 50 ms until the page's ``done`` is true."""
    jaw: list[float] = []
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => !!({done})") and time.monotonic() < deadline:
        jaw.append(page.evaluate(HEAD_JAW))
        page.wait_for_timeout(50)
    return jaw


@pytest.mark.slow
def test_the_web_page_shows_the_live_stream_on_a_3d_head(server, tmp_path):
    """Tick "3D head": the page makes the portrait's head (POST /v1/head) and draws it with the
    three.js this server serves; the live stream from Chromium's fake microphone, then typed
    text, move its morph targets, and the page asks nothing of any other host."""
    from PIL import Image

    speech, _ = api.say("Bob bought a big blue map. Please pass the plums.")
    wav = tmp_path / "microphone.wav"
    save(speech, wav)
    microphone = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={wav}")  # fmt: skip
    requests: list[str] = []
    with _page_in_chromium(server.url + "/", extra_args=microphone, height=1300, requests=requests) as (page, errors):
        page.check("#head-on")
        page.wait_for_function("window.mouthpieceHead !== null", timeout=120_000)
        shape = page.evaluate(
            "() => { const h = window.mouthpieceHead; return { names: Object.keys(h.mesh.morphTargetDictionary),"
            f" counts: h.meshes.map((m) => m.morphTargetInfluences.length), status: {STATUS} }}; }}"
        )
        page.click("#live-start")
        live = _jaw_while(page, "window.liveStats.frames >= 120")
        turned = page.evaluate("() => { const r = window.mouthpieceHead.node.rotation; return [r.x, r.y, r.z]; }")
        drawn = page.locator("#head").screenshot()
        _screenshot(page, tmp_path / "head.png", "-head")
        page.click("#live-stop")
        page.wait_for_function("window.liveStats.ended", timeout=30_000)
        stats = page.evaluate("() => window.liveStats")
        page.fill("#text", "Bob bought a big blue map.")
        page.click("#speak")  # with the head on: the speech's Animation on the head as it plays
        page.wait_for_function(f"{STATUS}.startsWith('Speaking')", timeout=60_000)
        spoken = _jaw_while(page, f"{STATUS}.startsWith('Done')")
    assert not errors, errors
    assert len(shape["names"]) == 52 and "jawOpen" in shape["names"] and set(shape["counts"]) == {52}
    assert shape["status"].startswith("3D head ready")
    for jaw in (live, spoken):  # the jaw opens and closes with the speech
        assert max(jaw) > 0.2 and min(jaw) < 0.05 and len({round(j, 3) for j in jaw}) >= 5, jaw
    assert stats["images"] == 0 and stats["frames"] >= 120  # the head shows the frames: no video frames made
    assert any(abs(angle) > 1e-4 for angle in turned)  # the stream's idle head motion turns it
    picture = np.asarray(Image.open(io.BytesIO(drawn)).convert("RGB")).astype(int)
    assert (np.abs(picture - 0x20).sum(axis=2) > 60).mean() > 0.2  # the face covers the view's middle
    ours = (server.url + "/", server.url.replace("http:", "ws:") + "/", "blob:" + server.url + "/")
    assert requests and all(url.startswith(ours) for url in requests), requests  # no CDN, nothing elsewhere
    assert server.url + "/static/vendor/three/three.module.min.js" in requests and server.url + "/v1/head" in requests


def test_a_stream_whose_worker_dies_is_told_and_the_next_stream_gets_a_new_worker(strict):
    import signal

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    def worker_pids() -> set[int]:
        return set(strict.app.state.streams.pids)

    speech, _ = api.say("Hello there.")
    with connect(_ws_url(strict)) as ws:
        ws.send(json.dumps({"type": "start"}))
        assert json.loads(ws.recv(timeout=30))["type"] == "ready"
        (pid,) = worker_pids()
        os.kill(pid, signal.SIGKILL)
        ws.send(_pcm16(speech.samples[:3200]))
        messages = []
        with pytest.raises(ConnectionClosed):
            while True:
                messages.append(json.loads(ws.recv(timeout=30)))
        assert messages[-1]["type"] == "error" and "worker" in messages[-1]["message"]
        assert ws.close_code == 1011
    _, frames, _, end = _stream_speech(strict, speech.samples, {})
    assert end["frames"] == len(frames) > 0 and worker_pids() and pid not in worker_pids()


def test_a_stream_worker_whose_replies_stopped_is_not_given_streams_before_it_is_reaped():
    """Killed, a worker's pipe closes before the event loop learns its exit code (on a busy
    core, well after): a stream given to it then would wait for "ready" forever."""
    import asyncio
    import sys

    from mouthpiece.serve.streams import _Worker

    async def check() -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; sys.stdin.read()", stdin=asyncio.subprocess.PIPE
        )
        worker = _Worker(process)
        worker.reader = asyncio.create_task(asyncio.sleep(0))  # a reader that has seen the pipe close
        await worker.reader
        assert process.returncode is None and worker.alive is False
        await worker.retire()
        assert process.returncode is not None

    asyncio.run(check())


def test_a_client_that_goes_away_mid_stream_frees_its_slot(server):
    from websockets.sync.client import connect

    speech, _ = api.say("Hello there, how are you?")
    streams = server.app.state.streams
    with connect(_ws_url(server)) as ws:
        ws.send(json.dumps({"type": "start"}))
        assert json.loads(ws.recv(timeout=30))["type"] == "ready"
        ws.send(_pcm16(speech.samples[:8000]))
        assert streams.open_streams == 1
    deadline = time.monotonic() + 10  # closed without an end message
    while streams.open_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert streams.open_streams == 0


def test_shutdown_ends_streams_and_jobs_and_leaves_no_files():
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    serving = serve_app(None, max_upload_mb=5.0, stream_workers=1)
    server = next(serving)
    portrait = (resources.files("mouthpiece") / "data" / "astronaut.png").read_bytes()
    for i in range(3):  # one renders, two wait in the queue
        fields = {"portrait": ("p.png", portrait), "text": f"Job number {i}.", "size": "128"}
        assert server.upload("/v1/render", fields)[0] == 202
    folder, pids = server.app.state.folder, server.app.state.streams.pids
    assert any(folder.iterdir())
    with connect(_ws_url(server)) as ws:
        ws.send(json.dumps({"type": "start"}))
        assert json.loads(ws.recv(timeout=30))["type"] == "ready"
        started = time.monotonic()
        with contextlib.suppress(StopIteration):
            next(serving)  # stop the server
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 1012  # "service restart"
    assert time.monotonic() - started < 15
    assert not folder.exists()
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
