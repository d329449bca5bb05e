"""Host processes seen from /proc: whether one still runs, which are in a grading run's sandboxes."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def alive(pid: int) -> bool:
    """Running (a zombie waiting for the host's init to reap it counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def sandbox_processes(tag: str) -> set[int]:
    """Host processes in a cgroup whose name holds ``tag`` (course grade names them sandbox-ASSIGNMENT-PID-...)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if tag in (entry / "cgroup").read_text():
                    found.add(int(entry.name))
            except OSError:
                pass
    return found


def within(limit_s: float, condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` holds at some check within ``limit_s`` seconds (checked every 0.05 s)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
