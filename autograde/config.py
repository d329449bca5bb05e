"""Every limit and switch of grading, defined once here and passed explicitly to where it applies.

:class:`GradingSettings` is their one home: a traitlets ``Configurable`` read once from the course's
``nbgrader_config.py``, whose traits the command line's flags set (``add_setting_arguments``) and which the
sandbox's kernel manager *is* (``SandboxKernelManager`` derives from it), so ``course grade``, ``course
check`` and ``nbgrader autograde`` grade under the same values. Nothing is handed over through environment
variables inside the process: the settings travel as arguments, and to a kernel manager as its config.
This is also the one module that reads the process environment (tests/test_architecture.py checks it):
the environment a kernel starts from and the few variables a person may set are read by the functions
at the end, and handed on as arguments. The defaults:
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, Integer, List, TraitError, TraitType, Unicode, validate
from traitlets.config import Config, Configurable

from autograde.errors import CourseError

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

MB = 1 << 20  # the unit of the command line's sizes


class GradingSettings(Configurable):
    """Every limit and switch of a grading run, one trait each (``c.GradingSettings.NAME`` in nbgrader_config.py).

    A trait's ``flag`` tag is its command-line flag (``unit``: what one unit of the flag is in the trait's
    own unit). ``c.SandboxKernelManager.NAME`` sets the same trait (the kernel manager derives from this
    class), and ``c.Execute.timeout``, nbgrader's own, is read as ``cell_seconds``."""

    cell_seconds = Float(CELL_TIMEOUT, help="Seconds one cell may run before it is interrupted (nbclient's "
                         "timeout; c.Execute.timeout is read as this).").tag(config=True, flag="--timeout")
    notebook_seconds = Float(NOTEBOOK_TIMEOUT, help="Seconds a whole notebook may run; then its kernel is "
                             "killed.").tag(config=True, flag="--notebook-timeout")
    memory_bytes = Integer(MEMORY_BYTES, help="Memory of a kernel (RLIMIT_DATA per process; all its processes "
                           "together where a cgroup or, as root, the memory watch holds).").tag(
                               config=True, flag="--memory-mb", unit=MB)
    processes = Integer(MAX_PROCESSES, help="Processes and threads of a kernel (a pids cgroup, or RLIMIT_NPROC "
                        "of its own uid).").tag(config=True, flag="--max-processes")
    output_bytes = Integer(OUTPUT_BYTES, help="Output of one notebook (all cells together) before its kernel "
                           "is stopped.").tag(config=True, flag="--output-mb", unit=MB)
    file_bytes = Integer(FILE_BYTES, help="RLIMIT_FSIZE: the largest file a kernel may write.").tag(
        config=True, flag="--file-mb", unit=MB)
    require_sandbox = Bool(False, help="Refuse to run a notebook when bubblewrap is unusable (else a loud "
                           "warning, and the limits only).").tag(config=True, flag="--require-sandbox")
    warm_start = Bool(True, help="Fork kernels from a zygote with torch imported (root only; see "
                      "autograde.sandbox.zygote); course grade preloads the kernel alone where the notebooks import none of it. "
                      "Off: every kernel starts cold.").tag(config=True, flag="--cold-start")
    read_only_paths = List(Unicode(), help="Extra host paths a kernel may read (the data).").tag(config=True)

    @validate("cell_seconds", "notebook_seconds", "memory_bytes", "processes", "output_bytes", "file_bytes")
    def _positive(self, proposal: Any) -> Any:
        if proposal["value"] <= 0:
            raise TraitError(f"{proposal['trait'].name} must be positive, got {proposal['value']!r}")
        return proposal["value"]

    def __repr__(self) -> str:
        return f"GradingSettings({', '.join(f'{k}={v!r}' for k, v in self.values().items())})"

    @classmethod
    def for_course(cls, config: Config, **given: Any) -> GradingSettings:
        """The settings of a run: those ``given`` (the command line's; None: not given), else the course's
        ``c.SandboxKernelManager``, ``c.GradingSettings`` and ``c.Execute.timeout`` (in that order, as
        ``nbgrader autograde`` reads them), else the defaults. So both tools grade under the same values."""
        names = set(GradingSettings.class_trait_names(config=True))
        values: dict[str, Any] = {}
        if "Execute" in config and "timeout" in config.Execute:
            values["cell_seconds"] = config.Execute.timeout
        for section in ("GradingSettings", "SandboxKernelManager"):  # the subclass's section wins, as in traitlets
            values.update({k: v for k, v in config.get(section, {}).items() if k in names})
        values.update({k: v for k, v in given.items() if v is not None})
        return cls(**values)

    def values(self) -> dict[str, Any]:
        """Every setting by name (only GradingSettings' own, also on a kernel manager that derives from it)."""
        return {name: getattr(self, name) for name in GradingSettings.class_trait_names(config=True)}

    def replaced(self, **changes: Any) -> GradingSettings:
        """A copy with ``changes``."""
        return GradingSettings(**{**self.values(), **changes})

    def as_config(self) -> Config:
        """These settings as a kernel manager's config (the sandbox's reads them), with nbclient's per-cell timeout."""
        return Config(GradingSettings=Config(self.values()),
                      NotebookClient=Config(timeout=max(1, math.ceil(self.cell_seconds))))


def flagged_settings() -> list[tuple[str, TraitType]]:
    """The traits of GradingSettings that have a command-line flag, in the order they are declared."""
    return [(name, trait) for name, trait in vars(GradingSettings).items()
            if isinstance(trait, TraitType) and trait.metadata.get("flag")]


def add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """One command-line flag per flagged trait of GradingSettings: its help and default come from the trait."""
    for name, trait in flagged_settings():
        source = f"c.GradingSettings.{name} in nbgrader_config.py"
        if isinstance(trait, Bool):
            sense = "" if not trait.default_value else "turns this off: "
            parser.add_argument(trait.metadata["flag"], dest=name, action="store_const", const=not trait.default_value,
                                default=None, help=f"{sense}{trait.help} (default: {source}, else {trait.default_value})")
            continue
        unit = trait.metadata.get("unit", 1)
        shown = trait.default_value / unit
        parser.add_argument(trait.metadata["flag"], dest=name, type=float if unit != 1 or isinstance(trait, Float)
                            else int, default=None, metavar="MB" if unit == MB else "N" if isinstance(trait, Integer)
                            else "S", help=f"{trait.help} (default: {source}, else {shown:g})")


def command_settings(config: Config, args: argparse.Namespace, command: str) -> GradingSettings:
    """The settings of ``course COMMAND``: its flags over the course's config; nonsense is a CourseError."""
    try:
        return GradingSettings.for_course(config, **given_settings(args))
    except TraitError as error:
        raise CourseError(f"course {command}: {error}; give a positive number") from None


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The values ``add_setting_arguments``' flags were given on this command line (None: not given)."""
    given = {}
    for name, trait in flagged_settings():
        value = getattr(args, name, None)
        if value is not None and "unit" in trait.metadata:
            value = int(value * trait.metadata["unit"])
        given[name] = value
    return given


def resolve_class(spec: type | str | None) -> type | None:
    """A class from itself or from its dotted name in a config ("package.module.Class")."""
    if spec is None or isinstance(spec, type):
        return spec
    module_name, _, name = spec.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


# --- the process environment: read here, and nowhere else in autograde/ --------------------------------

RETIRED_VARIABLES = {"COURSE_COLD_START": "use --cold-start (or c.GradingSettings.warm_start = False in "
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
