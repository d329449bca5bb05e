"""cgroup v2 on a delegated subtree, checked on a v2-shaped temporary tree (this host has cgroup v1).

The files are those a v2 kernel shows (cgroup.controllers, cgroup.subtree_control, cgroup.procs,
memory.max, memory.swap.max, pids.max, memory.events, pids.events); what the kernel does with them
cannot be exercised on a v1 host (see the README's threat model)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from autograde.sandbox.cgroups import LEAF, CgroupV2, delegate_v2, v2_mount, v2_own

MOUNTINFO = """\
22 1 0:21 / /sys ro,nosuid - sysfs sysfs rw
30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate
31 22 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
"""
V1_ONLY = "31 22 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"


def v2_tree(root: Path, controllers: str = "cpu io memory pids", procs: str = "") -> Path:
    """A delegated group as systemd hands it over: controllers offered, none enabled below, our pid in it."""
    own = root / "user.slice" / "grading.scope"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text(controllers + "\n")
    (own / "cgroup.subtree_control").write_text("\n")
    (own / "cgroup.procs").write_text(procs or f"{os.getpid()}\n")
    return own


def test_the_v2_mount_and_our_group_are_read_from_proc():
    assert v2_mount(MOUNTINFO) == Path("/sys/fs/cgroup")
    assert v2_mount(V1_ONLY) is None
    assert v2_own("1:memory:/x\n0::/user.slice/grading.scope\n", Path("/sys/fs/cgroup")) == \
        Path("/sys/fs/cgroup/user.slice/grading.scope")


def test_delegation_moves_us_into_a_leaf_and_enables_memory_and_pids(tmp_path):
    own = v2_tree(tmp_path)
    parent = delegate_v2(own, 4242)
    assert parent == own
    assert (own / LEAF / "cgroup.procs").read_text() == "4242"
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids"
    # A process forked later is born in the leaf: its kernels' groups go next to the leaf, nothing moves.
    (own / "cgroup.subtree_control").write_text("memory pids\n")
    assert delegate_v2(own / LEAF, 4343) == own
    assert (own / LEAF / "cgroup.procs").read_text() == "4242"


@pytest.mark.parametrize("controllers", ["cpu io", "memory", "pids"])
def test_a_group_without_memory_and_pids_is_not_used(tmp_path, controllers):
    own = v2_tree(tmp_path, controllers)
    assert delegate_v2(own, 4242) is None
    assert not (own / LEAF).exists() and (own / "cgroup.subtree_control").read_text() == "\n"


def test_a_group_we_cannot_write_is_not_used(tmp_path):
    own = v2_tree(tmp_path)
    (own / "cgroup.subtree_control").unlink()
    (own / "cgroup.subtree_control").mkdir()  # writing it fails, as EBUSY does where others live
    assert delegate_v2(own, 4242) is None


def test_a_kernels_group_gets_its_limits_and_reports_what_they_did(tmp_path):
    group = CgroupV2(tmp_path / "sandbox-hw1-abc", 700 << 20, 64)
    folder = tmp_path / "sandbox-hw1-abc"
    assert (folder / "memory.max").read_text() == str(700 << 20)
    assert (folder / "memory.swap.max").read_text() == "0"
    assert (folder / "pids.max").read_text() == "64"
    assert group.events() == []  # no event files yet: nothing happened
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\n")
    (folder / "pids.events").write_text("max 31\n")
    assert group.events() == ["memory limit reached: 2 process(es) killed", "process limit reached: 31 fork(s) refused"]
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n")
    (folder / "pids.events").write_text("max 0\n")
    assert group.events() == ["memory limit reached"]


def test_the_kernel_command_joins_the_group_before_it_runs(tmp_path):
    group = CgroupV2(tmp_path / "sandbox-join", 1 << 30, 64)
    done = subprocess.run([*group.join_command(), "sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    # The shell wrote its own pid, then became the command (exec): the kernel runs as that very process.
    assert (tmp_path / "sandbox-join" / "cgroup.procs").read_text().strip() == done.stdout.strip()
    assert group.pids() == [int(done.stdout)]
