"""Warm kernel starts: a template process with torch imported, forked into each student's sandbox.

Most of a small submission's grading time is a new Python importing torch, pandas, matplotlib and
ipykernel (about 3 s here). The zygote does that once, as a trusted process outside any sandbox, and
then never runs student code. For each kernel it forks a copy and moves the copy into the sandbox of
the process that asked, before any student code runs there:

1. :class:`autograde.sandbox.manager.SandboxKernelManager` builds the sandbox exactly as for a cold
   start (cgroups, rlimits, bubblewrap, the drop to the kernel's own uid), but runs
   :mod:`autograde.sandbox.warm_client` in it instead of the kernel. Before it starts the sandbox it
   makes a socket for this one launch in the kernel's connection folder (which only that sandbox
   sees) and hands its listening end to the zygote over the zygote's own socket (root only, never in
   a sandbox). The client connects to that per-launch socket.
2. The zygote forks a *manager* for the launch, which accepts one client and closes the socket. It
   knows the client by a pidfd the OS gives for the socket's peer (``SO_PEERPIDFD``, Linux 6.5+; set
   by the OS, not by the client, and immune to pid reuse; without it kernels start cold) and forks
   the *kernel* into the client's PID namespace.
3. The kernel joins the client's cgroups and namespaces (mount, network, IPC, UTS), takes its root
   and working directory, session, rlimits, environment and stdio, drops every capability, becomes
   the client's user with ``no_new_privs`` (:mod:`autograde.sandbox.confinement`), and only then
   starts ipykernel. From here it is confined exactly like a cold kernel in the same sandbox, which
   bubblewrap built and tears down.
4. The manager reports the kernel's exit to the client and kills the kernel if the client goes away.

Nothing is shared between students: each kernel is a copy-on-write copy of a template that only
imported trusted libraries; Python's ``random`` and NumPy's global generator are reseeded. No sandbox
reaches the zygote's own socket; a kernel that reaches its launch's socket (closed once the client
connected) could only get another kernel confined like itself.
"""
from __future__ import annotations

import atexit
import functools
import importlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from autograde.sandbox import syscalls
from autograde.sandbox.confinement import Confinement, own_data_bytes, proc_status
from autograde.sandbox.syscalls import CLONE_NEWPID, NAMESPACES

log = logging.getLogger(__name__)

CLIENT_SCRIPT = Path(__file__).with_name("warm_client.py")
SANDBOX_DIR = "/run/course-zygote"  # where the client script appears inside every sandbox
SANDBOX_CLIENT = f"{SANDBOX_DIR}/warm_client.py"
LAUNCH_SOCKET = "zygote.sock"  # the per-launch socket, in the kernel's connection folder
# What the template imports: the kernel itself, and (for notebooks that import them) a chapter's libraries.
KERNEL_PRELOAD = ("IPython", "ipykernel.kernelapp", "ipykernel.ipkernel")
PRELOAD = ("numpy", "torch", "torchvision", "pandas", "matplotlib.pyplot", "tqdm.auto", "ipywidgets", *KERNEL_PRELOAD,
           "course")
MAX_MANAGERS = 64  # kernels started and running at once; beyond that requests are refused (cold start)
REQUEST_SECONDS = 10  # a client that connects and sends nothing is dropped after this
CONNECT_SECONDS = 60  # a launch whose client never connects (its sandbox failed) is dropped after this
SO_PEERPIDFD = 77  # Linux 6.5+, include/uapi/asm-generic/socket.h (x86, arm, riscv); Python 3.11 lacks the name
NEEDED_CAPABILITIES = (6, 7, 18, 19, 21)  # SETGID, SETUID, SYS_CHROOT, SYS_PTRACE, SYS_ADMIN


# -- the trusted side: start and stop one zygote ------------------------------------------------------

class Zygote:
    """A running zygote process and its socket; it exits when this process (and its forks) are gone."""

    def __init__(self, env: dict[str, str], python_path: str | None = None, preload: tuple[str, ...] = PRELOAD):
        self.owner = os.getpid()
        self.preload = preload
        self.folder = Path(tempfile.mkdtemp(prefix="course-zygote-"))  # 0700: only root reaches it here
        self.socket_path = self.folder / "zygote.sock"
        # Its whole environment is ``env``: every kernel's memory holds a copy of the zygote's initial
        # environment (/proc/self/environ), so nothing of the grader's (tokens, paths) may be in it.
        environment = dict(env, HOME=str(self.folder), MPLCONFIGDIR=str(self.folder / "matplotlib"),
                           MPLBACKEND="module://matplotlib_inline.backend_inline")
        if python_path:  # how the grading process found autograde, if not installed
            environment["PYTHONPATH"] = python_path
        # The socket exists before the zygote has imported anything: early clients wait in its backlog.
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.socket_path))
        os.chmod(self.socket_path, 0o600)  # only root (the grading process) asks the zygote
        listener.listen(64)
        # stdin is a pipe that only we (and our forks) hold: end of file there means the owner is gone.
        with listener:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "autograde.sandbox.zygote", str(listener.fileno()), *preload], stdin=subprocess.PIPE,
                env=environment, cwd=str(self.folder), pass_fds=[listener.fileno()])

    def __repr__(self) -> str:
        return (f"Zygote(pid={self.process.pid}, socket={str(self.socket_path)!r}, {len(self.preload)} preloaded, "
                f"alive={self.alive()})")

    def alive(self) -> bool:
        """Whether the zygote process still runs (asked from its owner or a forked worker)."""
        if os.getpid() == self.owner:
            return self.process.poll() is None
        try:  # a forked worker cannot wait for its parent's child; a zombie counts as gone
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    def expect_client(self, path: Path, uid: int) -> None:
        """Make the per-launch socket ``path`` (connectable by ``uid`` only) and hand it to the zygote,
        which forks a manager that accepts one client on it."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(path))
            os.chown(path, uid, uid)
            os.chmod(path, 0o600)
            listener.listen(1)
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
                    control.connect(str(self.socket_path))
                    # Sent, not awaited: the zygote may still be importing; the client waits in the backlog.
                    socket.send_fds(control, [b"launch\n"], [listener.fileno()])
            except OSError as error:  # the socket closes unaccepted below: the client starts cold
                log.warning("zygote unreachable (%s); this kernel starts cold", error)

    def close(self) -> None:
        """Stop the zygote (closing its stdin) and remove its socket folder; only its owner does."""
        if os.getpid() != self.owner:
            return  # a forked worker's exit must not stop the zygote its parent shares
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


_shared: Zygote | None = None
_shared_lock = threading.Lock()


@functools.cache
def warm_start_possible() -> bool:
    """Whether we may enter other processes' namespaces and change user: root with the capabilities
    (a container may withhold them), and setns not blocked (probed on our own UTS namespace); and
    whether this kernel names a socket's peer by a pidfd."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    effective = int(proc_status()["CapEff"].strip(), 16)
    if not all(effective >> cap & 1 for cap in NEEDED_CAPABILITIES):
        return False
    if not peer_pidfd_supported():
        log.warning("warm starts off: this Linux (%s) lacks SO_PEERPIDFD (Linux 6.5+), which names the sandbox "
                    "that asks for a kernel without a pid-reuse race; every kernel starts cold", os.uname().release)
        return False
    fd = os.open("/proc/self/ns/uts", os.O_RDONLY)
    try:
        syscalls.enter_namespace(fd, NAMESPACES["uts"])
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def shared_zygote(env: dict[str, str], python_path: str | None = None, preload: tuple[str, ...] | None = None) -> Zygote:
    """This process's zygote, started on first use with environment ``env`` (only what kernels may see),
    ``python_path`` (the grading process's PYTHONPATH) and the modules it ``preload``s (None: those of the
    zygote running, else ``PRELOAD``; another tuple replaces the running one). Call it before forking
    workers, so that they share one."""
    global _shared
    with _shared_lock:  # dask runs executions in threads
        running = _shared is not None and _shared.alive()
        wanted = preload or (_shared.preload if running else PRELOAD)
        if not running or _shared.preload != wanted:
            if running:
                _shared.close()
            _shared = Zygote(env, python_path, wanted)
            atexit.register(_shared.close)
        return _shared


def shared_running() -> bool:
    """Whether this process has a live zygote (a dask worker's, from autograde.grading.cluster.WarmKernels)."""
    return _shared is not None and _shared.alive()


def stop_shared() -> None:
    """Stop this process's zygote, if it started one (a dask worker that closes)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


def peer_pidfd_supported() -> bool:
    """Whether getsockopt(SO_PEERPIDFD) works here (probed on a socket pair of our own)."""
    first, second = socket.socketpair()
    try:
        os.close(peer_pidfd(first))
        return True
    except OSError:
        return False
    finally:
        first.close()
        second.close()


def peer_pidfd(conn: socket.socket) -> int:
    """A pidfd for the process at the other end of ``conn`` (as it was when it connected)."""
    return conn.getsockopt(socket.SOL_SOCKET, SO_PEERPIDFD)


def warm_command(kernel_cmd: list[str], launch_socket: Path) -> list[str] | None:
    """The client command that stands in for ``python -m ipykernel_launcher ARGS``, or None if not one."""
    try:
        start = kernel_cmd.index("-m")
    except ValueError:
        return None
    if start != 1 or kernel_cmd[2:3] != ["ipykernel_launcher"]:
        return None
    return [kernel_cmd[0], "-I", "-S", SANDBOX_CLIENT, str(launch_socket), "--", *kernel_cmd[3:]]


def bwrap_binds() -> list[str]:
    """bubblewrap options that put the client script into a sandbox, read-only (the zygote's socket stays out)."""
    return ["--perms", "0755", "--dir", SANDBOX_DIR, "--ro-bind", str(CLIENT_SCRIPT), SANDBOX_CLIENT]


# -- the zygote itself ----------------------------------------------------------------------------------

def serve(listener: socket.socket, preload: tuple[str, ...]) -> None:
    """Import the ``preload`` modules, then fork a manager per connection until stdin closes."""
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]  # our folder is not the kernel's
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - a missing optional library only makes those imports cold
            log.warning("zygote: cannot preload %s: %s", name, error)
    if threading.active_count() > 1:  # native pools (OpenBLAS) restart after a fork; Python threads do not
        log.warning("zygote: Python threads %s after preloading are lost in forks", threading.enumerate())
    managers: set[int] = set()
    signal.signal(signal.SIGCHLD, lambda *_: _reap(managers))
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
            return  # the owner is gone
        if listener not in ready:
            continue
        conn, _ = listener.accept()  # the grading process, with one launch's listening socket
        _, fds, _, _ = socket.recv_fds(conn, 64, 1)
        if len(managers) < MAX_MANAGERS and len(fds) == 1:  # else the launch's client starts cold
            manager = os.fork()
            if manager == 0:
                try:
                    listener.close()
                    conn.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    _manage(_accept_client(socket.socket(fileno=fds[0])))
                finally:
                    os._exit(0)
            managers.add(manager)
        for fd in fds:
            os.close(fd)
        conn.close()


def _accept_client(launch: socket.socket) -> socket.socket:
    """The one client of a launch's socket, which then closes: nobody else connects to it later."""
    with launch:
        launch.settimeout(CONNECT_SECONDS)
        conn, _ = launch.accept()
    conn.settimeout(None)
    return conn


def _reap(managers: set[int]) -> None:
    """Collect finished managers (on SIGCHLD)."""
    try:
        while (pid := os.waitpid(-1, os.WNOHANG)[0]) > 0:
            managers.discard(pid)
    except ChildProcessError:
        pass


def _manage(conn: socket.socket) -> None:
    """One request: fork the kernel into the client's sandbox, report its exit, kill it if the client goes."""
    conn.settimeout(REQUEST_SECONDS)
    message, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    conn.settimeout(None)
    try:
        request = json.loads(message)
        if len(fds) != 3:
            raise ValueError("expected stdin, stdout and stderr")
        pidfd = peer_pidfd(conn)
        peer = Confinement(pidfd)
        os.close(pidfd)
        peer.check_memory(own_data_bytes())
        syscalls.enter_namespace(peer.namespaces.pop("pid"), CLONE_NEWPID)  # our next child is born in the sandbox
        report_read, report_write = os.pipe()
        kernel = os.fork()
        if kernel == 0:
            _kernel_child(peer, fds, [str(a) for a in request["argv"]], report_write)
        os.close(report_write)
        with os.fdopen(report_read) as report:
            entered = report.read()  # "" once the child is confined (the pipe closes at the next step)
        if entered:
            os.waitpid(kernel, 0)
            raise OSError(entered)
    except Exception as error:  # noqa: BLE001 - whatever went wrong, the client is told and the zygote serves on
        conn.sendall(f"refused {error}\n".encode())
        return
    for fd in fds:
        os.close(fd)
    conn.sendall(f"started {kernel}\n".encode())
    watch = os.pidfd_open(kernel)
    while True:
        ready, _, _ = select.select([watch, conn], [], [])
        if conn in ready and not conn.recv(1024):
            os.kill(kernel, signal.SIGKILL)  # the client (and so the sandbox) is gone
        if watch in ready:
            break
    status = os.waitstatus_to_exitcode(os.waitpid(kernel, 0)[1])
    try:
        conn.sendall(f"exit {status if status >= 0 else 128 - status}\n".encode())
    except OSError:
        pass


def _kernel_child(peer: Confinement, stdio: list[int], argv: list[str], report: int) -> None:
    """The forked kernel: enter the sandbox, report failure (or close the pipe), run ipykernel; never returns."""
    try:
        peer.enter(stdio, keep=report)
    except BaseException as error:  # noqa: BLE001 - the manager refuses, and the client starts cold
        os.write(report, f"could not enter the sandbox: {error!r}".encode())
        os._exit(1)
    os.close(report)
    try:
        _run_kernel(argv, peer.environ.get("OMP_NUM_THREADS", ""))
    finally:
        os._exit(1)  # the kernel never returns into the zygote's loop


def _run_kernel(argv: list[str], threads: str) -> None:
    """Start ipykernel as ``python -m ipykernel_launcher ARGV`` would, in this warm process, with torch
    using ``threads`` threads (the sandbox's OMP_NUM_THREADS: the OpenMP runtime read it at import)."""
    import random

    random.seed()
    if "numpy" in sys.modules:  # preloaded, so seeded once in the zygote: every kernel would draw the same
        sys.modules["numpy"].random.seed()
    if threads.isdigit() and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))
    sys.argv = ["ipykernel_launcher", *argv]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    serve(socket.socket(fileno=int(sys.argv[1])), tuple(sys.argv[2:]))
