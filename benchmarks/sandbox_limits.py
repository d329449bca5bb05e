"""Per-kernel limits under attack: how many processes a fork bomb reaches, how much host memory many processes take.

    python benchmarks/sandbox_limits.py [--children 8] [--bombs 3] [--cold-start]
    unshare -m sh -c 'mount -t tmpfs none /sys/fs/cgroup && python benchmarks/sandbox_limits.py'

The second line hides this host's cgroups, as on a host without a writable cgroup (most cgroup v2
hosts). A fork bomb runs under a 64-process limit and prints the most processes its sandbox showed;
then ``--children`` processes of one kernel each touch 1 GiB under a 2 GiB limit, while the host's
MemAvailable is sampled every 50 ms: the drop printed is the most memory the kernel took from the host.
"""
from __future__ import annotations

import argparse
import textwrap
import threading

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from autograde.config import GradingSettings
from autograde.sandbox import SandboxKernelManager, cgroups_writable

BOMB = """
    import os, subprocess, sys, time
    bomb = "import os\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        pass"
    subprocess.Popen([sys.executable, "-c", bomb])
    most = 0
    for _ in range(30):
        most = max(most, len([d for d in os.listdir("/proc") if d.isdigit()]))
        time.sleep(0.1)
    print(most)
"""
SPREAD = """
    import subprocess, sys
    hog = "import time\\nx = bytearray(1 << 30)\\nx[::4096] = b'y' * len(x[::4096])\\ntime.sleep(4)"
    children = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range({children})]
    print([child.wait(timeout=120) for child in children])
"""


def available() -> int:
    """The host's MemAvailable in bytes."""
    with open("/proc/meminfo") as meminfo:
        return next(int(line.split()[1]) << 10 for line in meminfo if line.startswith("MemAvailable:"))


def run(cell: str, settings: GradingSettings, warm_start: bool) -> tuple[str, int, list[str]]:
    """Run ``cell`` in one sandboxed kernel: what it printed, the largest drop of MemAvailable, the limits' notes."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(cell))])
    km = SandboxKernelManager(config=settings.as_config(), warm_start=warm_start)
    client = NotebookClient(nb, km=km, config=settings.as_config(), allow_errors=True, timeout=120)
    before, lowest, done = available(), [available()], threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            lowest[0] = min(lowest[0], available())

    sampler = threading.Thread(target=sample)
    sampler.start()
    died = ""
    try:
        client.execute(cleanup_kc=True)
    except DeadKernelError:
        died = " (the kernel died)"
    finally:
        done.set()
        sampler.join()
    printed = "".join(o.get("text", "") or o.get("ename", "") for o in nb.cells[0].outputs).strip()
    return printed + died, before - lowest[0], km.resource_notes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=8, help="processes of 1 GiB each (limit 2 GiB)")
    parser.add_argument("--bombs", type=int, default=3, help="fork bombs, one after another (limit 64)")
    parser.add_argument("--cold-start", action="store_true", help="no warm kernels")
    args = parser.parse_args()
    print(f"cgroups writable: {cgroups_writable()}")
    for _ in range(args.bombs):
        most, _, notes = run(BOMB, GradingSettings(processes=64), not args.cold_start)
        print(f"fork bomb, limit 64: most processes seen {most}; {notes}")
    codes, drop, notes = run(SPREAD.format(children=args.children), GradingSettings(memory_bytes=2 << 30), not args.cold_start)
    print(f"{args.children} x 1 GiB, limit 2048 MiB: host MemAvailable fell by {drop >> 20} MiB; exits {codes}; {notes}")


if __name__ == "__main__":
    main()
