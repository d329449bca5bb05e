"""Run execution jobs in parallel: local worker processes by default, or a dask.distributed cluster.

Both runners take prepared :class:`~autograde.grading.prepare.Job` objects and yield ``(job, result, attempts)``
as executions finish, in completion order. Neither touches the gradebook. A worker that dies while
running a job is retried once (``config.MAX_ATTEMPTS``); a second death yields a "failed" result, so
nothing is silently lost.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from traitlets.config import Config

from autograde.config import MAX_ATTEMPTS, GradingSettings, course_variables
from autograde.grading.execute import ExecutionResult, execute_notebook, not_run_result
from autograde.grading.prepare import Job
from autograde.grading.status import Outcome
from autograde.sandbox import prepare_for_forks
from autograde.sandbox.syscalls import die_with_parent
from autograde.sandbox.zygote import PRELOAD


@dataclass
class ExecuteSettings:
    """What every job's execution shares: grading settings, kernel manager, Execute options, kernel environment."""

    grading: GradingSettings = field(default_factory=GradingSettings)
    kernel_manager_class: str | None = None
    execute_options: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    run_tag: str = ""  # names this grading run's sandboxes (their cgroups)
    preload: tuple[str, ...] = PRELOAD  # what the warm zygote imports before kernels fork from it

    @classmethod
    def for_course(cls, config, settings: GradingSettings | None = None,
                   kernel_manager_class: str | None = None) -> ExecuteSettings:
        """The course config's ``Execute`` options, its grading settings (unless ``settings`` are given:
        ``GradingSettings.for_course``), its kernel manager (unless one is given), and the COURSE_* variables
        for the kernels."""
        options = {k: v for k, v in dict(config.get("Execute", {})).items() if k != "timeout"}
        configured = options.pop("kernel_manager_class", None)
        grading = set(GradingSettings.class_trait_names(config=True))
        other = {k: v for k, v in config.get("SandboxKernelManager", {}).items() if k not in grading}
        if other:  # the sandbox's other settings, as nbgrader's Execute hands them over; the grading ones are in settings
            options["config"] = Config(SandboxKernelManager=Config(other))
        return cls(grading=settings if settings is not None else GradingSettings.for_course(config),
                   execute_options=options, kernel_manager_class=kernel_manager_class or configured,
                   env=course_variables())

    def run(self, job: Job) -> ExecutionResult:
        return execute_notebook(job.notebook_json, self.grading, files=job.files, env=self.env,
                                kernel_manager_class=self.kernel_manager_class, execute_options=self.execute_options,
                                run_tag=self.run_tag)


Finished = tuple[Job, ExecutionResult, int]  # a job, its result, and how many times it was started


def _child(connection, settings: ExecuteSettings, job: Job, parent: int) -> None:
    die_with_parent(parent)
    connection.send(settings.run(job))
    connection.close()


def run_local(jobs: Iterable[Job], settings: ExecuteSettings, workers: int) -> Iterator[Finished]:
    """Execute jobs, ``workers`` at a time, each in its own process.

    One process per job rather than concurrent.futures' pool: when a pool worker dies, every job in
    flight fails with BrokenProcessPool and the culprit is unknown; here a death is pinned to its job.
    On Linux each child is a fork of this process, which has nbclient and nbgrader imported already,
    so it starts in milliseconds (a forkserver or spawn would import them again, seconds per start on a
    busy machine); the child never touches the gradebook connection it inherits.
    """
    prepare_for_forks(settings.kernel_manager_class, settings.env, settings.grading.warm_start, settings.preload)  # once, not in every fork
    processes = _Processes(iter(jobs), settings, max(1, workers))  # jobs are pulled lazily, so executions
    try:                                                             # start while the caller prepares the rest
        while processes.fill():
            finished = processes.collect()
            processes.fill()  # the next executions start before the caller spends time scoring these results
            yield from finished
    finally:
        processes.kill()


class _Processes:
    """The worker processes of ``run_local``: one per running job, with the jobs to retry."""

    def __init__(self, jobs: Iterator[Job], settings: ExecuteSettings, workers: int):
        self.jobs, self.settings, self.workers = jobs, settings, workers
        self.context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        self.retries: deque[tuple[Job, int]] = deque()
        self.running: dict[Any, tuple[Any, Job, int, float]] = {}  # connection -> (process, job, attempt, start)

    def __repr__(self) -> str:
        return f"_Processes({len(self.running)} running, {len(self.retries)} to retry)"

    def fill(self) -> bool:
        """Start jobs until ``workers`` are running; whether any job is running."""
        while len(self.running) < self.workers:
            if self.retries:
                job, attempt = self.retries.popleft()
            elif (job := next(self.jobs, None)) is not None:
                attempt = 1
            else:
                break
            receiver, sender = self.context.Pipe(duplex=False)
            process = self.context.Process(target=_child, args=(sender, self.settings, job, os.getpid()), daemon=True,
                                           name=f"autograde-{job.student}-{job.notebook}")
            process.start()
            sender.close()  # so the parent sees EOF when the child dies
            self.running[receiver] = (process, job, attempt, time.monotonic())
        return bool(self.running)

    def collect(self) -> list[Finished]:
        """Wait for at least one job to end; the results that came back (a death is retried or failed)."""
        finished = []
        for receiver in multiprocessing.connection.wait(list(self.running)):
            process, job, attempt, started = self.running.pop(receiver)
            try:
                result = receiver.recv()
            except (EOFError, OSError):
                result = None
            receiver.close()
            process.join()
            if result is not None:
                finished.append((job, result, attempt))
            elif attempt < MAX_ATTEMPTS:
                self.retries.append((job, attempt + 1))
            else:
                reason = f"worker process died (exit code {process.exitcode}) on each of {attempt} attempts"
                finished.append((job, not_run_result(job.notebook_json, Outcome.FAILED, reason,
                                                     time.monotonic() - started), attempt))
        return finished

    def kill(self) -> None:
        for receiver, (process, *_) in self.running.items():
            process.kill()
            receiver.close()


def run_dask(jobs: Iterable[Job], settings: ExecuteSettings, scheduler: str, window: int = 0) -> Iterator[Finished]:
    """Execute jobs on the dask.distributed cluster at ``scheduler`` (tcp://HOST:PORT).

    Every worker gets :class:`autograde.grading.cluster.WarmKernels` (its own zygote). At most ``window`` jobs
    (default: two per worker thread, at least 8) are on the cluster at once and each result is handed
    on and released as it arrives, so the grading process holds a bounded number of notebooks however
    large the class. dask reschedules a task whose worker dies and gives up with KilledWorker after
    ``distributed.scheduler.allowed-failures`` deaths; that becomes a "failed" result. The attempts
    reported are the scheduler's count of workers that died running the task, plus one.
    """
    from distributed import Client, as_completed

    from autograde.grading.cluster import WarmKernels

    with Client(scheduler, set_as_default=False) as client:
        client.register_plugin(WarmKernels())
        window = window or max(8, 2 * sum(client.nthreads().values()))
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
                result = not_run_result(job.notebook_json, Outcome.FAILED, f"dask: {type(error).__name__}: {error}")
            attempts = _dask_attempts(client, future.key)
            future.release()
            following = submit()
            if following is not None:
                running.add(following)
            yield job, result, attempts


def _dask_attempts(client: Any, key: str) -> int:
    """How many times the scheduler started task ``key``: 1 plus the deaths of workers that were running it."""
    def suspicious(dask_scheduler, key=key) -> int:
        task = dask_scheduler.tasks.get(key)
        return task.suspicious if task is not None else 0

    try:
        return 1 + int(client.run_on_scheduler(suspicious))
    except Exception:  # noqa: BLE001 - a scheduler that cannot say: the count is unknown, assume one start
        return 1
