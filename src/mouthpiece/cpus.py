"""How many CPUs this process may use: its affinity mask (a container's cpuset, `taskset`),
not the machine's count, which would size pools and threads for cores it cannot run on."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """CPUs this process may run on (at least 1)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
