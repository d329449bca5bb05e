"""Run one prepared notebook in a fresh kernel: the untrusted step of grading, safe to ship anywhere.

API (kept small on purpose; the sandbox and the dask path build on it):

    execute_notebook(notebook_json, limits=Limits(), *, files=None, env=None,
                     kernel_manager_class=None, execute_options=None) -> ExecutionResult

- ``notebook_json``: the notebook as nbformat JSON text, already sanitised by the trusted side
  (``autograde.grading.prepare``).
- ``limits``: a :class:`Limits` (plain, picklable data): per-cell and per-notebook wall time, plus
  memory / process / output limits that a sandboxing kernel manager may enforce.
- ``files``: other files of the submission (relative path -> bytes), written next to the notebook in
  a private scratch directory that is the kernel's working directory.
- ``env``: extra environment variables for the kernel (``NBGRADER_EXECUTION=autograde`` is always set,
  as ``nbgrader autograde`` does).
- ``kernel_manager_class``: a ``jupyter_client`` (async) kernel manager class, or its dotted name
  ("autograde.sandbox.SandboxKernelManager"; a name pickles everywhere). Before the kernel starts,
  ``execute_notebook`` sets ``km.limits`` (the Limits) and ``km.scratch_dir`` (the working directory)
  on managers that have those attributes, so a sandbox can bind exactly that directory.
- ``execute_options``: traits of nbgrader's ``Execute`` preprocessor from the course config
  (``c.Execute.*``), e.g. ``extra_arguments``; ``timeout`` there is overridden by ``limits``.

The function never raises: a kernel that dies, a kernel that cannot start, the notebook time limit
and any other error all come back as an :class:`ExecutionResult` whose ``status`` and ``reason`` say
what happened. Code cells that did not run get an error output ("not run: ..."), so nbgrader's
scoring gives them 0 instead of counting an empty test cell as passed. Cells are executed by
nbgrader's own ``Execute`` preprocessor, one by one, so outputs (and therefore scores) match
``nbgrader autograde``.
"""
from __future__ import annotations

import importlib
import math
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from autograde.cells import TIMED_OUT, errors_summary, has_error, mark_not_run
from autograde.config import Limits

@dataclass
class ExecutionResult:
    """The executed notebook (JSON) and how the run went: status ok/timeout/crashed/error, and why."""

    notebook: str  # nbformat JSON; every code cell either ran or carries a NotRunError output
    status: str  # "ok": every cell ran (cells may have raised), "timeout", "crashed", "error"
    reason: str  # one line for people: "" when all cells ran cleanly
    duration: float  # seconds of wall time, kernel start included
    cells_run: int = 0
    cells_failed: int = 0  # code cells with an error output (student exceptions, timeouts, not run)
    host: str = field(default_factory=socket.gethostname)

    def __repr__(self) -> str:
        return (f"ExecutionResult(status={self.status!r}, reason={self.reason!r}, duration={self.duration:.1f}s, "
                f"cells_run={self.cells_run}, cells_failed={self.cells_failed}, host={self.host!r})")


def resolve_class(spec: type | str | None) -> type | None:
    """A class from itself or from its dotted name ("package.module.Class")."""
    if spec is None or isinstance(spec, type):
        return spec
    module_name, _, name = spec.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def _client_class():
    """nbgrader's Execute, with a hook that hands the limits and scratch dir to the kernel manager."""
    from nbgrader.preprocessors import Execute

    class _Execute(Execute):
        limits: Limits | None = None
        scratch_dir: str | None = None
        warm_start: bool = True

        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            self.last_manager = km  # a sandbox reports which limit stopped the kernel (resource_notes)
            for name in ("limits", "scratch_dir", "warm_start"):
                if hasattr(km, name):
                    setattr(km, name, getattr(self, name))
            return km

    return _Execute


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        target = (folder / name).resolve()
        if folder.resolve() not in target.parents:
            raise ValueError(f"file {name!r} would land outside the scratch directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def execute_notebook(
    notebook_json: str,
    limits: Limits = Limits(),
    *,
    files: dict[str, bytes] | None = None,
    env: dict[str, str] | None = None,
    kernel_manager_class: type | str | None = None,
    execute_options: dict[str, Any] | None = None,
    warm: bool = True,
) -> ExecutionResult:
    """Execute every cell of ``notebook_json`` in a fresh kernel; never raises (see the module doc).

    ``warm=False`` asks a sandbox that can fork kernels from a warm zygote to start this one cold."""
    start = time.monotonic()
    try:
        nb = nbformat.reads(notebook_json, as_version=4)
    except Exception as error:  # noqa: BLE001 - unreadable input is a result, not a crash of the worker
        return ExecutionResult(notebook_json, "error", f"notebook is not valid JSON/nbformat: {error}", 0.0)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    status, reason, ran = "ok", "", 0
    deadline = start + limits.notebook_timeout if limits.notebook_timeout else math.inf
    client = None
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        try:
            _write_files(Path(scratch), files or {})
            client = _client_class()(**(execute_options or {}))
            manager = resolve_class(kernel_manager_class)
            if manager is not None:
                client.kernel_manager_class = manager
            client.limits, client.scratch_dir, client.warm_start = limits, scratch, warm
            # The same steps as nbconvert's ExecutePreprocessor.preprocess, but cell by cell so that a
            # notebook deadline applies and a dead kernel leaves the cells run so far in place.
            from nbclient import NotebookClient

            NotebookClient.__init__(client, nb)
            client.reset_execution_trackers()
            resources = {"metadata": {"path": scratch}}
            client._check_assign_resources(resources)
            kernel_env = {**os.environ, **(env or {}), "NBGRADER_EXECUTION": "autograde"}
            with client.setup_kernel(env=kernel_env):
                info = client.wait_for_reply(client.kc.kernel_info())
                if info:
                    nb.metadata["language_info"] = info["content"]["language_info"]
                for index, cell in enumerate(nb.cells):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        status = "timeout"
                        reason = f"notebook time limit of {limits.notebook_timeout:g} s reached before cell {index}"
                        mark_not_run(nb.cells[index:], f"notebook time limit of {limits.notebook_timeout:g} s")
                        break
                    cell_limit = min(limits.cell_timeout or math.inf, remaining)
                    client.timeout = None if math.isinf(cell_limit) else max(1, math.ceil(cell_limit))
                    try:
                        client.preprocess_cell(cell, resources, index)
                    except Exception as error:  # noqa: BLE001 - a dead kernel etc. ends the run, not the worker
                        status, reason = _classify(error, index)
                        mark_not_run(nb.cells[index:], reason)
                        break
                    if cell.cell_type == "code":
                        ran += 1
            client.set_widgets_metadata()
        except Exception as error:  # noqa: BLE001 - e.g. the kernel never started
            status, reason = _classify(error, None)
            mark_not_run([c for c in nb.cells if c.cell_type == "code" and not c.get("outputs")], reason)
    failed = sum(has_error(c) for c in code_cells)
    timed_out = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                 and any(o.get("ename") == TIMED_OUT for o in c.get("outputs", []))]
    if status == "ok" and timed_out:
        status = "timeout"
        reason = f"cell {timed_out[0]} ran past the cell time limit ({limits.cell_timeout:g} s) and was interrupted"
    elif status == "ok" and failed:
        reason = errors_summary(nb.cells)
    notes = getattr(getattr(client, "last_manager", None), "resource_notes", list)()
    if notes:  # e.g. "memory limit reached": says why the kernel died
        reason = "; ".join(filter(None, [reason, *notes]))
    return ExecutionResult(nbformat.writes(nb), status, reason, time.monotonic() - start, ran, failed)


def _classify(error: BaseException, index: int | None) -> tuple[str, str]:
    """Status and one-line reason for an exception that stopped a run."""
    where = f" in cell {index}" if index is not None else ""
    name = type(error).__name__
    text = str(error).strip().splitlines()
    detail = text[0] if text else ""
    if name == "DeadKernelError":
        return "crashed", f"kernel died{where}: {detail}" if detail else f"kernel died{where}"
    if name in ("CellTimeoutError", "TimeoutError"):
        return "timeout", f"timed out{where}: {detail}"
    return "error", f"{name}{where}: {detail}"


def not_run_result(notebook_json: str, status: str, reason: str, duration: float = 0.0) -> ExecutionResult:
    """The result for a notebook that never ran (its worker died): every code cell marked not run."""
    nb = nbformat.reads(notebook_json, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    mark_not_run(code, reason)
    return ExecutionResult(nbformat.writes(nb), status, reason, duration, 0, len(code))
