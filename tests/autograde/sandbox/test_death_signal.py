"""What dies with the grading run: a job process with its parent, a sandbox with the process that launched it.

Each check includes the race a kill can land in: the parent dying after the fork, before the death
signal was asked for (the kernel then never sends it)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from autograde.sandbox.bubblewrap import die_with_launcher
from tests.support.processes import alive, within
from tests.support.requirements import requires

LINUX = requires(sys.platform.startswith("linux"), "death signals are Linux's")


@LINUX
def test_a_job_whose_parent_is_already_gone_dies_at_once():
    script = "import sys; from autograde.sandbox.syscalls import die_with_parent; die_with_parent(int(sys.argv[1]))"
    late = subprocess.run([sys.executable, "-c", script, "1"])  # not our parent
    assert late.returncode == -signal.SIGKILL
    in_time = subprocess.run([sys.executable, "-c", script + "; print('running')", str(os.getpid())],
                             capture_output=True, text=True)
    assert in_time.returncode == 0 and in_time.stdout == "running\n"


def _parent_of(child_code: str) -> tuple[subprocess.Popen, int]:
    """A Python process that starts a child as ``child_code`` says (it binds ``child``) and waits; and the child."""
    parent = subprocess.Popen([sys.executable, "-c", "import os, subprocess, sys, time\n" + textwrap.dedent(child_code)
                               + "print(child, flush=True)\ntime.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert not within(0.5, lambda: not alive(child))
    return parent, child


@LINUX
def test_a_job_dies_with_its_parent():
    parent, child = _parent_of("""
        me = os.getpid()
        child = os.fork()
        if child == 0:
            from autograde.sandbox.syscalls import die_with_parent
            die_with_parent(me)
            time.sleep(60)
            os._exit(0)
        """)
    parent.kill()
    parent.wait()
    assert within(10, lambda: not alive(child))


@LINUX
def test_a_sandbox_command_dies_with_its_launcher():
    launcher, kernel = _parent_of("""
        from autograde.sandbox.bubblewrap import die_with_launcher
        child = subprocess.Popen([*die_with_launcher(), "sleep", "60"]).pid
        """)
    launcher.kill()
    launcher.wait()
    assert within(10, lambda: not alive(kernel))


@LINUX
def test_a_sandbox_command_whose_launcher_is_gone_never_starts():
    prefix = die_with_launcher()
    assert prefix, "setpriv (util-linux) is missing"
    assert prefix[-1] == str(os.getpid())  # the command names the process that launches it
    mine = subprocess.run([*prefix, "echo", "started"], capture_output=True, text=True)
    assert mine.stdout == "started\n"
    prefix[-1] = "1"  # as if the launcher had died before setpriv asked for the signal
    orphan = subprocess.run([*prefix, "echo", "started"], capture_output=True, text=True)
    assert orphan.returncode != 0 and orphan.stdout == ""
