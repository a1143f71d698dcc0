"""How the command-line tool uses the CPUs: BLAS kept to one thread unless the environment says otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from mouthpiece.cpus import SINGLE_THREADED, usable_cpus

PROBE = (
    "import numpy; from mouthpiece.cpus import single_threaded_math; single_threaded_math(); "
    "import os, scipy.linalg; from threadpoolctl import threadpool_info; "
    "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}), "
    "os.environ.get('OPENBLAS_NUM_THREADS'))"
)


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in SINGLE_THREADED}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_blas_runs_one_thread_in_the_tool_and_its_children():
    assert _probe() == "[1] 1"  # NumPy's, loaded before, and SciPy's, loaded after


def test_a_thread_count_in_the_environment_is_kept():
    counts, variable = _probe(OPENBLAS_NUM_THREADS="2").rsplit(" ", 1)
    assert variable == "2"
    if usable_cpus() >= 2:
        assert "2" in counts  # not limited to one
