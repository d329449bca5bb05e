"""Plugging the sandbox into nbgrader and nbclient through their configuration.

Trusted code: nbgrader and nbclient run in the grading process; these hooks only make them start
their kernels with :class:`~autograde.sandbox.manager.SandboxKernelManager`, where the untrusted
code runs. A course's nbgrader_config.py says ``from autograde.sandbox import autograde_preprocessors``.
"""
from __future__ import annotations

from typing import Any

from nbgrader.preprocessors import Execute
from traitlets.config import Config

from autograde.config import LIMIT_TRAITS, Limits
from autograde.sandbox.manager import SandboxKernelManager


class SandboxExecute(Execute):
    """nbgrader's Execute with its kernel in the sandbox (nbgrader itself passes AsyncKernelManager)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)


def autograde_preprocessors() -> list:
    """nbgrader's default autograde pipeline with ``SandboxExecute`` in place of ``Execute``."""
    from nbgrader.converters import Autograde

    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    return [SandboxExecute if step is Execute else step for step in steps]


def limits_config(limits: Limits, *, require_sandbox: bool = False, read_only_paths: list[str] | None = None,
                  config: Config | None = None) -> Config:
    """A traitlets Config that sets the sandbox's limits (and nbclient's per-cell timeout)."""
    config = Config(config or {})
    manager = config.SandboxKernelManager
    for trait, field in LIMIT_TRAITS.items():
        if getattr(limits, field) is not None:
            manager[trait] = getattr(limits, field)
    manager.require_sandbox = require_sandbox
    manager.read_only_paths = list(read_only_paths or [])
    if limits.cell_timeout is not None:
        config.NotebookClient.timeout = int(limits.cell_timeout)
    return config
