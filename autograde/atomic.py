"""Writes that are whole or not at all: a file or folder is built under a temporary name beside it, then renamed.

The one place for it: a kill at any moment leaves the old content or the new, never half of either. A file's
temporary name ends in ``PARTIAL``, so readers of a folder (``grading.records``' journal) can skip it.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

PARTIAL = ".partial"  # the suffix of a file still being written; never read as the real thing


def write_text(path: Path, text: str) -> Path:
    """``path`` holds ``text`` (UTF-8) whole, or its old content: written beside it, synced to disk, then renamed
    over it, keeping the old file's mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    temporary = path.with_name(f".{path.name}.{os.getpid()}{PARTIAL}")
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def replace_folder(dest: Path, build: Callable[[Path], None]) -> Path:
    """``dest`` replaced by a folder that ``build(folder)`` fills; the old one stays until the new one is whole."""
    dest = Path(dest)
    staging, old = dest.with_name(f".{dest.name}.incoming"), dest.with_name(f".{dest.name}.replaced")
    for leftover in (staging, old):  # from a run that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        build(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if dest.exists():
        os.rename(dest, old)
    os.rename(staging, dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest
