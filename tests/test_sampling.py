"""The alias tables: every outcome's total mass over the (column, coin) square equals its
probability. The book's draw mode: the draws and the generator's state those of NumPy's choice."""
import numpy as np
import pytest
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


def _book_like_choice_rows(p, target, k):
    """What the book's CPU sampler draws: per row, np.random.choice without replacement from p
    with the row's target zeroed."""
    out = np.zeros((len(target), k), dtype=np.int32)
    for i, t in enumerate(target):
        q = p.copy()
        q[t] = 0
        out[i] = np.random.choice(len(q), size=k, replace=False, p=q / q.sum())
    return out


@pytest.mark.parametrize("k", [1, 3, 6])
def test_book_draw_mode_draws_what_numpy_choice_draws(k):
    from fastseq._draws import get_draws, set_draws
    from fastseq.layers.negative_sampling import UnigramSampler
    rng = np.random.default_rng(k)
    corpus = np.concatenate([np.arange(40), (rng.zipf(1.3, 4000) - 1) % 40])
    target = rng.integers(0, 40, 200)
    sampler = UnigramSampler(corpus, 0.75, k)
    previous = get_draws()
    set_draws("book")
    try:
        np.random.seed(k)
        got = sampler.get_negative_sample(target)
        after = np.random.rand()
    finally:
        set_draws(previous)
    np.random.seed(k)
    want = _book_like_choice_rows(sampler.word_p, target, k)
    assert np.array_equal(got, want) and got.dtype == np.int32
    assert np.random.rand() == after          # no more and no fewer uniforms taken
