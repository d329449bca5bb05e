"""Mutation operators: small, plausible mistakes made to the solution code of an answer cell.

``mutants(source)`` parses a cell with :mod:`ast` and returns one :class:`Mutant` per small change of
the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the whole cell when it has no such
markers): arithmetic and comparison operators swapped, constants and ``dim``/``axis`` arguments
changed, ``keepdim`` flipped, terms and factors dropped, a different variable returned, a method call
or a statement left out, a condition negated, ``max``/``min``-style functions swapped. Each change is
spliced into the original text, so the rest of the cell (comments, layout) stays as it was and the
diff shows one line. A good test suite makes every mutant lose points; one that survives is either a
gap in the tests or an *equivalent* mutant (same behaviour), which the notebook documents with a
comment ``# equivalent-mutant: <id> <why>`` in the answer cell (see :func:`equivalent_ids`).
"""
from __future__ import annotations

import ast
import copy
import difflib
import hashlib
import re
from dataclasses import dataclass
from itertools import zip_longest

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"  # nbgrader's ClearSolutions delimiters
EQUIVALENT = re.compile(r"#\s*equivalent-mutant:\s*(\S+)")

ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
         ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.MatMult: ast.Mult}
COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
           ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
          ast.Pow: "**", ast.MatMult: "@", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
          ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
          ast.And: "and", ast.Or: "or"}
SWAP_NAMES = {"max": "min", "min": "max", "amax": "amin", "amin": "amax", "argmax": "argmin", "argmin": "argmax",
              "sum": "mean", "mean": "sum", "zeros": "ones", "ones": "zeros", "zeros_like": "ones_like",
              "ones_like": "zeros_like", "exp": "log", "log": "exp", "sigmoid": "tanh", "tanh": "sigmoid",
              "softmax": "log_softmax", "log_softmax": "softmax", "relu": "abs", "clamp_min": "clamp_max"}
# Methods whose call can be left out and still give a value of a similar kind (x.detach() -> x).
DROPPABLE_METHODS = {"detach", "clone", "float", "double", "long", "contiguous", "item", "squeeze", "flatten",
                     "requires_grad_", "zero_", "abs", "exp", "log", "sqrt", "relu", "sum", "mean", "t", "cpu",
                     "numpy", "tolist", "copy"}
AXIS_KEYWORDS = {"dim", "axis", "dims", "start_dim", "end_dim", "dim0", "dim1"}
# Tensor methods/functions whose positional int arguments are axes (x.sum(1), torch.cat(xs, 0)).
AXIS_CALLS = {"sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "softmax", "log_softmax",
              "logsumexp", "cumsum", "prod", "std", "var", "cat", "stack", "squeeze", "unsqueeze", "flatten",
              "transpose", "all", "any", "median", "norm", "vector_norm", "split", "chunk", "flip", "roll", "sort",
              "topk", "movedim", "permute"}
ATOMS = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Dict, ast.Set)


@dataclass(frozen=True)
class Mutant:
    """One small change of an answer cell: a stable id, the operator, the mutated source and a one-line diff."""

    id: str  # "m" + 7 hex digits of the changed lines: stable while those lines stay the same
    operator: str  # arith, augassign, compare, boolop, unary, constant, axis, keepdim, drop-term, return,
    #                drop-call, swap-call, delete, negate
    description: str  # what changed, e.g. "`+` -> `-`"
    line: int  # 1-based line of the cell that changed
    source: str  # the whole mutated cell
    diff: str  # "-old line\n+new line" (unified diff of the changed lines, no context)

    def __repr__(self) -> str:
        return f"Mutant({self.id}, {self.operator}, line {self.line}: {self.description})"


def solution_lines(source: str) -> set[int]:
    """1-based line numbers inside ``### BEGIN/END SOLUTION`` regions; every line when the cell has none."""
    lines = source.splitlines()
    inside, found, chosen = False, False, set()
    for number, line in enumerate(lines, 1):
        if BEGIN in line and line.lstrip().startswith("#"):
            inside, found = True, True
        elif END in line and line.lstrip().startswith("#"):
            inside = False
        elif inside:
            chosen.add(number)
    return chosen if found else set(range(1, len(lines) + 1))


def equivalent_ids(source: str) -> dict[str, str]:
    """Mutant ids the cell documents as equivalent (``# equivalent-mutant: <id> <why>``), with the why."""
    notes = {}
    for line in source.splitlines():
        match = EQUIVALENT.search(line)
        if match:
            notes[match.group(1)] = line[match.end():].strip(" -:")
    return notes


class _Offsets:
    """Character offsets in ``source`` of (line, byte column) positions as ast reports them."""

    def __init__(self, source: str):
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def __call__(self, line: int, byte_col: int) -> int:
        text = self.lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", errors="ignore")
        return self.starts[line - 1] + len(text)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def _inside(node: ast.AST, kinds: tuple, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, kinds):
            return True
    return False


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _replace(node: ast.AST, **changes) -> ast.AST:
    new = copy.copy(node)
    for key, value in changes.items():
        setattr(new, key, value)
    return new


class _Collector:
    """Walks a parsed cell and records (node, replacement node or text, operator, description)."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.parents = _parents(tree)
        self.changes: list[tuple[ast.AST, ast.AST | str, str, str]] = []
        self.axis_constants: set[int] = set()  # ids of constants that are axes (changed as "axis", not "constant")

    def add(self, node: ast.AST, replacement: ast.AST | str, operator: str, description: str) -> None:
        """Record one change: ``node`` becomes ``replacement`` (a node, or source text)."""
        self.changes.append((node, replacement, operator, description))

    def run(self) -> None:
        """Call ``visit_<NodeType>`` on every node of the tree that has one."""
        for node in ast.walk(self.tree):
            method = getattr(self, f"visit_{type(node).__name__}", None)
            if method:
                method(node)

    # --- operators --------------------------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp) -> None:
        if _is_text(node.left) or _is_text(node.right):
            return  # string building (error messages): not the behaviour under test
        swapped = ARITH.get(type(node.op))
        if swapped:
            self.add(node, _replace(node, op=swapped()), "arith", f"`{SYMBOL[type(node.op)]}` -> `{SYMBOL[swapped]}`")
        if isinstance(node.op, (ast.Add, ast.Sub)):
            self.add(node, node.left, "drop-term", f"drop `{SYMBOL[type(node.op)]} {ast.unparse(node.right)}`")
            self.add(node, node.right, "drop-term", f"drop `{ast.unparse(node.left)} {SYMBOL[type(node.op)]}`")
        elif isinstance(node.op, (ast.Mult, ast.Div, ast.MatMult, ast.FloorDiv)):
            self.add(node, node.left, "drop-term", f"drop factor `{SYMBOL[type(node.op)]} {ast.unparse(node.right)}`")
            if isinstance(node.op, (ast.Mult, ast.MatMult)):
                self.add(node, node.right, "drop-term", f"drop factor `{ast.unparse(node.left)} {SYMBOL[type(node.op)]}`")

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        swapped = ARITH.get(type(node.op))
        if swapped:
            self.add(node, _replace(node, op=swapped()), "augassign",
                     f"`{SYMBOL[type(node.op)]}=` -> `{SYMBOL[swapped]}=`")
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            load = _replace(node.target, ctx=ast.Load())
            out_of_place = ast.Assign(targets=[node.target], value=ast.BinOp(load, node.op, node.value), lineno=node.lineno)
            self.add(node, out_of_place, "augassign", "in place -> out of place")
        self._delete(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for position, op in enumerate(node.ops):
            swapped = COMPARE.get(type(op))
            if swapped:
                ops = list(node.ops)
                ops[position] = swapped()
                self.add(node, _replace(node, ops=ops), "compare", f"`{SYMBOL[type(op)]}` -> `{SYMBOL[swapped]}`")

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        self.add(node, _replace(node, op=other()), "boolop", f"`{SYMBOL[type(node.op)]}` -> `{SYMBOL[other]}`")

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self.add(node, node.operand, "unary", "drop `not`")
        elif isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
            self.add(node, node.operand, "unary", "drop unary `-`")

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg == "keepdim" and isinstance(value, ast.Constant) and isinstance(value.value, bool):
                self.axis_constants.add(id(value))
                self.add(value, ast.Constant(not value.value), "keepdim", f"keepdim={value.value} -> {not value.value}")
            elif keyword.arg in AXIS_KEYWORDS:
                self._axis(value)
        if name in AXIS_CALLS and isinstance(node.func, ast.Attribute):
            # x.sum(1): the first argument of a tensor method is the axis; torch.cat(xs, 0): the second.
            is_function = isinstance(node.func.value, ast.Name) and node.func.value.id in ("torch", "F", "np")
            position = 1 if is_function else 0
            if len(node.args) > position:
                self._axis(node.args[position])
        if name in SWAP_NAMES:
            other = SWAP_NAMES[name]
            func = node.func
            new_func = _replace(func, attr=other) if isinstance(func, ast.Attribute) else _replace(func, id=other)
            self.add(node, _replace(node, func=new_func), "swap-call", f"`{name}` -> `{other}`")
        if isinstance(node.func, ast.Attribute) and node.func.attr in DROPPABLE_METHODS and len(node.args) <= 1 \
                and not node.keywords and not (node.args and not isinstance(node.args[0], ast.Constant)):
            self.add(node, node.func.value, "drop-call", f"drop `.{node.func.attr}()`")

    def _axis(self, value: ast.AST) -> None:
        number = _int_value(value)
        if number is None:
            return
        self.axis_constants.add(id(value))
        if isinstance(value, ast.UnaryOp):
            self.axis_constants.add(id(value.operand))
        for other in (number + 1, number - 1):
            self.add(value, _int_node(other), "axis", f"axis {number} -> {other}")

    def visit_Constant(self, node: ast.Constant) -> None:
        if id(node) in self.axis_constants or _inside(node, (ast.JoinedStr, ast.Raise, ast.Assert), self.parents):
            return
        parent = self.parents.get(node)
        if isinstance(parent, ast.UnaryOp) and id(parent) in self.axis_constants:
            return
        value = node.value
        if isinstance(value, bool):
            self.add(node, ast.Constant(not value), "constant", f"{value} -> {not value}")
        elif isinstance(value, int):
            for other in sorted({value + 1, value - 1, 0} - {value}, key=lambda v: abs(v - value))[:2]:
                self.add(node, ast.Constant(other), "constant", f"{value} -> {other}")
        elif isinstance(value, float):
            for other in ([value + 1.0, 0.0] if value != 0 else [1.0]):
                self.add(node, ast.Constant(other), "constant", f"{value!r} -> {other!r}")

    def visit_Return(self, node: ast.Return) -> None:
        value = node.value
        if isinstance(value, ast.Tuple) and len(value.elts) == 2:
            self.add(value, _replace(value, elts=value.elts[::-1]), "return", "return values swapped")
        if isinstance(value, ast.Name):
            for other in self._other_names(node, value.id)[:2]:
                self.add(value, ast.Name(other, ast.Load()), "return", f"return `{other}` instead of `{value.id}`")

    def _other_names(self, node: ast.AST, name: str) -> list[str]:
        """Parameters and variables of the function around ``node``, assigned before it, other than ``name``."""
        function = node
        while function in self.parents and not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = self.parents[function]
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        names = [a.arg for a in function.args.args + function.args.kwonlyargs if a.arg not in ("self", "cls")]
        for inner in ast.walk(function):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store) and inner.lineno < node.lineno:
                names.append(inner.id)
        ordered = list(dict.fromkeys(reversed(names)))  # the most recent assignment first
        return [n for n in ordered if n != name]

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Call):
            self._delete(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        # Leaving out a re-assignment (x = x.fillna(...)) skips a step; leaving out a first one only makes a NameError.
        targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
        if targets and set(targets) & used:
            self._delete(node)
        elif isinstance(node.targets[0], (ast.Subscript, ast.Attribute)):
            self._delete(node)  # x[i] = ..., self.w = ...: a write that could be forgotten

    def _delete(self, node: ast.stmt) -> None:
        body = getattr(self.parents.get(node), "body", None)
        if isinstance(body, list) and node in body:
            self.add(node, ast.Pass(), "delete", f"delete `{ast.unparse(node).splitlines()[0]}`")

    def visit_If(self, node: ast.If) -> None:
        self.add(node.test, ast.UnaryOp(ast.Not(), node.test), "negate", "condition negated")

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.add(node.test, ast.UnaryOp(ast.Not(), node.test), "negate", "condition negated")


def _int_value(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _int_node(value: int) -> ast.AST:
    return ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))


PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.FloorDiv: 2, ast.Mod: 2, ast.MatMult: 2, ast.Pow: 3}


def _same_binding(node: ast.AST, replacement: ast.AST) -> bool:
    """Whether the replacement binds exactly like the node it replaces (an operator of the same rank)."""
    if isinstance(node, ast.Compare) and isinstance(replacement, ast.Compare):
        return True
    if isinstance(node, ast.BinOp) and isinstance(replacement, ast.BinOp):
        return PRECEDENCE[type(node.op)] == PRECEDENCE[type(replacement.op)]
    return False


def _needs_parentheses(node: ast.AST, replacement: ast.AST, parents: dict) -> bool:
    if _same_binding(node, replacement):
        return False
    parent = parents.get(node)
    operator_context = isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Attribute,
                                           ast.Subscript, ast.Await)) or (isinstance(parent, ast.Call) and parent.func is node)
    return operator_context and not isinstance(replacement, ATOMS)


def _diff(old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm="")
    return "\n".join(line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---")))


def _mutant_id(diff: str) -> str:
    normal = "\n".join(line[0] + line[1:].strip() for line in diff.splitlines())
    return "m" + hashlib.sha1(normal.encode()).hexdigest()[:7]


def mutants(source: str) -> list[Mutant]:
    """Every distinct mutant of the solution code in ``source``, in line order; [] if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # IPython magics etc.: nothing we can mutate safely
    allowed = solution_lines(source)
    collector = _Collector(tree)
    collector.run()
    offsets = _Offsets(source)
    seen, found = {source}, []
    for node, replacement, operator, description in collector.changes:
        if not hasattr(node, "end_lineno") or not set(range(node.lineno, node.end_lineno + 1)) <= allowed:
            continue
        start = offsets(node.lineno, node.col_offset)
        end = offsets(node.end_lineno, node.end_col_offset)
        text = ast.unparse(replacement)
        wrapped = source[start - 1:start] == "(" and source[end:end + 1] == ")"
        if isinstance(replacement, ast.AST) and not wrapped and _needs_parentheses(node, replacement, collector.parents):
            text = f"({text})"
        if isinstance(replacement, ast.stmt) and "\n" in text:
            continue  # a multi-line statement replacement would need re-indenting
        mutated = source[:start] + text + source[end:]
        if mutated in seen:
            continue
        try:
            ast.parse(mutated)
        except SyntaxError:
            continue
        seen.add(mutated)
        diff = _diff(source, mutated)
        found.append(Mutant(_mutant_id(diff), operator, description, node.lineno, mutated, diff))
    found.sort(key=lambda m: m.line)
    return _unique_ids(found)


def _unique_ids(found: list[Mutant]) -> list[Mutant]:
    """The same change on two identical lines gives the same id; number the later ones."""
    counts: dict[str, int] = {}
    result = []
    for mutant in found:
        counts[mutant.id] = counts.get(mutant.id, 0) + 1
        if counts[mutant.id] > 1:
            mutant = Mutant(f"{mutant.id}-{counts[mutant.id]}", mutant.operator, mutant.description, mutant.line,
                            mutant.source, mutant.diff)
        result.append(mutant)
    return result


def select(found: list[Mutant], limit: int | None) -> list[Mutant]:
    """At most ``limit`` mutants, taken in turn from each operator so that every kind is tried."""
    if limit is None or len(found) <= limit:
        return list(found)
    by_operator: dict[str, list[Mutant]] = {}
    for mutant in found:
        by_operator.setdefault(mutant.operator, []).append(mutant)
    chosen = []
    for group in zip_longest(*by_operator.values()):
        chosen.extend(m for m in group if m is not None)
    chosen = chosen[:limit]
    return sorted(chosen, key=found.index)


def defined_names(source: str) -> list[str]:
    """Top-level names a cell defines afresh (def, class, assignment not reading the name); [] if unparsable."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            read = {n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name)} if statement.value else set()
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store) and name.id not in read:
                        names.append(name.id)
    return list(dict.fromkeys(names))
