"""Confinement copied from a sandboxed process onto a fresh fork: how a warm kernel enters its sandbox.

Trusted code with untrusted input: the zygote's manager (root) reads everything that confines the
sandbox's warm client from /proc (namespaces, root, cgroups, rlimits, user, environment), then the
freshly forked kernel takes all of it on and drops to the client's user before any student code
runs. A process that is not in a sandbox, or runs as root, is refused.

The client is known by a pidfd (``SO_PEERPIDFD``, Linux 6.5+), never by its pid number alone: its
/proc folder is opened by number and then held, and the pidfd must still name a live process after
that, so a client that exited in between (its pid perhaps reused) is refused, never mistaken.
"""
from __future__ import annotations

import os
import resource
import signal
from pathlib import Path

from autograde.sandbox import syscalls
from autograde.sandbox.syscalls import NAMESPACES

MEMORY_MARGIN = 1 << 30  # a warm kernel needs this much RLIMIT_DATA beyond what the template holds
LIMIT_NAMES = {"Max cpu time": "CPU", "Max file size": "FSIZE", "Max data size": "DATA",
               "Max stack size": "STACK", "Max core file size": "CORE", "Max resident set": "RSS",
               "Max processes": "NPROC", "Max open files": "NOFILE", "Max locked memory": "MEMLOCK",
               "Max address space": "AS", "Max file locks": "LOCKS", "Max pending signals": "SIGPENDING",
               "Max msgqueue size": "MSGQUEUE", "Max nice priority": "NICE", "Max realtime priority": "RTPRIO",
               "Max realtime timeout": "RTTIME"}


class Confinement:
    """Everything that confines the sandboxed process of ``pidfd``, read from /proc while we are still root."""

    def __init__(self, pidfd: int):
        pid = pidfd_pid(pidfd)
        proc = os.open(f"/proc/{pid}", os.O_RDONLY | os.O_DIRECTORY)
        try:
            try:
                signal.pidfd_send_signal(pidfd, 0)  # alive now, so /proc/{pid} held above is its folder
            except ProcessLookupError:
                raise PermissionError(f"process {pid} exited before it could be read") from None
            self._read(proc, pid)
        finally:
            os.close(proc)

    def _read(self, proc: int, pid: int) -> None:
        """Read the confinement from the process's /proc folder, open at ``proc``."""
        self.namespaces = {name: os.open(f"ns/{name}", os.O_RDONLY, dir_fd=proc)
                           for name in ("pid", *NAMESPACES)
                           if os.readlink(f"ns/{name}", dir_fd=proc) != os.readlink(f"/proc/self/ns/{name}")}
        self.root = os.open("root", os.O_RDONLY | os.O_DIRECTORY, dir_fd=proc)
        self.cwd = os.open("cwd", os.O_RDONLY | os.O_DIRECTORY, dir_fd=proc)
        status = dict(line.split(":", 1) for line in read_at(proc, "status").decode().splitlines())
        self.uid = int(status["Uid"].split()[1])  # effective ids
        self.gid = int(status["Gid"].split()[1])
        self.groups = [int(g) for g in status["Groups"].split()]
        self.limits = read_limits(read_at(proc, "limits").decode())
        raw = read_at(proc, "environ").split(b"\0")
        self.environ = dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)
        self.cgroups = cgroup_moves(read_at(proc, "cgroup").decode(), Path("/proc/self/cgroup").read_text())
        if "pid" not in self.namespaces or "mnt" not in self.namespaces:
            raise PermissionError(f"process {pid} is not in a sandbox; warm kernels go into sandboxes only")
        if self.uid == 0:
            raise PermissionError(f"process {pid} runs as root; a warm kernel never does")

    def check_memory(self, template_bytes: int) -> None:
        """Refuse a sandbox whose RLIMIT_DATA leaves a warm kernel too little room (it then starts cold)."""
        soft = self.limits.get(resource.RLIMIT_DATA, (resource.RLIM_INFINITY,))[0]
        if soft != resource.RLIM_INFINITY and soft < template_bytes + MEMORY_MARGIN:
            raise MemoryError(f"the memory limit of {soft >> 20} MiB leaves a warm kernel "
                              f"({template_bytes >> 20} MiB imported) too little room")

    def enter(self, stdio: list[int], keep: int) -> None:
        """Become confined like the peer (run in the freshly forked kernel, before any of its code)."""
        for folder in self.cgroups:
            (folder / "cgroup.procs").write_text("0")
        for name, kind in NAMESPACES.items():
            if name in self.namespaces:
                syscalls.enter_namespace(self.namespaces[name], kind)
        os.fchdir(self.root)
        os.chroot(".")
        os.fchdir(self.cwd)
        os.setsid()
        for res, (soft, hard) in self.limits.items():
            own_soft, own_hard = resource.getrlimit(res)
            # Only ever lower a limit (raising one needs CAP_SYS_RESOURCE, and the peer has none higher).
            resource.setrlimit(res, (lower_limit(soft, own_soft), lower_limit(hard, own_hard)))
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        syscalls.drop_bounding_capabilities()
        os.setgroups(self.groups)
        os.setresgid(self.gid, self.gid, self.gid)
        os.setresuid(self.uid, self.uid, self.uid)  # from root to the peer's user: every capability goes
        if os.getuid() != self.uid or os.geteuid() == 0:
            raise PermissionError("could not drop to the sandbox's user")
        syscalls.forbid_new_privileges()
        syscalls.make_dumpable()  # the kernel may read its own /proc entries
        os.closerange(3, keep)  # everything of the zygote's but the report pipe
        os.closerange(keep + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        os.environ.clear()
        os.environ.update(self.environ)


def pidfd_pid(pidfd: int) -> int:
    """The pid (in our namespace) of the process ``pidfd`` refers to, from /proc/self/fdinfo."""
    for line in Path(f"/proc/self/fdinfo/{pidfd}").read_text().splitlines():
        if line.startswith("Pid:"):
            pid = int(line.split()[1])
            if pid > 0:
                return pid
            raise PermissionError("the process has exited")  # -1: gone
    raise ValueError(f"file descriptor {pidfd} is not a pidfd")


def read_at(folder: int, name: str) -> bytes:
    """The whole of file ``name`` in the folder open at ``folder``."""
    fd = os.open(name, os.O_RDONLY, dir_fd=folder)
    with os.fdopen(fd, "rb") as file:
        return file.read()


def proc_status(pid: int | str = "self") -> dict[str, str]:
    """/proc/PID/status as ``{field: value}``."""
    return dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())


def own_data_bytes() -> int:
    """VmData of this process: what a forked kernel starts with against RLIMIT_DATA."""
    return int(proc_status().get("VmData", "0 kB").split()[0]) << 10


def read_limits(text: str) -> dict[int, tuple[int, int]]:
    """rlimits from a /proc/PID/limits table (reading another user's needs no CAP_SYS_RESOURCE)."""
    limits = {}
    for line in text.splitlines()[1:]:
        name, soft, hard = line[:26].strip(), line[26:47].strip(), line[47:68].strip()
        if name in LIMIT_NAMES and hasattr(resource, "RLIMIT_" + LIMIT_NAMES[name]):
            value = [resource.RLIM_INFINITY if v == "unlimited" else int(v) for v in (soft, hard)]
            limits[getattr(resource, "RLIMIT_" + LIMIT_NAMES[name])] = (value[0], value[1])
    return limits


def lower_limit(a: int, b: int) -> int:
    """The more restrictive of two rlimit values (RLIM_INFINITY is the largest)."""
    if a == resource.RLIM_INFINITY:
        return b
    return a if b == resource.RLIM_INFINITY else min(a, b)


def cgroup_moves(peer: str, own: str) -> list[Path]:
    """The cgroup folders the peer is in and we are not (v1 controllers and v2 alike)."""
    def parse(text: str) -> dict[str, str]:
        return {line.split(":", 2)[1]: line.split(":", 2)[2] for line in text.splitlines() if line.count(":") >= 2}
    ours, moves = parse(own), []
    for controllers, path in parse(peer).items():
        if ours.get(controllers) != path:
            folder = controllers.replace("name=", "") if controllers else ""
            moves.append(Path("/sys/fs/cgroup", folder, path.lstrip("/")))
    return moves
