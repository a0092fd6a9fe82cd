"""The alias tables: every outcome's total mass over the (column, coin) square equals its probability."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fastseq.kernels.sampling import alias_draw, alias_table


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=12).filter(lambda w: sum(w) > 0))
def test_alias_tables_reproduce_the_distribution(weights):
    p = np.array(weights) / np.sum(weights)
    prob, alias = alias_table(p)
    V = len(p)
    mass = np.zeros(V)
    for k in range(V):                       # column k is picked with probability 1/V
        mass[k] += prob[k] / V
        mass[alias[k]] += (1 - prob[k]) / V
    np.testing.assert_allclose(mass, p, atol=1e-12)
    assert all(p[alias[k]] > 0 for k in range(V) if prob[k] < 1)     # an alias is never a zero-probability id


def test_alias_draw_picks_the_column_or_its_alias():
    prob, alias = alias_table(np.array([0.1, 0.2, 0.7]))
    for u1 in np.linspace(0, 0.999, 7):
        k = int(u1 * 3)
        assert alias_draw(prob, alias, u1, 0.0) == (k if prob[k] > 0 else alias[k])
        assert alias_draw(prob, alias, u1, 0.99999) == (k if prob[k] > 0.99999 else alias[k])
