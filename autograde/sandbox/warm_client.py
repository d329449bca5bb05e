"""Inside the sandbox: borrow a warm kernel from the zygote, or start a cold one.

Run as ``python -I -S warm_client.py SOCKET -- KERNEL_ARGS...`` where a cold start would run
``python -m ipykernel_launcher KERNEL_ARGS...``. Standard library only (``-S``), so it starts in
milliseconds. It hands the zygote its stdin/stdout/stderr, then waits for the kernel the zygote
forked into this very sandbox (same namespaces, cgroups, limits, user) and exits with its status,
so bubblewrap, the cgroup and the kernel manager see it as the kernel. When the zygote cannot be
reached it becomes the cold kernel itself (exec), so a warm start is never a failure.
"""
import json
import os
import socket
import sys


def borrow(path: str, kernel_args: list[str]) -> int:
    """Ask the zygote at ``path`` for a kernel; its exit status (raises OSError if unreachable)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    request = json.dumps({"argv": kernel_args}).encode() + b"\n"
    socket.send_fds(conn, [request], [0, 1, 2])
    reply = conn.makefile("r")
    started = reply.readline()
    if not started.startswith("started"):
        raise OSError(f"zygote refused: {started.strip() or 'no answer'}")
    status = reply.readline().split()  # "exit N" once the kernel ends; nothing if the zygote died
    return int(status[1]) if len(status) == 2 and status[0] == "exit" else 1


def main(argv: list[str]) -> int:
    """``SOCKET -- KERNEL_ARGS...``: a warm kernel's exit status, or become the cold kernel."""
    path, kernel_args = argv[0], argv[argv.index("--") + 1:]
    try:
        return borrow(path, kernel_args)
    except OSError as error:
        print(f"warm start unavailable ({error}); starting a cold kernel", file=sys.stderr)
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *kernel_args])
    return 1  # not reached: execv replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
