"""Run one prepared notebook in a fresh kernel: the untrusted step of grading, safe to ship anywhere.

API (kept small on purpose; the sandbox and the dask path build on it):

    execute_notebook(notebook_json, settings=None, *, files=None, env=None, kernel_manager_class=None,
                     execute_options=None, run_tag="") -> ExecutionResult

- ``notebook_json``: the notebook as nbformat JSON text, already sanitised by the trusted side
  (``autograde.grading.prepare``).
- ``settings``: the run's :class:`GradingSettings` (picklable; None: the defaults): per-cell and
  per-notebook wall time, plus the memory, process, output limits and warm start that a sandboxing kernel
  manager, itself a GradingSettings, receives as its config.
- ``files``: other files of the submission (relative path -> bytes), written next to the notebook in
  a private scratch directory that is the kernel's working directory.
- ``env``: extra environment variables for the kernel (``NBGRADER_EXECUTION=autograde`` is always set,
  as ``nbgrader autograde`` does).
- ``kernel_manager_class``: a ``jupyter_client`` (async) kernel manager class, or its dotted name
  ("autograde.sandbox.SandboxKernelManager"; a name pickles everywhere). A manager that is a
  :class:`LimitedKernelManager` (the sandbox's) gets the scratch directory (the one place it may write)
  and the run's tag before its kernel starts, and says afterwards which limits stopped the kernel.
- ``execute_options``: traits of nbgrader's ``Execute`` preprocessor from the course config
  (``c.Execute.*``), e.g. ``extra_arguments``; ``timeout`` there is overridden by ``settings``.

The function never raises: a kernel that dies, a kernel that cannot start, the notebook time limit
and any other error all come back as an :class:`ExecutionResult` whose ``outcome`` and ``reason`` say
what happened. Code cells that did not run get an error output ("not run: ..."), so nbgrader's
scoring gives them 0 instead of counting an empty test cell as passed. Cells are executed by
nbgrader's own ``Execute`` preprocessor, one by one, so outputs (and therefore scores) match
``nbgrader autograde``.
"""
from __future__ import annotations

import math
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import nbformat
from nbformat import NotebookNode
from traitlets.config import Config

from autograde.cells import has_error, is_not_run, mark_not_run
from autograde.config import GradingSettings, launch_environment, resolve_class
from autograde.grading.nbgrader_adapter import start_cell_by_cell
from autograde.grading.status import Outcome, execution_verdict, stopped


@runtime_checkable
class LimitedKernelManager(Protocol):
    """What ``execute_notebook`` hands a kernel manager before its kernel starts, and asks it afterwards.

    ``autograde.sandbox.SandboxKernelManager`` is one; a plain jupyter_client manager is not and gets
    nothing (the per-cell time limit, nbclient's, still applies). The limits are no part of it: they reach
    the manager once, as its config (its GradingSettings traits)."""

    scratch_dir: str | None  # the kernel's working directory, the only place it may write
    run_tag: str  # names the grading run the kernel belongs to (its cgroups carry it)

    def resource_notes(self) -> list[str]:
        """Limits that stopped or hindered the kernel ("memory limit reached"...)."""


@dataclass
class ExecutionResult:
    """The executed notebook (JSON) and how the run went: its outcome, why, and what the limits did."""

    notebook_json: str  # every code cell either ran or carries a NOT_RUN error output
    outcome: Outcome  # FINISHED: every cell ran (cells may have raised); TIMEOUT, CRASHED, ERROR or FAILED
    reason: str  # one line for people: "" when all cells ran cleanly
    duration: float  # seconds of wall time, kernel start included
    cells_run: int = 0
    cells_failed: int = 0  # code cells with an error output (student exceptions, timeouts, not run)
    notes: list[str] = field(default_factory=list)  # what the sandbox's limits did (also in reason)
    host: str = field(default_factory=socket.gethostname)

    def __repr__(self) -> str:
        return (f"ExecutionResult(outcome={self.outcome!r}, reason={self.reason!r}, duration={self.duration:.1f}s, "
                f"cells_run={self.cells_run}, cells_failed={self.cells_failed}, host={self.host!r})")


@dataclass(frozen=True)
class _KernelHandover:
    """What the Execute client hands its kernel manager (see LimitedKernelManager)."""

    scratch_dir: str
    run_tag: str


def _execute_client(options: dict[str, Any] | None, settings: GradingSettings, manager: type | str | None,
                    handover: _KernelHandover) -> Any:
    """nbgrader's Execute with the course's options and ``settings`` as its kernel manager's config; the
    manager receives ``handover``."""
    from nbgrader.preprocessors import Execute

    class HandingOverExecute(Execute):
        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            self.last_manager = km
            if isinstance(km, LimitedKernelManager):
                km.scratch_dir, km.run_tag = handover.scratch_dir, handover.run_tag
            return km

    options = dict(options or {})
    options["config"] = Config(options.get("config") or {})
    options["config"].merge(settings.as_config())
    client = HandingOverExecute(**options)
    manager = resolve_class(manager)
    if manager is not None:
        client.kernel_manager_class = manager
    return client


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        target = (folder / name).resolve()
        if folder.resolve() not in target.parents:
            raise ValueError(f"file {name!r} would land outside the scratch directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def execute_notebook(notebook_json: str, settings: GradingSettings | None = None, *,
                     files: dict[str, bytes] | None = None, env: dict[str, str] | None = None,
                     kernel_manager_class: type | str | None = None, execute_options: dict[str, Any] | None = None,
                     run_tag: str = "") -> ExecutionResult:
    """Execute every cell of ``notebook_json`` in a fresh kernel; never raises (see the module doc)."""
    settings = settings if settings is not None else GradingSettings()
    start = time.monotonic()
    try:
        nb = nbformat.reads(notebook_json, as_version=4)
    except Exception as error:  # noqa: BLE001 - unreadable input is a result, not a crash of the worker
        return ExecutionResult(notebook_json, Outcome.ERROR, f"notebook is not valid JSON/nbformat: {error}", 0.0)
    client = None
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        try:
            _write_files(Path(scratch), files or {})
            client = _execute_client(execute_options, settings, kernel_manager_class, _KernelHandover(scratch, run_tag))
            outcome, reason = _run_cells(client, nb, scratch, launch_environment(env), settings, start)
        except Exception as error:  # noqa: BLE001 - e.g. the kernel never started
            outcome, reason = stopped(error, None)
            mark_not_run([c for c in nb.cells if c.cell_type == "code" and not c.get("outputs")], reason)
    manager = getattr(client, "last_manager", None)
    notes = manager.resource_notes() if isinstance(manager, LimitedKernelManager) else []
    outcome, reason = execution_verdict(outcome, reason, nb.cells, settings.cell_seconds, notes)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    return ExecutionResult(nbformat.writes(nb), outcome, reason, time.monotonic() - start,
                           sum(not is_not_run(c) for c in code), sum(has_error(c) for c in code), notes)


def _run_cells(client: Any, nb: NotebookNode, scratch: str, env: dict[str, str], settings: GradingSettings,
               start: float) -> tuple[Outcome, str]:
    """Start the kernel and run the cells one by one until the end, a dead kernel or the notebook limit.

    The same steps as nbconvert's ExecutePreprocessor.preprocess, but cell by cell so that a notebook
    deadline applies and a dead kernel leaves the cells run so far in place."""
    resources = {"metadata": {"path": scratch}}
    start_cell_by_cell(client, nb, resources)
    deadline = start + settings.notebook_seconds
    outcome, reason = Outcome.FINISHED, ""
    with client.setup_kernel(env={**env, "NBGRADER_EXECUTION": "autograde"}):
        info = client.wait_for_reply(client.kc.kernel_info())
        if info:
            nb.metadata["language_info"] = info["content"]["language_info"]
        for index, cell in enumerate(nb.cells):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                limit = f"notebook time limit of {settings.notebook_seconds:g} s"
                outcome, reason = Outcome.TIMEOUT, f"{limit} reached before cell {index}"
                mark_not_run(nb.cells[index:], limit)
                break
            cell_limit = min(settings.cell_seconds, remaining)
            client.timeout = None if math.isinf(cell_limit) else max(1, math.ceil(cell_limit))
            try:
                client.preprocess_cell(cell, resources, index)
            except Exception as error:  # noqa: BLE001 - a dead kernel etc. ends the run, not the worker
                outcome, reason = stopped(error, index)
                mark_not_run(nb.cells[index:], reason)
                break
    client.set_widgets_metadata()
    return outcome, reason


def not_run_result(notebook_json: str, outcome: Outcome, reason: str, duration: float = 0.0) -> ExecutionResult:
    """The result for a notebook that never ran (its worker died): every code cell marked not run."""
    nb = nbformat.reads(notebook_json, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    mark_not_run(code, reason)
    return ExecutionResult(nbformat.writes(nb), outcome, reason, duration, 0, len(code))
