"""What an LMS's "download all submissions" names each file: one nbgrader ``FileNameCollectorPlugin`` per LMS.

Each collector's ``named_regexp`` is the LMS's documented (or, where undocumented, its source code's)
naming, matched against the path of a file inside the unpacked export, as nbgrader's zip_collect does:

- Brightspace (D2L) Assignments > "Download" of all submissions: one folder, or file prefix, per submission,
  ``<id>-<id> - First Last - Sep 24, 2024 926 PM`` (the submission time, colon dropped, in the downloader's
  time zone; older versions write ``4:17 PM``), then ``/file`` or `` - file``. Followed: d2lmf
  (github.com/cgmb/d2lmf, ``parse_submission_dirname``: "<id_number> - <student_name> - <timestamp>", time
  ``%b %d, %Y %I:%M %p``) and the Brightspace folder examples of D2L rename scripts. A group assignment puts
  the group's name where a student's name stands. The zip also holds ``index.html``, D2L's list of it.
- Canvas "Download Submissions": ``<sortable name, lower case, letters only>[_LATE]_<user id>_<attachment
  id>_<file name>``; anonymous grading puts ``anon_<id>`` for the name and user id. Followed: Canvas's
  ``lib/content_zipper.rb`` (``get_filename``: ``[users_name, "LATE" if late, user_id].join("_")``, then
  ``"#{filename}_#{file.id}_#{display_name}"``). A file handed in again under the same name is renamed by
  Canvas to ``name-1.ipynb``.
- Moodle Assignment "Download all submissions": ``Full Name_<participant id>_assignsubmission_file/<file>``
  (folders, the default since 3.1) or ``..._assignsubmission_file_<file>``; a team submission is named
  ``Group name_<group id>``. Followed: Moodle's ``mod/assign/classes/downloader.php``
  (``get_student_prefix``, ``load_submissionplugin_filelist``) and ``locallib.php`` before 4.1.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode


@dataclass
class Handed:
    """One file of one submission as the export names it: who (``key``: the LMS's id or name), when, the file."""

    path: Path  # the file in the unpacked export
    key: str  # Canvas user id, Moodle participant (or group) id, Brightspace "First Last" (or group name)
    name: str  # the name as the file name spells it ("" when anonymous)
    file_name: str  # the file's own name (a relative path for Moodle's folders)
    when: datetime | None = None  # submission time, where the name carries it (Brightspace)
    late: bool = False  # the LMS marked it late (Canvas)

    def __repr__(self) -> str:
        return f"Handed({self.key!r}, {self.file_name!r}, when={self.when}, late={self.late})"


class LmsCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector for one LMS: ``named_regexp`` matched against the path in the export."""

    lms = Unicode("", help="the LMS whose naming this is").tag(config=True)
    housekeeping = ()  # file names the LMS adds to the export that are no submission

    def collect(self, submitted_file: str) -> dict | None:
        """The groups ``named_regexp`` found in the path (any extension: a PDF is part of the submission), or None."""
        match = re.match(self.named_regexp, str(submitted_file).replace("\\", "/"))
        return match.groupdict() if match else None

    def handed(self, path: Path) -> Handed | None:
        """The file as a :class:`Handed`, or None when its name does not follow the LMS's naming."""
        found = self.collect(str(path))
        if not found:
            return None
        return Handed(path, found["student_id"], (found.get("name") or "").strip(), found["file_id"],
                      parse_when(found.get("timestamp")), bool(found.get("late")))


class BrightspaceCollector(LmsCollector):
    named_regexp = Unicode(
        r"^(?:.*/)?\d+-\d+ - (?P<student_id>(?P<name>.+?)) ?- "
        r"(?P<timestamp>[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:?\d{2} [AP]M)(?:/| - )(?P<file_id>[^/]+)$").tag(config=True)
    lms = Unicode("brightspace").tag(config=True)
    housekeeping = ("index.html",)


class CanvasCollector(LmsCollector):
    named_regexp = Unicode(
        r"^(?:.*/)?(?:(?P<name>[^/_]+)_)?(?:(?P<late>LATE)_)?(?P<student_id>anon_[A-Za-z0-9]+|\d+)_\d+_"
        r"(?P<file_id>[^/]+)$").tag(config=True)
    lms = Unicode("canvas").tag(config=True)


class MoodleCollector(LmsCollector):
    named_regexp = Unicode(
        r"^(?:.*/)?(?P<name>[^/_]+)_(?P<student_id>\d+)_assignsubmission_[a-z]+(?:/|_)(?P<file_id>.+)$").tag(config=True)
    lms = Unicode("moodle").tag(config=True)


COLLECTORS: dict[str, type[LmsCollector]] = {
    "brightspace": BrightspaceCollector, "canvas": CanvasCollector, "moodle": MoodleCollector}


def parse_when(text: str | None) -> datetime | None:
    """Brightspace's "Sep 24, 2024 926 PM" (or "4:17 PM") as a naive datetime; None for no text."""
    if not text:
        return None
    day, hours, minutes, noon = re.fullmatch(r"(.+ \d{4}) (\d{1,2}):?(\d{2}) ([AP]M)", text).groups()
    # The minutes are always the last two digits ("105 PM" is 1:05), which strptime's %I%M cannot tell.
    return datetime.strptime(f"{day} {hours}:{minutes} {noon}", "%b %d, %Y %I:%M %p")
