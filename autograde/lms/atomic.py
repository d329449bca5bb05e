"""Writes that are whole or not at all: a file or folder is built under a temporary name, then renamed."""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
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
