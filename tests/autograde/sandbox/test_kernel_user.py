"""Limits that hold per kernel without any cgroup: a uid of its own per kernel, and the memory watch.

Real processes run as a reserved uid (root only), each for about a second."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from autograde.sandbox.kernel_user import FIRST_UID, SLOTS, KernelUser, user_processes
from autograde.sandbox.memory_watch import MemoryWatch, memory_of
from tests.support.processes import alive, within
from tests.support.requirements import requires

TEST_UID = FIRST_UID + SLOTS - 8  # the top of the range: slots a running kernel takes last
ROOT = requires(os.geteuid() == 0 and sys.platform.startswith("linux"), "switching to a kernel's uid needs root")
HOLD = "import sys, time\nx = bytearray({mib} << 20)\nx[::4096] = b'y' * len(x[::4096])\nprint('ready', flush=True)\n" \
       "time.sleep(30)"


def run_as(uid: int, mib: int) -> subprocess.Popen:
    """A process of ``uid`` holding ``mib`` MiB of touched memory (started once it holds them)."""
    child = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", sys.executable, "-c",
                              HOLD.format(mib=mib)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "ready\n"
    return child


@ROOT
def test_each_kernel_gets_a_uid_of_its_own_until_it_is_released(tmp_path):
    first, second = KernelUser(tmp_path, TEST_UID), KernelUser(tmp_path, TEST_UID)
    assert first.uid != second.uid and {first.uid, second.uid} <= set(range(TEST_UID, TEST_UID + 2))
    first.release()
    third = KernelUser(tmp_path, TEST_UID)
    assert third.uid == first.uid  # a released uid is taken again
    for user in (second, third):
        user.release()


@ROOT
def test_a_uid_is_taken_only_once_nothing_of_it_runs(tmp_path):
    leftover = run_as(TEST_UID, 1)  # as a sandbox of a crashed run could have left it
    assert user_processes(TEST_UID) == [leftover.pid]
    user = KernelUser(tmp_path, TEST_UID)
    assert user.uid == TEST_UID and user.pids() == []
    leftover.wait(timeout=5)
    user.release()


@ROOT
def test_the_watch_kills_the_largest_process_when_all_together_pass_the_limit(tmp_path):
    user = KernelUser(tmp_path, TEST_UID)
    small, large = run_as(user.uid, 60), run_as(user.uid, 120)
    watch = MemoryWatch(user.uid, 150 << 20, 64)
    try:
        assert memory_of(large.pid) >= 120 << 20 and memory_of(small.pid) >= 60 << 20
        watch.look()
        assert within(5, lambda: not alive(large.pid)) and alive(small.pid)
        watch.look()  # under the limit again: the small one lives on
        assert alive(small.pid) and watch.killed == 1
        assert watch.events()[0].startswith("memory limit reached: 1 process(es) killed"), watch.events()
    finally:
        user.release()
    assert not alive(small.pid) and user_processes(user.uid) == []


@ROOT
def test_the_watch_notes_a_full_process_table(tmp_path):
    user = KernelUser(tmp_path, TEST_UID)
    children = [run_as(user.uid, 1) for _ in range(3)]
    try:
        watch = MemoryWatch(user.uid, 1 << 30, 3)
        watch.look()
        assert watch.events() == ["process limit reached"] and watch.killed == 0
    finally:
        user.release()
    assert not [c for c in children if alive(c.pid)]


def test_limits_that_do_not_hold_per_kernel_are_said_once_loudly(monkeypatch):
    from autograde.sandbox import manager

    monkeypatch.setattr(manager, "cgroups_writable", lambda: False)  # this host's v1 cgroups, hidden
    monkeypatch.setattr(manager, "_warned_shared", [])
    km = manager.SandboxKernelManager(processes=50)  # not started, so no uid of its own: as when not root
    with pytest.warns(RuntimeWarning, match="SANDBOX LIMITS SHARED") as caught:
        first, second = km.format_kernel_cmd(), km.format_kernel_cmd()
    assert len([w for w in caught if "SANDBOX LIMITS SHARED" in str(w.message)]) == 1
    assert "--nproc=400" in first and first == second
