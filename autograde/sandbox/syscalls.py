"""Linux system calls the standard library lacks (prctl, setns), called through ctypes.

Trusted code only: grading workers and the zygote set these on themselves. Standard library only, so
the zygote (``python -m autograde.sandbox.zygote``) and every grading worker import it for free.
"""
from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
CLONE_NEWPID = 0x20000000
# Namespaces a warm kernel enters, in this order; pid (CLONE_NEWPID) is entered before its fork.
NAMESPACES = {"ipc": 0x08000000, "uts": 0x04000000, "net": 0x40000000, "cgroup": 0x02000000,
              "mnt": 0x00020000}


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _raise_if_failed(result: int, call: str) -> None:
    """Turn a libc call's nonzero result into an OSError carrying its errno."""
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{call}: {os.strerror(error)}")


def _prctl(option: int, value: int) -> int:
    args = (ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    return _libc().prctl(option, *args)


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """Have the kernel send this process ``sig`` when its parent, process ``parent``, dies (Linux;
    elsewhere nothing). A parent that died before the request (between our fork and now) gets the same
    answer at once: the kernel would never send the signal then."""
    if sys.platform.startswith("linux"):
        _raise_if_failed(_prctl(PR_SET_PDEATHSIG, sig), "prctl(PR_SET_PDEATHSIG)")
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)


def drop_bounding_capabilities() -> None:
    """Empty this process's capability bounding set, so no exec can ever regain a capability."""
    for capability in range(64):
        if _prctl(PR_CAPBSET_DROP, capability) != 0:
            break  # past the last capability this kernel knows


def forbid_new_privileges() -> None:
    """Set no_new_privs: no setuid binary or file capability raises this process's rights again."""
    _raise_if_failed(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")


def make_dumpable() -> None:
    """Mark this process dumpable, as an exec would, so that it may read its own /proc entries."""
    _prctl(PR_SET_DUMPABLE, 1)


def enter_namespace(fd: int, kind: int) -> None:
    """setns(2): join the namespace open at ``fd`` (``kind``: a CLONE_NEW* flag); raises OSError."""
    _raise_if_failed(_libc().setns(fd, kind), "setns")
