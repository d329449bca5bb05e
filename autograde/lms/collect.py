"""``course collect ASSIGNMENT EXPORT --lms L``: an LMS's "download all submissions" into nbgrader's ``submitted/``.

Built on nbgrader's zip_collect: its ``ZipCollectApp`` unpacks the export (a zip, zips inside it, or an
unpacked folder) with its extractor plugin, and the LMS's ``FileNameCollectorPlugin``
(``autograde.lms.filenames``) reads who handed in each file and when. ``autograde.lms.placement`` decides
where each file goes; here each student's folder is written whole (a temporary folder, then a rename),
only when it is new or newer than what is there, with ``timestamp.txt`` where the LMS gave a time (so
nbgrader's late-penalty settings apply). ``--roster`` puts the class into nbgrader's students table,
``--groups`` records the groups (``autograde.lms.groups``). Everything it could not place is listed
with what to do; ``reports/ASSIGNMENT/lms.json`` keeps what the later commands need.
"""
from __future__ import annotations

import argparse
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.apps.zipcollectapp import ZipCollectApp

from autograde.atomic import replace_folder
from autograde.course_dir import course_directory, in_course, load_config
from autograde.errors import CourseError
from autograde.lms import LMSS
from autograde.lms.filenames import COLLECTORS, Handed, LmsCollector
from autograde.lms.groups import read_groups, resolve_groups
from autograde.lms.notebooks import assignment_cells
from autograde.lms.placement import Planned, owner, person_from_name, plan
from autograde.lms.roster import RosterError, grade_item, read_roster, save_students
from autograde.lms.state import LmsState, load_state, save_state


@dataclass
class Collected:
    """What one ``course collect`` did."""

    state: LmsState
    new: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # a newer submission was already there
    notes: dict[str, list[str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Collected({len(self.new)} new, {len(self.unchanged)} unchanged, {len(self.kept)} kept)"


def unpack(export: Path, lms: str, workdir: Path, coursedir) -> tuple[list[Path], LmsCollector]:
    """Every file of the export, unpacked by nbgrader's ZipCollectApp into ``workdir``; the LMS's collector."""
    if not export.exists():
        raise CourseError(f"course collect: {export} does not exist; give the zip (or its unpacked folder) "
                         f"of the LMS's \"download all submissions\"")
    archive = workdir / "archive"
    if export.is_dir():
        archive.symlink_to(export.resolve(), target_is_directory=True)
    else:
        archive.mkdir()
        (archive / export.name).symlink_to(export.resolve())
    app = ZipCollectApp(config=coursedir.config, log_level=logging.WARNING)
    app.coursedir = coursedir
    app.collect_directory_structure = str(workdir / "{collect_step}")
    app.collector_plugin = COLLECTORS[lms]
    app.init_plugins()
    (workdir / app.extracted_directory).mkdir()
    app.extract_archive_files()
    files = sorted(p for p in (workdir / app.extracted_directory).rglob("*") if p.is_file())
    return files, app.collector_plugin_inst


def read_class(state: LmsState, assignment: str, roster: Path | None, groups: Path | None) -> list[str]:
    """Roster and groups into ``state``; notes on what did not match."""
    try:
        if roster:
            people = read_roster(state.lms, roster)
            state.item = grade_item(state.lms, roster, assignment) or state.item
            state.people.update({p.sid: p for p in people})
            state.roster = sorted({*state.roster, *(p.sid for p in people)})
        if groups:
            state.groups, notes = resolve_groups(read_groups(groups), state.people)
            return notes
    except RosterError as error:
        raise CourseError(f"course collect: {error}") from None
    return []


def sort_files(files: list[Path], base: Path, collector: LmsCollector, state: LmsState) -> dict[str, list[Handed]]:
    """Handed-in files by the student they belong to; what cannot be placed goes to ``state.unplaced``."""
    by_student: dict[str, list[Handed]] = {}
    for path in files:
        handed = collector.handed(path)
        if handed is None:
            why = ("the LMS's own index of the download, no submission" if path.name in collector.housekeeping
                   else f"its name does not follow {state.lms}'s naming of submissions")
            state.unplaced.append({"file": path.relative_to(base).as_posix(), "why": why, "todo": "nothing" if path.name in collector.housekeeping else
                                   "find whose it is and put it into submitted/<student>/<assignment>/ yourself"})
            continue
        sid, group = owner(handed, state)
        if sid not in state.people:
            state.people[sid] = person_from_name(sid, handed.name or handed.key, state.lms)
        by_student.setdefault(sid, []).append(handed)
    return by_student


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else {}


def write_submission(folder: Path, planned: Planned, collected_before: bool) -> str:
    """Write one student's folder whole; "new", "unchanged", or "kept" (a newer submission is there already,
    or one that ``course collect`` did not put there: it is never overwritten)."""
    wanted = {name: source.read_bytes() for name, source in planned.files.items()}
    if planned.when is not None:
        wanted["timestamp.txt"] = planned.when.isoformat(" ").encode()
    there = folder_files(folder)
    if there == wanted:
        return "unchanged"
    if there and not collected_before:
        planned.notes.append(f"{folder} was not put there by `course collect`: left as it is; move it away "
                             f"and run `course collect` again to take the LMS's submission")
        return "kept"
    stamp = there.get("timestamp.txt", b"").decode(errors="replace").strip()
    if stamp and planned.when is not None and stamp > planned.when.isoformat(" "):
        planned.notes.append(f"a newer submission ({stamp}) was collected before: kept")
        return "kept"

    def build(staging: Path) -> None:
        for name, data in wanted.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
    replace_folder(folder, build)
    return "new"


def collect(root: Path, assignment: str, export: Path, lms: str, roster: Path | None = None,
            groups: Path | None = None) -> Collected:
    """Collect ``export`` (see the module docstring) into course ``root``; what was done."""
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, assignment, config)
    expected = assignment_cells(coursedir.db_url, coursedir.course_id, assignment)
    state = load_state(root, assignment) or LmsState(lms)
    if state.lms != lms:
        raise CourseError(f"course collect: {assignment} was collected from {state.lms}, not {lms}; "
                         f"delete {root}/reports/{assignment}/lms.json to start over")
    done = Collected(state)
    group_notes = read_class(state, assignment, roster, groups)
    state.unplaced = []
    with tempfile.TemporaryDirectory(prefix=".collect-", dir=root) as workdir, in_course(root):
        files, collector = unpack(Path(export), lms, Path(workdir), coursedir)
        by_student = sort_files(files, Path(workdir) / "extracted", collector, state)
        submitted = Path(coursedir.root) / coursedir.submitted_directory
        for sid, attempts in sorted(by_student.items()):
            planned = plan(sid, attempts, expected)
            outcome = write_submission(submitted / sid / assignment, planned, sid in state.submissions)
            getattr(done, outcome).append(sid)
            record_submission(state, planned, outcome)
            done.notes[sid] = planned.notes
    note_groups(state, done, group_notes)
    save_students(coursedir.db_url, coursedir.course_id, list(state.people.values()))
    save_state(root, assignment, state)
    return done


def record_submission(state: LmsState, planned: Planned, outcome: str) -> None:
    """Keep what the later commands need to know about a placed submission."""
    if outcome == "kept" and planned.sid in state.submissions:
        return
    state.submissions[planned.sid] = {
        "when": planned.when.isoformat(" ") if planned.when else None, "late": planned.late,
        "files": sorted(planned.files), "notes": planned.notes, "group": state.group_of(planned.sid)}


def note_groups(state: LmsState, done: Collected, notes: list[str]) -> None:
    """Who is graded as whom: each group's members get the submission of the member who handed it in."""
    state.graded_as = {}
    for group, members in sorted(state.groups.items()):
        handed_in = [m for m in members if m in state.submissions]
        if len(handed_in) > 1:
            notes.append(f"group {group}: {', '.join(handed_in)} each handed in; each is graded for their own")
        for member in members:
            if handed_in and member not in handed_in:
                state.graded_as[member] = handed_in[0]
    if notes:
        done.notes["groups"] = notes


def summary(done: Collected, assignment: str) -> list[str]:
    """The lines ``course collect`` prints."""
    state = done.state
    lines = [f"{assignment} from {state.lms}: {len(done.new)} new or newer submission(s), "
             f"{len(done.unchanged)} unchanged, {len(done.kept)} kept (a newer one was already collected)"]
    for sid, notes in sorted(done.notes.items()):
        lines += [f"  {sid}: {note}" for note in notes]
    for group, members in sorted(state.groups.items()):
        sources = {state.graded_as.get(m) for m in members} - {None}
        lines.append(f"  group {group}: {', '.join(members)}"
                     + (f"; graded once, as {', '.join(sorted(sources))}'s submission" if sources else ""))
    missing = [f"{sid} ({state.people[sid].full_name})" for sid in state.missing(set())]
    if missing:
        lines.append(f"  handed in nothing (in the roster): {', '.join(missing)}")
    lines += [f"  skipped {u['file']}: {u['why']}" for u in state.unplaced if u["todo"] == "nothing"]
    unplaced = [u for u in state.unplaced if u["todo"] != "nothing"]
    if unplaced:
        lines.append(f"COULD NOT PLACE ({len(unplaced)}):")
        lines += [f"  {u['file']}: {u['why']}; to do: {u['todo']}" for u in unplaced]
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (as in source/ and the gradebook)")
    parser.add_argument("export", help="the zip (or unpacked folder) of the LMS's \"download all submissions\"")
    parser.add_argument("--lms", required=True, choices=LMSS, help="the LMS the export comes from")
    parser.add_argument("--roster", metavar="FILE", help="the LMS's class list or grade export (CSV): "
                        "Brightspace Grades > Export, Canvas Grades > Export, Moodle's grading worksheet")
    parser.add_argument("--groups", metavar="FILE", help="the LMS's group export (CSV), or two columns student,group")


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    done = collect(course_root(args.course), args.assignment, Path(args.export), args.lms,
                   Path(args.roster) if args.roster else None, Path(args.groups) if args.groups else None)
    print("\n".join(summary(done, args.assignment)))
    return 1 if any(u["todo"] != "nothing" for u in done.state.unplaced) else 0
