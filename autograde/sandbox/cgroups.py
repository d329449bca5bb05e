"""cgroup v1 memory and pids groups: the limits that hold for a kernel's whole process tree.

Trusted code: the grading process creates one group per kernel below its own, puts the kernel's
command into it (the untrusted side never chooses), reads what the limits did, and kills whatever
is left in the group when the kernel ends.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")


def own_cgroup(kind: str) -> Path:
    """The v1 cgroup folder of controller ``kind`` this process lives in (children go below it)."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if kind in controllers.split(","):
                return CGROUP_ROOT / kind / path.lstrip("/")
    except OSError:
        pass
    return CGROUP_ROOT / kind / "missing"


def cgroups_writable() -> bool:
    """Whether we can create cgroup v1 ``memory`` and ``pids`` groups (true as root on this machine)."""
    return all(os.access(own_cgroup(kind), os.W_OK) for kind in ("memory", "pids"))


class Cgroup:
    """One memory + pids cgroup (v1) per kernel: limits the whole process tree and kills it at the end."""

    def __init__(self, name: str, memory_bytes: int, processes: int):
        self.folders = [own_cgroup("memory") / name, own_cgroup("pids") / name]
        memory, pids = self.folders
        for folder in self.folders:
            folder.mkdir()
        # No swap here, but memsw must not be below the limit, and set it second: the kernel insists.
        (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        if (memory / "memory.memsw.limit_in_bytes").exists():
            (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        (pids / "pids.max").write_text(str(processes))

    def __repr__(self) -> str:
        return f"Cgroup({self.folders[0].name!r}, pids={self.pids()})"

    def join_command(self) -> list[str]:
        """A shell prefix that moves itself into the groups and then execs the rest of the command."""
        script = "".join(f'echo $$ > "{folder}/cgroup.procs" && ' for folder in self.folders)
        return ["/bin/sh", "-c", script + 'exec "$@"', "sandbox-join"]

    def pids(self) -> list[int]:
        """Host process ids still in the group."""
        found: set[int] = set()
        for folder in self.folders:
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return sorted(found)

    def events(self) -> list[str]:
        """What the limits did: memory limit hits / OOM kills and forks refused."""
        memory, pids = self.folders
        notes = []
        try:
            oom = dict(line.split() for line in (memory / "memory.oom_control").read_text().splitlines())
            if int(oom.get("oom_kill", 0)):
                notes.append(f"memory limit reached: {oom['oom_kill']} process(es) killed")
            elif int((memory / "memory.failcnt").read_text()):
                notes.append("memory limit reached")
            refused = int((pids / "pids.events").read_text().split()[1])
            if refused:
                notes.append(f"process limit reached: {refused} fork(s) refused")
        except (OSError, ValueError, IndexError):
            pass
        return notes

    def kill_all(self) -> None:
        """SIGKILL everything in the groups, repeatedly, until they are empty (a fork bomb races us)."""
        for _ in range(100):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        log.warning("sandbox: processes %s survived SIGKILL", self.pids())

    def remove(self) -> None:
        """Kill what is left and delete the groups."""
        self.kill_all()
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy for a moment while the killed processes are reaped
                    time.sleep(0.02)
