"""A batch's files animated on a Ray cluster: ``mouthpiece animate ... --ray [ADDRESS]``.

Ray comes with the ``cluster`` extra (``pip install 'mouthpiece[cluster]'``) on the machine
that runs the batch and on every node. Each file is one Ray task (one CPU) running the
same :func:`~mouthpiece.batch.export_text` a local batch runs, so the outputs are the same
bytes. Nothing needs a shared filesystem: this machine reads each input (and its transcript
and the style file) and ships the bytes with the task, the node animates them in a private
temporary folder, and the export's text comes back to be written here, under ``-o``,
atomically. At most a few tasks per cluster CPU are in flight, so a batch of any size
holds little in the object store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from .batch import BatchItem, BatchResult, export_text, result_of, transcript_of, write_text
from .errors import DependencyError, InputError, MouthpieceError
from .inputs import existing_file

AUTO = "auto"  # the address of the cluster this machine belongs to (``ray start`` ran here)
CONNECT_TIMEOUT = 5.0  # s to reach a head named by address (Ray itself retries for minutes)
IN_FLIGHT_PER_CPU = 2  # tasks submitted ahead per CPU of the cluster


def run_on_ray(
    todo: list[tuple[int, BatchItem]],
    options: dict[str, Any],
    *,
    address: str = AUTO,
    finish: Callable[[int, BatchResult], None],
) -> None:
    """Animate every ``(index, item)`` of ``todo`` as a Ray task and ``finish`` each with its row.

    Raises DependencyError without Ray, InputError when no cluster answers at ``address``.
    """
    try:
        import ray
    except ImportError:
        raise DependencyError(
            "--ray needs Ray on this machine and the cluster: pip install 'mouthpiece[cluster]'."
        ) from None
    check_reachable(address)
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise InputError(f"No Ray cluster answers at '{address}' ({e}); start one with `ray start --head`.") from None
    try:
        task = ray.remote(num_cpus=1)(animate_shipped)
        style = _read(options["style"]) if options.get("style") else None
        limit = max(2, IN_FLIGHT_PER_CPU * int(ray.cluster_resources().get("CPU", 1)))
        pending: dict[Any, tuple[int, BatchItem]] = {}
        queue = iter(todo)

        def submit() -> None:
            for index, item in queue:
                try:
                    data = _read(existing_file(item.source, kind="audio"))
                    shipped = {**options, "text": transcript_of(item.source, options), "text_sidecar": False}
                except MouthpieceError as e:
                    finish(index, BatchResult(item.source, item.target, "error", str(e)))
                    continue
                pending[task.remote(item.source, os.path.abspath(item.source), data, shipped, style)] = (index, item)
                if len(pending) >= limit:
                    return

        submit()
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            index, item = pending.pop(ready)
            try:
                outcome = ray.get(ready)
            except ray.exceptions.RayError as e:
                outcome = {"error": f"The work on '{item.source}' failed: {e}.", "seconds": 0.0}
            finish(index, _result(item, outcome))
            submit()
    finally:
        ray.shutdown()


def animate_shipped(
    name: str, sound_file: str, data: bytes, options: dict[str, Any], style: bytes | None
) -> dict[str, Any]:
    """On a node: the export of the input ``name`` (``sound_file`` on the machine that has it)
    whose bytes are ``data`` (see :func:`export_text`), or ``{"error": sentence}``; ``style``
    is the style file's bytes."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mouthpiece-ray-") as folder:
        path = os.path.join(folder, os.path.basename(name))
        with open(path, "wb") as f:
            f.write(data)
        if style is not None:
            options = {**options, "style": os.path.join(folder, "speaker.style")}
            with open(options["style"], "wb") as f:
                f.write(style)
        try:
            outcome = export_text(path, options, sound_file=sound_file)
        except MouthpieceError as e:
            outcome = {"error": str(e).replace(path, name)}
    return {**outcome, "seconds": time.perf_counter() - start}


def _result(item: BatchItem, outcome: dict[str, Any]) -> BatchResult:
    """The row of a finished task, its output written here."""
    if "error" not in outcome:
        try:
            write_text(item.target, outcome["text"])
        except MouthpieceError as e:
            outcome = {**outcome, "error": str(e)}
    return result_of(item, outcome, outcome["seconds"])


def check_reachable(address: str) -> None:
    """InputError unless the head at ``host:port`` (or ``ray://host:port``) accepts a connection."""
    if address == AUTO:
        return
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"A Ray address is host:port (or ray://host:port), got '{address}'.")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as e:
        raise InputError(f"No Ray cluster answers at '{address}' ({e.strerror or e}).") from None


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InputError(f"Cannot read '{path}': {e.strerror or e}.") from None


@contextlib.contextmanager
def local_cluster(cpus: int | None = None, *, timeout: float = 60.0) -> Iterator[str]:
    """A one-node Ray cluster on this machine for the block (``ray start --head``): its address.

    The head runs in the foreground of a child process and is stopped (with every process
    it started) when the block ends; other Ray clusters on the machine are left alone.
    """
    ray = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    if ray is None:
        raise DependencyError("A local Ray cluster needs Ray: pip install 'mouthpiece[cluster]'.")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [ray, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
               "--include-dashboard=false", "--disable-usage-stats"]  # fmt: skip
    if cpus is not None:
        command.append(f"--num-cpus={cpus}")
    head = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                check_reachable(address)
                break
            except InputError:
                if head.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                head.kill()
                said = head.communicate()[1].decode(errors="replace").strip()[-500:]
                raise DependencyError(f"The local Ray head did not start within {timeout:g} s: {said}") from None
        yield address
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops its cluster's processes on SIGTERM
        try:
            head.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            head.kill()
            head.communicate()
