"""Every limit and default of grading, defined once here and passed explicitly to where it applies.

Nothing is handed over through environment variables inside the process: the settings travel as
arguments (``Limits``, ``ExecuteSettings``) from the command line and ``nbgrader_config.py`` down to the
kernel manager. This is also the one module that reads the process environment (tests/test_architecture.py
checks it): the environment a kernel starts from and the few variables a person may set are read by the
functions at the end, and handed on as arguments. The values:
"""
from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


# The sandbox's limit traits (c.SandboxKernelManager.*) and the Limits fields they correspond to.
LIMIT_TRAITS = {"notebook_seconds": "notebook_timeout", "memory_bytes": "memory_bytes",
                "processes": "max_processes", "output_bytes": "output_bytes"}


@dataclass(frozen=True)
class Limits:
    """What one notebook execution may use. None: the sandbox's default above (for the last three)."""

    cell_timeout: float | None = CELL_TIMEOUT
    notebook_timeout: float | None = NOTEBOOK_TIMEOUT
    memory_bytes: int | None = None
    max_processes: int | None = None
    output_bytes: int | None = None

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value is not None and value <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")


def configured_cell_timeout(config: Config) -> float:
    """The course's per-cell time limit: ``c.Execute.timeout`` in nbgrader_config.py, else CELL_TIMEOUT."""
    return float(config.Execute.get("timeout", CELL_TIMEOUT)) if "Execute" in config else CELL_TIMEOUT


def course_limits(config: Config, **given: float | int | None) -> Limits:
    """The limits of a run: those ``given`` (the command line's, None when not given), else the course's
    nbgrader_config.py (``c.Execute.timeout``, ``c.SandboxKernelManager.*``, as ``nbgrader autograde``
    applies them), else the defaults above. So both tools grade under the same limits."""
    sandbox = sandbox_section(config)
    configured = {field: sandbox[trait] for trait, field in LIMIT_TRAITS.items() if trait in sandbox}
    configured["cell_timeout"] = configured_cell_timeout(config)
    return Limits(**{**configured, **{name: value for name, value in given.items() if value is not None}})


def sandbox_section(config: Config) -> Config:
    """The course's ``c.SandboxKernelManager`` settings (empty when it sets none)."""
    return Config(config.get("SandboxKernelManager", {}))


def configured_warm_start(config: Config) -> bool:
    """Whether the course lets kernels start warm (``c.SandboxKernelManager.warm_start``, default True)."""
    return bool(sandbox_section(config).get("warm_start", True))


def configured_require_sandbox(config: Config) -> bool:
    """Whether the course refuses to grade without bubblewrap (``c.SandboxKernelManager.require_sandbox``)."""
    return bool(sandbox_section(config).get("require_sandbox", False))


def resolve_class(spec: type | str | None) -> type | None:
    """A class from itself or from its dotted name in a config ("package.module.Class")."""
    if spec is None or isinstance(spec, type):
        return spec
    module_name, _, name = spec.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


# --- the process environment: read here, and nowhere else in autograde/ --------------------------------

RETIRED_VARIABLES = {"COURSE_COLD_START": "use --cold-start (or c.SandboxKernelManager.warm_start = False in "
                                          "nbgrader_config.py, which nbgrader autograde reads too)"}


def launch_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a kernel starts from: this process's, with ``extra`` on top. A sandboxed kernel
    keeps only its harmless variables (``autograde.sandbox.bubblewrap.kernel_environment``)."""
    return {**os.environ, **(extra or {})}


def course_variables() -> dict[str, str]:
    """The ``COURSE_*`` variables of this process (``COURSE_DATA_DIR``, ``COURSE_FAST``...), handed to every
    kernel of a run, also on a dask cluster's machines."""
    return {name: value for name, value in os.environ.items() if name.startswith("COURSE_")}


def threads_chosen() -> bool:
    """Whether the person running us chose the kernels' thread count (``OMP_NUM_THREADS``)."""
    return "OMP_NUM_THREADS" in os.environ


def chromium_variable() -> str | None:
    """``COURSE_CHROMIUM``: the browser ``course pdf`` prints with, when neither --browser nor PATH says."""
    return os.environ.get("COURSE_CHROMIUM") or None


def python_path() -> str | None:
    """``PYTHONPATH``: how this process found autograde when it is not installed (the zygote needs it too)."""
    return os.environ.get("PYTHONPATH")


def retired_variables_set() -> list[str]:
    """What to do about each variable we no longer read that is still set (one line each)."""
    return [f"{name} is no longer read; {instead}, and unset the variable"
            for name, instead in RETIRED_VARIABLES.items() if os.environ.get(name)]


@contextlib.contextmanager
def on_path(folder: Path) -> Iterator[None]:
    """``folder`` first on this process's PATH while the block runs (nbgrader runs alembic by name)."""
    old = os.environ.get("PATH", "")
    if str(folder) not in old.split(os.pathsep):
        os.environ["PATH"] = str(folder) + os.pathsep + old
    try:
        yield
    finally:
        os.environ["PATH"] = old
