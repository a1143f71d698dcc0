"""How many CPUs this process may use, and how its maths libraries use them.

:func:`usable_cpus` reads the affinity mask (a container's cpuset, `taskset`), not the
machine's count, which would size pools and threads for cores it cannot run on.

:func:`single_threaded_math` keeps BLAS to one thread. Our matrix products are small and
many (a few per frame or per 10 ms of audio); OpenBLAS wakes a thread per core for each
and leaves it spinning between them, so a 720p dub burned 37 CPU seconds instead of 29,
8 of them in the kernel, and ran 15 % slower. Parallel work is done by our own processes
and threads instead.
"""

from __future__ import annotations

import os

# For libraries loaded from now on, and for child processes (unless the environment says otherwise).
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def usable_cpus() -> int:
    """CPUs this process may run on (at least 1)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def single_threaded_math() -> None:
    """One BLAS thread in this process: for the libraries already loaded (NumPy's), and, unless
    the environment already names a count, for those loaded later (SciPy's) and for children.
    Called by the command-line tool, which owns its process; the library leaves its caller's
    process as it finds it."""
    from threadpoolctl import threadpool_limits

    if not any(name in os.environ for name in SINGLE_THREADED):
        os.environ.update(SINGLE_THREADED)
        threadpool_limits(1, user_api="blas")
