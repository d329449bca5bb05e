"""Run tests as on a host without writable cgroups (most cgroup v2 hosts): this machine has writable v1 cgroups,
so a child pytest runs in a mount namespace of its own (``unshare -m``) with an empty tmpfs over /sys/fs/cgroup."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from autograde.sandbox.bubblewrap import bwrap_status
from tests.support.paths import REPO
from tests.support.requirements import STRICT_VARIABLE, requires

NO_CGROUPS = "from autograde.sandbox.cgroups import cgroups_writable; assert not cgroups_writable(), 'cgroups seen'"
NEEDS = [pytest.mark.slow, requires(bwrap_status()[0] is not None, bwrap_status()[1]),
         requires(os.geteuid() == 0 and shutil.which("unshare") is not None,
                  "hiding cgroups needs root and unshare (util-linux)")]


def pytest_without_cgroups(targets: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m pytest TARGETS`` where no cgroup can be seen (checked first), missing requirements failing."""
    inner = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=0", *targets]
    script = 'mount -t tmpfs none /sys/fs/cgroup && "$0" -c "$1" && shift && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, sys.executable, NO_CGROUPS, *inner],
                          cwd=REPO, env={**os.environ, STRICT_VARIABLE: "1"}, capture_output=True, text=True,
                          timeout=timeout)
