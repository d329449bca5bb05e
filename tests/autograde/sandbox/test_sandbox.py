"""The sandboxed kernel: real bubblewrap, real ipykernel, real limits, probed from inside the kernel."""
from __future__ import annotations

import json
import os
import re
import socket
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograde.config import GradingSettings
from autograde.grading.execute import LimitedKernelManager
from autograde.sandbox import SandboxKernelManager, SandboxUnavailable, bubblewrap, warm, zygote
from autograde.sandbox.bubblewrap import bwrap_status
from autograde.sandbox.cgroups import cgroups_writable, own_cgroup
from autograde.sandbox.kernel_user import FIRST_UID, SLOTS
from tests.support.processes import alive
from tests.support.requirements import requires

pytestmark = pytest.mark.slow
needs_bwrap = requires(bwrap_status()[0] is not None, bwrap_status()[1])
needs_cgroups = requires(cgroups_writable(), "cgroup v1 memory/pids not writable")
# Limits that hold for all of a kernel's processes together: cgroups, or (as root) a uid of its own and the memory watch.
needs_kernel_limits = requires(cgroups_writable() or os.geteuid() == 0, "no writable cgroup and not root")


def kernel_uid(uid: int) -> bool:
    """Whether ``uid`` is one a kernel has to itself (root grades: each kernel its own, never ours)."""
    return FIRST_UID <= uid < FIRST_UID + SLOTS


def run_cells(sources: list[str], scratch: Path, settings: GradingSettings | None = None, **manager_options):
    """Execute ``sources`` in a fresh sandboxed kernel; return (notebook, manager, error or None, host pids seen)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(s)) for s in sources]
    config = (settings or GradingSettings()).as_config()
    km = SandboxKernelManager(config=config, **manager_options)
    client = NotebookClient(nb, km=km, config=config, allow_errors=True,
                            resources={"metadata": {"path": str(scratch)}})
    seen: set[int] = set()
    original = client.on_cell_complete  # remember the kernel's host processes while it runs

    def remember(**kwargs):
        seen.update(km.sandbox_pids())
        return original(**kwargs) if original else None

    client.on_cell_complete = remember
    error = None
    try:
        client.execute(cleanup_kc=True)  # shut the kernel down although we own the manager
    except (CellTimeoutError, DeadKernelError) as caught:
        error = caught
    return nb, km, error, seen


def stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def assert_gone(pids: set[int]) -> None:
    assert not [pid for pid in pids if alive(pid)], "processes of the kernel outlived it"


@needs_bwrap
def test_kernel_sees_only_its_scratch_dir(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    secret = course / "source" / "hidden_tests.ipynb"
    secret.write_text("the hidden tests")
    gradebook = course / "gradebook.db"
    gradebook.write_bytes(b"SQLite format 3\0")
    scratch = course / "submitted" / "alice"
    scratch.mkdir(parents=True)
    (scratch / "answer.txt").write_text("mine")
    host_tmp = Path("/tmp") / f"host-only-{os.getpid()}"
    host_tmp.write_text("not for the kernel")
    monkeypatch.setenv("GRADER_TOKEN", "s3cret")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    probe = f"""
        import json, os, socket, sys
        result = {{"uid": os.getuid(), "cwd": os.getcwd(), "env": "GRADER_TOKEN" in os.environ}}
        result["see"] = {{p: os.path.exists(p) for p in {[str(secret), str(gradebook), str(host_tmp)]}}}
        result["course"] = os.listdir({str(course)!r})
        result["home"] = sorted(os.listdir({str(Path.home())!r}) if os.path.isdir({str(Path.home())!r}) else [])
        result["answer"] = open("answer.txt").read()
        def attempt(action):
            try:
                action()
                return "ok"
            except Exception as error:
                return type(error).__name__
        result["loopback"] = attempt(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
        result["internet"] = attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
        result["write_prefix"] = attempt(lambda: open(os.path.join(sys.prefix, "pwned"), "w"))
        result["write_course_pkg"] = attempt(lambda: open(os.path.join(os.path.dirname(__import__("importlib.util").util.find_spec("course").origin), "pwned.py"), "w"))
        result["write_etc"] = attempt(lambda: open("/etc/pwned", "w"))
        result["write_tmp"] = attempt(lambda: open("/tmp/kernel-only", "w").write("x"))
        result["write_scratch"] = attempt(lambda: open("made-here.txt", "w").write("x"))
        print(json.dumps(result))
    """
    try:
        nb, km, error, seen = run_cells([probe], scratch)
    finally:
        host_tmp.unlink()
        listener.close()
    assert error is None, error
    result = json.loads(stdout(nb.cells[0]))
    assert km.sandboxed
    if os.geteuid() == 0:
        assert kernel_uid(result["uid"])
    assert result["cwd"] == str(scratch) and result["answer"] == "mine"
    assert result["see"] == {str(secret): False, str(gradebook): False, str(host_tmp): False}
    assert result["course"] == ["submitted"]  # only the way down to the scratch directory
    # Only an interpreter installed there (pyenv) may show through the home directory, read-only.
    assert set(result["home"]) <= {".pyenv"}, result["home"]
    assert result["env"] is False
    assert result["loopback"] != "ok" and result["internet"] != "ok"
    for target in ("write_prefix", "write_course_pkg", "write_etc"):
        assert result[target] in {"OSError", "PermissionError"}, (target, result[target])
    assert result["write_tmp"] == "ok" and not Path("/tmp/kernel-only").exists()
    assert result["write_scratch"] == "ok" and (scratch / "made-here.txt").read_text() == "x"
    assert_gone(seen)
    assert not Path(km.connection_file).parent.exists()


@needs_bwrap
def test_memory_bomb_is_stopped(tmp_path):
    settings = GradingSettings(memory_bytes=500 << 20, processes=64)
    cells = [
        "big = bytearray(2 << 30)",  # one allocation over RLIMIT_DATA: MemoryError, the kernel lives
        """
        chunks = []
        try:
            while True:
                chunks.append(b"x" * (50 << 20))  # touched pages, 50 MiB at a time
        except MemoryError:
            print("stopped at", len(chunks) * 50, "MiB")
        del chunks
        """,
        "print('still alive')",
    ]
    nb, km, error, seen = run_cells(cells, tmp_path, settings)
    assert error is None, error
    assert nb.cells[0].outputs[0]["ename"] == "MemoryError"
    stopped_at = int(stdout(nb.cells[1]).split()[2])
    assert 0 < stopped_at <= 500
    assert stdout(nb.cells[2]) == "still alive\n"
    assert_gone(seen)


@needs_bwrap
@needs_kernel_limits
def test_memory_spread_over_processes_is_contained(tmp_path):
    settings = GradingSettings(memory_bytes=400 << 20, processes=64)
    cell = """
        import subprocess, sys
        hog = "import time\\nx = b'y' * (150 << 20)\\ntime.sleep(3)"
        children = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(6)]
        codes = [child.wait(timeout=60) for child in children]
        print(codes)
    """
    nb, km, error, seen = run_cells([cell, "print('alive')"], tmp_path, settings)
    notes = km.resource_notes()
    # Each child stays under RLIMIT_DATA; together they pass the kernel's limit, and the biggest are killed (by the
    # cgroup's OOM killer, or without cgroups by the memory watch) until the rest fit: the kernel itself lives on.
    assert any("memory limit" in note for note in notes), (notes, nb.cells[0].outputs, error)
    codes = eval(stdout(nb.cells[0]))
    assert -9 in codes and 0 in codes, codes
    assert stdout(nb.cells[1]) == "alive\n"
    assert_gone(seen)


@needs_bwrap
@needs_kernel_limits
def test_files_in_tmp_count_as_memory(tmp_path):
    settings = GradingSettings(memory_bytes=400 << 20, processes=64)  # /tmp and /dev/shm: 100 MiB each
    cell = """
        import subprocess, sys
        for folder in ("/tmp", "/dev/shm"):
            with open(folder + "/hoard", "wb") as hoard:
                hoard.write(b"x" * (90 << 20))
        hog = "import time\\nx = b'y' * (250 << 20)\\ntime.sleep(3)"
        print(subprocess.run([sys.executable, "-c", hog]).returncode)
    """
    nb, km, error, seen = run_cells([cell], tmp_path, settings)
    # 180 MiB of files, the kernel and a 250 MiB child pass 400 MiB together: the child is killed.
    assert stdout(nb.cells[0]).strip() == "-9", (nb.cells[0].outputs, km.resource_notes())
    assert any("memory limit" in note for note in km.resource_notes()), km.resource_notes()
    assert_gone(seen)


@needs_bwrap
@needs_kernel_limits
def test_fork_bomb_is_contained_and_nothing_survives(tmp_path):
    settings = GradingSettings(processes=64)
    cell = """
        import os, subprocess, sys, time
        bomb = "import os\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        pass"
        subprocess.Popen([sys.executable, "-c", bomb])
        time.sleep(3)
        print(len([p for p in os.listdir("/proc") if p.isdigit()]))
    """
    nb, km, error, seen = run_cells([cell, "print('alive')"], tmp_path, settings)
    visible = stdout(nb.cells[0]).strip()
    assert visible and int(visible) <= 64, nb.cells[0].outputs
    assert any("process limit" in note for note in km.resource_notes()), km.resource_notes()
    assert len(seen) > 10  # the bomb did run ...
    assert_gone(seen)  # ... and is gone with the kernel


@needs_bwrap
def test_endless_loop_times_out_per_cell(tmp_path):
    nb, km, error, seen = run_cells(["while True:\n    pass"], tmp_path, GradingSettings(cell_seconds=3))
    assert isinstance(error, CellTimeoutError)
    assert_gone(seen)


@needs_bwrap
def test_notebook_time_limit_kills_the_kernel(tmp_path):
    cells = ["import time"] + ["time.sleep(1)"] * 20
    started = time.monotonic()
    nb, km, error, seen = run_cells(cells, tmp_path, GradingSettings(notebook_seconds=4, cell_seconds=30))
    assert isinstance(error, DeadKernelError), error
    assert time.monotonic() - started < 20
    assert any("notebook time limit" in reason for reason in km.stop_reasons)
    assert_gone(seen)


@needs_bwrap
def test_output_flood_is_cut_and_stops_the_kernel(tmp_path):
    cells = ["for i in range(10**7):\n    print('x' * 100)", "print('never')"]
    nb, km, error, seen = run_cells(cells, tmp_path, GradingSettings(output_bytes=200_000))
    assert isinstance(error, DeadKernelError), error
    assert any("output limit" in reason for reason in km.stop_reasons)
    kept = sum(len(json.dumps(o)) for cell in nb.cells for o in cell.outputs)
    assert kept < 2 * 200_000
    assert nb.cells[1].outputs == []
    assert_gone(seen)


def test_missing_bwrap_warns_or_refuses(tmp_path, monkeypatch):
    monkeypatch.setattr(bubblewrap, "bwrap_status", lambda: (None, "bubblewrap (bwrap) is not installed"))
    with pytest.raises(SandboxUnavailable, match="not installed"):
        run_cells(["1"], tmp_path, require_sandbox=True)
    with pytest.warns(RuntimeWarning, match="SANDBOX OFF"):
        nb, km, error, seen = run_cells(["import os; print(os.getuid())"], tmp_path, GradingSettings(memory_bytes=1 << 30))
    assert error is None and not km.sandboxed
    assert stdout(nb.cells[0]).strip() == str(os.getuid())  # no sandbox, but it ran under limits


def test_the_manager_keeps_the_execute_contract():
    km = SandboxKernelManager(run_tag="hw1-42")
    assert isinstance(km, LimitedKernelManager)
    assert not isinstance(AsyncKernelManager(), LimitedKernelManager)  # the Protocol does tell them apart
    km.scratch_dir = "relative/folder"
    assert km.scratch_dir == str(Path("relative/folder").resolve()) and km.run_tag == "hw1-42"
    assert km.resource_notes() == [] and km.warm_start is True


@needs_bwrap
@needs_cgroups
def test_the_run_tag_names_the_kernels_cgroups(tmp_path):
    tag = f"tagged-{os.getpid()}"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    km = SandboxKernelManager(run_tag=tag + "/../x y")  # only letters, digits, - and _ reach the name
    client = NotebookClient(nb, km=km, resources={"metadata": {"path": str(tmp_path)}})
    found: list[str] = []
    client.on_cell_complete = lambda **_: found.extend(
        p.name for kind in ("memory", "pids") for p in own_cgroup(kind).glob(f"sandbox-{tag}*"))
    client.execute(cleanup_kc=True)
    assert len(found) == 2 and found[0] == found[1], found  # one memory and one pids group, same name
    assert re.fullmatch(f"sandbox-{tag}xy-[0-9a-f]{{12}}", found[0]), found
    assert not [p for kind in ("memory", "pids") for p in own_cgroup(kind).glob(f"sandbox-{tag}*")]


# -- warm starts: kernels forked from the zygote must be confined exactly like cold ones ---------------

needs_warm = requires(zygote.warm_start_possible(), "warm starts need root")
CONFINEMENT_PROBE = """
    import os, sys, json
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    facts = {
        "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()],
        "capabilities": [status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
        "no_new_privs": status["NoNewPrivs"].strip(),
        "root": sorted(os.listdir("/")),
        "cwd": os.getcwd(),
        "environment": sorted(os.environ),
        "limits": open("/proc/self/limits").read().splitlines(),
        "processes": sorted(int(p) > 9 for p in os.listdir("/proc") if p.isdigit()),
        "network": sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]),
        "session leader": os.getsid(0) == os.getpid(),
        "cgroups": open("/proc/self/cgroup").read(),  # relative to the sandbox's: "/" once joined
    }
    print(json.dumps({"warm": "torch" in sys.modules, "facts": facts}))
"""


def probe(tmp_path: Path, name: str, settings: GradingSettings | None = None, **options) -> tuple[dict, set[int], list[str]]:
    scratch = tmp_path / name
    scratch.mkdir()
    nb, km, error, seen = run_cells([CONFINEMENT_PROBE, "import os; print(os.getpid())"], scratch, settings, **options)
    assert error is None, error
    return json.loads(stdout(nb.cells[0])), seen, km.resource_notes()


@needs_bwrap
@needs_cgroups
@needs_warm
def test_warm_kernel_is_confined_exactly_like_a_cold_one(tmp_path):
    cold, cold_seen, _ = probe(tmp_path, "cold", warm_start=False)
    warm, warm_seen, _ = probe(tmp_path, "warm")
    assert not cold["warm"] and warm["warm"]  # the forked kernel has torch imported before any cell ran
    facts = warm["facts"]
    uid = facts["ids"][0]
    assert kernel_uid(uid) and facts["ids"][:3] == [uid] * 3 and facts["capabilities"][2] == "0000000000000000"
    facts["ids"][:3] = cold["facts"]["ids"][:3]  # each kernel has a uid of its own
    assert facts["cwd"].endswith("/warm") and cold["facts"]["cwd"].endswith("/cold")
    facts["cwd"] = cold["facts"]["cwd"]
    # Expected differences: the client waits in the sandbox too, its socket and script are under /run,
    # and the kernel leads a session of its own (no terminal), where the cold one shares bwrap's.
    assert facts.pop("processes") == cold["facts"].pop("processes") + [False]
    assert facts.pop("root") == sorted(cold["facts"].pop("root") + ["run"])
    assert facts.pop("session leader") and not cold["facts"].pop("session leader")
    assert facts == cold["facts"]
    # The client, bubblewrap's init and the kernel were all in the sandbox's cgroup, and are gone with it.
    assert len(warm_seen) >= 3
    assert_gone(warm_seen | cold_seen)


@needs_bwrap
@needs_warm
def test_plain_notebooks_fork_from_a_zygote_that_preloads_the_kernel_alone(tmp_path):
    look = "import os, sys; print(os.path.isdir('/run/course-zygote'), 'torch' in sys.modules, 'numpy' in sys.modules)"
    seen = {}
    for name, preload in (("kernel", zygote.KERNEL_PRELOAD), ("libraries", zygote.PRELOAD)):
        warm.prepare_for_forks(SandboxKernelManager, {}, True, preload)  # as course grade does before its workers fork
        assert zygote.shared_zygote({}).preload == preload  # a later kernel finds this zygote, whatever ran before
        (tmp_path / name).mkdir()
        nb, *_ = run_cells([look], tmp_path / name)
        seen[name] = stdout(nb.cells[0]).split()
    assert seen == {"kernel": ["True", "False", "False"], "libraries": ["True", "True", "True"]}  # both forked warm


@needs_bwrap
@needs_warm
def test_warm_kernels_share_no_state(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    leave = "import torch, numpy, random; torch.left_behind = 1; open('/tmp/mark', 'w').close()\n" \
            "print(numpy.random.randint(1 << 30), random.randrange(1 << 30))"
    look = "import os, torch, numpy, random; print(hasattr(torch, 'left_behind'), os.path.exists('/tmp/mark'))\n" \
           "print(numpy.random.randint(1 << 30), random.randrange(1 << 30))"
    nb1, *_ = run_cells([leave], first)
    nb2, *_ = run_cells([look], second)
    seen_first, (flags, seen_second) = stdout(nb1.cells[0]).split(), stdout(nb2.cells[0]).splitlines()
    assert flags == "False False"
    assert seen_second.split() != seen_first  # each kernel's random generators are seeded afresh


@needs_bwrap
@needs_warm
def test_memory_limit_too_small_for_a_warm_kernel_starts_cold(tmp_path):
    result, seen, _ = probe(tmp_path, "small", GradingSettings(memory_bytes=800 << 20))
    assert not result["warm"] and kernel_uid(result["facts"]["ids"][0])
    assert_gone(seen)


MEMORY_SCAN = """
    import re, sys
    secret = re.compile(rb"s3cre[t]-valu[e]")  # a pattern that does not contain the secret itself
    found = 0
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as memory:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and not fields[5].startswith("[")) and fields[4] != "0":
                continue  # only memory of the process itself: heap, stack, anonymous mappings
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                memory.seek(start)
                found += len(secret.findall(memory.read(end - start)))
            except (OSError, OverflowError, ValueError):
                pass
    print("torch" in sys.modules, found)
"""


@needs_bwrap
@needs_warm
def test_warm_kernel_holds_nothing_of_the_graders_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cret-" + "value")
    monkeypatch.setattr(zygote, "_shared", None)  # the next kernel's zygote starts with the secret around
    nb, km, error, seen = run_cells([MEMORY_SCAN], tmp_path)
    assert error is None, error
    assert stdout(nb.cells[0]).split() == ["True", "0"]  # a warm kernel, and no copy of the secret anywhere


ASK_THE_ZYGOTE = """
    import os, socket, sys, ipykernel.connect
    launch = os.path.join(os.path.dirname(ipykernel.connect.get_connection_file()), "zygote.sock")
    def attempt(path):
        try:
            socket.socket(socket.AF_UNIX).connect(path)
            return "connected"
        except OSError as error:
            return type(error).__name__
    print(json.dumps({"warm": "torch" in sys.modules, "launch": attempt(launch), "zygote": attempt(ZYGOTE),
                      "run": os.listdir("/run/course-zygote")}))
"""


@needs_bwrap
@needs_warm
def test_no_kernel_reaches_the_zygote(tmp_path):
    shared = warm.warm_zygote(True, {})
    assert shared is not None and oct(shared.socket_path.stat().st_mode)[-3:] == "600"
    cell = "import json\nZYGOTE = " + repr(str(shared.socket_path)) + textwrap.dedent(ASK_THE_ZYGOTE)
    nb, km, error, seen = run_cells([cell], tmp_path)
    assert error is None, error
    # A warm kernel: its launch's socket was there, and closed once the client connected; the zygote's own
    # socket is in no sandbox, neither where the host has it nor where the client script is.
    assert json.loads(stdout(nb.cells[0])) == {"warm": True, "launch": "ConnectionRefusedError",
                                               "zygote": "FileNotFoundError", "run": ["warm_client.py"]}
    assert_gone(seen)
