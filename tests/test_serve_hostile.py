"""The server against hostile and careless clients: each gets a 4xx or a close code with a
sentence, and the server stays up and answers its health check meanwhile."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib import resources

import numpy as np
import pytest

pytest.importorskip("fastapi")
from encoded_audio import encode  # noqa: E402
from serving import Server, serve_app  # noqa: E402

from mouthpiece import api  # noqa: E402
from mouthpiece.serve import server as serving_module  # noqa: E402
from mouthpiece.serve import streams  # noqa: E402

ASTRONAUT = resources.files("mouthpiece") / "data" / "astronaut.png"
PATH_VOICES = ("../../../../../../../etc/passwd", "../../../../../../../dev/zero", "/dev/zero", "en-us+../../x")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from serve_app(None, max_upload_mb=2.0, max_seconds=5.0, max_megapixels=0.05, max_jobs=1,
                         request_workers=1)  # fmt: skip


@pytest.fixture(scope="module")
def guarded() -> Iterator[Server]:
    yield from serve_app("t0ken", max_upload_mb=1.0, allowed_origins=("https://app.example",))


def _flac_of_silence(seconds: float) -> bytes:
    """A small FLAC file holding ``seconds`` of digital silence."""
    import io

    out = io.BytesIO()
    encode(out, (np.zeros(16_000, np.int16) for _ in range(int(seconds))), format="flac", codec="flac")
    return out.getvalue()


def _health_ms(server: Server) -> float:
    start = time.perf_counter()
    assert server.request("GET", "/v1/health")[0] == 200
    return (time.perf_counter() - start) * 1000


def _raw(server: Server, head: str, body: bytes = b"", *, wait: float = 10.0) -> str:
    """Send a raw request (``head`` without the blank line) and return the reply's first bytes."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        connection.sendall(head.encode() + b"\r\n\r\n" + body)
        reply = connection.recv(65536)
        connection.settimeout(0.5)  # the rest of the answer, which may come in another segment
        with contextlib.suppress(OSError):
            while piece := connection.recv(65536):
                reply += piece
        return reply.decode(errors="replace")


@pytest.mark.parametrize("voice", PATH_VOICES)
def test_a_voice_is_never_a_path(server, voice):
    status, body, _ = server.request("POST", "/v1/say", body=json.dumps({"text": "hello", "voice": voice}).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 422 and "Unknown espeak-ng voice" in json.loads(body)["detail"]
    assert _health_ms(server) < 1000


def test_a_stream_with_a_path_for_a_voice_is_closed(server):
    from test_serve import _refusal

    error, code = _refusal(server, [{"type": "start", "text": "hello", "voice": PATH_VOICES[1]}])
    assert code == 1008 and error is not None and "Unknown espeak-ng voice" in error["message"]


def test_the_command_line_refuses_a_path_for_a_voice(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mouthpiece.cli", "say", "hello", "--voice", PATH_VOICES[0],
                           "-o", str(tmp_path / "x.wav")], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1 and "Unknown espeak-ng voice" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.wav").exists()


def test_audio_past_the_limit_is_refused_as_soon_as_decoding_passes_it(server):
    flac = _flac_of_silence(3600)  # an hour in a few kilobytes
    assert len(flac) < 1_000_000
    start = time.monotonic()
    status, body, _ = server.upload("/v1/animate", {"audio": ("hour.flac", flac)})
    detail = json.loads(body)["detail"]
    assert status == 413 and "'hour.flac'" in detail and "--max-seconds" in detail, detail
    assert time.monotonic() - start < 10
    status, body, _ = server.upload("/v1/render", {"portrait": ("face.png", _small_png()), "audio": ("h.flac", flac)})
    assert status == 413 and "--max-seconds" in json.loads(body)["detail"]


def _small_png(side: int = 200) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.open(str(ASTRONAUT)).convert("RGB").resize((side, side)).save(out, format="PNG")
    return out.getvalue()


def test_an_image_past_the_pixel_limit_is_refused_before_it_is_decoded(server):
    status, body, _ = server.upload("/v1/render", {"portrait": ("big.png", _small_png(400)), "text": "Hi."})
    detail = json.loads(body)["detail"]
    assert status == 413 and "'big.png'" in detail and "--max-megapixels" in detail, detail


def test_a_body_past_the_limit_is_refused_without_being_read(server):
    head = "POST /v1/say HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000000"
    reply = _raw(server, head)  # nothing of the body is sent: the answer comes anyway
    assert reply.startswith("HTTP/1.1 413") and "limit" in reply
    head = "POST /v1/animate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b"
    reply = _raw(server, head + "\r\nContent-Length: 1500000000")
    assert reply.startswith("HTTP/1.1 413")
    chunk = b"x" * 65536  # without a length, in chunks: refused once the bytes pass the limit
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        part = b'--b\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n'
        opening = (head + "\r\nTransfer-Encoding: chunked\r\n\r\n").encode() + b"%x\r\n%s\r\n" % (len(part), part)
        connection.sendall(opening)
        reply, sent, reset = b"", 0, False
        with pytest.raises(OSError):  # the server stops reading and closes
            while not reply and sent < 200:
                try:
                    connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:  # closed: its answer may still wait in our buffer
                    try:
                        reply = connection.recv(4096)
                    except OSError:
                        reset = True
                    raise
                sent += 1
                connection.settimeout(0.001)
                try:
                    reply = connection.recv(4096)
                except TimeoutError:
                    pass
                except OSError:
                    reset = True
                    raise
                connection.settimeout(30)
            raise OSError("answered")
        assert sent * len(chunk) < 10 * 2**20  # it stopped reading early
        # The 413 is sent before the close, but a loaded machine can deliver the close's reset
        # first, and a reset throws away what the client had not read yet.
        assert reply.startswith(b"HTTP/1.1 413") or (reset and not reply), reply


def test_deeply_nested_json_gets_a_sentence(server):
    from test_serve import _refusal

    error, code = _refusal(server, ["[" * 100_000])
    assert code == 1008 and error is not None and "JSON" in error["message"]
    deep = b"[" * 100_000
    status, body, _ = server.request("POST", "/v1/say", body=deep, headers={"Content-Type": "application/json"})
    assert 400 <= status < 500 and _health_ms(server) < 1000


def test_without_a_token_other_origins_and_host_names_are_refused(server):
    evil = {"Origin": "http://evil.example"}
    status, body, _ = server.request("POST", "/v1/say", body=b'{"text": "hi"}',
                                     headers={"Content-Type": "application/json", **evil})  # fmt: skip
    assert status == 403 and "evil.example" in json.loads(body)["detail"]
    assert _raw(server, "GET /v1/health HTTP/1.1\r\nHost: rebound.example:8000").startswith("HTTP/1.1 403")
    assert server.request("GET", "/v1/health", headers={"Origin": server.url})[0] == 200  # its own page
    assert _raw(server, "GET /v1/health HTTP/1.1\r\nHost: localhost").startswith("HTTP/1.1 200")

    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus):
        with connect(server.url.replace("http", "ws") + "/v1/stream", origin="http://evil.example"):  # type: ignore
            pass


def test_with_a_token_the_token_decides(guarded):
    evil = {"Origin": "http://evil.example"}
    assert guarded.request("GET", "/v1/jobs/x", headers=evil, auth=False)[0] == 401
    assert guarded.request("GET", "/v1/jobs/x", headers={**evil, "Authorization": "bearer t0ken"}, auth=False)[0] == 404


def test_the_render_queue_is_bounded(server):
    photo = _small_png(200)
    first = server.upload("/v1/render", {"portrait": ("a.png", photo), "text": "Number one.", "size": "64"})
    second = server.upload("/v1/render", {"portrait": ("a.png", photo), "text": "Number two.", "size": "64"})
    assert first[0] == 202
    assert second[0] == 429 and int(second[2]["retry-after"]) > 0 and "try again" in json.loads(second[1])["detail"]


def test_a_render_larger_than_the_server_renders_is_refused(guarded):
    fields = {"portrait": ("a.png", _small_png(200)), "text": "Hello there. " * 80, "size": "2048", "fps": "60"}
    status, body, _ = guarded.upload("/v1/render", fields)
    assert status == 413 and "smaller size" in json.loads(body)["detail"]


def test_health_answers_while_a_request_works_and_a_timeout_kills_the_work():
    for server in serve_app(None, max_upload_mb=5.0, request_timeout=2.0, request_workers=1):
        speech, _ = api.say("Please bring the big blue map and the quiet sounds of the morning. " * 8)
        wav = _wav_bytes(speech)
        work = server.app.state.workers[0]
        before = set(work.pids)
        answers: list = []

        def animate(server: Server = server, wav: bytes = wav, answers: list = answers) -> None:
            answers.append(server.upload("/v1/animate", {"audio": ("l.wav", wav)}))

        thread = threading.Thread(target=animate)
        thread.start()
        time.sleep(0.3)
        latencies = [_health_ms(server) for _ in range(10)]
        thread.join(30)
        assert max(latencies) < 500, latencies
        assert answers and answers[0][0] == 408 and "longer than 2 s" in json.loads(answers[0][1])["detail"]
        # the worker that overran is killed: the 408 can go out while the cancelled call's
        # thread is still taking its worker down, so give that a moment
        deadline = time.monotonic() + 5.0
        while before & set(work.pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not before & set(work.pids)


def _wav_bytes(speech) -> bytes:
    import tempfile
    from pathlib import Path

    from mouthpiece.audio import save

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.wav"
        save(speech, path)
        return path.read_bytes()


def test_slow_headers_are_cut_off(monkeypatch):
    monkeypatch.setattr(serving_module, "HEADER_TIMEOUT", 0.5)
    for server in serve_app(None, max_upload_mb=1.0):
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(b"GET /v1/health HTTP/1.1\r\n")  # and nothing more
            start = time.monotonic()
            assert connection.recv(4096) == b""  # closed
            assert time.monotonic() - start < 5


def test_a_stream_is_held_to_twice_real_time():
    from test_serve import _stream_speech

    for server in serve_app(None, max_upload_mb=1.0, stream_workers=1):
        speech, _ = api.say("Please bring the big blue map, and watch how each voice shapes its vowels. " * 2)
        start = time.monotonic()
        _, frames, _, end = _stream_speech(server, speech.samples, {"fps": 30})
        held = time.monotonic() - start
        assert end["frames"] == len(frames) > 0
        assert held >= (speech.duration - streams.HEAD_START) / streams.PACE - 0.2


def test_a_token_in_the_query_never_reaches_the_log():
    import logging

    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, '%s - "WebSocket %s" [accepted]',
                               ("127.0.0.1:5", "/v1/stream?token=s3cret&x=1"), None)  # fmt: skip
    serving_module._NoTokens().filter(record)
    assert "s3cret" not in record.getMessage() and "token=***" in record.getMessage()


def test_an_overlong_field_is_named_not_echoed(server):
    status, body, _ = server.upload("/v1/animate", {"audio": ("a.flac", _flac_of_silence(1)), "text": "a " * 300_000})
    detail = json.loads(body)["detail"]
    assert status == 422 and "'text'" in detail and "10000" in detail and len(body) < 300


def test_a_vast_image_names_the_servers_limit(server):
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(out, format="PNG")
    status, body, _ = server.upload("/v1/render", {"portrait": ("vast.png", out.getvalue()), "text": "Hi."})
    detail = json.loads(body)["detail"]
    assert status == 413 and "50,000 allowed" in detail and "--max-megapixels" in detail, detail


def test_a_refused_handshake_says_why(server, guarded):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    for target, options in ((server, {"origin": "http://evil.example"}), (guarded, {})):
        url = target.url.replace("http", "ws") + "/v1/stream" + ("?token=wrong" if target is guarded else "")
        with pytest.raises(InvalidStatus) as refused:
            with connect(url, **options):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code in (401, 403)
        assert json.loads(refused.value.response.body)["detail"].endswith(".")
