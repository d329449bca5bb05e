"""A user id of its own for each running kernel: limits the kernel counts per user hold per kernel.

Trusted code (root only). RLIMIT_NPROC counts every process and thread of the *real user*: with all
kernels running as ``nobody`` they shared one count, so one kernel's fork bomb used up the others'
(and without a pids cgroup nothing else bounds it). Each kernel instead runs as a uid of a reserved
range that nobody else uses, held by a lock file for as long as the kernel runs, so its RLIMIT_NPROC
counts that kernel alone, its processes can be found (and killed, and measured) by their uid, and it
owns nothing on the host but its own scratch and socket folders.
"""
from __future__ import annotations

import fcntl
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

FIRST_UID = 2_000_000_000  # far above any uid a system or a directory service hands out (< 2^31)
SLOTS = 4096  # kernels running at once on one host, over all grading processes
LOCKS = Path("/run/course-sandbox/users")  # root-only: one lock file per slot in use


class KernelUser:
    """One uid of the reserved range, held (by a lock on its slot's file) until :meth:`release`."""

    def __init__(self, locks: Path = LOCKS, first_uid: int = FIRST_UID):
        locks.mkdir(parents=True, exist_ok=True, mode=0o700)
        for slot in range(SLOTS):
            fd = os.open(locks / f"{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._lock = first_uid + slot, fd
            self.kill_all()  # whatever a sandbox of a crashed run left under this uid
            return
        raise RuntimeError(f"all {SLOTS} kernel uids from {first_uid} are in use; grade with fewer workers")

    def __repr__(self) -> str:
        return f"KernelUser(uid={self.uid}, held={self._lock is not None})"

    def pids(self) -> list[int]:
        """Host processes of this uid."""
        return user_processes(self.uid)

    def kill_all(self) -> None:
        """SIGKILL every process of the uid until none is left."""
        kill_until_gone(self.pids, f"of uid {self.uid}")

    def release(self) -> None:
        """Kill what is left of the kernel and free the uid for the next one."""
        if self._lock is not None:
            self.kill_all()
            os.close(self._lock)
            self._lock = None


def kill_until_gone(pids: Callable[[], list[int]], whose: str) -> None:
    """SIGKILL the processes ``pids()`` lists, again and again until it lists none (a fork bomb races us)."""
    for _ in range(100):
        found = pids()
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    log.warning("sandbox: processes %s %s survived SIGKILL", pids(), whose)


def user_processes(uid: int) -> list[int]:
    """Host processes whose real uid is ``uid`` (read from /proc/PID/status, which a process cannot hide)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and status_uid(entry.name) == uid:
            found.append(int(entry.name))
    return found


def status_uid(pid: str) -> int | None:
    """The real uid of process ``pid``, or None once it is gone (a zombie holds nothing but its pid)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"State:") and line.split()[1] == b"Z":
                    return None
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None
