"""Shared answers (``course similarity ASSIGNMENT``): pairs of students whose answer cells match.

Each student's answer to each task (a code cell that is a solution cell in the source notebook,
matched by nbgrader ``grade_id``) is fingerprinted with copydetect (winnowing, as MOSS does, after
its tokenizer has replaced every name by ``V``/``F`` and dropped comments and whitespace, so
renamed variables, new comments and moved functions change nothing). Fingerprints of the released
template never count, and by default neither do those of the instructor's solution: correct short
answers look like the model answer without having been shared. What two students share beyond
both is evidence. Writes ``reports/<assignment>/similarity/``: report.html, pairs.csv, heatmap.png,
and the answers as files per task and student (``answers/``, ``boilerplate/``) for other tools.
"""
from __future__ import annotations

import argparse
import difflib
import io
import shutil
import time
from dataclasses import dataclass, field
from itertools import combinations, product
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; the report runs on servers without a display
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
from copydetect import CodeFingerprint, compare_files, defaults
from copydetect.utils import get_token_coverage, highlight_overlap
from markupsafe import Markup
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearSolutions

from autograde.cells import grade_id, is_solution
from autograde.course_dir import course_directory, load_config, report_dir, submitted_students
from autograde.errors import CourseError
from autograde.pages import png, render, table

NOISE = defaults.NOISE_THRESHOLD  # shortest match that counts, in tokenized characters (copydetect's 25)
THRESHOLD = 0.5  # flag a pair when half of one student's answer to a task is found in the other's
MIN_SHARED = 2 * NOISE  # and the match is at least ~2-3 lines: one shared idiom in a one-line answer is chance
TOP = 10  # pairs printed in the terminal
SHOWN = 50  # pairs shown side by side in the HTML report (the rest in a table)
WHOLE = "(all tasks)"  # the task column of a pair's whole-assignment row


@dataclass
class Answers:
    """Per task (``notebook/grade_id``): the released template, the model answer and every student's answer."""

    template: dict[str, str] = field(default_factory=dict)
    solution: dict[str, str] = field(default_factory=dict)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)  # task -> student -> code
    students: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (student, notebook, reason)

    def __repr__(self) -> str:
        return (f"Answers({len(self.template)} tasks, {len(self.students)} students, "
                f"{len(self.skipped)} skipped)")


@dataclass
class Similarity:
    """The comparison: one row per (task, pair) with any match plus one per pair for the whole assignment."""

    assignment: str
    pairs: pd.DataFrame  # task (or WHOLE), student_a, student_b, similarity(_a/_b), shared, flagged
    matrix: pd.DataFrame  # student x student, whole-assignment similarity (the heat map)
    answers: Answers
    fingerprints: dict[str, dict[str, CodeFingerprint]]  # task -> student -> fingerprints less the boilerplate
    threshold: float
    count_solution: bool
    seconds: float
    min_shared: int = MIN_SHARED  # and the match is at least this long (tokenized characters)

    def flagged(self) -> pd.DataFrame:
        """Whole-assignment rows of the flagged pairs, most similar first."""
        whole = self.pairs[(self.pairs["task"] == WHOLE) & self.pairs["flagged"]]
        return whole.sort_values(["similarity", "student_a"], ascending=[False, True])

    def tasks_of(self, a: str, b: str) -> pd.DataFrame:
        """The per-task rows of one pair (``a`` < ``b``)."""
        pairs = self.pairs
        return pairs[(pairs["task"] != WHOLE) & (pairs["student_a"] == a) & (pairs["student_b"] == b)]

    def named_pairs(self) -> list[str]:
        """The flagged pairs in words: "ada and bob (72%)"."""
        return [f"{a} and {b} ({s:.0%})" for a, b, s in
                self.flagged()[["student_a", "student_b", "similarity"]].itertuples(index=False)]

    def line(self) -> str:
        """One line for the terminal."""
        return (f"similarity {self.assignment}: {len(self.answers.students)} students, "
                f"{len(self.answers.template)} tasks, {len(self.flagged())} pair(s) flagged "
                f"(a task at {self.threshold:g} or more, {self.min_shared}+ characters shared), "
                f"{len(self.answers.skipped)} notebook(s) skipped; "
                f"{self.seconds:.1f} s")

    def __repr__(self) -> str:
        return f"Similarity({self.line()})"


def _answer_cells(nb: NotebookNode) -> dict[str, str]:
    """grade_id -> source of the code cells that are nbgrader solution cells."""
    return {grade_id(c): c.source for c in nb.cells if c.cell_type == "code" and is_solution(c) and grade_id(c)}


def collect_answers(root: Path, assignment: str) -> Answers:
    """Template, model answer and each student's answer per task, from the source and ``submitted/``."""
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, assignment, config)
    sources = sorted((Path(coursedir.root) / coursedir.source_directory / assignment).glob("*.ipynb"))
    if not sources:
        raise CourseError(f"course similarity: no source notebooks in "
                         f"{Path(coursedir.root) / coursedir.source_directory / assignment}; check the assignment name")
    found = Answers(students=submitted_students(coursedir, assignment))
    clear = ClearSolutions(config=config)  # the course's own code stub, as `course generate` releases it
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    for path in sources:
        source = nbformat.read(path, as_version=4)
        released, _ = clear.preprocess(nbformat.from_dict(source), {})
        template = _answer_cells(released)
        for cell_id, code in _answer_cells(source).items():
            task = f"{path.stem}/{cell_id}"
            found.template[task], found.solution[task] = template[cell_id], code
            found.answers[task] = {}
        for student in found.students:
            handed_in = submitted / student / assignment / path.name
            if not handed_in.exists():
                found.skipped.append((student, path.name, "not handed in"))
                continue
            try:
                cells = _answer_cells(nbformat.read(handed_in, as_version=4))
            except Exception as error:  # noqa: BLE001 - any notebook a student broke is listed, never fatal to the class
                found.skipped.append((student, path.name, f"{type(error).__name__}: {error}"[:300]))
                continue
            for cell_id, code in cells.items():
                task = f"{path.stem}/{cell_id}"
                if task in found.template and code.strip() != found.template[task].strip():
                    found.answers[task][student] = code
    return found


def _fingerprint(code: str, label: str, window: int = 1) -> CodeFingerprint:
    return CodeFingerprint(label, NOISE, window, language="python", fp=io.StringIO(code))


def _drop(fp: CodeFingerprint, hashes: set[int]) -> CodeFingerprint:
    """Forget fingerprints in ``hashes`` (boilerplate); the coverage is then that of what is left."""
    fp.hashes = fp.hashes - hashes
    fp.hash_idx = {h: i for h, i in fp.hash_idx.items() if h not in hashes}
    fp.token_coverage = get_token_coverage(fp.hash_idx, fp.k, len(fp.filtered_code))
    return fp


def _candidates(prints: list[CodeFingerprint]) -> list[tuple[int, int]]:
    """Index pairs (i <= j; i == j when not empty) that share a fingerprint: all others are 0 without comparing."""
    vocabulary = {h: i for i, h in enumerate(set().union(*(fp.hashes for fp in prints)))}
    if not vocabulary:
        return []
    has = np.zeros((len(prints), len(vocabulary)), dtype=np.float32)
    for row, fp in enumerate(prints):
        has[row, [vocabulary[h] for h in fp.hashes]] = 1
    shared = np.triu(has @ has.T)  # (answers, answers): fingerprints in common
    return [(int(a), int(b)) for a, b in np.argwhere(shared > 0)]


def compare(answers: Answers, assignment: str = "", threshold: float = THRESHOLD, min_shared: int = MIN_SHARED,
            count_solution: bool = False) -> Similarity:
    """Compare every pair of students task by task; ``count_solution`` keeps matches on the model answer."""
    started = time.perf_counter()
    rows, prints = [], {}
    own = {s: 0.0 for s in answers.students}  # per student: tokenized characters of their answers
    shared_with: dict[tuple[str, str], list[float]] = {}  # (a, b) -> characters of a, of b, found in the other
    for task, by_student in answers.answers.items():
        boilerplate = _fingerprint(answers.template[task], "template").hashes
        expected = set() if count_solution else _fingerprint(answers.solution[task], "solution").hashes
        prints[task], size, same = {}, {}, {}
        for student in sorted(by_student):
            fp = _drop(_fingerprint(by_student[student], student), boilerplate)
            size[student] = fp.token_coverage  # the whole answer less the template
            own[student] += size[student]
            prints[task][student] = _drop(fp, expected)
            same.setdefault(fp.filtered_code, []).append(student)  # equal tokens: equal fingerprints
        # Many answers are equal once names and layout are gone: compare each distinct answer once.
        groups = list(same.values())
        distinct = [prints[task][group[0]] for group in groups]
        for i, j in _candidates(distinct):
            _, (sim_i, sim_j), _ = compare_files(distinct[i], distinct[j])
            # copydetect's ratios are of what is left after the boilerplate; ours of the whole answer.
            chars_i, chars_j = sim_i * distinct[i].token_coverage, sim_j * distinct[j].token_coverage
            if chars_i == 0 and chars_j == 0:
                continue
            for a, b in combinations(groups[i], 2) if i == j else product(groups[i], groups[j]):
                chars_a, chars_b = (chars_i, chars_j) if a < b else (chars_j, chars_i)
                a, b = min(a, b), max(a, b)
                part_a, part_b = chars_a / size[a], chars_b / size[b]
                rows.append((task, a, b, max(part_a, part_b), part_a, part_b, int(min(chars_a, chars_b)),
                             max(part_a, part_b) >= threshold and min(chars_a, chars_b) >= min_shared))
                total = shared_with.setdefault((a, b), [0.0, 0.0])
                total[0], total[1] = total[0] + chars_a, total[1] + chars_b
    columns = ["task", "student_a", "student_b", "similarity", "similarity_a", "similarity_b", "shared", "flagged"]
    per_task = pd.DataFrame(rows, columns=columns)
    flagged = per_task[per_task["flagged"].astype(bool)]
    flagged_pairs = set(zip(flagged["student_a"], flagged["student_b"]))
    whole, matrix = [], np.zeros((len(answers.students), len(answers.students)))
    index = {student: i for i, student in enumerate(answers.students)}
    for (a, b), (chars_a, chars_b) in shared_with.items():
        part_a, part_b = chars_a / max(own[a], 1), chars_b / max(own[b], 1)
        whole.append((WHOLE, a, b, max(part_a, part_b), part_a, part_b, int(min(chars_a, chars_b)),
                      (a, b) in flagged_pairs))
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = max(part_a, part_b)
    pairs = pd.concat([pd.DataFrame(whole, columns=columns), per_task], ignore_index=True)
    pairs = pairs.sort_values(["task", "similarity"], ascending=[True, False], ignore_index=True)
    pairs["flagged"] = pairs["flagged"].astype(bool)
    return Similarity(assignment, pairs, pd.DataFrame(matrix, index=answers.students, columns=answers.students),
                      answers, prints, threshold, count_solution, time.perf_counter() - started, min_shared)


def write_answers(answers: Answers, folder: Path) -> None:
    """Each answer as ``answers/<task>/<student>.py``, each template as ``boilerplate/<task>.py`` (MOSS, copydetect)."""
    for name in ("answers", "boilerplate"):
        shutil.rmtree(folder / name, ignore_errors=True)  # ours; a student who withdrew must not linger
    for task, by_student in answers.answers.items():
        (folder / "boilerplate" / task).parent.mkdir(parents=True, exist_ok=True)
        (folder / "boilerplate" / f"{task}.py").write_text(answers.template[task])
        (folder / "answers" / task).mkdir(parents=True, exist_ok=True)
        for student, code in by_student.items():
            (folder / "answers" / task / f"{student}.py").write_text(code)


def heat_map(result: Similarity, path: Path) -> Path:
    """Students x students, whole-assignment similarity; labels when the class is small enough to read them."""
    n = len(result.matrix)
    fig, ax = plt.subplots(figsize=(7, 6), layout="constrained")
    image = ax.imshow(result.matrix.values, vmin=0, vmax=1, cmap="magma_r")
    fig.colorbar(image, ax=ax, label="share of the answers found in the other's")
    if n <= 40:
        ax.set_xticks(range(n), result.matrix.columns, rotation=90, fontsize=7)
        ax.set_yticks(range(n), result.matrix.index, fontsize=7)
    beyond = "the template" if result.count_solution else "the template and the model answer"
    # The figure's title, not the axes': centred over the image and the colour bar, it runs into neither.
    fig.suptitle(f"{result.assignment}: answers shared beyond {beyond}")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _side_by_side(result: Similarity, task: str, a: str, b: str) -> tuple[Markup, Markup]:
    """Both students' answers to ``task`` as HTML, the matching code highlighted (escaped by copydetect)."""
    code, prints = result.answers.answers[task], result.fingerprints[task]
    _, _, matches = compare_files(prints[a], prints[b])
    marked = []
    for student, match, colour in ((a, matches[0], "#fcc"), (b, matches[1], "#cfc")):
        # A match's k-grams reach into the template's lines next to it (signature, docstring): not shared work.
        released = _template_lines(code[student], result.answers.template[task])
        text, _ = highlight_overlap(code[student], _without(match, released), f'<mark style="background:{colour}">',
                                    "</mark>", escape_html=True)
        marked.append(Markup(text))
    return marked[0], marked[1]


def _template_lines(code: str, template: str) -> np.ndarray:
    """Where ``code`` keeps lines of the released ``template`` unchanged, as copydetect's slices (2 x N)."""
    lines = code.splitlines(keepends=True)
    starts = np.cumsum([0] + [len(line) for line in lines])
    matcher = difflib.SequenceMatcher(None, [line.strip() for line in lines],
                                      [line.strip() for line in template.splitlines()], autojunk=False)
    spans = [(starts[m.a], starts[m.a + m.size]) for m in matcher.get_matching_blocks() if m.size]
    return np.array(spans, dtype=int).T if spans else np.array([[], []], dtype=int)


def _without(slices: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """copydetect's slices (2 x N: starts, ends) less the stretches in ``removed`` (the same form)."""
    cuts = sorted(zip(*removed)) if len(removed) and len(removed[0]) else []
    kept = []
    for start, end in zip(*slices) if len(slices) and len(slices[0]) else []:
        for cut_start, cut_end in cuts:
            if cut_start < end and cut_end > start:
                if cut_start > start:
                    kept.append((start, cut_start))
                start = max(start, cut_end)
        if start < end:
            kept.append((start, end))
    return np.array(kept, dtype=int).T if kept else np.array([[], []], dtype=int)


def _pair_sections(result: Similarity) -> list[dict]:
    """The flagged pairs shown side by side: per task its similarity, shared characters, flag and both answers."""
    sections = []
    for _, pair in result.flagged().head(SHOWN).iterrows():
        a, b = pair["student_a"], pair["student_b"]
        tasks = [dict(task=t["task"], similarity=t["similarity"], shared=t["shared"], flagged=bool(t["flagged"]),
                      code=_side_by_side(result, t["task"], a, b)) for _, t in result.tasks_of(a, b).iterrows()]
        sections.append(dict(a=a, b=b, similarity=pair["similarity"], tasks=tasks))
    return sections


def write_report(result: Similarity, folder: Path) -> dict[str, Path]:
    """report.html, pairs.csv, heatmap.png (and the answer files) in ``folder``; returns them by name."""
    folder.mkdir(parents=True, exist_ok=True)
    write_answers(result.answers, folder)
    paths = {"html": folder / "report.html", "csv": folder / "pairs.csv", "heatmap": folder / "heatmap.png"}
    result.pairs.to_csv(paths["csv"], index=False, float_format="%.3f")
    heat_map(result, paths["heatmap"])
    flagged = result.flagged()
    rest = flagged.iloc[SHOWN:][["student_a", "student_b", "similarity"]]
    page = render("similarity.html.j2", result=result, sections=_pair_sections(result),
                  heat_map=png(paths["heatmap"].read_bytes(), "heat map"),
                  rest=table(rest, float_format=lambda v: f"{v:.0%}") if len(rest) else None)
    temporary = paths["html"].with_name(f".{paths['html'].name}.tmp")
    temporary.write_text(page)
    temporary.replace(paths["html"])
    return paths


def similarity(root: Path, assignment: str, threshold: float = THRESHOLD, out: Path | None = None,
               count_solution: bool = False, min_shared: int = MIN_SHARED) -> tuple[Similarity, dict[str, Path]]:
    """Collect, compare and write the report (default ``reports/<assignment>/similarity/``)."""
    started = time.perf_counter()
    answers = collect_answers(root, assignment)
    result = compare(answers, assignment, threshold, min_shared, count_solution)
    paths = write_report(result, Path(out) if out else report_dir(root, assignment) / "similarity")
    result.seconds = time.perf_counter() - started
    return result, paths


def top_pairs(result: Similarity, n: int = TOP) -> list[str]:
    """Terminal lines for the most similar flagged pairs, with their tasks."""
    lines = []
    for _, pair in result.flagged().head(n).iterrows():
        tasks = result.tasks_of(pair["student_a"], pair["student_b"])
        detail = ", ".join(f"{t.split('/', 1)[1]} {s:.2f}" for t, s in zip(tasks["task"], tasks["similarity"]))
        lines.append(f"  {pair['similarity']:.2f}  {pair['student_a']} ~ {pair['student_b']}  ({detail})")
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (a folder under submitted/<student>/)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help="flag a pair when this share of one's answer to a task is in the other's "
                             f"(default {THRESHOLD})")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: reports/ASSIGNMENT/similarity/)")
    parser.add_argument("--count-solution", action="store_true",
                        help="count code equal to the instructor's solution as shared too (finds leaked solutions; "
                             "flags every pair of correct short answers)")


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    if not 0 < args.threshold <= 1:
        raise CourseError(f"course similarity: --threshold must be in (0, 1], got {args.threshold}")
    result, paths = similarity(course_root(args.course), args.assignment, args.threshold,
                               Path(args.out) if args.out else None, args.count_solution)
    print(f"{result.line()}; wrote {paths['html']}, {paths['csv'].name}, {paths['heatmap'].name}")
    print("\n".join(top_pairs(result)))
    for student, notebook, reason in result.answers.skipped:
        print(f"  skipped: {student}/{notebook}: {reason}")
    return 0
