"""Run independent training jobs on several CPU cores at once, each in a forked process.

Small networks train one op at a time, each too small to share between cores, so a sweep's
independent groups of experiments use one core each. On Linux each job is a fork of this
process (the data and the initialised networks are already in memory, nothing is pickled on
the way in); it reports progress and sends its result back through a pipe. Elsewhere, or with
one worker, the jobs run here one after another.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import torch

Job = Callable[[Callable[[int], None]], Any]  # job(progress) -> result; progress(n) says n more units are done


def default_workers(device: torch.device) -> int:
    """Processes for CPU training: one per core, but one on a GPU, under grading, or without fork."""
    from .budget import fast_mode

    if device.type != "cpu" or fast_mode() or not sys.platform.startswith("linux"):
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def run_jobs(jobs: Sequence[Job], workers: int, progress: Callable[[int], None] = lambda n: None) -> list:
    """Each job's result, in order; ``workers`` jobs at a time, longest first is the caller's job."""
    if workers <= 1 or len(jobs) <= 1 or not sys.platform.startswith("linux"):
        return [job(progress) for job in jobs]
    context = multiprocessing.get_context("fork")
    results: list = [None] * len(jobs)
    waiting = list(range(len(jobs)))
    running: dict[Any, tuple[int, Any]] = {}  # connection -> (job index, process)
    try:
        while waiting or running:
            while waiting and len(running) < workers:
                index = waiting.pop(0)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(jobs[index], send), daemon=True)
                process.start()
                send.close()
                running[receive] = (index, process)
            for connection in multiprocessing.connection.wait(list(running)):
                index, process = running[connection]
                try:
                    kind, value = connection.recv()
                except EOFError:
                    process.join()
                    kind, value = "error", f"the worker process died (exit code {process.exitcode})"
                if kind == "progress":
                    progress(value)
                    continue
                del running[connection]
                connection.close()
                process.join()
                if kind == "error":
                    raise RuntimeError(f"a parallel training job failed:\n{value}")
                results[index] = value
    finally:
        for _, process in running.values():
            process.kill()
    return results


def _child(job: Job, send) -> None:
    """In the forked process: one thread (the cores belong to the other jobs), run, send the result."""
    torch.set_num_threads(1)
    try:
        result = job(lambda n: send.send(("progress", n)))
        send.send(("done", result))
    except BaseException:  # noqa: BLE001 - everything goes back to the parent, which raises it
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()
