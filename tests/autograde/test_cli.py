"""The `course` command line: lists every subcommand without importing one, --course before or after it."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from autograde import cli
from autograde.errors import CourseError

LIST_AND_REPORT_IMPORTS = """
import sys
from autograde.cli import main
try:
    main(['--help'])
except SystemExit:
    pass
heavy = ('autograde.', 'nbgrader', 'torch', 'nbconvert')
print('IMPORTED', sorted(name for name in sys.modules if name.startswith(heavy) and name not in ('autograde.cli', 'autograde.errors')))
"""


def test_help_lists_every_subcommand_without_importing_them():
    done = subprocess.run([sys.executable, "-c", LIST_AND_REPORT_IMPORTS], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for name, (_, help_text) in cli.COMMANDS.items():
        assert name in done.stdout and help_text.split()[0] in done.stdout
    assert "IMPORTED []" in done.stdout, done.stdout.splitlines()[-1]


def test_course_dir_is_accepted_before_and_after_the_subcommand(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")
    for argv in (["--course", str(tmp_path), "report", "ps1"], ["report", "ps1", "--course", str(tmp_path)],
                 ["report", f"--course={tmp_path}", "ps1"]):
        args = cli.build_parser(cli.chosen_command(argv)).parse_args(argv)
        assert (args.command, args.assignment, args.course) == ("report", "ps1", str(tmp_path)), argv
        assert cli.course_root(args.course) == tmp_path.resolve()
    args = cli.build_parser("report").parse_args(["report", "ps1"])
    assert args.course is None  # not given: found upwards from here


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_subcommand_builds_and_its_help_names_course(name, capsys):
    module = importlib.import_module(cli.COMMANDS[name][0])
    assert callable(module.add_arguments) and callable(module.run)
    with pytest.raises(SystemExit) as stop:
        cli.main([name, "--help"])
    assert stop.value.code == 0
    assert "--course DIR" in capsys.readouterr().out


def test_an_unknown_subcommand_is_named(capsys):
    with pytest.raises(SystemExit):
        cli.main(["grades"])
    assert "invalid choice: 'grades'" in capsys.readouterr().err


def test_a_course_error_is_a_message_and_exit_code_1_not_a_traceback(tmp_path, capsys):
    missing = tmp_path / "no-course-here"
    missing.mkdir()
    with pytest.raises(CourseError, match="has no nbgrader_config.py"):
        cli.dispatch(["--course", str(missing), "report", "ps1"])
    assert cli.main(["--course", str(missing), "report", "ps1"]) == 1
    assert capsys.readouterr().err.strip() == f"course: {missing} has no nbgrader_config.py; pass --course with a course directory"


def test_a_mistyped_assignment_is_named_with_the_closest_one(tmp_path, capsys):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.source_directory = 'source'\n")
    for name in ("01-tensors", "02-autograd"):
        (tmp_path / "source" / name).mkdir(parents=True)
        (tmp_path / "source" / name / f"{name}.ipynb").write_text("{}")
    for command in ("grade", "feedback"):
        assert cli.main(["--course", str(tmp_path), command, "01-tensor"]) == 1
        assert "'01-tensor' is not one of this course's assignments: did you mean '01-tensors'?" in capsys.readouterr().err


def test_a_command_starts_without_building_the_iri_parsers_and_still_reads_notebooks(tmp_path):
    script = ("import sys\nfrom autograde import cli\ntry:\n    cli.main(['grade', '--help'])\nexcept SystemExit:\n    pass\n"
              "import nbformat\nnb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
              f"nbformat.write(nb, {str(tmp_path / 'a.ipynb')!r})\nnbformat.validate(nbformat.read({str(tmp_path / 'a.ipynb')!r}, 4))\n"
              "print('nbformat' in sys.modules, 'rfc3987_syntax.syntax_helpers' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-2:] == ["True", "False"], done.stdout
