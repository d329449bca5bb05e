"""How `course grade` scales with the class: throughput, parallel efficiency and the parent's peak memory.

    python benchmarks/class_scale.py                      # classes of 50, 200 and 500 submissions
    python benchmarks/class_scale.py --sizes 50 200       # fewer

Each class is the demo's made-up class (autograde.demo_class) of the small test assignment
(tests/fixtures/assignments/mini), graded four ways: locally with 1 and with 2 worker processes, and on a
cluster of a `dask scheduler` and two `dask worker` processes (one thread each) started from the
command line on loopback (each worker keeps a warm zygote), once as deployed and once with cold
kernel starts (``warm_start=False``, as `course grade --cold-start`). Every run is a fresh `grade()`
in a child process whose own peak RSS (RUSAGE_SELF, not its workers' or kernels') is the parent's
memory. Per-submission overhead is the median time of one notebook, kernel start included; a last
table compares it warm and cold, locally and on the cluster, for the same assignment with
`import torch` in its setup cell (where warm starts pay).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.grading_course import ASSIGNMENT, add_class, make_course  # noqa: E402

KINDS = ["reference", "partly-right", "untouched", "exception"]
CHILD = """
import json, resource, statistics, sys
from autograde.config import GradingSettings
from autograde.course_dir import load_config
from autograde.grading.grade import grade
settings = GradingSettings.for_course(load_config(sys.argv[1]), warm_start=False if sys.argv[5] == "cold" else None)
summary = grade(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]) or None, scheduler=sys.argv[4] or None,
                settings=settings, progress=False, force=True)
print(json.dumps({"seconds": summary.seconds, "graded": len({r.student for r in summary.records}),
                  "median": statistics.median(r.duration for r in summary.records),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


@contextmanager
def command_line_cluster(folder: Path):
    """`dask scheduler` plus two single-threaded `dask worker` processes on loopback; yields the address."""
    from distributed import Client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    dask = str(Path(sys.executable).parent / "dask")
    log = open(folder / f"cluster-{port}.log", "w")
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                  env=env, stdout=log, stderr=log)]
    processes += [subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                    "--local-directory", str(folder / f"w{n}-{port}")], env=env, stdout=log, stderr=log)
                  for n in (1, 2)]
    try:
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        log.close()


def grade_once(course: Path, workers: int, scheduler: str = "", cold: bool = False) -> dict:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(course), ASSIGNMENT, str(workers), scheduler,
                           "cold" if cold else ""],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"grading failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def torch_course(base: Path, folder: Path, students: int) -> Path:
    """The small assignment with `import torch` in its setup cell (so kernels start warm), and a class."""
    import nbformat

    from autograde.generate import generate

    course = shutil.copytree(base, folder / "torch-class", ignore=shutil.ignore_patterns("release", "gradebook.db"))
    path = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    setup = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    setup.source = "import torch\n" + setup.source
    nbformat.write(nb, path)
    generate(course, [ASSIGNMENT])
    add_class(course, [KINDS[i % len(KINDS)] for i in range(students)])
    return course


def overhead(course: Path, cluster: str) -> None:
    """Median seconds per notebook that imports torch: locally and on the cluster, warm and cold."""
    print("\nper-submission time of a notebook that imports torch (median, kernel start included):")
    for mode, workers, scheduler, cold in (("local, 2 workers, warm", 2, "", False),
                                           ("local, 2 workers, cold", 2, "", True),
                                           ("cluster, 2 workers, warm", 0, cluster, False),
                                           ("cluster, 2 workers, cold", 0, cluster, True)):
        run = grade_once(course, workers, scheduler, cold)
        print(f"  {mode:<26} {run['median']:5.2f} s/notebook", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[50, 200, 500])
    parser.add_argument("--overhead-students", type=int, default=16,
                        help="class size for the warm/cold overhead comparison (0: skip it)")
    args = parser.parse_args()
    print(f"{'class':>5}  {'mode':<22} {'subs/min':>8} {'efficiency':>10} {'parent MB':>9} {'s/notebook':>10}")
    with tempfile.TemporaryDirectory(prefix="class-scale-") as tmp:
        folder = Path(tmp)
        base = make_course(folder / "base")
        with command_line_cluster(folder) as cluster:
            for size in args.sizes:
                course = folder / f"class-{size}"
                shutil.copytree(base, course)
                add_class(course, [KINDS[i % len(KINDS)] for i in range(size)])
                single = None
                for mode, workers, scheduler, cold in (("local, 1 worker", 1, "", False),
                                                       ("local, 2 workers", 2, "", False),
                                                       ("cluster, 2 workers", 0, cluster, False),
                                                       ("cluster, 2 workers, cold", 0, cluster, True)):
                    run = grade_once(course, workers, scheduler, cold)
                    assert run["graded"] == size, run
                    rate = 60 * size / run["seconds"]
                    single = single or rate
                    efficiency = rate / (single * (workers or 2))
                    print(f"{size:>5}  {mode:<22} {rate:>8.0f} {efficiency:>10.0%} {run['peak_mb']:>9.0f} "
                          f"{run['median']:>10.2f}", flush=True)
            if args.overhead_students:
                overhead(torch_course(base, folder, args.overhead_students), cluster)


if __name__ == "__main__":
    main()
