"""The memory limit of a kernel's processes together, where no memory cgroup holds it.

Trusted code: a thread of the grading process. RLIMIT_DATA bounds each process, not their sum: eight
forked processes of one kernel took 11 GB of a host whose kernels may each use 3 GiB. Every
``PERIOD`` seconds this watch sums the memory of every process of the kernel's own uid
(:mod:`autograde.sandbox.kernel_user`) and, above the limit, kills the largest, as the kernel's OOM
killer does in a memory cgroup (so a kernel whose child hogged memory lives on). It counts what a
process holds alone or shares proportionally (``Pss_Anon + Pss_Shmem + SwapPss`` of smaps_rollup):
pages a fork shares copy-on-write with its parent, or a warm kernel with the zygote, count once.
Files in the sandbox's /tmp and /dev/shm are memory too (tmpfs), which no process may map: they
count as well, as a memory cgroup charges them. Between two looks the kernel can grow by what its
processes can touch in ``PERIOD`` (measured and stated in the README).
It also notes when the uid's processes and threads reached RLIMIT_NPROC (a refused fork leaves no
other trace without a pids cgroup).
"""
from __future__ import annotations

import logging
import os
import signal
import threading

from autograde.sandbox.kernel_user import user_processes

log = logging.getLogger(__name__)

PERIOD = 0.1  # seconds between two looks: one costs about 2 ms of CPU here (150 host processes)
COUNTED = (b"Pss_Anon:", b"Pss_Shmem:", b"SwapPss:")
TMPFS = ("tmp", "dev/shm")  # the sandbox's memory-backed folders (bubblewrap.bwrap_args)


class MemoryWatch(threading.Thread):
    """Keeps the processes of ``uid`` together under ``memory_bytes``, and remembers what it did."""

    def __init__(self, uid: int, memory_bytes: int, processes: int):
        super().__init__(name=f"memory-watch-{uid}", daemon=True)
        self.uid, self.memory_bytes, self.processes = uid, memory_bytes, processes
        self.killed = 0  # processes killed over the memory limit
        self.peak = 0  # most bytes seen together
        self.full = False  # whether the processes and threads reached RLIMIT_NPROC
        self._done = threading.Event()

    def __repr__(self) -> str:
        return f"MemoryWatch(uid={self.uid}, limit={self.memory_bytes >> 20} MiB, killed={self.killed})"

    def run(self) -> None:
        while not self._done.wait(PERIOD):
            self.look()

    def look(self) -> None:
        """One look: kill the largest process while the sum is over the limit; note a full process table."""
        sizes = {pid: memory_of(pid) for pid in user_processes(self.uid)}
        total = sum(sizes.values()) + (stored_in_tmpfs(next(iter(sizes))) if sizes else 0)
        self.peak = max(self.peak, total)
        if total > self.memory_bytes and sizes:
            largest = max(sizes, key=sizes.__getitem__)
            try:
                os.kill(largest, signal.SIGKILL)
                self.killed += 1
            except ProcessLookupError:
                pass
        self.full = self.full or sum(tasks_of(pid) for pid in sizes) >= self.processes

    def events(self) -> list[str]:
        """What the limits did, worded as :meth:`autograde.sandbox.cgroups.Cgroup.events` words it."""
        notes = []
        if self.killed:
            notes.append(f"memory limit reached: {self.killed} process(es) killed "
                         f"(up to {self.peak >> 20} MiB together, limit {self.memory_bytes >> 20} MiB)")
        if self.full:
            notes.append("process limit reached")
        return notes

    def stop(self) -> None:
        """End the watch (the kernel is gone)."""
        self._done.set()


def memory_of(pid: int) -> int:
    """Bytes process ``pid`` holds alone or its share of what it shares (0 once it is gone)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(COUNTED):
                    total += int(line.split()[1]) << 10
    except (OSError, ValueError, IndexError):
        return 0
    return total


def stored_in_tmpfs(pid: int) -> int:
    """Bytes in the /tmp and /dev/shm of the sandbox process ``pid`` lives in (0 outside a sandbox)."""
    root = f"/proc/{pid}/root"
    try:
        if os.path.samestat(os.stat(root), os.stat("/")):
            return 0  # not in a sandbox: those are the host's folders
        return sum(used(os.statvfs(f"{root}/{name}")) for name in TMPFS)
    except OSError:
        return 0


def used(stat: os.statvfs_result) -> int:
    """Bytes in use on the file system ``stat`` describes."""
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def tasks_of(pid: int) -> int:
    """Threads of process ``pid`` (what RLIMIT_NPROC counts), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0
