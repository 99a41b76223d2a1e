"""`autofix validate notebook.ipynb`: the notebook's code cells run as a script, as written and as fixed.

The kernel is not needed: `autofix.notebook.as_script` turns the cells into one script (or says why a
script cannot stand in for them), and each script runs under the probe like any training script, from the
notebook's folder (Jupyter's working directory) with that folder importable.
"""
from __future__ import annotations

import os
import tempfile

from autofix import notebook, render, source
from autofix.config import Settings
from autofix.harness.run import Case, Outcome, probe
from autofix.registry import all_rules
from autofix.rule import Applicability
from autofix.runner import FileOutcome, Job, check_text


def _in_cells(run: dict, text: str) -> dict:
    """The run with the line its exception was raised at given as a cell and the line within it (the script
    keeps each line on its line of the joined cells)."""
    exception = run.get("exception")
    if exception and exception.get("line"):
        exception["cell"], exception["line"] = notebook.module_of(notebook.parse(text)).locate(exception["line"])
    return run


def run_notebook(path: str, unsafe_fixes: bool, device: str, max_steps: int, args: list[str]) -> Outcome | int:
    """Both runs' measurements, or an exit code after saying why there is nothing to run (0) or it cannot run (2)."""
    apply = frozenset({Applicability.SAFE, Applicability.UNSAFE} if unsafe_fixes else {Applicability.SAFE})
    try:
        text = source.read(path).text
    except source.SourceError as error:
        render.stderr(render.error_line(path, str(error)))
        return 2
    checked = check_text(path, text, Job(all_rules(), Settings(), apply), FileOutcome(path))
    if checked.error:
        render.stderr(render.error_line(path, checked.error))
        return 2
    for message in checked.internal_errors:
        render.stderr(render.error_line(path, f"internal error: {message}; please report this autofix bug with the file"))
    if checked.after is None:
        print(f"{path}: no fixes apply; nothing to compare.")
        return 0
    try:
        scripts = notebook.as_script(text), notebook.as_script(checked.after)
    except notebook.NotebookError as error:
        render.stderr(render.error_line(path, f"cannot run its cells as a script: {error}"))
        return 2
    codes = sorted({f.code for f in checked.fixed})
    count = len(checked.fixed)
    print(f"{path}: running its code cells as a script, as written and with {count} fix{'es' if count != 1 else ''} "
          f"({', '.join(codes)}), {max_steps} optimizer steps each ...", flush=True)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.splitext(os.path.basename(path))[0] + ".py"
    runs = []
    with tempfile.TemporaryDirectory(prefix="autofix-validate-") as scratch:
        for label, script in zip(("before", "after"), scripts):
            os.makedirs(os.path.join(scratch, label))
            script_path = os.path.join(scratch, label, name)
            with open(script_path, "w", encoding="utf-8") as handle:
                handle.write(script)
            runs.append(_in_cells(probe(script_path, device, max_steps, extra_paths=[folder], args=args, cwd=folder),
                                  text if label == "before" else checked.after))
    return Outcome(Case("", "", "", os.path.basename(path), *scripts), *runs)
