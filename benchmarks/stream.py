"""Live-stream figures of `mouthpiece serve`, measured by driving a real server on 127.0.0.1.

    python benchmarks/stream.py                         # all figures (~4 min)
    python benchmarks/stream.py --only latency          # or match, text, load, jobs
    python benchmarks/stream.py --lookahead-ms 60 --chunk-ms 20

- **latency**: one stream of real speech sent at real-time rate in ``--chunk-ms`` chunks
  (16 kHz PCM16), no transcript. A frame's latency is the time from sending the chunk
  that holds the frame's time to receiving the frame. Targets p50 <= 80 ms, p95 <= 150 ms;
  first frame <= 150 ms after the first chunk.
- **match**: the streamed Animation against the offline CLI's (`mouthpiece animate`) on
  the same audio, streamed at real-time rate (sent faster, a worker hears the waiting
  chunks as one block, and the figure flatters): Pearson r of JawOpen per file, against
  ``--recognizer neural`` (the recognizer the stream runs by default) and the file's default
  ``words``. Target r >= 0.9.
- **text**: streams that send the text they speak (``"text"`` in the start message), on
  dev-corpus sentences joined with pauses and on the real English recordings (their text
  being the words recognized in them): JawOpen r against the offline CLI with the
  transcript (`mouthpiece animate --text`), beside the same streams without the text
  (each pair streamed at once, at real-time rate); and the first text stream's latency.
- **load**: ``--streams`` (20) concurrent streams at real-time rate for ``--seconds``
  (120) in ``--load-chunk-ms`` (20) chunks: every frame received once and in order,
  latency p95 (target <= 250 ms), the resident memory of the server and its worker
  processes each 10 s (target: flat), and the CPU cores used; with ``--load-text`` the
  streams read dev sentences and send their text.
- **jobs**: 10 render jobs (text on the bundled portrait) queued at once: all finish, in
  order of submission, each an MP4 as long as its speech.

The client runs on the same two cores as the server, so the load figures include its own
cost. Speech comes from ../shared/eval/dev (sentences joined with pauses) and
../shared/fixtures/audio; nothing here ships.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from mouthpiece import api
from mouthpiece.audio import save
from mouthpiece.audio.save import to_pcm16
from mouthpiece.types import Audio

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLE_RATE = 16_000


def speech_files() -> list[tuple[str, Audio]]:
    """Real speech and dev-corpus sentences joined with pauses: ~10-35 s each."""
    out = [(p.name[:5], api.load_audio(p)) for p in sorted((SHARED / "fixtures" / "audio").glob("*_16k.wav"))]
    return out + [(name, audio) for name, audio, _ in dev_speech()]


def dev_speech() -> list[tuple[str, Audio, str]]:
    """Every third dev-corpus sentence of each voice joined with pauses (~10 s), and its text."""
    dev = sorted((SHARED / "eval" / "dev").glob("*.wav"))
    rng = np.random.default_rng(0)
    out = []
    for group in range(0, len(dev), 25):
        parts, text = [], []
        for path in dev[group : group + 25 : 3]:
            parts += [api.load_audio(path).samples, np.zeros(int(rng.uniform(0.2, 0.8) * SAMPLE_RATE), np.float32)]
            text.append(path.with_suffix(".txt").read_text(encoding="utf-8").strip())
        out.append((f"dev-{dev[group].name[:3]}", Audio(np.concatenate(parts)), " ".join(text)))
    return out


def long_speech(seconds: float) -> Audio:
    pieces, total = [], 0
    for _, audio in speech_files():
        pieces.append(audio.samples)
        total += len(audio.samples)
        if total >= seconds * SAMPLE_RATE:
            break
    joined = np.concatenate(pieces)
    while len(joined) < seconds * SAMPLE_RATE:
        joined = np.concatenate([joined, joined])
    return Audio(joined[: int(seconds * SAMPLE_RATE)])


class Server:
    """`mouthpiece serve` in a child process on a free port."""

    def __init__(self, *extra: str):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        command = [sys.executable, "-m", "mouthpiece.cli", "serve", "--port", str(self.port), "-q", *extra]
        self.process = subprocess.Popen(command)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/v1/health", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)

    def memory_mb(self) -> float:
        """Resident memory of the server and all its descendants, MB."""
        pids, frontier = {self.process.pid}, [self.process.pid]
        while frontier:
            parent = frontier.pop()
            for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
                pids.add(int(child))
                frontier.append(int(child))
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by the server's process and by its worker processes, s."""
        tick = os.sysconf("SC_CLK_TCK")

        def used(pid: int) -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick

        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return {"server": used(self.process.pid), "workers": sum(used(int(c)) for c in children)}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


async def stream(
    url: str,
    audio: Audio,
    *,
    chunk_ms: float,
    lookahead_ms: float,
    max_lookahead_ms: float,
    realtime: bool,
    text: str | None = None,
) -> dict:
    """Send ``audio`` (and its ``text``) as a live client would; per-frame latencies, order check, values."""
    import websockets

    pcm = to_pcm16(audio.samples).tobytes()
    step = int(chunk_ms * SAMPLE_RATE / 1000) * 2
    sent: list[float] = []
    received: list[tuple[int, float, float, list[float]]] = []  # index, time, when, values
    async with websockets.connect(url.replace("http", "ws") + "/v1/stream", max_size=2**24) as ws:
        start = {"type": "start", "lookahead_ms": lookahead_ms, "max_lookahead_ms": max_lookahead_ms, "text": text}
        await ws.send(json.dumps(start))
        ready = json.loads(await ws.recv())

        async def read() -> dict:
            async for message in ws:
                reply = json.loads(message)
                if reply["type"] != "frames":
                    return reply
                now = time.perf_counter()
                received.extend((f["index"], f["time"], now, f["values"]) for f in reply["frames"])
            raise RuntimeError("the stream closed without an end message")

        reader = asyncio.create_task(read())
        start = time.perf_counter()
        for k in range(0, len(pcm), step):
            if realtime:  # a chunk is sent when its last sample has been "spoken"
                await asyncio.sleep(max(0.0, start + (k + step) / 2 / SAMPLE_RATE - time.perf_counter()))
            await ws.send(pcm[k : k + step])
            sent.append(time.perf_counter())
        await ws.send(json.dumps({"type": "end"}))
        end = await reader
    indices = [r[0] for r in received]
    chunk_of = [min(int(t * SAMPLE_RATE * 2 // step), len(sent) - 1) for _, t, _, _ in received]
    latency = np.array([when - sent[c] for (_, _, when, _), c in zip(received, chunk_of)]) * 1000
    return {
        "in_order": indices == list(range(len(indices))) and end.get("frames") == len(indices),
        "latency_ms": latency,
        "first_ms": (received[0][2] - sent[0]) * 1000 if received else float("nan"),
        "jaw": np.array([r[3][ready["channels"].index("JawOpen")] for r in received]),
        "frames": len(indices),
    }


def _lookaheads(args: argparse.Namespace) -> dict[str, float]:
    return {"chunk_ms": args.chunk_ms, "lookahead_ms": args.lookahead_ms, "max_lookahead_ms": args.max_lookahead_ms}


def figure_latency(server: Server, args: argparse.Namespace) -> None:
    audio = long_speech(30.0)
    result = asyncio.run(stream(server.url, audio, realtime=True, **_lookaheads(args)))
    lat = result["latency_ms"]
    print(f"latency, 1 stream, {audio.duration:.0f} s, {args.chunk_ms:g} ms chunks, "
          f"lookahead {args.lookahead_ms:g}-{args.max_lookahead_ms:g} ms:"
          f" p50 {np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms, max {lat.max():.1f} ms"
          f" (targets 80 / 150); first frame {result['first_ms']:.1f} ms after the first chunk (target 150);"
          f" frames once and in order: {result['in_order']}")  # fmt: skip


def offline_jaw(wav: Path, *options: str) -> np.ndarray:
    """JawOpen of `mouthpiece animate WAV OPTIONS...` (the CLI in a process of its own)."""
    out = wav.with_suffix(".anim.json")
    subprocess.run([sys.executable, "-m", "mouthpiece.cli", "animate", str(wav), "-o", str(out), "-f", "anim-json",
                    *options, "-q"], check=True)  # fmt: skip
    animation = json.loads(out.read_text())
    return np.array(animation["values"])[:, animation["channels"].index("JawOpen")]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over the frames both have."""
    return float(np.corrcoef(a[: len(b)], b[: len(a)])[0, 1])


def figure_match(server: Server, args: argparse.Namespace) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, audio in speech_files():
            wav = Path(folder) / f"{name}.wav"
            save(audio, wav)
            offline = {recognizer: offline_jaw(wav, "--recognizer", recognizer) for recognizer in ("neural", "words")}
            result = asyncio.run(stream(server.url, audio, realtime=True, **_lookaheads(args)))
            r = {k: correlation(result["jaw"], v) for k, v in offline.items()}
            rows.append(r)
            print(f"  {name:9} {audio.duration:5.1f} s  r vs neural {r['neural']:.3f}  vs words {r['words']:.3f}")
    print(f"match, lookahead {args.lookahead_ms:g}-{args.max_lookahead_ms:g} ms: mean r of JawOpen vs offline neural "
          f"{np.mean([r['neural'] for r in rows]):.3f}, vs offline words {np.mean([r['words'] for r in rows]):.3f}"
          " (target 0.9)")  # fmt: skip


def real_speech_with_words() -> list[tuple[str, Audio, str]]:
    """The English fixture recordings, each with the words recognized in it as its text
    (they have no transcripts; the words are near enough to test following a real voice)."""
    out = []
    for name in ("aud01", "aud03", "aud09"):
        audio = api.load_audio(next((SHARED / "fixtures" / "audio").glob(f"{name}_*_16k.wav")))
        out.append((name, audio, " ".join(w.text for w in api.to_phones(audio, recognizer="words").words)))
    return out


def figure_text(server: Server, args: argparse.Namespace) -> None:
    rows, timed = [], None
    with tempfile.TemporaryDirectory() as folder:
        for name, audio, text in dev_speech() + real_speech_with_words():
            wav = Path(folder) / f"{name}.wav"
            save(audio, wav)
            offline = offline_jaw(wav, "--text", text)

            async def both(audio: Audio = audio, text: str = text) -> list[dict]:
                return await asyncio.gather(*(stream(server.url, audio, realtime=True, text=given, **_lookaheads(args))
                                              for given in (text, None)))  # fmt: skip

            with_text, without_text = asyncio.run(both())
            timed = timed or (name, with_text)  # the first text stream's latency is reported
            r = {"text": correlation(with_text["jaw"], offline), "no text": correlation(without_text["jaw"], offline)}
            rows.append(r)
            print(f"  {name:9} {audio.duration:5.1f} s  r vs offline --text: with text {r['text']:.3f}, "
                  f"without {r['no text']:.3f}")  # fmt: skip
    assert timed is not None
    name, first = timed
    lat = first["latency_ms"]
    with_text, without = np.mean([r["text"] for r in rows]), np.mean([r["no text"] for r in rows])
    print(f"text, lookahead {args.lookahead_ms:g}-{args.max_lookahead_ms:g} ms: mean r of JawOpen vs offline --text: "
          f"with the text {with_text:.3f}, without {without:.3f};"
          f" latency ({name}, real time, beside its twin) p50 {np.percentile(lat, 50):.1f} ms,"
          f" p95 {np.percentile(lat, 95):.1f} ms,"
          f" first frame {first['first_ms']:.1f} ms, frames once and in order: {first['in_order']}")  # fmt: skip


def figure_load(server: Server, args: argparse.Namespace) -> None:
    audio = long_speech(args.seconds)
    memory: list[float] = []

    async def sample_memory() -> None:
        while True:
            memory.append(server.memory_mb())
            await asyncio.sleep(10)

    if args.load_text:  # each stream reads the dev sentences, from its own starting voice, with their text
        groups = dev_speech()
        spoken = []
        for i in range(args.streams):
            turn = groups[i % len(groups) :] + groups[: i % len(groups)]
            count = next(k for k in range(1, len(turn) + 1) if sum(g[1].duration for g in turn[:k]) >= args.seconds)
            samples = np.concatenate([g[1].samples for g in turn[:count]])[: int(args.seconds * SAMPLE_RATE)]
            spoken.append((Audio(samples), " ".join(g[2] for g in turn[:count])))
    else:
        spoken = [(Audio(np.roll(audio.samples, i * 37_000)), None) for i in range(args.streams)]

    async def run() -> list[dict]:
        sampler = asyncio.create_task(sample_memory())
        options = {"chunk_ms": args.load_chunk_ms, "lookahead_ms": args.lookahead_ms,
                   "max_lookahead_ms": args.max_lookahead_ms, "realtime": True}  # fmt: skip
        results = await asyncio.gather(*(stream(server.url, a, text=t, **options) for a, t in spoken))
        sampler.cancel()
        return results

    cpu_before, client_before = server.cpu_seconds(), time.process_time()
    wall = time.perf_counter()
    results = asyncio.run(run())
    wall = time.perf_counter() - wall
    cpu = {k: (v - cpu_before[k]) / wall for k, v in server.cpu_seconds().items()}
    cpu["client"] = (time.process_time() - client_before) / wall
    latency = np.concatenate([r["latency_ms"] for r in results])
    ok = sum(r["in_order"] for r in results)
    kind = " with text" if args.load_text else ""
    print(f"load, {args.streams} streams{kind} x {args.seconds:g} s in real time, {args.load_chunk_ms:g} ms chunks: "
          f"{ok}/{args.streams} streams got every frame once and in order; latency p50 "
          f"{np.percentile(latency, 50):.1f} ms, p95 {np.percentile(latency, 95):.1f} ms (target 250); "
          f"memory MB every 10 s: {' '.join(f'{m:.0f}' for m in memory)}; CPU cores busy: "
          + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))  # fmt: skip


def figure_jobs(server: Server, args: argparse.Namespace) -> None:
    import av

    texts = [f"This is render job number {i + 1}." for i in range(10)]
    portrait = (Path(api.__file__).parent / "data" / "astronaut.png").read_bytes()
    ids = []
    start = time.perf_counter()
    for text in texts:
        boundary = "mouthpiece-bench"
        fields = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="portrait"; filename="p.png"\r\n\r\n'.encode()
            + portrait,
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n{text}'.encode(),
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="size"\r\n\r\n256'.encode(),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        request = urllib.request.Request(server.url + "/v1/render", data=b"".join(fields), headers=headers)
        ids.append(json.loads(urllib.request.urlopen(request).read())["id"])
    finished: dict[str, float] = {}
    while len(finished) < len(ids):
        for job in ids:
            if job not in finished:
                status = json.loads(urllib.request.urlopen(f"{server.url}/v1/jobs/{job}").read())
                if status["status"] in ("done", "failed"):
                    finished[job] = time.perf_counter()
                    assert status["status"] == "done", status
        time.sleep(0.2)
    durations = []
    with tempfile.TemporaryDirectory() as folder:
        for job in ids:
            path = Path(folder) / f"{job}.mp4"
            path.write_bytes(urllib.request.urlopen(f"{server.url}/v1/jobs/{job}/result").read())
            with av.open(str(path)) as container:
                durations.append(float(container.duration) / 1e6)
    in_order = [finished[j] for j in ids] == sorted(finished[j] for j in ids)
    print(
        f"jobs: 10 queued at once, all done in {time.perf_counter() - start:.1f} s, in order of submission: "
        f"{in_order}; MP4 lengths {min(durations):.2f}-{max(durations):.2f} s"
    )


FIGURES = {
    "latency": figure_latency, "match": figure_match, "text": figure_text, "load": figure_load, "jobs": figure_jobs,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=FIGURES, action="append")
    parser.add_argument("--chunk-ms", type=float, default=20.0, help="chunk length for latency and match")
    parser.add_argument("--load-chunk-ms", type=float, default=20.0, help="chunk length of the load test's streams")
    parser.add_argument("--lookahead-ms", type=float, default=60.0, help="shortest lookahead (see mouthpiece.live)")
    parser.add_argument("--max-lookahead-ms", type=float, default=140.0, help="longest lookahead")
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--load-text", action="store_true", help="the load test's streams send their text")
    args = parser.parse_args()
    server = Server()
    try:
        for name in args.only or FIGURES:
            FIGURES[name](server, args)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
