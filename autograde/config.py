"""Every limit and default of grading, defined once here and passed explicitly to where it applies.

Nothing is handed over through environment variables inside the process: the settings travel as
arguments (``Limits``, ``ExecuteSettings``) from the command line and ``nbgrader_config.py`` down to the
kernel manager. The values:
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from traitlets.config import Config

CELL_TIMEOUT = 120.0  # seconds per cell, unless c.Execute.timeout or --timeout says otherwise
NOTEBOOK_TIMEOUT = 900.0  # seconds per notebook: one endless cell cannot hold a worker forever
MEMORY_BYTES = 3 << 30  # RLIMIT_DATA and cgroup memory per kernel: torch imports and trains in 3 GiB
MAX_PROCESSES = 256  # processes+threads per kernel (pids cgroup): torch and ipykernel use ~40
OUTPUT_BYTES = 8 << 20  # all outputs of one notebook together; more stops the kernel
FILE_BYTES = 256 << 20  # RLIMIT_FSIZE: the largest file a kernel may write
MAX_ATTEMPTS = 2  # a notebook whose worker process dies is tried once more, then recorded as failed

# course check (autograde.check): the quality gate's own limits
MAX_MUTANTS = 12  # mutants per task, taken in turn from every operator: the whole course checks in minutes on 2 cores
MUTANT_TIMEOUT = 20.0  # seconds per injected cell, so an endless mutant cannot hang the check
SOLUTION_TIME_LIMIT = 60.0  # seconds a solution notebook may take under grading before course check fails it


@dataclass(frozen=True)
class Limits:
    """What one notebook execution may use. None: the sandbox's default above (for the last three)."""

    cell_timeout: float | None = CELL_TIMEOUT
    notebook_timeout: float | None = NOTEBOOK_TIMEOUT
    memory_bytes: int | None = None
    max_processes: int | None = None
    output_bytes: int | None = None


def configured_cell_timeout(config: Config) -> float:
    """The course's per-cell time limit: ``c.Execute.timeout`` in nbgrader_config.py, else CELL_TIMEOUT."""
    return float(config.Execute.get("timeout", CELL_TIMEOUT)) if "Execute" in config else CELL_TIMEOUT


def resolve_class(spec: type | str | None) -> type | None:
    """A class from itself or from its dotted name in a config ("package.module.Class")."""
    if spec is None or isinstance(spec, type):
        return spec
    module_name, _, name = spec.rpartition(".")
    return getattr(importlib.import_module(module_name), name)
