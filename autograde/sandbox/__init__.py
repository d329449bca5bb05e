"""Kernels in bubblewrap under limits: the only place untrusted student code runs.

The names below are what a course's ``nbgrader_config.py`` and kernel-manager settings name
(``autograde.sandbox.SandboxKernelManager``...). They are imported on first use, so that the zygote,
started as ``python -m autograde.sandbox.zygote``, does not import jupyter_client and nbgrader.
"""
from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module of this package that defines it.
EXPORTS = {
    "SandboxKernelManager": "manager", "StrictSandboxKernelManager": "manager", "SandboxKernelClient": "manager",
    "SandboxUnavailable": "manager", "SandboxExecute": "manager", "autograde_preprocessors": "manager",
    "limits_config": "manager", "bwrap_status": "manager", "kernel_environment": "manager",
    "start_warm_kernels": "manager", "cgroups_writable": "manager",
}
__all__ = sorted(EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{EXPORTS[name]}"), name)
