"""Generate the student exercise sheets in ``exercises/`` from ``solutions/``.

The single source of an exercise sheet is its solution notebook,
``solutions/<track>/NN-slug.ipynb``. In its code cells each answer sits
between two marker lines::

    def box_size_angstrom(vol):
        ### BEGIN SOLUTION
        return tuple(n * s for n, s in zip(vol.shape, vol.voxel_size_zyx))
        ### END SOLUTION

and the student copy gets, at the same indentation::

    def box_size_angstrom(vol):
        raise NotImplementedError("Replace this line with your code")

Hints are not written into the sheet: they live in the check, as a ladder
given one step per wrong attempt (:mod:`emcourse.checks._ladder`), so a
``# HINT:`` line in a solution is refused. A block at the top level of a cell
that only assigns names is a committed answer (a prediction, a choice): the
student copy keeps the names, assigned ``...``::

    ### BEGIN SOLUTION
    my_guess = 0.33
    ### END SOLUTION

becomes ``my_guess = ...  # your answer``, which the check refuses as unset.
Markdown cells tagged ``solution`` are replaced by an empty answer cell, and
markdown answers between the same markers are cut out.

Answers are function bodies and the next cell hands the function to a check
(``checks.box_size_angstrom(box_size_angstrom)``), so every cell of the student
copy runs and each check says "Not done yet" with the hint. A cell that calls
an unfinished function itself (directly, or through a function of the sheet
that calls one) raises ``NotImplementedError`` in the student copy: it gets
the ``raises-exception`` tag there, so that the student book still builds and
the learner sees the stub's message where the function is used.

The output is deterministic: outputs and execution counts cleared, metadata
reduced to ``kernelspec`` and ``language_info`` (notebook) and ``tags`` (cells),
written as nbformat/nbstripout write JSON (``indent=1``, sorted keys, trailing
newline). Building twice gives identical bytes.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections import Counter
from pathlib import Path

import nbformat

__all__ = [
    "BEGIN",
    "END",
    "GENERIC_HINT",
    "SolutionMarkupError",
    "build",
    "build_all",
    "check_all",
    "make_exercise",
    "stub_source",
    "task_map",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
GENERIC_HINT = "Replace this line with your code"
MARKDOWN_ANSWER = "*Write your answer here.*"
SOLUTION_TAG = "solution"
RAISES_TAG = "raises-exception"

_HINT = re.compile(r"^\s*#\s*HINT:\s?(?P<text>.*?)\s*$")
_NB_METADATA_KEYS = ("kernelspec", "language_info")
_DEFAULT_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class SolutionMarkupError(ValueError):
    """A solution notebook's BEGIN/END SOLUTION markers do not pair up."""


def stub_source(source: str, *, where: str = "cell") -> str:
    """Replace every BEGIN/END SOLUTION block of a code cell with a stub.

    Parameters
    ----------
    source : str
        Source of one code cell.
    where : str
        Names the cell in error messages, e.g. ``"solutions/x.ipynb, cell 4"``.

    Returns
    -------
    str
        The source with each block replaced by a ``raise NotImplementedError``
        at the indentation of the BEGIN line, or, for a top-level block that
        only assigns names, by ``name = ...`` for each.

    Raises
    ------
    SolutionMarkupError
        For an END without BEGIN, a BEGIN inside a block, a missing END, or a
        ``# HINT:`` line.

    Examples
    --------
    >>> src = "def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION\\n"
    >>> print(stub_source(src))
    def f(x):
        raise NotImplementedError("Replace this line with your code")
    <BLANKLINE>
    """
    out: list[str] = []
    block: list[str] | None = None
    indent = ""
    begin_line = 0
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if block is not None:
                raise SolutionMarkupError(
                    f"{where}, line {number}: '{BEGIN}' inside the block opened on line "
                    f"{begin_line}. Close each block with '{END}' before opening another."
                )
            block, begin_line = [], number
            indent = line[: len(line) - len(line.lstrip())]
        elif stripped.startswith(END):
            if block is None:
                raise SolutionMarkupError(
                    f"{where}, line {number}: '{END}' without a matching '{BEGIN}'."
                )
            hints = [n for n, text in enumerate(block, begin_line + 1) if _HINT.match(text)]
            if hints:
                raise SolutionMarkupError(
                    f"{where}, line {hints[0]}: '# HINT:' in a solution. Hints live in the "
                    "check, as a ladder of steps (`hint=(nudge, method)`), so that each is "
                    "shown once and only after a wrong attempt."
                )
            names = _committed_names("".join(block)) if not indent else None
            if names:
                out.extend(f"{name} = ...  # your answer\n" for name in names)
            else:
                out.append(f'{indent}raise NotImplementedError("{GENERIC_HINT}")\n')
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise SolutionMarkupError(
            f"{where}: '{BEGIN}' on line {begin_line} has no '{END}'. Add the END line "
            "after the answer."
        )
    text = "".join(out)
    # nbformat stores cell sources without a final newline; keep the cell's own style.
    if not source.endswith("\n") and text.endswith("\n"):
        text = text[:-1]
    return text


def _committed_names(code: str) -> list[str] | None:
    """The names a block assigns, when it does nothing but assign names; else None."""
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return None
    names = []
    for node in body:
        if not isinstance(node, ast.Assign) or not all(
            isinstance(t, ast.Name) for t in node.targets
        ):
            return None
        names += [t.id for t in node.targets if t.id not in names]
    return names or None


def _markdown_source(source: str, *, where: str) -> str:
    """Cut BEGIN/END SOLUTION blocks out of a markdown cell."""
    out: list[str] = []
    inside = False
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise SolutionMarkupError(f"{where}: nested '{BEGIN}' in a markdown cell.")
            inside = True
        elif stripped.startswith(END):
            if not inside:
                raise SolutionMarkupError(f"{where}: '{END}' without '{BEGIN}'.")
            inside = False
            out.append(MARKDOWN_ANSWER + "\n")
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkupError(f"{where}: '{BEGIN}' has no '{END}' in a markdown cell.")
    return "".join(out).rstrip("\n")


def _called_names(nodes) -> set[str]:
    """Names called in ``nodes``, not looking inside function or class definitions."""
    found: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            found.add(node.func.id)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _update_raising(source: str, raising: set[str]) -> bool:
    """Add the functions of a student cell that raise to ``raising``; True if the cell raises.

    ``raising`` starts as ``{"NotImplementedError"}``, which every stub calls: a
    function raises when its body calls a name in it, and a cell raises when its
    own statements do (a stub at the top level of a cell too). Cells that are
    not plain Python (magics) are left alone.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if _called_names(node.body) & raising:
                raising.add(node.name)
            else:
                raising.discard(node.name)  # redefined as a finished function
    return bool(_called_names(tree.body) & raising)


def make_exercise(
    solution: nbformat.NotebookNode, *, name: str = "notebook"
) -> nbformat.NotebookNode:
    """Return the student copy of a solution notebook (the input is not changed).

    Parameters
    ----------
    solution : NotebookNode
        A v4 notebook.
    name : str
        Names the notebook in error messages.
    """
    nb = nbformat.v4.new_notebook()
    meta = solution.get("metadata", {})
    nb.metadata = nbformat.from_dict(
        {k: copy.deepcopy(meta[k]) for k in _NB_METADATA_KEYS if k in meta}
    )
    nb.metadata.setdefault("kernelspec", nbformat.from_dict(_DEFAULT_KERNELSPEC))
    nb.metadata.setdefault("language_info", nbformat.from_dict({"name": "python"}))
    nb.nbformat, nb.nbformat_minor = 4, 5
    raising = {"NotImplementedError"}  # and the functions of the student copy that call it
    for index, cell in enumerate(solution.cells):
        where = f"{name}, cell {index + 1}"
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        tags = list(cell.get("metadata", {}).get("tags", []))
        cell_id = cell.get("id") or f"cell-{index + 1}"
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(stub_source(source, where=where))
        elif cell.cell_type == "markdown":
            if SOLUTION_TAG in tags:
                new = nbformat.v4.new_markdown_cell(MARKDOWN_ANSWER)
            else:
                new = nbformat.v4.new_markdown_cell(_markdown_source(source, where=where))
        else:
            new = nbformat.v4.new_raw_cell(source)
        new.id = cell_id
        tags = [t for t in tags if t != SOLUTION_TAG]
        if cell.cell_type == "code" and _update_raising(new.source, raising):
            tags += [] if RAISES_TAG in tags else [RAISES_TAG]
        new.metadata = nbformat.from_dict({"tags": tags} if tags else {})
        nb.cells.append(new)
    return nb


def _heading(source: str, level: int) -> str | None:
    for line in source.splitlines():
        if line.startswith("#" * level + " "):
            return line[level + 1 :].strip()
    return None


def task_map(root: str | Path = Path(".")) -> list[dict[str, str]]:
    """Every task of the course, in the order of the sheets and of their cells.

    A task is a call ``checks.<name>(...)`` in a solution notebook; its title
    is the last ``##`` heading above it, its sheet the student copy in
    ``exercises/``. ``emcourse progress`` and ``emcourse class-report`` read
    this map (``src/emcourse/tasks.json``), so that records, keyed by the task
    name, survive renumbered lessons.
    """
    root = Path(root)
    tasks: list[dict[str, str]] = []
    for sol, _, rel in _plan(root)[0]:
        nb = nbformat.read(sol, as_version=4)
        sheet_title = next(
            (h for c in nb.cells if c.cell_type == "markdown" and (h := _heading(c.source, 1))),
            rel,
        )
        title = sheet_title
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                title = _heading(cell.source, 2) or title
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                f = node.func if isinstance(node, ast.Call) else None
                if (
                    isinstance(f, ast.Attribute)
                    and isinstance(f.value, ast.Name)
                    and f.value.id == "checks"
                ):
                    tasks.append(
                        {
                            "task": f.attr,
                            "title": title,
                            "sheet": f"exercises/{rel}",
                            "sheet_title": sheet_title,
                        }
                    )
    # two checks under one heading: name each by the call the learner sees
    shared = Counter((t["sheet"], t["title"]) for t in tasks)
    for t in tasks:
        if shared[t["sheet"], t["title"]] > 1:
            t["title"] += f" (checks.{t['task']})"
    return tasks


def _task_map_text(root: Path) -> str:
    return json.dumps(task_map(root), indent=1, ensure_ascii=False) + "\n"


TASK_MAP = Path("src/emcourse/tasks.json")


def _render(solution_path: Path) -> str:
    nb = nbformat.read(solution_path, as_version=4)
    exercise = make_exercise(nb, name=str(solution_path))
    nbformat.validate(exercise)
    text = nbformat.writes(exercise)
    return text if text.endswith("\n") else text + "\n"


def build(solution_path: str | Path, exercise_path: str | Path) -> bool:
    """Write the student copy of one solution notebook.

    Returns
    -------
    bool
        True when the file was written, False when it was already up to date.
    """
    text = _render(Path(solution_path))
    target = Path(exercise_path)
    if target.exists() and target.read_bytes() == text.encode("utf-8"):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text.encode("utf-8"))
    return True


def _notebooks(base: Path) -> list[Path]:
    """Every notebook below ``base`` (none when it is missing), checkpoints left out."""
    return sorted(
        p for p in base.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.relative_to(base).parts
    )


def _plan(root: Path) -> tuple[list[tuple[Path, Path, str]], list[Path]]:
    """(solution, exercise, relative path) for every solution, and the stale exercises."""
    pairs = []
    for sol in _notebooks(root / "solutions"):
        rel = sol.relative_to(root / "solutions")
        pairs.append((sol, root / "exercises" / rel, rel.as_posix()))
    wanted = {target for _, target, _ in pairs}
    return pairs, [p for p in _notebooks(root / "exercises") if p not in wanted]


def build_all(root: str | Path = Path("."), *, verbose: bool = False) -> list[Path]:
    """Regenerate ``exercises/`` from every notebook in ``solutions/``.

    Exercise notebooks whose solution no longer exists are deleted.

    Parameters
    ----------
    root : path
        The repository root (holding ``solutions/`` and ``exercises/``).
    verbose : bool
        Print one line per file written or removed.

    Returns
    -------
    list of Path
        Files written or removed.
    """
    root = Path(root)
    pairs, stale = _plan(root)
    changed: list[Path] = []
    for sol, target, rel in pairs:
        if build(sol, target):
            changed.append(target)
            if verbose:
                print(f"wrote exercises/{rel} from solutions/{rel}")
    for path in stale:
        path.unlink()
        changed.append(path)
        if verbose:
            print(f"removed {path.relative_to(root)} (its solution no longer exists)")
    if (root / TASK_MAP.parent).is_dir():
        text = _task_map_text(root)
        target = root / TASK_MAP
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            changed.append(target)
            if verbose:
                print(f"wrote {TASK_MAP} (the tasks of every sheet)")
    return changed


def check_all(root: str | Path = Path(".")) -> list[str]:
    """List how ``exercises/`` differs from what :func:`build_all` would write.

    Returns
    -------
    list of str
        One line per missing, different or stale exercise; empty when in sync.
    """
    root = Path(root)
    pairs, stale = _plan(root)
    problems: list[str] = []
    for sol, target, rel in pairs:
        try:
            text = _render(sol)
        except (SolutionMarkupError, nbformat.ValidationError, json.JSONDecodeError) as exc:
            problems.append(f"solutions/{rel}: cannot generate the exercise: {exc}")
            continue
        if not target.exists():
            problems.append(f"exercises/{rel} is missing; run `emcourse exercises build`.")
        elif target.read_bytes() != text.encode("utf-8"):
            problems.append(
                f"exercises/{rel} differs from what solutions/{rel} "
                "generates; run `emcourse exercises build` (never edit exercises/ by hand)."
            )
    for path in stale:
        rel = path.relative_to(root / "exercises").as_posix()
        problems.append(
            f"exercises/{rel} has no solutions/{rel}; run `emcourse exercises build` to remove it."
        )
    target = root / TASK_MAP
    if (root / TASK_MAP.parent).is_dir() and not problems:
        if not target.exists() or target.read_text(encoding="utf-8") != _task_map_text(root):
            problems.append(f"{TASK_MAP} is out of date; run `emcourse exercises build`.")
    return problems
