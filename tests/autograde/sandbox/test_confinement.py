"""How a warm kernel takes on its sandbox's confinement: parsing /proc, knowing the peer, the steps themselves.

Quick: the sandboxed peer is a real process in new PID and mount namespaces (``unshare``) running as a
kernel's uid, not a whole bubblewrap sandbox with a kernel."""
from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograde.sandbox.confinement import Confinement, cgroup_moves, lower_limit, pidfd_pid, read_limits
from autograde.sandbox.kernel_user import FIRST_UID
from autograde.sandbox.zygote import peer_pidfd, peer_pidfd_supported
from tests.support.requirements import requires

INF = resource.RLIM_INFINITY
LINUX = requires(sys.platform.startswith("linux") and peer_pidfd_supported(), "SO_PEERPIDFD needs Linux 6.5+")
ROOT = requires(os.geteuid() == 0, "entering namespaces and changing user needs root")
LIMITS = """\
Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max data size             3221225472           3221225472           bytes
Max processes             64                   128                  processes
Max open files            1024                 1048576              files
Max realtime timeout      unlimited            unlimited            us
Max imaginary thing       1                    2                    things
"""


def test_read_limits_reads_a_proc_limits_table():
    assert read_limits(LIMITS) == {resource.RLIMIT_CPU: (INF, INF), resource.RLIMIT_DATA: (3 << 30, 3 << 30),
                                   resource.RLIMIT_NPROC: (64, 128), resource.RLIMIT_NOFILE: (1024, 1048576),
                                   resource.RLIMIT_RTTIME: (INF, INF)}


def test_read_limits_agrees_with_getrlimit():
    limits = read_limits(Path("/proc/self/limits").read_text())
    assert len(limits) >= 15
    assert all(resource.getrlimit(res) == value for res, value in limits.items())


@pytest.mark.parametrize("a, b, lower", [(1, 2, 1), (2, 1, 1), (INF, 5, 5), (5, INF, 5), (INF, INF, INF)])
def test_lower_limit_never_raises_one(a, b, lower):
    assert lower_limit(a, b) == lower


@pytest.mark.parametrize("peer, own, moves", [
    ("4:memory:/sandbox-1\n8:pids:/sandbox-1\n0::/\n", "4:memory:/\n8:pids:/\n0::/\n",
     ["/sys/fs/cgroup/memory/sandbox-1", "/sys/fs/cgroup/pids/sandbox-1"]),
    ("9:name=systemd:/x\n", "9:name=systemd:/\n", ["/sys/fs/cgroup/systemd/x"]),
    ("0::/grading/sandbox-2\n", "0::/grading/course-grader\n", ["/sys/fs/cgroup/grading/sandbox-2"]),
    ("4:memory:/a\n0::/\n", "4:memory:/a\n0::/\n", []),
])
def test_cgroup_moves_are_the_groups_the_peer_is_in_and_we_are_not(peer, own, moves):
    assert cgroup_moves(peer, own) == [Path(m) for m in moves]


def peer(command: list[str], listener: socket.socket) -> tuple[subprocess.Popen, socket.socket]:
    """Start ``command`` (which connects to ``listener`` and waits), and accept it."""
    script = "import socket, sys, time\nc = socket.socket(socket.AF_UNIX)\nc.connect(sys.argv[1])\ntime.sleep(30)"
    process = subprocess.Popen([*command, sys.executable, "-c", script, listener.getsockname()],
                               env={"PATH": os.environ["PATH"], "PEER_MARK": "peer"}, cwd="/")
    listener.settimeout(10)
    return process, listener.accept()[0]


@pytest.fixture
def listener():
    folder = Path(tempfile.mkdtemp(prefix="confinement-"))  # pytest's own folders are 0700: not for a peer uid
    os.chmod(folder, 0o755)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(folder / "s"))
        os.chmod(folder / "s", 0o666)
        server.listen()
        yield server
    shutil.rmtree(folder)


@LINUX
def test_the_peer_is_known_by_a_pidfd_and_an_exited_one_is_refused(listener):
    process, conn = peer([], listener)
    pidfd = peer_pidfd(conn)
    assert pidfd_pid(pidfd) == process.pid
    with pytest.raises(PermissionError, match="not in a sandbox"):
        Confinement(pidfd)  # a plain process of ours: never a warm kernel's model
    process.kill()
    process.wait()  # gone, its pid free for reuse: the pidfd says so instead of naming another process
    with pytest.raises(PermissionError, match="exited"):
        Confinement(pidfd)


SANDBOXED = ["unshare", "--pid", "--mount", "--fork", "--kill-child", "prlimit", "--nofile=77:99", "--"]


@LINUX
@ROOT
def test_a_peer_running_as_root_is_refused(listener):
    process, conn = peer(SANDBOXED, listener)
    try:
        with pytest.raises(PermissionError, match="runs as root"):
            Confinement(peer_pidfd(conn))
    finally:
        process.kill()


@LINUX
@ROOT
def test_a_fork_takes_on_the_peers_confinement_and_drops_every_right(listener):
    uid = FIRST_UID + 4000
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    process, conn = peer([*SANDBOXED, *drop], listener)
    try:
        confinement = Confinement(peer_pidfd(conn))
        assert (confinement.uid, confinement.gid, confinement.groups) == (uid, uid, [])
        assert {"pid", "mnt"} <= set(confinement.namespaces) and "net" not in confinement.namespaces
        assert confinement.limits[resource.RLIMIT_NOFILE] == (77, 99)
        assert confinement.environ == {"PATH": os.environ["PATH"], "PEER_MARK": "peer"}
        facts = _entered(confinement)
    finally:
        process.kill()
    assert facts["ids"] == [uid, uid, uid, uid] and facts["groups"] == []
    assert facts["CapEff"] == facts["CapPrm"] == facts["CapBnd"] == "0000000000000000"
    assert facts["NoNewPrivs"] == "1" and facts["nofile"] == [77, 99] and facts["cwd"] == "/"
    assert facts["mnt"] == facts["peer_mnt"] != os.readlink("/proc/self/ns/mnt")
    assert facts["environ"] == {"PATH": os.environ["PATH"], "PEER_MARK": "peer"}


def _entered(confinement: Confinement) -> dict:
    """Fork, let the child enter ``confinement`` and report what it then is."""
    peer_mnt = os.readlink(f"/proc/self/fd/{confinement.namespaces['mnt']}")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            null = os.open("/dev/null", os.O_RDWR)
            confinement.enter([null, null, null], keep=write)
            status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
            facts = {key: status[key].strip() for key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs")}
            facts.update(ids=[os.getuid(), os.geteuid(), os.getgid(), os.getegid()], groups=os.getgroups(),
                         nofile=list(resource.getrlimit(resource.RLIMIT_NOFILE)), cwd=os.getcwd(),
                         mnt=os.readlink("/proc/self/ns/mnt"), peer_mnt=peer_mnt, environ=dict(os.environ))
            os.write(write, json.dumps(facts).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as report:
        text = report.read()
    os.waitpid(child, 0)
    return json.loads(text)
