"""Run execution jobs in parallel: local worker processes by default, or a dask.distributed cluster.

Both runners take prepared :class:`~autograde.grading.prepare.Job` objects and yield ``(job, result, attempts)``
as executions finish, in completion order. Neither touches the gradebook. A worker that dies while
running a job is retried once; a second death yields a "failed" result, so nothing is silently lost.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from autograde.config import Limits

from autograde.grading.execute import ExecutionResult, execute_notebook, not_run_result
from autograde.grading.prepare import Job

MAX_ATTEMPTS = 2  # a job whose worker dies is tried once more, then recorded as failed


@dataclass
class ExecuteSettings:
    """What every job's execution shares: limits, kernel manager, Execute options, kernel environment."""

    limits: Limits = field(default_factory=Limits)
    kernel_manager_class: str | None = None
    execute_options: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    warm: bool = True  # fork kernels from a warm zygote where the sandbox can (autograde.grading.grade decides)

    @classmethod
    def for_course(cls, config, limits: Limits | None = None, kernel_manager_class: str | None = None) -> ExecuteSettings:
        """The course config's ``Execute`` options: its timeout as the cell limit (unless ``limits``
        are given), its kernel manager (unless one is given), and the COURSE_* variables for the kernels."""
        options = {k: v for k, v in dict(config.get("Execute", {})).items() if k != "timeout"}
        configured = options.pop("kernel_manager_class", None)
        if limits is None:
            limits = Limits(cell_timeout=config.Execute.get("timeout", 120) if "Execute" in config else 120)
        return cls(limits=limits, execute_options=options, kernel_manager_class=kernel_manager_class or configured,
                   env={k: v for k, v in os.environ.items() if k.startswith("COURSE_")})

    def run(self, job: Job) -> ExecutionResult:
        return execute_notebook(job.notebook_json, self.limits, files=job.files, env=self.env,
                                kernel_manager_class=self.kernel_manager_class,
                                execute_options=self.execute_options, warm=self.warm)


def _die_with_parent() -> None:
    """Linux: this worker is killed when the grading process dies (SIGKILL, a closed SSH session)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _child(connection, settings: ExecuteSettings, job: Job) -> None:
    _die_with_parent()
    connection.send(settings.run(job))
    connection.close()


def run_local(jobs: Iterable[Job], settings: ExecuteSettings, workers: int) -> Iterator[tuple[Job, ExecutionResult, int]]:
    """Execute jobs, ``workers`` at a time, each in its own process.

    One process per job rather than concurrent.futures' pool: when a pool worker dies, every job in
    flight fails with BrokenProcessPool and the culprit is unknown; here a death is pinned to its job.
    On Linux each child is a fork of this process, which has nbclient and nbgrader imported already,
    so it starts in milliseconds (a forkserver or spawn would import them again, seconds per start on a
    busy machine); the child never touches the gradebook connection it inherits.
    """
    from autograde.sandbox import start_warm_kernels

    if settings.warm:
        start_warm_kernels(settings.kernel_manager_class, settings.env)  # one zygote for all the forks
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = multiprocessing.get_context(method)
    pending = iter(jobs)  # pulled lazily, so executions start while the parent still prepares the rest
    retries: deque[tuple[Job, int]] = deque()
    running: dict[Any, tuple[Any, Job, int, float]] = {}  # connection -> (process, job, attempt, start)
    exhausted = False

    def fill() -> None:
        """Start jobs until ``workers`` are running (or none are left)."""
        nonlocal exhausted
        while len(running) < max(1, workers):
            if retries:
                job, attempt = retries.popleft()
            elif not exhausted and (job := next(pending, None)) is not None:
                attempt = 1
            else:
                exhausted = True
                return
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(sender, settings, job), daemon=True,
                                      name=f"autograde-{job.student}-{job.notebook}")
            process.start()
            sender.close()  # so the parent sees EOF when the child dies
            running[receiver] = (process, job, attempt, time.monotonic())

    try:
        while True:
            fill()
            if not running:
                break
            finished = []
            for receiver in multiprocessing.connection.wait(list(running)):
                process, job, attempt, started = running.pop(receiver)
                try:
                    result = receiver.recv()
                except (EOFError, OSError):
                    result = None
                receiver.close()
                process.join()
                if result is not None:
                    finished.append((job, result, attempt))
                    continue
                why = f"worker process died (exit code {process.exitcode})"
                if attempt < MAX_ATTEMPTS:
                    retries.append((job, attempt + 1))
                else:
                    reason = f"{why} on each of {attempt} attempts"
                    finished.append((job, not_run_result(job.notebook_json, "failed", reason,
                                                         time.monotonic() - started), attempt))
            fill()  # the next executions start before the caller spends time scoring these results
            yield from finished
    finally:
        for receiver, (process, *_) in running.items():
            process.kill()
            receiver.close()


def run_dask(jobs: Iterable[Job], settings: ExecuteSettings, scheduler: str,
             window: int = 0) -> Iterator[tuple[Job, ExecutionResult, int]]:
    """Execute jobs on the dask.distributed cluster at ``scheduler`` (tcp://HOST:PORT).

    Every worker gets :class:`autograde.grading.cluster.WarmKernels` (its own zygote). At most ``window`` jobs
    (default: two per worker thread, at least 8) are on the cluster at once and each result is handed
    on and released as it arrives, so the grading process holds a bounded number of notebooks however
    large the class. dask reschedules a task whose worker dies and gives up with KilledWorker after
    ``distributed.scheduler.allowed-failures`` deaths; that becomes a "failed" result.
    """
    from distributed import Client, as_completed

    from autograde.grading.cluster import WarmKernels

    with Client(scheduler, set_as_default=False) as client:
        client.register_plugin(WarmKernels())
        threads = sum(client.nthreads().values())
        window = window or max(8, 2 * threads)
        pending = iter(jobs)
        futures: dict[Any, Job] = {}

        def submit() -> Any | None:
            job = next(pending, None)
            if job is None:
                return None
            future = client.submit(settings.run, job, pure=False,
                                   key=f"execute-{job.assignment}-{job.student}-{job.notebook}-{time.time_ns()}")
            futures[future] = job
            return future

        running = as_completed([f for f in (submit() for _ in range(window)) if f is not None], loop=client.loop)
        for future in running:
            job = futures.pop(future)
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - KilledWorker, lost connection...: recorded, not raised
                result = not_run_result(job.notebook_json, "failed", f"dask: {type(error).__name__}: {error}")
            future.release()
            following = submit()
            if following is not None:
                running.add(following)
            yield job, result, 1
