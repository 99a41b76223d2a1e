"""The join table of docs/semantic-model.md, entry by entry: what a value is when it may be either of two."""
from __future__ import annotations

import itertools

import pytest

from autofix.semantic import Grad, Kind, Value, join
from autofix.semantic.lattice import PARAMETER, UNKNOWN, container, pair

G = Grad
# (a, b) -> the Grad of their join, for two tensors: the table in docs/semantic-model.md.
GRAD_JOIN = {
    (G.LEAF, G.CONNECTED): G.CONNECTED,
    (G.LEAF, G.CUT): G.UNKNOWN,
    (G.LEAF, G.OFF): G.UNKNOWN,
    (G.LEAF, G.DATA): G.UNKNOWN,
    (G.LEAF, G.UNKNOWN): G.UNKNOWN,
    (G.CONNECTED, G.CUT): G.UNKNOWN,
    (G.CONNECTED, G.OFF): G.UNKNOWN,
    (G.CONNECTED, G.DATA): G.UNKNOWN,
    (G.CONNECTED, G.UNKNOWN): G.UNKNOWN,
    (G.CUT, G.OFF): G.UNKNOWN,
    (G.CUT, G.DATA): G.UNKNOWN,
    (G.CUT, G.UNKNOWN): G.UNKNOWN,
    (G.OFF, G.DATA): G.UNKNOWN,
    (G.OFF, G.UNKNOWN): G.UNKNOWN,  # the critic's output (unknown) joined with a no_grad target: never "off"
    (G.DATA, G.UNKNOWN): G.UNKNOWN,
}


@pytest.mark.parametrize("pair_of_grads", list(itertools.combinations(list(Grad), 2)))
def test_grad_join_table(pair_of_grads):
    a, b = pair_of_grads
    expected = GRAD_JOIN.get((a, b)) or GRAD_JOIN[(b, a)]
    assert join([Value(Kind.TENSOR, a), Value(Kind.TENSOR, b)]).grad is expected
    assert join([Value(Kind.TENSOR, b), Value(Kind.TENSOR, a)]).grad is expected


@pytest.mark.parametrize("grad", list(Grad))
def test_join_is_idempotent(grad):
    assert join([Value(Kind.TENSOR, grad), Value(Kind.TENSOR, grad)]) == Value(Kind.TENSOR, grad)


def test_unknown_absorbs_every_kind():
    for kind in Kind:
        assert join([Value(kind, Grad.DATA), UNKNOWN]).kind is Kind.UNKNOWN


def test_a_tensor_and_a_parameter_join_to_a_tensor():
    assert join([PARAMETER, Value(Kind.TENSOR, Grad.CONNECTED)]) == Value(Kind.TENSOR, Grad.CONNECTED)


def test_different_kinds_join_to_unknown():
    assert join([Value(Kind.MODULE, Grad.DATA), Value(Kind.TENSOR, Grad.DATA)]).kind is Kind.UNKNOWN


def test_containers_keep_what_they_hold_only_when_all_agree():
    assert join([container(PARAMETER), container(PARAMETER)]).element == PARAMETER
    assert join([container(PARAMETER), container()]).element is None
    zipped = join([pair(PARAMETER, PARAMETER), pair(PARAMETER, Value(Kind.TENSOR, Grad.LEAF))])
    assert zipped.items == (PARAMETER, Value(Kind.TENSOR, Grad.LEAF))
