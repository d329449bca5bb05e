"""The shape ARCHITECTURE.md promises: short functions, no private names imported across modules,
no test importing from conftest or from another test module, no SystemExit outside cli.py, the process
environment read in one settings module per package, and a zygote that imports no Jupyter."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

LONGEST = 50  # lines, from `def` to the last line of the body
PACKAGES = ("autograde", "course")


def python_files(root: Path, *folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (root / folder).rglob("*.py") if "fixtures" not in path.parts)


def long_functions(root: Path) -> list[str]:
    """Functions of the packages longer than LONGEST lines."""
    found = []
    for path in python_files(root, *PACKAGES):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > LONGEST:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)")
    return found


def imports_across(root: Path) -> list[str]:
    """Private names imported from another module, and imports from conftest or from a test module."""
    found = []
    for path in python_files(root, *PACKAGES, "tests", "benchmarks"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            module = node.module or ""
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            if private or (node.level == 0 and (module.split(".")[0] == "conftest" or module.startswith("test_"))):
                found.append(f"{path.relative_to(root)}:{node.lineno} from {module} import {', '.join(private) or '...'}")
    return found


def exits_outside_the_command(root: Path) -> list[str]:
    """``SystemExit`` raised (or named) in the packages anywhere but ``autograde/cli.py``."""
    found = []
    for path in python_files(root, *PACKAGES):
        if path.relative_to(root) == Path("autograde/cli.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Name) and node.id == "SystemExit":
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


# The one module per package that reads (or sets) the process environment: every setting is read there
# and handed on as an argument. The exception: confinement.py, run in the zygote's freshly forked kernel,
# gives that process the sandboxed peer's environment (read from its /proc/PID/environ) as it gives it the
# peer's namespaces, root and uid; that is a step of confinement, not a setting, and the zygote may not
# import the settings module (it imports traitlets).
ENVIRONMENT_READERS = {Path("autograde/config.py"), Path("course/settings.py"), Path("autograde/sandbox/confinement.py")}
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_readers(root: Path) -> list[str]:
    """Uses of ``os.environ``/``os.getenv`` (and ``from os import environ``) outside ENVIRONMENT_READERS."""
    found = []
    for path in python_files(root, *PACKAGES):
        if path.relative_to(root) in ENVIRONMENT_READERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            named = ((isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES
                      and isinstance(node.value, ast.Name) and node.value.id == "os")
                     or (isinstance(node, ast.ImportFrom) and node.module == "os"
                         and any(a.name in ENVIRONMENT_NAMES for a in node.names)))
            if named:
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_function_is_longer_than_fifty_lines():
    assert long_functions(REPO) == [], "split these into named steps"


def test_no_private_name_or_test_module_is_imported_across_modules():
    assert imports_across(REPO) == [], "make the name public, or move shared test code to tests/support/"


def test_only_the_command_line_exits():
    """Library code raises CourseError with the message a user needs; cli.main alone turns it into an exit code,
    so grade(), similarity() and the rest can be called from a notebook or a server extension."""
    assert exits_outside_the_command(REPO) == [], "raise autograde.errors.CourseError instead"


def test_only_the_settings_modules_read_the_environment():
    """No setting travels through os.environ: autograde/config.py (course/settings.py for the students'
    library) reads it once and every other module is handed values as arguments."""
    assert environment_readers(REPO) == [], "read it in autograde/config.py (course/settings.py) and pass it on"


def test_the_zygote_imports_no_jupyter_machinery():
    """It is started as `python -m autograde.sandbox.zygote` and forked for every warm kernel: it stays light."""
    code = ("import sys, autograde.sandbox.zygote\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'jupyter_client', 'nbgrader', 'nbclient', 'zmq', 'traitlets'}))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert loaded.strip() == "[]"
