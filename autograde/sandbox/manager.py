"""The sandboxed kernel manager: starts each Jupyter kernel in bubblewrap under limits, and stops it.

The trusted/untrusted split: nbclient and this manager stay in the trusted grading process; only the
kernel (the student's code) goes into the sandbox (:mod:`autograde.sandbox.bubblewrap`). Limits hold in
every case: memory (RLIMIT_DATA per process; for all of a kernel's processes together a memory cgroup
where the host gives us one, else :mod:`autograde.sandbox.memory_watch`), processes (a pids cgroup, and
RLIMIT_NPROC of the kernel's own uid, :mod:`autograde.sandbox.kernel_user`), file size, output size
(:mod:`autograde.sandbox.output_budget`) and wall time per notebook; the per-cell time is nbclient's
``timeout``. Where neither cgroups nor a uid of its own hold (not root, no delegated cgroup) it says
so once, loudly. Kernels are forked warm from the zygote where :mod:`autograde.sandbox.warm`
allows it.

Use it through nbclient (``NotebookClient(nb, kernel_manager_class=SandboxKernelManager,
config=GradingSettings(...).as_config())``) or nbgrader (``c.Autograde.autograde_preprocessors``, see
:mod:`autograde.sandbox.nbgrader_plugin`).
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
import warnings
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Unicode

from autograde.config import GradingSettings, launch_environment
from autograde.errors import CourseError
from autograde.sandbox import bubblewrap, warm, zygote
from autograde.sandbox.cgroups import Cgroup, cgroups_writable, new_cgroup
from autograde.sandbox.kernel_user import KernelUser
from autograde.sandbox.memory_watch import MemoryWatch
from autograde.sandbox.output_budget import OutputBudget, SandboxKernelClient

log = logging.getLogger(__name__)
SHARED_LIMITS = ("SANDBOX LIMITS SHARED: no writable cgroup and not root, so a kernel's memory limit holds per "
                 "process only and its process limit (RLIMIT_NPROC) counts all of your processes together. "
                 "Grade as root, or from a delegated cgroup v2 subtree, to hold them per kernel.")
_warned_shared: list[bool] = []


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or does not work here, and the caller requires the sandbox."""


class SandboxKernelManager(AsyncKernelManager, GradingSettings):
    """A kernel manager that starts the kernel inside bubblewrap under the limits of its GradingSettings traits
    (``c.GradingSettings.*``, or ``c.SandboxKernelManager.*`` for this class alone)."""

    always_required = False  # True: refuse to start without bubblewrap, whatever require_sandbox says
    run_tag = Unicode("", help="Names this grading run in the kernels' cgroups (sandbox-TAG-...), so that "
                               "its sandboxes can be told apart.").tag(config=True)
    client_class = Unicode("autograde.sandbox.SandboxKernelClient")  # type: ignore[assignment]
    client_factory = SandboxKernelClient  # type: ignore[assignment]

    def __init__(self, **kwargs: Any):
        self.scratch: Path | None = None
        super().__init__(**kwargs)
        self.transport = "ipc"  # TCP on loopback cannot cross into the kernel's network namespace
        self.sandboxed = False
        self.stop_reasons: list[str] = []  # why the kernel was stopped, for the grade report
        self.output_budget = OutputBudget(self.output_bytes, self.stop_for)
        self._connection_dir: Path | None = None
        self._cgroup: Cgroup | None = None
        self._user: KernelUser | None = None
        self._watch: MemoryWatch | None = None
        self._timer: threading.Timer | None = None
        self._zygote: zygote.Zygote | None = None

    def __repr__(self) -> str:
        return (f"SandboxKernelManager(sandboxed={self.sandboxed}, scratch={str(self.scratch)!r}, "
                f"memory_bytes={self.memory_bytes}, processes={self.processes}, "
                f"notebook_seconds={self.notebook_seconds:g}, stop_reasons={self.stop_reasons})")

    @property
    def scratch_dir(self) -> str | None:
        """The kernel's working directory, its only writable place (None: a new temporary one)."""
        return str(self.scratch) if self.scratch else None

    @scratch_dir.setter
    def scratch_dir(self, folder: str | None) -> None:
        # autograde.grading.execute names the submission's folder; it becomes the kernel's only writable place.
        self.scratch = Path(folder).resolve() if folder else None

    @property
    def kernel_spec(self) -> Any:
        """The kernel spec, interrupted by message (a signal cannot reach into the sandbox)."""
        spec = super().kernel_spec
        # A signal cannot reach into the kernel's session; ipykernel interrupts itself on a message.
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    # -- start -----------------------------------------------------------------------------------

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self.stop_reasons = []
        self.output_budget = OutputBudget(self.output_bytes, self.stop_for)
        self.sandboxed = self.sandbox_usable()
        self._zygote = warm.warm_zygote(self.warm_start, {})
        if self.sandboxed and os.geteuid() == 0 and self._user is None:
            self._user = KernelUser()  # its uid goes into the command line formatted below
        self.scratch = Path(kw.get("cwd") or self.scratch or tempfile.mkdtemp(prefix="sandbox-scratch-")).resolve()
        kw["cwd"] = str(self.scratch)
        self._connection_dir = Path(tempfile.mkdtemp(prefix="sandbox-kernel-"))
        self.connection_file = str(self._connection_dir / "kernel.json")
        self.ip = str(self._connection_dir / "ipc")
        return await super()._async_pre_start_kernel(**kw)

    def sandbox_usable(self) -> bool:
        """Whether bubblewrap works here; refuses (require_sandbox) or warns loudly when it does not."""
        bwrap, why = bubblewrap.bwrap_status()
        if bwrap is None:
            if self.require_sandbox or self.always_required:
                raise SandboxUnavailable(f"sandbox required but unusable: {why}")
            message = f"SANDBOX OFF: {why}. Student code runs with your rights; only limits apply."
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            log.warning(message)
        return bwrap is not None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernel's command behind cgroup join, rlimits, bubblewrap and the drop to its own uid."""
        kernel = super().format_kernel_cmd(extra_arguments)
        command = [*bubblewrap.die_with_launcher(), "prlimit", f"--data={self.memory_bytes}",
                   f"--fsize={self.file_bytes}", "--core=0"]
        if self._user is not None:  # RLIMIT_NPROC counts the kernel's own uid: this kernel alone
            command.append(f"--nproc={self.processes}")
        elif not cgroups_writable():  # it counts all of our processes: a bound against a fork bomb only
            command.append(f"--nproc={self.processes * 8}")
            self._warn_shared_limits()
        command.append("--")
        if self.sandboxed:
            warm_kernel = zygote.warm_command(kernel, self._launch_socket()) if self._zygote is not None else None
            if warm_kernel is not None:
                kernel = warm_kernel  # the client borrows a forked kernel
            else:
                self._zygote = None
            command += self._bwrap_args()
            if self._user is not None:
                command += bubblewrap.drop_to(self._user.uid)
        return command + kernel

    @staticmethod
    def _warn_shared_limits() -> None:
        """Say once per process, loudly, that the limits are not per kernel here."""
        if not _warned_shared:
            _warned_shared.append(True)
            warnings.warn(SHARED_LIMITS, RuntimeWarning, stacklevel=3)
            log.warning(SHARED_LIMITS)

    def _bwrap_args(self) -> list[str]:
        """bubblewrap options for this kernel: its scratch and socket folders, the data, the zygote."""
        assert self.scratch is not None and self._connection_dir is not None
        env = bubblewrap.kernel_environment(launch_environment((self._launch_args or {}).get("env")))
        binds = zygote.bwrap_binds() if self._zygote is not None else []
        readable = bubblewrap.readable_paths(self.read_only_paths, env)
        return bubblewrap.bwrap_args(self.scratch, self._connection_dir, readable, env, self.memory_bytes, binds)

    def _launch_socket(self) -> Path:
        """The socket a warm client asks the zygote on: in the connection folder, which only its sandbox sees."""
        assert self._connection_dir is not None
        return self._connection_dir / zygote.LAUNCH_SOCKET

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if self._user is not None:
            # The kernel runs as its own uid: it owns its scratch, its socket folder and connection file.
            for folder in (self.scratch, self._connection_dir):
                bubblewrap.chown_tree(folder, self._user.uid)
            if self._zygote is not None:
                self._zygote.expect_client(self._launch_socket(), self._user.uid)
        self._cgroup = new_cgroup(self._cgroup_name(), self.memory_bytes, self.processes)
        if self._cgroup is not None:
            kernel_cmd = self._cgroup.join_command() + kernel_cmd
        elif self._user is not None:  # no memory cgroup: watch the sum of the uid's processes
            self._watch = MemoryWatch(self._user.uid, self.memory_bytes, self.processes)
            self._watch.start()
        # ipykernel quits at once when its parent is PID 1, which it is inside a PID namespace.
        env = dict(kw.get("env") or launch_environment())
        env.pop("JPY_PARENT_PID", None)
        kw["env"] = env
        kw.setdefault("stdout", subprocess.DEVNULL)  # without a parent ipykernel prints a connection banner
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self._timer = threading.Timer(
            self.notebook_seconds, self.stop_for, (f"notebook time limit of {self.notebook_seconds:g} s reached",))
        self._timer.daemon = True
        self._timer.start()

    def _cgroup_name(self) -> str:
        """``sandbox-[RUN-]ID``: the grading run's tag says whose sandbox a cgroup is."""
        run = "".join(ch for ch in self.run_tag if ch.isalnum() or ch in "-_")
        return f"sandbox-{run + '-' if run else ''}{uuid.uuid4().hex[:12]}"

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
        self._kill_sandbox()

    def _kill_sandbox(self) -> None:
        """SIGKILL everything of the kernel's cgroup or uid that is still running."""
        if self._cgroup is not None:
            self._cgroup.kill_all()
        if self._user is not None:
            self._user.kill_all()

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        await super()._async_kill_kernel(restart=restart)
        self._kill_sandbox()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            self._release()

    # AsyncKernelManager binds these names to the base class's functions; point them at ours.
    cleanup_resources = _async_cleanup_resources  # type: ignore[assignment]
    _kill_kernel = _async_kill_kernel  # type: ignore[assignment]

    def _release(self) -> None:
        """Stop the timer and the watch, kill what is left of the kernel, delete its cgroup, free its uid,
        remove the socket folder."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.stop_reasons += [n for n in self._limit_events() if n not in self.stop_reasons]
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self._user is not None:
            self._user.release()
            self._user = None
        if self._connection_dir is not None:
            shutil.rmtree(self._connection_dir, ignore_errors=True)
            self._connection_dir = None

    def resource_notes(self) -> list[str]:
        """Limits that stopped or hindered the kernel so far (also after it is gone)."""
        return self.stop_reasons + [n for n in self._limit_events() if n not in self.stop_reasons]

    def _limit_events(self) -> list[str]:
        """What the cgroup or the memory watch did so far."""
        return [note for limits in (self._cgroup, self._watch) if limits is not None for note in limits.events()]

    def sandbox_pids(self) -> list[int]:
        """Host processes of the running kernel's sandbox (its cgroup's, else its uid's)."""
        if self._cgroup is not None:
            return self._cgroup.pids()
        return self._user.pids() if self._user is not None else []

    @property
    def kernel_uid(self) -> int | None:
        """The uid the running kernel has to itself (None: not root, so it runs as we do)."""
        return self._user.uid if self._user is not None else None


class StrictSandboxKernelManager(SandboxKernelManager):
    """The sandboxed kernel manager that refuses to start without bubblewrap (``--require-sandbox``)."""

    always_required = True


def choose_kernel_manager(required: bool, command: str) -> str:
    """The kernel manager a course command runs notebooks in when none is configured: the sandbox, always.

    Without bubblewrap it refuses (``required``: --require-sandbox or c.SandboxKernelManager.require_sandbox)
    or says loudly once that only the limits apply. ``course grade`` and ``course check`` both ask here."""
    path, why = bubblewrap.bwrap_status()
    if path is None and required:
        raise CourseError(f"course {command}: the sandbox is required, but {why}")
    if path is None:
        print(f"course {command}: WARNING: SANDBOX OFF: {why}. Notebooks run with your rights, under limits only.")
    strict = StrictSandboxKernelManager if required else SandboxKernelManager
    return f"{__package__}.{strict.__name__}"
