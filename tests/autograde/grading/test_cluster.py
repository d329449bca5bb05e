"""course grade on a real dask cluster: `dask scheduler` and two `dask worker` processes on loopback."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograde.cli import main
from autograde.demo_class import reference, write_submission
from autograde.grading.cluster import WarmKernels
from autograde.sandbox import zygote
from autograde.sandbox.bubblewrap import bwrap_status
from tests.support.grading_course import ASSIGNMENT, add_class, make_course
from tests.support.hostile import EXPECTED, hostile_notebooks, scores
from tests.support.requirements import requires

distributed = pytest.importorskip("distributed")
pytestmark = [pytest.mark.slow, requires(bwrap_status()[0] is not None, bwrap_status()[1])]
DASK = str(Path(sys.executable).parent / "dask")
ON_CLUSTER = ["read_gradebook", "network", "memory_bomb"]
# A cell limit far above the course's 4 s: what must stop the memory bomb here is the memory limit. On a fresh
# virtual machine the first touch of memory is slow (about 10 s per GiB, measured), and the bomb's 500 MiB
# then ran past 4 s in CI before the limit could stop it.
LIMITS = ["--memory-mb", "700", "--max-processes", "64", "--output-mb", "1", "--notebook-timeout", "60",
          "--timeout", "60", "--require-sandbox"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers, each a process started from the command line."""
    folder = tmp_path_factory.mktemp("cluster")
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = open(folder / "cluster.log", "w")
    processes = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                   "--no-dashboard"], env=env, stdout=log, stderr=log)]
    processes += [subprocess.Popen([DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                    "--name", f"worker-{n}", "--local-directory", str(folder / f"worker-{n}")],
                                   env=env, stdout=log, stderr=log) for n in (1, 2)]
    try:
        with distributed.Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@requires(zygote.warm_start_possible(), "warm starts need root")
def test_every_worker_keeps_a_warm_zygote(cluster):
    def zygote_pid() -> int | None:
        from autograde.sandbox import zygote
        return zygote._shared.process.pid if zygote.shared_running() else None

    with distributed.Client(cluster, set_as_default=False) as client:
        client.register_plugin(WarmKernels())  # as course grade does
        running = client.run(zygote_pid)
        client.register_plugin(WarmKernels())  # the next course grade keeps them (it used to import torch again)
        assert client.run(zygote_pid) == running
    assert len(running) == 2 and all(running.values())


def test_the_sandbox_and_limits_hold_on_the_workers(cluster, tmp_path):
    course = make_course(tmp_path / "course")
    honest = add_class(course, ["reference", "partly-right", "untouched"])
    local = shutil.copytree(course, tmp_path / "local")
    assert main(["--course", str(local), "grade", ASSIGNMENT, "--workers", "2", *LIMITS]) == 0
    with socket.socket() as listener:  # what the network submission tries to reach from its worker
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        notebooks = hostile_notebooks(course, listener.getsockname()[1])
        for case in ON_CLUSTER:
            write_submission(course, ASSIGNMENT, f"hostile-{case}", {ASSIGNMENT: notebooks[case]})
        assert main(["--course", str(course), "grade", ASSIGNMENT, "--scheduler", cluster, *LIMITS]) == 0
    records = {r["student"]: r for r in json.loads((course / "reports" / ASSIGNMENT / "results.json").read_text())}
    for case in ON_CLUSTER:
        statuses, square, _, words = EXPECTED[case]
        record = records[f"hostile-{case}"]
        assert record["status"] in statuses and words in record["reason"], record
        assert scores(course)[(f"hostile-{case}", "test_square")] == square
        assert record["host"]  # ran on a worker
    graded = scores(course)
    assert {k: v for k, v in graded.items() if k[0] in honest} == scores(local)


def _worker_running(client, needle: str, timeout: float = 120) -> str | None:
    """The address of the worker that is executing the task whose key holds ``needle``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if any(needle in str(key) for key in keys):
                return worker
        time.sleep(0.05)
    return None


def test_a_worker_killed_mid_run_loses_nothing(cluster, tmp_path):
    course = make_course(tmp_path / "course")
    add_class(course, ["reference", "partly-right", "untouched", "exception"])
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    slow = reference(source, release)
    next(c for c in slow.cells if c.metadata.get("nbgrader", {}).get("solution")).source += "\nimport time; time.sleep(6)\n"
    write_submission(course, ASSIGNMENT, "student-05-slow", {ASSIGNMENT: slow})
    local = shutil.copytree(course, tmp_path / "local")
    assert main(["--course", str(local), "grade", ASSIGNMENT, "--workers", "2"]) == 0

    run = subprocess.Popen([sys.executable, "-m", "autograde.cli", "--course", str(course), "grade", ASSIGNMENT,
                            "--scheduler", cluster], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with distributed.Client(cluster, set_as_default=False) as client:
        victim = _worker_running(client, "student-05-slow")
        assert victim is not None, run.communicate()
        time.sleep(1)  # well inside its kernel's six seconds of sleep
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, out + err
        client.wait_for_workers(2, timeout=120)  # its nanny starts a new worker, for the next test
    assert scores(course) == scores(local)
    assert not list((course / "autograded").glob("*/.*"))
    attempts = {r["student"]: r["attempts"] for r in json.loads((course / "reports" / ASSIGNMENT / "results.json").read_text())}
    assert attempts["student-05-slow"] == 2 and attempts["student-01-reference"] == 1  # dask ran the killed one twice
