"""Warm-start policy: whether a sandboxed kernel is forked from the zygote, and starting it in time.

Trusted code: the zygote (:mod:`autograde.sandbox.zygote`) is a trusted template process, shared by
every kernel the grading process (and its forked workers) starts. It is used only when the caller
asks for warm starts, bubblewrap works and we may enter other processes' namespaces (root); otherwise
kernels start cold in the same sandbox.
"""
from __future__ import annotations

from autograde.config import launch_environment, python_path, resolve_class
from autograde.sandbox import bubblewrap, zygote


def warm_zygote(wanted: bool, env: dict[str, str], preload: tuple[str, ...] | None = None) -> zygote.Zygote | None:
    """The shared zygote (started now if need be; see ``zygote.shared_zygote`` for ``preload``) when warm
    starts are wanted and work here, else None."""
    if wanted and bubblewrap.bwrap_status()[0] and zygote.warm_start_possible():
        return zygote.shared_zygote(bubblewrap.kernel_environment(launch_environment(env)), python_path(), preload)
    return None


def preload_for(imports: set[str]) -> tuple[str, ...]:
    """What the zygote should import for notebooks that import the top-level modules ``imports``: the
    chapter libraries too when they import any of them, else the kernel alone.

    Forking from a zygote with torch saves seconds per kernel when a notebook imports torch, but the
    zygote takes seconds to import it, and a fork of a process that large costs more than a fork of a
    bare kernel (``python benchmarks/sandbox_start.py``)."""
    kernel = {name.split(".")[0] for name in zygote.KERNEL_PRELOAD}
    libraries = {name.split(".")[0] for name in zygote.PRELOAD} - kernel
    return zygote.PRELOAD if imports & libraries else zygote.KERNEL_PRELOAD


def start_warm_kernels(manager: type | str | None, env: dict[str, str], preload: tuple[str, ...] | None = None) -> bool:
    """Start this process's zygote now, before workers fork, if kernels of ``manager`` would use it;
    whether there is one."""
    cls = _sandbox_manager_class(manager)
    return warm_zygote(cls is not None and cls.warm_start.default_value, env, preload) is not None


def prepare_for_forks(manager: type | str | None, env: dict[str, str], warm_start: bool,
                      preload: tuple[str, ...] | None = None) -> None:
    """Before worker processes fork, do once what every sandboxed kernel they start would otherwise redo:
    find the course library kernels import (each fork inherits the cached answer) and, when ``warm_start``,
    start the zygote they all fork kernels from, preloading ``preload``."""
    if _sandbox_manager_class(manager) is not None:
        bubblewrap.kernel_course_package()
    if warm_start:
        start_warm_kernels(manager, env, preload)


def _sandbox_manager_class(manager: type | str | None) -> type | None:
    """``manager`` as a class when it is the sandbox's kernel manager (or one derived from it), else None."""
    from autograde.sandbox.manager import SandboxKernelManager  # imports jupyter_client: only when asked

    cls = resolve_class(manager)
    return cls if isinstance(cls, type) and issubclass(cls, SandboxKernelManager) else None
