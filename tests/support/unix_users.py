"""Real Unix users for a test, as on a shared JupyterHub: created with useradd, removed after, commands run as them.

A student runs nbgrader with a Python they can reach. The test's own interpreter may sit in a folder
only root may enter (/root/.pyenv); then the system's Python of the same version runs, with this
environment's site-packages on PYTHONPATH (world-readable), as one shared environment on a hub would.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Iterator
from pathlib import Path

TOOLS = ("useradd", "userdel", "runuser")


def _reachable_by_everyone(path: Path) -> bool:
    """Whether any user may execute ``path``: every folder above it searchable, the file executable by others."""
    path = path.resolve()
    return all(os.stat(folder).st_mode & 0o001 for folder in path.parents) and bool(os.stat(path).st_mode & 0o001)


def student_python() -> Path | None:
    """An interpreter of this Python version that any user can run, or None."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (Path(sys.executable), Path(f"/usr/bin/{version}"), Path(f"/usr/local/bin/{version}")):
        if candidate.exists() and _reachable_by_everyone(candidate):
            return candidate
    return None


def unix_users_status() -> tuple[bool, str]:
    """(usable, why not): root, the user tools, and a Python the new users can run."""
    if os.geteuid() != 0:
        return False, "creating Unix users (useradd) needs root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return False, f"{', '.join(missing)} not found (apt-get install passwd util-linux)"
    if student_python() is None:
        return False, f"no python{sys.version_info.major}.{sys.version_info.minor} that other users can run"
    return True, ""


@contextlib.contextmanager
def unix_users(count: int, prefix: str = "cs") -> Iterator[list[str]]:
    """``count`` new users with home folders (unique names); removed with their homes afterwards."""
    names: list[str] = []
    try:
        for _ in range(count):
            name = f"{prefix}{uuid.uuid4().hex[:10]}"
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True, capture_output=True)
            names.append(name)
        yield names
    finally:
        for name in names:
            subprocess.run(["userdel", "--remove", name], capture_output=True)


def home(user: str) -> Path:
    return Path(os.path.expanduser(f"~{user}"))


def run_as(user: str, *command: str) -> subprocess.CompletedProcess:
    """Run ``command`` as ``user`` in their home, with a clean login-like environment; fails loudly."""
    env = ["HOME=" + str(home(user)), "USER=" + user, "LOGNAME=" + user, "PATH=/usr/bin:/bin",
           "PYTHONPATH=" + sysconfig.get_paths()["purelib"]]
    done = subprocess.run(["runuser", "-u", user, "--", "env", "-i", *env, *command], cwd=home(user),
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"as {user}: {' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def nbgrader_as(user: str, *args: str) -> subprocess.CompletedProcess:
    """The real ``nbgrader`` command line, run by ``user`` in their home."""
    return run_as(user, str(student_python()), "-m", "nbgrader", *args)
