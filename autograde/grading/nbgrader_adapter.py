"""Every use of nbgrader's (and nbclient's) private API, in one small place.

Checked against nbgrader 0.9.6 and nbclient 0.11. ``nbgrader autograde`` sanitises, executes and scores
a notebook in one ``convert_single_notebook`` call, switching between the steps through the private
flag ``Autograde._sanitizing`` and the exporter's private ``_preprocessors`` list. We run the steps
apart (sanitise and score here, execute in the sandbox, possibly on another machine), so we need:

- ``_format_source`` / ``_format_dest``: where nbgrader reads a submission and writes its graded copy;
  ``_format_dest`` is overridden so that a student's graded copy is written to a staging folder first;
- ``_sanitizing`` and ``exporter._preprocessors``: each phase has its own converter, set once, and
  gets fresh preprocessors for every notebook, as nbgrader's ``_init_preprocessors`` gives them;
- nbclient's ``NotebookClient.__init__`` and ``_check_assign_resources``: to run nbgrader's ``Execute``
  cell by cell (see ``autograde.grading.execute``);
- ``nbgrader.api.get_alembic_version``: a new gradebook is stamped with the newest schema revision, which
  nbgrader reads by running ``alembic heads`` as a command (3 s each: a new Python importing nbgrader; and
  it fails unless the environment's ``bin/`` is on PATH). :func:`read_schema_revision_in_process` reads the
  same revision from nbgrader's own alembic folder, in this process (2 ms); ``course_dir.load_config``
  applies it, as every command and library entry point reads the course's config before it opens a gradebook.

After upgrading nbgrader or nbclient, run ``tests/autograde/grading`` (it compares with ``nbgrader
autograde`` on the same class) before anything else.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import nbgrader.api
from nbconvert.writers import FilesWriter
from nbformat import NotebookNode
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets.config import Config

from autograde.config import resolve_class


@functools.cache
def _newest_schema_revision() -> str:
    """The head revision of nbgrader's gradebook migrations, what ``alembic heads`` prints for them."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = AlembicConfig()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def read_schema_revision_in_process() -> None:
    """Make nbgrader stamp new gradebooks without running ``alembic`` as a command (see the module doc)."""
    nbgrader.api.get_alembic_version = _newest_schema_revision



class _StagedAutograde(Autograde):
    """nbgrader's Autograde whose output for a student goes to their staging folder while it is graded."""

    staged: dict[tuple[str, str], str]

    def _format_dest(self, assignment_id: str, student_id: str, escape: bool = False) -> str:
        staged = self.staged.get((assignment_id, student_id))
        return staged if staged and not escape else super()._format_dest(assignment_id, student_id, escape)


def scoring_steps(steps: list) -> list:
    """nbgrader's configured autograde pipeline without execution (it happened elsewhere)."""
    classes = [resolve_class(step) if isinstance(step, str) else step for step in steps]
    return [cls for cls in classes if not (isinstance(cls, type) and issubclass(cls, Execute))]


class NbgraderAutograde:
    """nbgrader's autograde steps for one course, run one at a time: prepare a submission's folder and
    gradebook rows, sanitise a notebook, score an executed notebook (into the staging folder, if any)."""

    def __init__(self, coursedir: CourseDirectory, config: Config):
        self.coursedir = coursedir
        self.staged: dict[tuple[str, str], str] = {}
        self._sanitizer = self._converter(config, sanitizing=True)
        self._scorer = self._converter(config, sanitizing=False)

    def __repr__(self) -> str:
        return f"NbgraderAutograde({self.coursedir.root!r}, {len(self.staged)} staged)"

    def _converter(self, config: Config, sanitizing: bool) -> _StagedAutograde:
        converter = _StagedAutograde(coursedir=self.coursedir, config=config)
        converter.staged = self.staged
        converter._sanitizing = sanitizing
        converter.writer = FilesWriter(parent=converter, config=converter.config)
        converter.exporter = converter.exporter_class(parent=converter, config=converter.config)
        return converter

    # -- folders ---------------------------------------------------------------------------------

    def submitted_folder(self, assignment: str, student: str) -> Path:
        """``submitted/<student>/<assignment>``: what the student handed in."""
        return Path(self._sanitizer._format_source(assignment, student))

    def graded_folder(self, assignment: str, student: str) -> Path:
        """``autograded/<student>/<assignment>``, where the finished grade lives."""
        return Path(Autograde._format_dest(self._sanitizer, assignment, student))

    def destination(self, assignment: str, student: str) -> Path:
        """Where graded files are written now: the staging folder while one is set, else the graded folder."""
        return Path(self._sanitizer._format_dest(assignment, student))

    def stage(self, assignment: str, student: str, folder: Path | None) -> None:
        """Write the student's graded files to ``folder`` from now on (None: to the graded folder again)."""
        if folder is None:
            self.staged.pop((assignment, student), None)
        else:
            self.staged[(assignment, student)] = str(folder)

    def release_folder(self, assignment: str) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.release_directory, ".", assignment))

    def source_folder(self, assignment: str) -> Path:
        return Path(self.coursedir.format_path(self.coursedir.source_directory, ".", assignment))

    # -- the steps -------------------------------------------------------------------------------

    def begin_submission(self, assignment: str, student: str, notebooks: list[Path]) -> None:
        """nbgrader's ``init_assignment``: gradebook rows (zeros for notebooks not handed in) and the
        instructor's other files copied into the destination folder."""
        self._sanitizer.notebooks = [str(path) for path in notebooks]
        self._sanitizer.init_assignment(assignment, student)

    def sanitize(self, notebook: NotebookNode, path: Path) -> str:
        """The sanitising preprocessors (ClearOutput, OverwriteCells...) on the submitted ``path``'s notebook."""
        steps = self._sanitizer.sanitize_preprocessors
        return self._export(self._sanitizer, steps, notebook, path, str(path.parent))[0]

    def score(self, executed: NotebookNode, assignment: str, student: str, notebook: str) -> None:
        """The scoring preprocessors on an executed notebook: the graded notebook and its gradebook rows."""
        # nbgrader's scoring phase reads from the autograded folder (_format_source while not _sanitizing).
        path = Path(self._scorer._format_source(assignment, student)) / f"{notebook}.ipynb"
        steps = scoring_steps(self._scorer.autograde_preprocessors)
        output, resources = self._export(self._scorer, steps, executed, path, str(self.destination(assignment, student)))
        self._scorer.write_single_notebook(output, resources)

    def set_permissions(self, assignment: str, student: str) -> None:
        self._scorer.set_permissions(assignment, student)

    @staticmethod
    def _export(converter: _StagedAutograde, steps: list, notebook: NotebookNode, path: Path,
                where: str) -> tuple[str, dict[str, Any]]:
        converter.exporter._preprocessors = []
        for step in steps:
            converter.exporter.register_preprocessor(step)  # as nbgrader does: each step's own `enabled`
        # Resources name the student, assignment and notebook as nbgrader reads them from the submitted path.
        resources = converter.init_single_notebook_resources(str(path))
        resources["metadata"] = {"name": path.stem, "path": where}
        return converter.exporter.from_notebook_node(notebook, resources=resources)


def start_cell_by_cell(client: Any, nb: NotebookNode, resources: dict) -> None:
    """Set up nbgrader's ``Execute`` (an nbclient NotebookClient) for ``nb`` the way its ``preprocess``
    would, without running it: the caller runs the cells one by one under its own deadline."""
    from nbclient import NotebookClient

    NotebookClient.__init__(client, nb)
    client.reset_execution_trackers()
    client._check_assign_resources(resources)
