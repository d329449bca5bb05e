"""Kernels in bubblewrap under limits: the only place untrusted student code runs.

Everything here runs in the trusted grading process except what the kernel manager starts inside
the sandbox: the kernel itself and, for a warm start, ``warm_client.py``. One job per module:

- ``manager``: SandboxKernelManager, which starts a kernel in the sandbox under limits and stops it;
- ``bubblewrap``: the bwrap command line, i.e. what a kernel can see and as whom it runs;
- ``cgroups``: one memory + pids cgroup per kernel (v1, or a delegated v2 subtree); without one,
  ``kernel_user`` (a uid of its own per kernel, so RLIMIT_NPROC counts it alone) and ``memory_watch``
  (the memory of all its processes together); ``output_budget``: the client side's output limit;
- ``warm``: whether a kernel is forked from the ``zygote``, a trusted template process with torch
  imported; ``confinement`` puts each fork under its sandbox's confinement, and ``warm_client``
  (inside the sandbox) asks for it;
- ``nbgrader_plugin``: the hooks nbgrader and nbclient configs name; ``syscalls``: prctl and setns.

The names below are what a course's ``nbgrader_config.py`` and kernel-manager settings name
(``autograde.sandbox.SandboxKernelManager``...). They are imported on first use, so that the zygote,
started as ``python -m autograde.sandbox.zygote``, does not import jupyter_client and nbgrader.
"""
from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module of this package that defines it.
EXPORTS = {
    "SandboxKernelManager": "manager", "StrictSandboxKernelManager": "manager", "SandboxUnavailable": "manager",
    "choose_kernel_manager": "manager",
    "SandboxKernelClient": "output_budget",
    "SandboxExecute": "nbgrader_plugin", "autograde_preprocessors": "nbgrader_plugin",
    "bwrap_status": "bubblewrap", "kernel_environment": "bubblewrap", "cgroups_writable": "cgroups",
    "start_warm_kernels": "warm", "prepare_for_forks": "warm", "preload_for": "warm", "die_with_parent": "syscalls",
}
__all__ = sorted(EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{EXPORTS[name]}"), name)
