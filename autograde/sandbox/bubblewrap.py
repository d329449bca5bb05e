"""The bubblewrap command line: what a sandboxed kernel can see, and as whom it runs.

The trusted grading process builds this; the untrusted kernel only ever lives inside it: the system
read-only, its scratch directory (the submission) read-write, the interpreter, the course helper
library and the data read-only, a private /tmp, no network, no home, no course directory, only
harmless environment variables, and (when we are root) a uid of the kernel's own
(:mod:`autograde.sandbox.kernel_user`).
"""
from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

TMPFS_SHARE = 4  # the kernel's /tmp and /dev/shm (memory, outside any process) may each hold memory / 4
# Environment variables a kernel may inherit; everything else (tokens, paths to the course) stays out.
ENV_PREFIXES = ("COURSE_", "NBGRADER_", "OMP_", "MKL_", "LC_", "PYTHONHASHSEED")
ENV_NAMES = {"PATH", "LANG", "TZ", "MPLBACKEND", "PYDEVD_DISABLE_FILE_VALIDATION"}
# Top-level system folders bound read-only (or recreated as the same symlink) into every sandbox.
SYSTEM_FOLDERS = ("usr", "etc", "opt", "sys", "bin", "sbin", "lib", "lib32", "lib64", "libx32")


@functools.cache
def bwrap_status() -> tuple[str | None, str]:
    """``(path to a working bwrap, "")`` or ``(None, why it cannot be used)``; probed once."""
    path = shutil.which("bwrap")
    if path is None:
        return None, "bubblewrap (bwrap) is not installed; install it (apt install bubblewrap)"
    probe = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all",
             "--die-with-parent", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"bubblewrap at {path} failed to start: {error}"
    if done.returncode != 0:
        return None, (f"bubblewrap at {path} cannot create namespaces here ({done.stderr.strip()}); "
                      "allow unprivileged user namespaces or run as root")
    return path, ""


def bwrap_args(scratch: Path, connection_dir: Path, readable: list[Path], env: dict[str, str],
               memory_bytes: int, extra_binds: Sequence[str] = ()) -> list[str]:
    """bubblewrap options: an empty root with only what a kernel needs bound into it, then ``--``.

    Its /tmp and /dev/shm keep their files in memory: each holds at most ``memory_bytes / TMPFS_SHARE``."""
    tmpfs = str(memory_bytes // TMPFS_SHARE)
    # Not --unshare-all: as root it adds a user namespace in which the kernel's uid is unmapped.
    args = [bwrap_status()[0] or "bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", tmpfs, "--tmpfs", "/tmp",
            "--perms", "1777", "--size", tmpfs, "--tmpfs", "/dev/shm"]
    for name in SYSTEM_FOLDERS:
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += _parent_folders(readable + [scratch, connection_dir])
    for path in readable:
        args += ["--ro-bind", str(path), str(path)]
    args += list(extra_binds)
    args += ["--bind", str(scratch), str(scratch), "--bind", str(connection_dir), str(connection_dir),
             "--chdir", str(scratch), "--clearenv"]
    for name, value in env.items():
        args += ["--setenv", name, value]
    return args + ["--"]


def _parent_folders(paths: list[Path]) -> list[str]:
    """Options that create the folders above ``paths`` as 0755 (bwrap would make them 0700, like
    /root, which the kernel's uid cannot pass through)."""
    args: list[str] = []
    made: set[Path] = {Path("/"), Path("/tmp")}
    for path in paths:
        for parent in reversed(path.parents):
            if parent not in made and not parent.is_symlink() and parent.name not in ("usr", "etc", "opt", "sys"):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
    return args


def die_with_launcher() -> list[str]:
    """A command prefix that kills the sandbox when this process, which launches it, dies, even by SIGKILL.

    bwrap's --die-with-parent ties the kernel to bwrap, not bwrap to us: after a killed grading run the
    sandbox and its kernel lived on (test_grade_trust's killed run left one per run). The death signal
    survives the exec of prlimit and bwrap. A launcher that died before setpriv asked for the signal
    would never send it, so the shell after setpriv starts nothing unless its parent is still us."""
    if not shutil.which("setpriv"):
        return []
    return ["setpriv", "--pdeathsig", "KILL", "--", "/bin/sh", "-c", '[ "$PPID" = "$0" ] && exec "$@"', str(os.getpid())]


def drop_to(uid: int) -> list[str]:
    """A command prefix that becomes user and group ``uid`` with no way back (bwrap as root keeps every
    capability)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def readable_paths(extra: list[str], kernel_env: dict[str, str]) -> list[Path]:
    """The interpreter, its packages, the course helper library, the data and ``extra``: read-only.

    The data is the folder the kernel will look in: COURSE_DATA_DIR of its environment ``kernel_env``."""
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, Path(sys.executable).resolve().parent.parent]
    candidates += [p for p in sys.path if p and "site-packages" in p]
    library = kernel_course_package()  # the helper library notebooks import (an editable install)
    if library is not None:
        candidates.append(library)
    data = kernel_env.get("COURSE_DATA_DIR")  # where the course library finds the datasets
    if data:
        candidates.append(data)
    candidates += list(extra)
    found: list[Path] = []
    for candidate in candidates:
        path = Path(candidate).resolve()
        if path.is_dir() and not any(path == p or p in path.parents for p in found):
            found = [p for p in found if path not in p.parents] + [path]
    return sorted(found)


@functools.cache
def kernel_course_package() -> Path | None:
    """The folder of the ``course`` package a kernel will import, found as the kernel finds it.

    Not this process's ``import course``: run from a course folder that holds a copy of ``course/``, this
    process finds the copy first (the current folder is on its path), while a kernel, started elsewhere
    with a clean environment, imports the installed one. So ask a clean interpreter (``-I``), once."""
    probe = "import importlib.util as u; s = u.find_spec('course'); print(s.origin if s and s.origin else '')"
    try:
        found = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60,
                               cwd="/").stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        found = ""
    if not found:  # no clean answer: this process's view is the best guess
        spec = importlib.util.find_spec("course")
        found = spec.origin if spec is not None and spec.origin else ""
    return Path(found).parent if found else None


def kernel_environment(source: dict[str, str]) -> dict[str, str]:
    """The harmless variables of ``source`` plus a private home: what a kernel (or the zygote) may see."""
    env = {k: v for k, v in source.items() if k in ENV_NAMES or k.startswith(ENV_PREFIXES)}
    env.update(HOME="/tmp", MPLCONFIGDIR="/tmp/matplotlib", TMPDIR="/tmp",
               PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin")
    return env


def chown_tree(folder: Path | None, uid: int) -> None:
    """chown ``folder`` and everything in it to ``uid`` without following links a submission planted."""
    if folder is None:
        return
    os.lchown(folder, uid, uid)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)
