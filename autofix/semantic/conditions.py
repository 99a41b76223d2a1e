"""Conditions evaluated, not matched: in which mode of the module (training or evaluation) a branch can run.

A test is evaluated twice, once with the module's `self.training` True and once with it False, by a small
partial evaluator: constants, `not`, `and`/`or` (short-circuiting), conditional expressions, comparisons of
known values, and local names whose one reaching assignment it can evaluate. A branch that the test rules out
in one mode runs only in the other:

- `if not self.training and self.prefilter:` is taken only in evaluation mode (the conjunction is False when
  training, whatever `self.prefilter` is);
- after `p = 0.0 if not self.training else self.p`, `if p > 0.0:` is taken only in training mode (in evaluation
  `p` is 0.0, so the test is False).

Anything the evaluator cannot read is unknown, and an unknown test says nothing about the mode.
"""
from __future__ import annotations

import ast
import operator
from collections.abc import Callable

_UNKNOWN = object()  # the evaluator cannot tell
_MAX_DEPTH = 6  # names followed through at most this many assignments

_COMPARE = {
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Is: operator.is_, ast.IsNot: operator.is_not,
}


class ModeEvaluator:
    """Evaluates tests under an assumed `self.training`. `is_flag(expr)`: `expr` reads the training flag of the
    module whose method this is; `assignment(name)`: the one expression assigned to a local name that reaches
    `name` (None when there are several, or it is not a plain assignment)."""

    def __init__(self, is_flag: Callable[[ast.AST], bool], assignment: Callable[[ast.Name], ast.AST | None]):
        self.is_flag = is_flag
        self.assignment = assignment

    def branch_mode(self, test: ast.AST, taken: bool) -> bool | None:
        """True: the branch where `test` is `taken` runs only in training mode; False: only in evaluation mode;
        None: either, as far as the test says."""
        in_training = self.truth(test, True)
        in_evaluation = self.truth(test, False)
        training_possible = in_training is None or in_training == taken
        evaluation_possible = in_evaluation is None or in_evaluation == taken
        if training_possible and not evaluation_possible:
            return True
        if evaluation_possible and not training_possible:
            return False
        return None

    def truth(self, expr: ast.AST, training: bool) -> bool | None:
        value = self.value(expr, training, 0)
        if value is _UNKNOWN:
            return None
        try:
            return bool(value)
        except Exception:  # noqa: BLE001 - a value whose truth raises: say nothing
            return None

    def value(self, expr: ast.AST, training: bool, depth: int):
        if depth > _MAX_DEPTH:
            return _UNKNOWN
        if isinstance(expr, ast.Constant):
            return expr.value
        if self.is_flag(expr):
            return training
        if isinstance(expr, ast.UnaryOp):
            inner = self.value(expr.operand, training, depth)
            if inner is _UNKNOWN:
                return _UNKNOWN
            if isinstance(expr.op, ast.Not):
                return not inner
            if isinstance(expr.op, ast.USub) and isinstance(inner, (int, float)):
                return -inner
            return _UNKNOWN
        if isinstance(expr, ast.BoolOp):
            return self._bool_op(expr, training, depth)
        if isinstance(expr, ast.IfExp):
            test = self.truth_at(expr.test, training, depth)
            if test is None:
                body, orelse = self.value(expr.body, training, depth), self.value(expr.orelse, training, depth)
                return body if body is not _UNKNOWN and orelse is not _UNKNOWN and body == orelse else _UNKNOWN
            return self.value(expr.body if test else expr.orelse, training, depth)
        if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and type(expr.ops[0]) in _COMPARE:
            left = self.value(expr.left, training, depth)
            right = self.value(expr.comparators[0], training, depth)
            if left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            try:
                return _COMPARE[type(expr.ops[0])](left, right)
            except Exception:  # noqa: BLE001 - incomparable constants: say nothing
                return _UNKNOWN
        if isinstance(expr, ast.Name):
            assigned = self.assignment(expr)
            return _UNKNOWN if assigned is None else self.value(assigned, training, depth + 1)
        return _UNKNOWN

    def truth_at(self, expr: ast.AST, training: bool, depth: int) -> bool | None:
        value = self.value(expr, training, depth)
        if value is _UNKNOWN:
            return None
        try:
            return bool(value)
        except Exception:  # noqa: BLE001
            return None

    def _bool_op(self, expr: ast.BoolOp, training: bool, depth: int):
        # `a and b`: the first falsy operand decides; `a or b`: the first truthy one. An unknown operand before
        # the deciding one leaves only the truth known (either it or the decider is the result).
        stops_on = isinstance(expr.op, ast.Or)
        unknown_before = False
        last = _UNKNOWN
        for operand in expr.values:
            last = self.value(operand, training, depth)
            if last is _UNKNOWN:
                unknown_before = True
                continue
            try:
                truth = bool(last)
            except Exception:  # noqa: BLE001
                unknown_before = True
                continue
            if truth is stops_on:
                return stops_on if unknown_before else last
        return _UNKNOWN if unknown_before else last
