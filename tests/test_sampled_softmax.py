"""The sampled softmax: exact where every word is drawn once, finite differences otherwise, the
BetterRnnlm adapter against the full model's gradients, and the train-lm recipe field."""
import dataclasses

import numpy as np
import pytest

from fastseq import lm
from fastseq.layers.sampled_softmax import SampledSoftmaxWithLoss, SampledTraining
from fastseq.models import BetterRnnlm, Rnnlm
from fastseq.util import remove_duplicate


def _full_softmax(h, E, b, t):
    """Mean cross-entropy of softmax(h @ E.T + b) and its gradients (dh, dE, db), in NumPy."""
    scores = h @ E.T + b
    y = np.exp(scores - scores.max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    R = h.shape[0]
    loss = -np.mean(np.log(y[np.arange(R), t]))
    y[np.arange(R), t] -= 1
    y /= R
    return loss, y @ E, y.T @ h, y.sum(axis=0)


def _scattered(rows, values, V):
    dE = np.zeros((V, values.shape[1]), dtype=values.dtype)
    np.add.at(dE, rows, values)
    return dE


def test_every_word_drawn_once_from_a_uniform_proposal_is_the_full_softmax(rng):
    V, H, R = 13, 5, 7
    E, b, h = rng.standard_normal((V, H)), rng.standard_normal((V)), rng.standard_normal((R, H))
    t = rng.integers(0, V, R)
    layer = SampledSoftmaxWithLoss(E, b, np.full(V, 3.0), k=V)
    loss = layer.forward(h, t, samples=np.arange(V))
    dh, rows, values = layer.backward()
    want, want_dh, want_dE, want_db = _full_softmax(h, E, b, t)
    assert loss == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(dh, want_dh, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(_scattered(rows, values, V), want_dE, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(layer.db, want_db, rtol=1e-10, atol=1e-14)


def test_gradients_match_finite_differences_with_repeated_draws_and_hits(rng):
    V, H, R = 11, 4, 6
    E, b, h = rng.standard_normal((V, H)), rng.standard_normal((V)), rng.standard_normal((R, H))
    t = rng.integers(0, V, R)
    samples = np.array([t[0], 3, 3, 7, t[2], 0])           # repeats, and two rows' targets drawn
    layer = SampledSoftmaxWithLoss(E, b, rng.integers(0, 50, V), k=samples.size)
    layer.forward(h, t, samples)
    dh, rows, values = layer.backward(dout=2.0)
    grads = {"h": dh, "E": _scattered(rows, values, V), "b": layer.db.copy()}
    eps = 1e-6
    for name, array in (("h", h), ("E", E), ("b", b)):
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            keep = array[i]
            array[i] = keep + eps
            up = layer.forward(h, t, samples)
            array[i] = keep - eps
            down = layer.forward(h, t, samples)
            array[i] = keep
            numeric[i] = 2.0 * (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_draws_follow_the_proposal_and_the_seed():
    counts = np.array([0, 1, 10, 100, 1000], dtype=float)
    layer = SampledSoftmaxWithLoss(np.zeros((5, 2)), np.zeros(5), counts, k=200000, power=1.0)
    np.random.seed(4)
    drawn = layer.draw()
    np.random.seed(4)
    np.testing.assert_array_equal(layer.draw(), drawn)
    q = np.maximum(counts, 1) / np.maximum(counts, 1).sum()
    np.testing.assert_allclose(np.bincount(drawn, minlength=5) / drawn.size, q, atol=3e-3)


def test_better_rnnlm_through_the_adapter_gets_the_full_models_gradients():
    V, D, H = 12, 6, 6
    np.random.seed(0)
    model = BetterRnnlm(V, D, H, dropout_ratio=0.3)
    xs = np.random.randint(0, V, (3, 4))
    ts = np.random.randint(0, V, (3, 4))
    np.random.seed(1)
    full_loss = model.forward(xs, ts)
    model.backward()
    _, full = remove_duplicate(model.params, model.grads)
    full = [g.copy() for g in full]
    model.reset_state()
    trained = SampledTraining(model, np.ones(V), k=V)
    trained.loss.draw = lambda: np.arange(V)               # every word once, uniform: the full softmax
    np.random.seed(1)                                       # the same dropout masks
    assert trained.forward(xs, ts) == pytest.approx(full_loss, rel=1e-5)
    trained.backward()
    params, grads = remove_duplicate(trained.params, trained.grads)
    assert len(grads) == len(full)
    for p, g, want in zip(params, grads, full):
        np.testing.assert_allclose(g, want, rtol=2e-4, atol=1e-7, err_msg=str(p.shape))


def test_bad_arguments_are_refused_by_name():
    E, b = np.zeros((4, 2), dtype=np.float32), np.zeros(4, dtype=np.float32)
    with pytest.raises(ValueError, match="k must be"):
        SampledSoftmaxWithLoss(E, b, np.ones(4), k=0)
    with pytest.raises(ValueError, match="counts must be"):
        SampledSoftmaxWithLoss(E, b, np.ones(3), k=2)
    with pytest.raises(ValueError, match="counts must be"):
        SampledSoftmaxWithLoss(E, b, np.array([1, -1, 0, 2.0]), k=2)
    with pytest.raises(ValueError, match="b must be"):
        SampledSoftmaxWithLoss(E, b[:3], np.ones(4), k=2)
    layer = SampledSoftmaxWithLoss(E, b, np.ones(4), k=2)
    with pytest.raises(IndexError, match="t holds id 4"):
        layer.forward(np.zeros((2, 2), dtype=np.float32), np.array([0, 4]))
    with pytest.raises(ValueError, match="h must be"):
        layer.forward(np.zeros((2, 3), dtype=np.float32), np.array([0, 1]))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward()
    np.random.seed(0)
    with pytest.raises(ValueError, match="embedding's transpose"):
        SampledTraining(Rnnlm(10, 4, 4), np.ones(10), k=3)
    with pytest.raises(ValueError, match="sampled_softmax"):
        lm.Recipe(model="rnnlm", sampled_softmax=5)
    with pytest.raises(ValueError, match="sampled_softmax"):
        lm.Recipe(model="better", sampled_softmax=-1)


def test_train_lm_with_a_sampled_softmax_learns_and_resumes_exactly(tmp_path):
    from fastseq.datasets import ptb
    train, word_to_id, _ = ptb.load_data("train")
    data = (train[:4000], ptb.load_data("val")[0][:800], ptb.load_data("test")[0][:800])
    V = len(word_to_id)
    recipe = lm.Recipe(model="better", epochs=2, wordvec=8, hidden=8, dropout=0.3, validate=True,
                       restart_each_epoch=True, batch_size=4, time_size=5, lr=5.0, eval_interval=50,
                       sampled_softmax=64)
    ppl = lm.train(recipe, tmp_path / "a", data, V, progress_bar=False)
    assert np.isfinite(ppl) and ppl < V                      # below a uniform guess over the vocabulary
    assert lm.train(recipe, tmp_path / "b", data, V, stop_after=150, progress_bar=False) is None
    assert lm.train(recipe, tmp_path / "b", data, V, resume=True, progress_bar=False) == ppl
    assert ppl != lm.train(dataclasses.replace(recipe, sampled_softmax=0), tmp_path / "c", data, V,
                           progress_bar=False)
