"""The sandbox's limits hold per kernel where no cgroup is writable, the case of most real (cgroup v2) hosts.

This machine has writable v1 cgroups, so the attacks whose containment differs without them are run
again in a child pytest that sees none: in a mount namespace of its own (``unshare -m``) with an
empty tmpfs over /sys/fs/cgroup. There a fork bomb meets the kernel's own uid's RLIMIT_NPROC, memory
spread over many processes (and into /tmp) meets the memory watch, and a plain notebook still runs
right, confined.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from autograde.sandbox.bubblewrap import bwrap_status
from tests.support.paths import REPO
from tests.support.requirements import STRICT_VARIABLE, requires

pytestmark = [pytest.mark.slow, requires(bwrap_status()[0] is not None, bwrap_status()[1]),
              requires(os.geteuid() == 0 and shutil.which("unshare") is not None,
                       "hiding cgroups needs root and unshare (util-linux)")]
SANDBOX_TESTS = "tests/autograde/sandbox/test_sandbox.py"
ATTACKS = ["test_fork_bomb_is_contained_and_nothing_survives", "test_memory_spread_over_processes_is_contained",
           "test_files_in_tmp_count_as_memory", "test_kernel_sees_only_its_scratch_dir"]
NO_CGROUPS = "from autograde.sandbox.cgroups import cgroups_writable; assert not cgroups_writable(), 'cgroups seen'"


def test_the_attacks_are_contained_with_cgroups_hidden():
    inner = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=0",
             *(f"{SANDBOX_TESTS}::{name}" for name in ATTACKS)]
    script = 'mount -t tmpfs none /sys/fs/cgroup && "$0" -c "$1" && shift && exec "$@"'
    done = subprocess.run(["unshare", "-m", "sh", "-c", script, sys.executable, NO_CGROUPS, *inner],
                          cwd=REPO, env={**os.environ, STRICT_VARIABLE: "1"}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert f"{len(ATTACKS)} passed" in done.stdout, done.stdout[-3000:]
