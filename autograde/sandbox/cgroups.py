"""Memory and pids cgroups (v1, or a delegated v2 subtree): limits for a kernel's whole process tree.

Trusted code: the grading process creates one group per kernel below its own (v1) or next to its own
(v2, whose groups with controllers may hold no processes of their own), puts the kernel's command
into it (the untrusted side never chooses), reads what the limits did, and kills whatever is left
in the group when the kernel ends. :func:`new_cgroup` picks what the host offers; with neither, a
kernel's own uid and :mod:`autograde.sandbox.memory_watch` hold its limits.

cgroup v2 (``memory.max``, ``memory.swap.max``, ``pids.max``, ``cgroup.procs``) is used where this
process lives in a writable cgroup whose ``cgroup.controllers`` offers memory and pids. Since a v2
group that hands controllers to its children may hold no process, we first move ourselves into a
leaf ``course-grader`` below it and enable the controllers there (processes we fork later are born
in the leaf, and use its parent).
"""
from __future__ import annotations

import functools
import logging
import os
import time
from pathlib import Path

from autograde.sandbox.kernel_user import kill_until_gone

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
LEAF = "course-grader"  # the v2 leaf the grading process moves into, so its parent may delegate
CONTROLLERS = ("memory", "pids")


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


def v1_writable() -> bool:
    """Whether we can create cgroup v1 ``memory`` and ``pids`` groups (true as root on this machine)."""
    return all(os.access(own_cgroup(kind), os.W_OK) for kind in CONTROLLERS)


def cgroups_writable() -> bool:
    """Whether each kernel gets memory and pids cgroups here (v1, or a delegated v2 subtree)."""
    return v1_writable() or v2_parent() is not None


def new_cgroup(name: str, memory_bytes: int, processes: int) -> Cgroup | None:
    """The memory + pids cgroup for a new kernel, or None where the host gives us none."""
    if v1_writable():
        return CgroupV1(name, memory_bytes, processes)
    parent = v2_parent()
    return CgroupV2(parent / name, memory_bytes, processes) if parent is not None else None


def v2_mount(mountinfo: str) -> Path | None:
    """Where the cgroup v2 hierarchy is mounted, from a /proc/self/mountinfo text (None: nowhere)."""
    for line in mountinfo.splitlines():
        fields, _, after = line.partition(" - ")
        if after.split(" ", 1)[0] == "cgroup2":
            return Path(fields.split()[4])
    return None


def v2_own(cgroup: str, mount: Path) -> Path:
    """This process's v2 folder, from a /proc/self/cgroup text (its ``0::/PATH`` line)."""
    for line in cgroup.splitlines():
        if line.startswith("0::"):
            return mount / line[3:].lstrip("/")
    return mount / "missing"


@functools.cache
def v2_parent() -> Path | None:
    """The delegated v2 folder our kernels' groups go in (set up once per process), or None."""
    try:
        mount = v2_mount(Path("/proc/self/mountinfo").read_text())
        own = v2_own(Path("/proc/self/cgroup").read_text(), mount) if mount else None
    except OSError:
        return None
    return delegate_v2(own, os.getpid()) if own is not None and own.is_dir() else None


def delegate_v2(own: Path, pid: int) -> Path | None:
    """Move process ``pid`` from ``own`` into the leaf ``own/LEAF`` and enable memory and pids below
    ``own``; return the folder kernels' groups go in (None where ``own`` is not ours to delegate)."""
    parent = own.parent if own.name == LEAF else own
    try:
        offered = (parent / "cgroup.controllers").read_text().split()
        if not os.access(parent, os.W_OK) or not set(CONTROLLERS) <= set(offered):
            return None
        if parent == own:
            (own / LEAF).mkdir(exist_ok=True)
            (own / LEAF / "cgroup.procs").write_text(str(pid))
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        if not set(CONTROLLERS) <= set(enabled):
            (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
    except OSError as error:  # e.g. EBUSY: other processes than ours live in that group
        log.info("sandbox: cgroup v2 at %s not usable: %s", own, error)
        return None
    return parent


class Cgroup:
    """A kernel's cgroup folders: limits the whole process tree and kills it at the end."""

    folders: list[Path]

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
        raise NotImplementedError

    def kill_all(self) -> None:
        """SIGKILL everything in the groups, repeatedly, until they are empty (a fork bomb races us)."""
        kill = self.folders[0] / "cgroup.kill"  # v2 (Linux 5.14+): the whole group at once
        if kill.exists():
            try:
                kill.write_text("1")
            except OSError:
                pass
        kill_until_gone(self.pids, f"in {self.folders[0]}")

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


class CgroupV1(Cgroup):
    """A kernel's v1 memory and pids groups, below ours."""

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


class CgroupV2(Cgroup):
    """A kernel's v2 group ``folder`` (memory and pids in one), in a delegated subtree."""

    def __init__(self, folder: Path, memory_bytes: int, processes: int):
        self.folders = [folder]
        folder.mkdir()
        (folder / "memory.max").write_text(str(memory_bytes))
        try:  # absent where the host accounts no swap; then there is none to limit
            (folder / "memory.swap.max").write_text("0")
        except OSError:
            pass
        (folder / "pids.max").write_text(str(processes))

    def events(self) -> list[str]:
        """What the limits did, from memory.events and pids.events (``KEY COUNT`` lines)."""
        notes = []
        try:
            memory = dict(line.split() for line in (self.folders[0] / "memory.events").read_text().splitlines())
            refused = dict(line.split() for line in (self.folders[0] / "pids.events").read_text().splitlines())
        except (OSError, ValueError):
            return notes
        if int(memory.get("oom_kill", 0)):
            notes.append(f"memory limit reached: {memory['oom_kill']} process(es) killed")
        elif int(memory.get("max", 0)):
            notes.append("memory limit reached")
        if int(refused.get("max", 0)):
            notes.append(f"process limit reached: {refused['max']} fork(s) refused")
        return notes
