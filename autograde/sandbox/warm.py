"""Warm-start policy: whether a sandboxed kernel is forked from the zygote, and starting it in time.

Trusted code: the zygote (:mod:`autograde.sandbox.zygote`) is a trusted template process, shared by
every kernel the grading process (and its forked workers) starts. It is used only when the caller
asks for warm starts, bubblewrap works and we may enter other processes' namespaces (root); otherwise
kernels start cold in the same sandbox.
"""
from __future__ import annotations

from autograde.config import launch_environment, python_path, resolve_class
from autograde.sandbox import bubblewrap, zygote


def warm_zygote(wanted: bool, env: dict[str, str]) -> zygote.Zygote | None:
    """The shared zygote (started now if need be) when warm starts are wanted and work here, else None."""
    if wanted and bubblewrap.bwrap_status()[0] and zygote.warm_start_possible():
        return zygote.shared_zygote(bubblewrap.kernel_environment(launch_environment(env)), python_path())
    return None


def start_warm_kernels(manager: type | str | None, env: dict[str, str]) -> bool:
    """Start this process's zygote now, before workers fork, if kernels of ``manager`` would use it;
    whether there is one."""
    cls = _sandbox_manager_class(manager)
    return warm_zygote(cls is not None and cls.warm_start.default_value, env) is not None


def prepare_for_forks(manager: type | str | None, env: dict[str, str], warm_start: bool) -> None:
    """Before worker processes fork, do once what every sandboxed kernel they start would otherwise redo:
    find the course library kernels import (each fork inherits the cached answer) and, when ``warm_start``,
    start the zygote they all fork kernels from."""
    if _sandbox_manager_class(manager) is not None:
        bubblewrap.kernel_course_package()
    if warm_start:
        start_warm_kernels(manager, env)


def _sandbox_manager_class(manager: type | str | None) -> type | None:
    """``manager`` as a class when it is the sandbox's kernel manager (or one derived from it), else None."""
    from autograde.sandbox.manager import SandboxKernelManager  # imports jupyter_client: only when asked

    cls = resolve_class(manager)
    return cls if isinstance(cls, type) and issubclass(cls, SandboxKernelManager) else None
