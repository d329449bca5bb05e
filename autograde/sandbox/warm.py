"""Warm-start policy: whether a sandboxed kernel is forked from the zygote, and starting it in time.

Trusted code: the zygote (:mod:`autograde.sandbox.zygote`) is a trusted template process, shared by
every kernel the grading process (and its forked workers) starts. It is used only when the caller
asks for warm starts, bubblewrap works and we may enter other processes' namespaces (root); otherwise
kernels start cold in the same sandbox.
"""
from __future__ import annotations

import os

from autograde.config import resolve_class
from autograde.sandbox import bubblewrap, zygote


def warm_zygote(wanted: bool, env: dict[str, str]) -> zygote.Zygote | None:
    """The shared zygote (started now if need be) when warm starts are wanted and work here, else None."""
    if wanted and bubblewrap.bwrap_status()[0] and zygote.warm_start_possible():
        return zygote.shared_zygote(bubblewrap.kernel_environment({**os.environ, **env}))
    return None


def start_warm_kernels(manager: type | str | None, env: dict[str, str]) -> bool:
    """Start this process's zygote now, before workers fork, if kernels of ``manager`` would use it;
    whether there is one."""
    from autograde.sandbox.manager import SandboxKernelManager  # imports jupyter_client: only when asked

    cls = resolve_class(manager)
    return warm_zygote(isinstance(cls, type) and issubclass(cls, SandboxKernelManager)
                       and cls.warm_start.default_value, env) is not None
