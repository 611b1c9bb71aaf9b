"""A memory cap for a benchmark's child process: a Linux memory cgroup whose limit counts
everything the process is charged for, its own allocations and the page cache it reads and
writes (the index files a search engine maps among them). Within the cap the kernel reclaims
file pages before it fails an allocation, so a build that completes under a cap of N MB needs
no more than N MB, whatever its RSS would grow to on an idle machine with memory to spare.

cgroup v1 (``/sys/fs/cgroup/memory``) and v2 (a mounted cgroup2 with the memory controller)
are both handled; making one needs root or a delegated hierarchy. ``unavailable()`` says why a
cap cannot be had here; the benchmark then reports the build as not capped.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

V1 = Path("/sys/fs/cgroup/memory")
V2_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))


def _v2_root() -> Path | None:
    for root in V2_ROOTS:
        controllers = root / "cgroup.controllers"
        with contextlib.suppress(OSError):
            if "memory" in controllers.read_text().split():
                return root
    return None


class MemoryCap:
    """A fresh memory cgroup limited to ``mb`` MiB (named after this process), removed by
    ``remove()`` once the processes in it have ended; a process enters it by ``join()``."""

    def __init__(self, mb: int, name: str = "sohoa-bench") -> None:
        self.mb = mb
        root = V1 if (V1 / "memory.limit_in_bytes").exists() else _v2_root()
        if root is None:
            raise OSError("no memory cgroup hierarchy is mounted")
        self.v2 = root != V1
        self._limit = "memory.max" if self.v2 else "memory.limit_in_bytes"
        self.path = root / f"{name}-{os.getpid()}"
        self.path.mkdir(exist_ok=True)
        try:
            (self.path / self._limit).write_text(str(mb << 20))
        except OSError:
            self.remove()
            raise

    def join(self) -> float:
        """Move this process into the cgroup and lower its limit by what the process already
        holds (its RSS now, charged where it was: a joining process's memory does not move
        with it), so that the process as a whole stays within ``mb``; that RSS (MB).
        MemoryError when the process already holds the whole cap."""
        with open("/proc/self/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
        if rss >= self.mb:
            raise MemoryError(f"the process holds {rss:.0f} MB before its work, more than "
                              f"the cap of {self.mb} MB")
        (self.path / self._limit).write_text(str((self.mb << 20) - (int(rss * 1024) << 10)))
        (self.path / "cgroup.procs").write_text(str(os.getpid()))
        return rss

    def peak_mb(self) -> float | None:
        """The most the cgroup was charged at once (page cache included), when the kernel
        keeps it (v1 always; v2 from Linux 5.19)."""
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        try:
            return int((self.path / name).read_text()) / (1 << 20)
        except (OSError, ValueError):
            return None

    def oom_kills(self) -> int:
        """Processes the kernel killed for want of memory under the cap."""
        name = "memory.events" if self.v2 else "memory.oom_control"
        with contextlib.suppress(OSError, ValueError):
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()


def why(exc: OSError) -> str:
    """What a failure to make a cap says."""
    return f"no memory cgroup can be made here ({exc.strerror or exc})"


def unavailable(mb: int) -> str | None:
    """Why a cap of ``mb`` MiB cannot be made here, or None when it can (tried, then
    removed)."""
    try:
        MemoryCap(mb, name="sohoa-bench-probe").remove()
    except OSError as exc:
        return why(exc)
    return None
