"""Tamper checks: evidence, gathered by the trusted side, that a submission left the tests alone.

Student code and the tests share one interpreter, so a submission can patch ``assert`` helpers,
``torch.allclose``, builtins, or IPython itself (input transformers that blank cells, a custom
exception handler or a silent ``showtraceback`` that hides failures, #1324). Before execution the
trusted side adds a *baseline* cell at the top and a *checkpoint* cell after every test cell:

- the baseline records, before any student code runs, what the grading machinery looks like;
- each checkpoint prints the same record with a secret number, then fails an ``assert`` on purpose.

After execution ``verify`` compares each checkpoint with the baseline and checks the known answers
(the number printed, the expected AssertionError, comparison helpers that must reject unequal
values). Any difference is a reason; ``condemn`` then gives every test cell an error output so
nbgrader scores the notebook 0, and ``strip`` removes our cells before scoring.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import compute_checksum, is_grade, is_locked

from autograde.cells import NOT_RUN, error_output, grade_id, is_test
from autograde.grading import bindings

MARK = "autograde_sentinel"  # cell metadata key of our cells: "baseline" or "checkpoint"
TAMPER = "TamperingDetected"  # ename of the error output that zeroes a condemned test cell
PREFIX = "AUTOGRADE-STATE"
# Modules whose own callbacks and transformers are expected in a kernel (not a submission's).
TRUSTED_MODULES = ("IPython", "ipykernel", "matplotlib_inline", "matplotlib", "ipywidgets", "comm",
                   "jupyter_client", "traitlets", "torch", "tqdm")

# The probe runs inside the kernel; it must not rely on anything a submission could have defined.
PROBE = r'''
def __autograde_probe(guard, baseline):
    import builtins, importlib, json, sys
    shell = get_ipython()
    if baseline:  # what the notebook imports is imported now, so that its helpers are recorded too
        for target in guard.values():
            for module in (target[1] if target[0] == "loose" else [target[1]]):
                try:
                    importlib.import_module(module)
                except Exception:
                    pass
    def where(obj):
        obj = getattr(obj, "__func__", obj)
        code = getattr(obj, "__code__", None)
        return [type(obj).__name__, str(getattr(obj, "__module__", None)),
                str(getattr(obj, "__qualname__", None)), code.co_filename if code else None]
    names = ["abs", "all", "any", "bool", "float", "getattr", "hasattr", "int", "isinstance", "len",
             "max", "min", "print", "range", "repr", "round", "sorted", "str", "sum", "type", "zip",
             "exec", "eval", "compile", "__import__", "AssertionError", "Exception", "BaseException"]
    helpers = {"math": ["isclose"],
               "numpy": ["allclose", "isclose", "array_equal"],
               "numpy.testing": ["assert_allclose", "assert_array_equal", "assert_equal", "assert_almost_equal",
                                 "assert_array_almost_equal"],
               "torch": ["allclose", "isclose", "equal"],
               "torch.testing": ["assert_close"],
               "course": ["write_it_yourself"],  # hidden tests forbid library calls through it
               "course.scratch": ["write_it_yourself", "WriteItYourselfError"]}
    state = {
        "builtins": {n: where(getattr(builtins, n, None)) for n in names},
        "helpers": {f"{m}.{n}": where(getattr(sys.modules[m], n, None))
                    for m, ns in helpers.items() if m in sys.modules for n in ns},
        "shell": {n: where(getattr(shell, n, None)) for n in
                  ["run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                   "showtraceback", "_showtraceback", "showsyntaxerror", "set_custom_exc"]},
        "kernel": {n: where(getattr(shell.kernel, n, None)) for n in
                   ["do_execute", "execute_request", "send_response", "dispatch_shell"]},
        "session_send": where(shell.kernel.session.send),
        "transformers": [where(t) for t in shell.input_transformers_cleanup + shell.input_transformers_post],
        "ast_transformers": [where(t) for t in shell.ast_transformers],
        "events": {e: [where(c) for c in cs] for e, cs in shell.events.callbacks.items()},
        "custom_exceptions": [getattr(e, "__name__", repr(e)) for e in shell.custom_exceptions],
        "trace": [sys.gettrace() is not None, sys.getprofile() is not None],
        "streams": [type(sys.stdout).__module__, type(sys.stderr).__module__],
        "rejects": {},
        "names": {},
    }
    # Names the tests use: at the baseline what they must be bound to, later what they are bound to.
    for name, target in guard.items():
        if baseline:
            try:
                if target[0] == "module":
                    obj = importlib.import_module(target[1])
                elif target[0] == "from":
                    obj = getattr(importlib.import_module(target[1]), target[2])
                else:  # "loose": from a star import, else a builtin
                    found = [importlib.import_module(m) for m in target[1]]
                    owners = [m for m in found if name in getattr(m, "__all__", dir(m))] or [builtins]
                    obj = getattr(owners[-1], name)
            except Exception:
                continue  # not importable here: the tests will fail on it by themselves
        elif name in shell.user_ns:
            obj = shell.user_ns[name]
        else:
            continue
        state["names"][name] = [id(obj)] + where(obj)
    # Known answers: comparison helpers must reject unequal values.
    checks = {"numpy.testing.assert_allclose": lambda m: m.assert_allclose(0.0, 1.0),
              "torch.testing.assert_close": lambda m: m.assert_close(sys.modules["torch"].zeros(1),
                                                                     sys.modules["torch"].ones(1))}
    for name, check in checks.items():
        if name.rsplit(".", 1)[0] in sys.modules:
            try:
                check(sys.modules[name.rsplit(".", 1)[0]])
                state["rejects"][name] = "accepted unequal values"
            except AssertionError:
                state["rejects"][name] = "ok"
            except Exception as error:
                state["rejects"][name] = type(error).__name__
    for name in ("torch.allclose", "torch.equal", "numpy.allclose", "numpy.array_equal"):
        module, attr = name.rsplit(".", 1)
        if module in sys.modules:
            lib = sys.modules[module]
            try:
                state["rejects"][name] = "accepted unequal values" if bool(getattr(lib, attr)(lib.zeros(1), lib.ones(1))) else "ok"
            except Exception as error:
                state["rejects"][name] = type(error).__name__
    return state
'''


@dataclass
class Seal:
    """What the trusted side expects of its cells in one notebook (kept out of the worker's reach)."""

    nonces: dict[str, str] = field(default_factory=dict)  # cell id -> secret printed/raised by that cell
    guards: dict[str, str] = field(default_factory=dict)  # checkpoint cell id -> id of the test cell it follows
    prechecks: dict[str, str] = field(default_factory=dict)  # precheck cell id -> id of the test cell it precedes
    checksums: dict[str, str] = field(default_factory=dict)  # grade_id -> checksum of the prepared test cell

    def __repr__(self) -> str:
        return f"Seal({len(self.nonces)} sentinel cells, {len(self.checksums)} test cells)"


def _sentinel(kind: str, nonce: str, guard: dict, imports: str = "") -> NotebookNode:
    """One of our cells: print the probe's record with ``nonce``; a checkpoint then fails on purpose."""
    call = f"__autograde_probe({guard!r}, {kind == 'baseline'})"
    tail = (f"print({PREFIX!r}, {nonce!r}, __import__('json').dumps({call}))\n"
            f"del __autograde_probe\n")
    if kind == "checkpoint":
        tail += f"assert {nonce!r} == 'autograde', {nonce!r}  # must fail: proves failures still show\n"
    cell = nbformat.v4.new_code_cell(imports + PROBE + tail)
    cell.metadata[MARK] = kind
    return cell


def seal(nb: NotebookNode, answer_names: frozenset[str] = frozenset()) -> Seal:
    """Add the baseline cell, and a check before and after every test cell, to ``nb`` (in place); return the Seal.

    ``answer_names``: names the tasks ask the student to define (the instructor's answer cells bind them)."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # Import what the tests may use before the student can touch it, so the baseline covers it.
    modules = [m for m, hints in (("numpy", ("numpy", "np.")), ("torch", ("torch",))) if any(h in text for h in hints)]
    imports = "import math\n" + "".join(f"import {m}\nimport {m}.testing\n" for m in modules)
    guard = bindings.guarded_names(nb, answer_names)
    if nb.get("nbformat_minor", 0) < 5:  # cell ids came with nbformat 4.5; we find our cells by id
        nb.nbformat_minor = 5
    for cell in nb.cells:
        cell.setdefault("id", secrets.token_hex(4))
    result = Seal()
    nonce = secrets.token_hex(8)
    cells = [_sentinel("baseline", nonce, guard, imports)]
    result.nonces[cells[0].id] = nonce
    for cell in nb.cells:
        if is_test(cell):  # a binding that puts itself back when used is caught before the test runs
            nonce = secrets.token_hex(8)
            cells.append(_sentinel("precheck", nonce, guard))
            result.nonces[cells[-1].id] = nonce
            result.prechecks[cells[-1].id] = cell.id
        cells.append(cell)
        if is_test(cell):
            nonce = secrets.token_hex(8)
            guard_cell = _sentinel("checkpoint", nonce, guard)
            cells.append(guard_cell)
            result.nonces[guard_cell.id] = nonce
            result.guards[guard_cell.id] = cell.id
        if cell.cell_type == "code" and is_grade(cell) and is_locked(cell):
            result.checksums[grade_id(cell)] = compute_checksum(cell)
    nb.cells = cells
    return result


def _state(cell: NotebookNode, nonce: str) -> dict | None:
    """The probe's record printed by ``cell`` with the right secret, or None."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0] == PREFIX and parts[1] == nonce:
            try:
                return json.loads(parts[2])
            except ValueError:
                return None
    return None


def _untrusted_callable(entry: list) -> bool:
    """A callable that comes from neither the standard machinery nor a trusted package."""
    module = str(entry[1] or "")
    return module.split(".")[0] not in TRUSTED_MODULES


def _compare(baseline: dict, state: dict) -> list[str]:
    """What changed in the grading machinery between the baseline and a checkpoint."""
    found = []
    for group in ("builtins", "shell", "kernel"):
        for name, where in state.get(group, {}).items():
            if baseline.get(group, {}).get(name) != where:
                found.append(f"{'builtins.' if group == 'builtins' else group + '.'}{name} was replaced")
    if state.get("session_send") != baseline.get("session_send"):
        found.append("the kernel's message sending was replaced")
    for name, where in state.get("helpers", {}).items():
        if name in baseline.get("helpers", {}) and baseline["helpers"][name] != where:
            found.append(f"{name} was replaced")
    for name, verdict in state.get("rejects", {}).items():
        if verdict != "ok":
            found.append(f"{name} {verdict}")
    for group in ("transformers", "ast_transformers"):
        extra = [w for w in state.get(group, []) if w not in baseline.get(group, []) and _untrusted_callable(w)]
        if extra:
            found.append(f"IPython {group.replace('_', ' ')} added: {', '.join(str(w[2]) for w in extra)}")
    for event, callbacks in state.get("events", {}).items():
        extra = [w for w in callbacks if w not in baseline.get("events", {}).get(event, []) and _untrusted_callable(w)]
        if extra:
            found.append(f"IPython '{event}' event hook added: {', '.join(str(w[2]) for w in extra)}")
    if state.get("custom_exceptions"):
        found.append(f"IPython custom exception handler set for {', '.join(state['custom_exceptions'])}")
    if state.get("trace") != baseline.get("trace"):
        found.append("a trace or profile function was installed")
    for name, now in state.get("names", {}).items():
        expected = baseline.get("names", {}).get(name)
        if expected is not None and now != expected:
            found.append(f"the name '{name}' that the tests use was rebound (to {now[2]}.{now[3]}, "
                         f"expected {expected[2]}.{expected[3]})")
    if state.get("streams") != baseline.get("streams"):
        found.append(f"sys.stdout/stderr replaced ({', '.join(state.get('streams', []))})")
    return found


def verify(nb: NotebookNode, seal_: Seal) -> list[str]:
    """Reasons to believe the tests in executed ``nb`` were tampered with (empty: none found)."""
    by_id = {c.get("id"): c for c in nb.cells}
    reasons: list[str] = []
    baseline_id = next((i for i in seal_.nonces if i not in seal_.guards and i not in seal_.prechecks), None)
    baseline_cell = by_id.get(baseline_id)
    baseline = _state(baseline_cell, seal_.nonces[baseline_id]) if baseline_cell is not None else None
    if baseline is None:
        return [] if _not_run(baseline_cell) else ["the integrity baseline cell did not run as written"]
    for cell in nb.cells:
        if cell.cell_type == "code" and is_grade(cell) and is_locked(cell):
            test_id = grade_id(cell)
            if test_id in seal_.checksums and compute_checksum(cell) != seal_.checksums[test_id]:
                reasons.append(f"test cell '{test_id}' changed during execution")
    for guard_id, test_id in {**seal_.prechecks, **seal_.guards}.items():
        cell = by_id.get(guard_id)
        test = by_id.get(test_id)
        label = (grade_id(test) if test is not None else "") or test_id
        if cell is None:
            reasons.append(f"the check beside test '{label}' is missing")
            continue
        if _not_run(cell):
            continue  # the kernel stopped before it: the test after that point did not run either
        nonce = seal_.nonces[guard_id]
        state = _state(cell, nonce)
        if state is None:
            reasons.append(f"the check beside test '{label}' printed no valid record (cells rewritten or skipped?)")
            continue
        if guard_id in seal_.prechecks:  # a precheck only records; it does not fail on purpose
            reasons.extend(f for f in _compare(baseline, state) if f not in reasons)
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not any(o.get("ename") == "AssertionError" and nonce in str(o.get("evalue", "")) for o in errors):
            reasons.append(f"a failing assert after test '{label}' did not show as an error (failures hidden)")
        for finding in _compare(baseline, state):
            if finding not in reasons:
                reasons.append(finding)
    return reasons


def _not_run(cell: NotebookNode | None) -> bool:
    """The cell never executed (the kernel died or the notebook time ran out first)."""
    if cell is None:
        return False
    outputs = cell.get("outputs", [])
    return cell.get("execution_count") is None and (not outputs or any(
        o.get("ename") == NOT_RUN for o in outputs))


def strip(nb: NotebookNode) -> NotebookNode:
    """``nb`` without our sentinel cells (in place), ready for nbgrader's scoring."""
    nb.cells = [c for c in nb.cells if MARK not in c.get("metadata", {})]
    return nb


def condemn(nb: NotebookNode, reasons: list[str]) -> int:
    """Give every test cell of ``nb`` an error output naming ``reasons`` so it scores 0; returns how many."""
    text = "; ".join(reasons)
    count = 0
    for cell in nb.cells:
        if is_test(cell):
            cell.outputs = [error_output(TAMPER, text)]
            count += 1
    return count


def unseal(executed_json: str, seal_: Seal) -> tuple[str, list[str]]:
    """Verify, condemn if needed and strip an executed notebook: (notebook JSON for scoring, reasons)."""
    nb = nbformat.reads(executed_json, as_version=4)
    reasons = verify(nb, seal_)
    strip(nb)
    if reasons:
        condemn(nb, reasons)
    return nbformat.writes(nb), reasons
