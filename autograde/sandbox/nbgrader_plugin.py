"""Plugging the sandbox into nbgrader and nbclient through their configuration.

Trusted code: nbgrader and nbclient run in the grading process; these hooks only make them start
their kernels with :class:`~autograde.sandbox.manager.SandboxKernelManager`, where the untrusted
code runs. A course's nbgrader_config.py says ``from autograde.sandbox import autograde_preprocessors``.
"""
from __future__ import annotations

import math
from typing import Any

from nbgrader.preprocessors import Execute

from autograde.config import GradingSettings
from autograde.sandbox.manager import SandboxKernelManager


class SandboxExecute(Execute):
    """nbgrader's Execute with its kernel in the sandbox (nbgrader itself passes AsyncKernelManager)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
        if "cell_seconds" in self.config.get("GradingSettings", {}):  # the course's cell limit, as course grade reads it
            self.timeout = math.ceil(GradingSettings.for_course(self.config).cell_seconds)


def autograde_preprocessors() -> list:
    """nbgrader's default autograde pipeline with ``SandboxExecute`` in place of ``Execute``."""
    from nbgrader.converters import Autograde

    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    return [SandboxExecute if step is Execute else step for step in steps]
