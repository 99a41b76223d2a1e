"""The fix stage: renders the fixes of a file's findings with LibCST, after detection (on `ast`) is done.

    tree.py       FixTree: the LibCST module, with the positions, parents and nodes by range fix builders ask for
    positions.py  positions of the statements that hold findings only (not of the whole module)
    apply.py      choosing fixes that can go together, and applying their edits in one pass
    stage.py      the fixpoint (fix, re-check the new text, fix again), one fix alone (previews, review
                  suggestions, an editor's quick fixes)

A file's text enters the stage once per pass: with CPython's tree and the suppression comments that detection
already made from it, so that nothing here reads, re-parses with `ast` or re-scans the original text. Fixes are
built only for the findings handed in: those whose fix will be applied or shown. LibCST is imported only when a
fix is rendered (`autofix.lazy`).
"""
from autofix.fixes.stage import Fixed, each_alone, fix_each, fix_to_fixpoint
from autofix.fixes.tree import FixTree

__all__ = ["FixTree", "Fixed", "each_alone", "fix_each", "fix_to_fixpoint"]
