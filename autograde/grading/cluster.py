"""Grading on a dask.distributed cluster: what each worker needs besides the course package.

``course grade --scheduler tcp://HOST:PORT`` registers :class:`WarmKernels` on the cluster, so every
worker (now and any started later) keeps its own zygote from the moment it starts: kernels on the
workers are sandboxed and forked warm exactly as on the grading machine (``autograde.sandbox``). A
worker that cannot host a zygote (not root, no bubblewrap) starts kernels cold, still sandboxed
where bubblewrap works. Workers need the course package and bubblewrap installed.
"""
from __future__ import annotations

import logging

from distributed.diagnostics.plugin import WorkerPlugin

log = logging.getLogger(__name__)


class WarmKernels(WorkerPlugin):
    """Start this worker's zygote when the worker starts; stop it when the worker closes."""

    name = "course-warm-kernels"  # one per worker, however often course grade registers it
    # A second course grade keeps the running zygotes: replacing the plugin tore every worker's zygote
    # down and imported torch again on all of them while the new run's kernels started (seconds each).
    idempotent = True

    def setup(self, worker) -> None:
        from autograde import sandbox

        started = sandbox.start_warm_kernels("autograde.sandbox.SandboxKernelManager", {})
        log.info("course: %s on worker %s", "zygote started" if started else "cold kernel starts", worker.address)

    def teardown(self, worker) -> None:
        from autograde.sandbox import zygote

        zygote.stop_shared()

    def __repr__(self) -> str:
        return f"WarmKernels(name={self.name!r})"
