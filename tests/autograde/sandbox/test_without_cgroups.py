"""The sandbox's limits hold per kernel where no cgroup is writable, the case of most real (cgroup v2) hosts.

This machine has writable v1 cgroups, so the attacks whose containment differs without them are run
again in a child pytest that sees none: in a mount namespace of its own (``unshare -m``) with an
empty tmpfs over /sys/fs/cgroup. There a fork bomb meets the kernel's own uid's RLIMIT_NPROC, memory
spread over many processes (and into /tmp) meets the memory watch, and a plain notebook still runs
right, confined.
"""
from __future__ import annotations

from tests.support.hidden_cgroups import NEEDS, pytest_without_cgroups

pytestmark = NEEDS
SANDBOX_TESTS = "tests/autograde/sandbox/test_sandbox.py"
ATTACKS = ["test_fork_bomb_is_contained_and_nothing_survives", "test_memory_spread_over_processes_is_contained",
           "test_files_in_tmp_count_as_memory", "test_kernel_sees_only_its_scratch_dir"]


def test_the_attacks_are_contained_with_cgroups_hidden():
    done = pytest_without_cgroups([f"{SANDBOX_TESTS}::{name}" for name in ATTACKS])
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert f"{len(ATTACKS)} passed" in done.stdout, done.stdout[-3000:]
