"""The sweep's symbolic algebra (costmodel/sweeps/algebra.py): small polynomials worked by hand."""
import numpy as np
import pytest

from costmodel.sweeps.algebra import NotVectorizable, Poly, add_into


def terms(p):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in p.t.items()}


def test_sums_and_products_by_constants():
    h = Poly({0: 3, None: 2})  # 3 x area_0 + 2
    assert terms(h * 4) == {0: 12, None: 8}
    assert terms(4 * h) == {0: 12, None: 8}
    assert terms(h * np.int64(5)) == {0: 15, None: 10}
    assert terms(h + 7) == {0: 3, None: 9}
    assert terms(h + Poly({1: 1})) == {0: 3, None: 2, 1: 1}
    assert terms(h - h) == {0: 0, None: 0}
    per_config = h * np.array([1, 2], dtype=object)  # coefficients per channel configuration
    assert terms(per_config) == {0: [3, 6], None: [2, 4]}


def test_what_is_not_a_coefficient_is_refused():
    h = Poly({0: 1})
    with pytest.raises(NotVectorizable, match="product of two spatial sizes"):
        h * Poly({1: 1})
    with pytest.raises(TypeError):  # a bool is not a count
        h * True
    with pytest.raises(TypeError):
        h + 0.5
    with pytest.raises(NotVectorizable):
        Poly.of("3")


def test_summing_in_place_equals_the_poly_sum():
    values = [Poly({0: 2}), 5, 0, np.int64(3), Poly({None: 1, 1: 4}), np.array([1, 2], dtype=object)]
    acc, t = Poly({}), {}
    for v in values:
        acc = acc + v
        add_into(t, v)
    want = terms(acc)
    got = terms(Poly(t))
    assert got == want == {0: 2, None: [10, 11], 1: 4}
    shared = np.array([1, 1], dtype=object)
    t = {None: shared}
    add_into(t, 2)
    assert shared.tolist() == [1, 1]  # the term is replaced, never changed in place
