"""Run a Jupyter kernel inside bubblewrap with limits: the untrusted half of grading.

nbclient stays in the trusted process; only the kernel goes into the sandbox. The kernel sees the
system read-only, its scratch directory (the submission) read-write, the data it may read read-only,
a private /tmp, no network, no home, no course directory, and runs as ``nobody`` when we are root.
Limits hold in every case: memory (RLIMIT_DATA, plus a memory cgroup when writable), processes (pids
cgroup), file size, output size and wall time per notebook; the per-cell time is nbclient's ``timeout``.

Use it through nbclient (``NotebookClient(nb, kernel_manager_class=SandboxKernelManager,
config=limits_config(limits))``) or nbgrader (``c.Autograde.autograde_preprocessors``, see
``SandboxExecute``).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, List, Unicode
from traitlets.config import Config

from autograde.sandbox import zygote
from autograde.config import Limits

log = logging.getLogger(__name__)

# Defaults the sandbox applies where Limits leaves a value unset (None).
DEFAULT_NOTEBOOK_SECONDS = 900.0  # the kernel is killed after this, whatever it is doing
DEFAULT_MEMORY = 3 << 30  # RLIMIT_DATA and cgroup memory: torch imports and trains in 3 GiB
DEFAULT_PROCESSES = 256  # pids cgroup (threads count): torch and ipykernel use ~40
DEFAULT_OUTPUT = 8 << 20  # all outputs of one notebook together; more kills the kernel
DEFAULT_FILE = 256 << 20  # RLIMIT_FSIZE: the largest file the kernel may write
NOBODY = 65534  # the kernel's user when we are root: owns nothing on the host
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Output messages that count against the output budget (status, execute_input... pass untouched).
OUTPUT_TYPES = {"stream", "display_data", "update_display_data", "execute_result", "error"}
# Environment variables a kernel may inherit; everything else (tokens, paths to the course) stays out.
ENV_PREFIXES = ("COURSE_", "NBGRADER_", "OMP_", "MKL_", "LC_", "PYTHONHASHSEED")
ENV_NAMES = {"PATH", "LANG", "TZ", "MPLBACKEND", "PYDEVD_DISABLE_FILE_VALIDATION"}


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or does not work here, and the caller requires the sandbox."""


@functools.lru_cache(maxsize=None)
def bwrap_status() -> tuple[str | None, str]:
    """``(path to a working bwrap, "")`` or ``(None, why it cannot be used)``; probed once."""
    path = shutil.which("bwrap")
    if path is None:
        return None, "bubblewrap (bwrap) is not installed; install it (apt install bubblewrap)"
    probe = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all",
             "--die-with-parent", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"bubblewrap at {path} failed to start: {error}"
    if done.returncode != 0:
        return None, (f"bubblewrap at {path} cannot create namespaces here ({done.stderr.strip()}); "
                      "allow unprivileged user namespaces or run as root")
    return path, ""


def cgroups_writable() -> bool:
    """Whether we can create cgroup v1 ``memory`` and ``pids`` groups (true as root on this machine)."""
    return all(os.access(_own_cgroup(kind), os.W_OK) for kind in ("memory", "pids"))


def _own_cgroup(kind: str) -> Path:
    """The v1 cgroup folder of controller ``kind`` this process lives in (children go below it)."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if kind in controllers.split(","):
                return CGROUP_ROOT / kind / path.lstrip("/")
    except OSError:
        pass
    return CGROUP_ROOT / kind / "missing"


class Cgroup:
    """One memory + pids cgroup (v1) per kernel: limits the whole process tree and kills it at the end."""

    def __init__(self, name: str, memory_bytes: int, processes: int):
        self.folders = [_own_cgroup("memory") / name, _own_cgroup("pids") / name]
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


class _OutputBudget:
    """Counts output bytes arriving from the kernel; past the limit it asks the manager to kill it."""

    def __init__(self, manager: SandboxKernelManager):
        self.manager = manager
        self.used = 0

    def __repr__(self) -> str:
        return f"_OutputBudget(used={self.used}, limit={self.manager.output_bytes})"

    def admit(self, msg: dict[str, Any]) -> bool:
        """Whether to pass ``msg`` on; output beyond the budget is dropped and stops the kernel."""
        if msg.get("msg_type") not in OUTPUT_TYPES:
            return True
        if self.used > self.manager.output_bytes:
            return False
        self.used += len(json.dumps(msg.get("content", {}), default=str))
        if self.used > self.manager.output_bytes:
            self.manager.stop_for(f"output limit of {self.manager.output_bytes} bytes exceeded")
            return False
        return True


class _GuardedIOPubChannel(AsyncZMQSocketChannel):
    """The iopub channel with an output budget in front of nbclient."""

    budget: _OutputBudget | None = None

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        while True:
            msg = await super().get_msg(timeout=timeout)
            if self.budget is None or self.budget.admit(msg):
                return msg


class SandboxKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse huge messages and whose iopub channel counts output."""

    iopub_channel_class = _GuardedIOPubChannel  # type: ignore[assignment]

    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        context = zmq.asyncio.Context()
        manager = self.parent
        limit = getattr(manager, "output_bytes", DEFAULT_OUTPUT)
        # A single message far over the output budget is dropped by zmq before it costs us memory.
        context.setsockopt(zmq.MAXMSGSIZE, 4 * limit + (16 << 20))
        return context

    @property
    def iopub_channel(self) -> Any:
        channel = super().iopub_channel
        if isinstance(self.parent, SandboxKernelManager) and channel.budget is None:
            channel.budget = self.parent.output_budget
        return channel


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside bubblewrap with resource limits."""

    notebook_seconds = Float(DEFAULT_NOTEBOOK_SECONDS, help="Kill the kernel after this many seconds.").tag(config=True)
    memory_bytes = Integer(DEFAULT_MEMORY, help="RLIMIT_DATA and cgroup memory limit.").tag(config=True)
    processes = Integer(DEFAULT_PROCESSES, help="Most processes+threads (pids cgroup).").tag(config=True)
    output_bytes = Integer(DEFAULT_OUTPUT, help="Most output bytes before the kernel is killed.").tag(config=True)
    file_bytes = Integer(DEFAULT_FILE, help="RLIMIT_FSIZE: largest file the kernel may write.").tag(config=True)
    require_sandbox = Bool(False, help="Refuse to start a kernel when bubblewrap is unusable.").tag(config=True)
    read_only_paths = List(Unicode(), help="Extra host paths the kernel may read (the data).").tag(config=True)
    warm_start = Bool(True, help="Fork kernels from a zygote with torch imported (root only; see "
                                 "autograde.sandbox.zygote). Off: every kernel starts cold.").tag(config=True)
    client_class = Unicode("autograde.sandbox.SandboxKernelClient")  # type: ignore[assignment]
    client_factory = SandboxKernelClient  # type: ignore[assignment]

    def __init__(self, **kwargs: Any):
        self.scratch: Path | None = None
        super().__init__(**kwargs)
        self.transport = "ipc"  # TCP on loopback cannot cross into the kernel's network namespace
        self.sandboxed = False
        self.stop_reasons: list[str] = []  # why the kernel was stopped, for the grade report
        self.output_budget = _OutputBudget(self)
        self._connection_dir: Path | None = None
        self._cgroup: Cgroup | None = None
        self._timer: threading.Timer | None = None
        self._zygote: zygote.Zygote | None = None

    def __repr__(self) -> str:
        return (f"SandboxKernelManager(sandboxed={self.sandboxed}, scratch={str(self.scratch)!r}, "
                f"limits={self.limits}, stop_reasons={self.stop_reasons})")

    @property
    def limits(self) -> Limits:
        """The limits this manager enforces (the per-cell timeout belongs to nbclient)."""
        return Limits(notebook_timeout=self.notebook_seconds, memory_bytes=self.memory_bytes,
                      max_processes=self.processes, output_bytes=self.output_bytes)

    @limits.setter
    def limits(self, limits: Limits | None) -> None:
        # autograde.grading.execute hands its Limits over this way; None fields keep the sandbox's defaults.
        if limits is None:
            return
        for trait, field in (("notebook_seconds", "notebook_timeout"), ("memory_bytes", "memory_bytes"),
                             ("processes", "max_processes"), ("output_bytes", "output_bytes")):
            value = getattr(limits, field, None)
            if value is not None:
                if value <= 0:
                    raise ValueError(f"Limits.{field} must be positive, got {value!r}")
                setattr(self, trait, value)

    @property
    def scratch_dir(self) -> str | None:
        return str(self.scratch) if self.scratch else None

    @scratch_dir.setter
    def scratch_dir(self, folder: str | None) -> None:
        # autograde.grading.execute names the submission's folder; it becomes the kernel's only writable place.
        self.scratch = Path(folder).resolve() if folder else None

    @property
    def kernel_spec(self) -> Any:
        spec = super().kernel_spec
        # A signal cannot reach into the kernel's session; ipykernel interrupts itself on a message.
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    # -- start -----------------------------------------------------------------------------------

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self.stop_reasons = []
        self.output_budget = _OutputBudget(self)
        bwrap, why = bwrap_status()
        self.sandboxed = bwrap is not None
        if not self.sandboxed:
            if self.require_sandbox:
                raise SandboxUnavailable(f"sandbox required but unusable: {why}")
            message = f"SANDBOX OFF: {why}. Student code runs with your rights; only limits apply."
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            log.warning(message)
        self._zygote = _warm_zygote(self.warm_start, {})
        self.scratch = Path(kw.get("cwd") or self.scratch or tempfile.mkdtemp(prefix="sandbox-scratch-")).resolve()
        kw["cwd"] = str(self.scratch)
        self._connection_dir = Path(tempfile.mkdtemp(prefix="sandbox-kernel-"))
        self.connection_file = str(self._connection_dir / "kernel.json")
        self.ip = str(self._connection_dir / "ipc")
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernel's command behind cgroup join, rlimits, bubblewrap and the drop to nobody."""
        kernel = super().format_kernel_cmd(extra_arguments)
        command = ["prlimit", f"--data={self.memory_bytes}", f"--fsize={self.file_bytes}", "--core=0"]
        if not cgroups_writable():
            # Without a pids cgroup RLIMIT_NPROC is the only fork limit (it counts the whole user).
            command.append(f"--nproc={self.processes * 8}")
        command.append("--")
        if self.sandboxed:
            if self._zygote is not None:
                kernel = zygote.warm_command(kernel) or kernel  # the client borrows a forked kernel
            command += self._bwrap_args()
            if os.geteuid() == 0:
                # bwrap as root keeps every capability: become nobody, with no way back (no setuid).
                command += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        return command + kernel

    def _bwrap_args(self) -> list[str]:
        """bubblewrap options: an empty root with only what a kernel needs bound into it."""
        assert self.scratch is not None and self._connection_dir is not None
        # Not --unshare-all: as root it adds a user namespace in which nobody (our uid) is unmapped.
        args = [bwrap_status()[0] or "bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net",
                "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
                "--perms", "1777", "--tmpfs", "/dev/shm"]
        for name in ("usr", "etc", "opt", "sys", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/", name)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        readable = self._readable_paths()
        made: set[Path] = {Path("/"), Path("/tmp")}
        for path in readable + [self.scratch, self._connection_dir]:
            # bwrap would make missing parents 0700 (like /root), which nobody cannot pass through.
            for parent in reversed(path.parents):
                if parent not in made and not parent.is_symlink() and parent.name not in ("usr", "etc", "opt", "sys"):
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
        for path in readable:
            args += ["--ro-bind", str(path), str(path)]
        if self._zygote is not None:
            args += zygote.bwrap_binds(self._zygote)
        args += ["--bind", str(self.scratch), str(self.scratch),
                 "--bind", str(self._connection_dir), str(self._connection_dir),
                 "--chdir", str(self.scratch), "--clearenv"]
        for name, value in self._kernel_env().items():
            args += ["--setenv", name, value]
        return args + ["--"]

    def _readable_paths(self) -> list[Path]:
        """The interpreter, its packages, the course helper library and the data: read-only."""
        candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, Path(sys.executable).resolve().parent.parent]
        candidates += [p for p in sys.path if p and "site-packages" in p]
        course = _find_package("course")  # the helper library notebooks import (an editable install)
        if course is not None:
            candidates.append(course.parent)
        data = os.environ.get("COURSE_DATA_DIR")
        if data:
            candidates.append(data)
        candidates += list(self.read_only_paths)
        found: list[Path] = []
        for candidate in candidates:
            path = Path(candidate).resolve()
            if path.is_dir() and not any(path == p or p in path.parents for p in found):
                found = [p for p in found if path not in p.parents] + [path]
        return sorted(found)

    def _kernel_env(self) -> dict[str, str]:
        """The kernel's environment: the harmless variables of ours plus a private home."""
        return kernel_environment({**os.environ, **((self._launch_args or {}).get("env") or {})})

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if os.geteuid() == 0 and self.sandboxed:
            # The kernel runs as nobody: it must own its scratch, its socket folder and connection file.
            for folder in (self.scratch, self._connection_dir):
                _chown_tree(folder, NOBODY)
        if cgroups_writable():
            # The grading run's tag (course grade sets COURSE_GRADE_RUN) says whose sandbox a cgroup is.
            run = "".join(ch for ch in (kw.get("env") or {}).get("COURSE_GRADE_RUN", "") if ch.isalnum() or ch in "-_")
            self._cgroup = Cgroup(f"sandbox-{run + '-' if run else ''}{uuid.uuid4().hex[:12]}",
                                  self.memory_bytes, self.processes)
            kernel_cmd = self._cgroup.join_command() + kernel_cmd
        # ipykernel quits at once when its parent is PID 1, which it is inside a PID namespace.
        env = dict(kw.get("env") or os.environ)
        env.pop("JPY_PARENT_PID", None)
        kw["env"] = env
        kw.setdefault("stdout", subprocess.DEVNULL)  # without a parent ipykernel prints a connection banner
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self._timer = threading.Timer(
            self.notebook_seconds, self.stop_for, (f"notebook time limit of {self.notebook_seconds:g} s reached",))
        self._timer.daemon = True
        self._timer.start()

    # -- stop ------------------------------------------------------------------------------------

    def stop_for(self, reason: str) -> None:
        """Kill the kernel and everything it started now, remembering why (safe from any thread)."""
        if reason not in self.stop_reasons:
            self.stop_reasons.append(reason)
            log.warning("sandbox: %s; killing the kernel", reason)
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            try:
                process.kill()  # bwrap dies, so does everything under --die-with-parent
            except ProcessLookupError:
                pass
        if self._cgroup is not None:
            self._cgroup.kill_all()

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        await super()._async_kill_kernel(restart=restart)
        if self._cgroup is not None:
            self._cgroup.kill_all()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            self._release()

    # AsyncKernelManager binds these names to the base class's functions; point them at ours.
    cleanup_resources = _async_cleanup_resources  # type: ignore[assignment]
    _kill_kernel = _async_kill_kernel  # type: ignore[assignment]

    def _release(self) -> None:
        """Stop the timer, kill what is left in the cgroup and delete it, remove the socket folder."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._cgroup is not None:
            for note in self._cgroup.events():
                if note not in self.stop_reasons:
                    self.stop_reasons.append(note)
            self._cgroup.remove()
            self._cgroup = None
        if self._connection_dir is not None:
            shutil.rmtree(self._connection_dir, ignore_errors=True)
            self._connection_dir = None

    def resource_notes(self) -> list[str]:
        """Limits that stopped or hindered the kernel so far (also after it is gone)."""
        notes = list(self.stop_reasons)
        if self._cgroup is not None:
            notes += [n for n in self._cgroup.events() if n not in notes]
        return notes


class StrictSandboxKernelManager(SandboxKernelManager):
    """The sandboxed kernel manager that refuses to start without bubblewrap (``--require-sandbox``)."""

    require_sandbox = Bool(True, help="Refuse to start a kernel when bubblewrap is unusable.").tag(config=True)


class SandboxExecute(Execute):
    """nbgrader's Execute with its kernel in the sandbox (nbgrader itself passes AsyncKernelManager)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)


def autograde_preprocessors() -> list:
    """nbgrader's default autograde pipeline with ``SandboxExecute`` in place of ``Execute``."""
    from nbgrader.converters import Autograde

    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    return [SandboxExecute if step is Execute else step for step in steps]


def start_warm_kernels(manager: type | str | None, env: dict[str, str]) -> bool:
    """Start this process's zygote now, before workers fork, if kernels of ``manager`` would use it;
    whether there is one."""
    from autograde.grading.execute import resolve_class

    cls = resolve_class(manager)
    return _warm_zygote(isinstance(cls, type) and issubclass(cls, SandboxKernelManager)
                        and cls.warm_start.default_value, env) is not None


def _warm_zygote(wanted: bool, env: dict[str, str]) -> zygote.Zygote | None:
    """The shared zygote (started now if need be) when warm starts are wanted and work here, else None."""
    if wanted and bwrap_status()[0] and zygote.warm_start_possible() and not _cold_requested():
        return zygote.shared_zygote(kernel_environment({**os.environ, **env}))
    return None


def kernel_environment(source: dict[str, str]) -> dict[str, str]:
    """The harmless variables of ``source`` plus a private home: what a kernel (or the zygote) may see."""
    env = {k: v for k, v in source.items() if k in ENV_NAMES or k.startswith(ENV_PREFIXES)}
    env.update(HOME="/tmp", MPLCONFIGDIR="/tmp/matplotlib", TMPDIR="/tmp",
               PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin")
    return env


def _cold_requested() -> bool:
    """``COURSE_COLD_START=1`` turns warm starts off (for comparisons and debugging)."""
    return os.environ.get("COURSE_COLD_START", "") not in ("", "0")


def _find_package(name: str) -> Path | None:
    """Where package ``name`` would be imported from, without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    return Path(spec.origin) if spec and spec.origin else None


def _chown_tree(folder: Path | None, uid: int) -> None:
    """chown ``folder`` and everything in it to ``uid`` without following links a submission planted."""
    if folder is None:
        return
    os.lchown(folder, uid, uid)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)


def limits_config(limits: Limits, *, require_sandbox: bool = False, read_only_paths: list[str] | None = None,
                  config: Config | None = None) -> Config:
    """A traitlets Config that sets the sandbox's limits (and nbclient's per-cell timeout)."""
    config = Config(config or {})
    manager = config.SandboxKernelManager
    for trait, field in (("notebook_seconds", "notebook_timeout"), ("memory_bytes", "memory_bytes"),
                         ("processes", "max_processes"), ("output_bytes", "output_bytes")):
        if getattr(limits, field) is not None:
            manager[trait] = getattr(limits, field)
    manager.require_sandbox = require_sandbox
    manager.read_only_paths = list(read_only_paths or [])
    if limits.cell_timeout is not None:
        config.NotebookClient.timeout = int(limits.cell_timeout)
    return config
