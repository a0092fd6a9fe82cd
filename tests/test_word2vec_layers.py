"""EmbeddingDot, UnigramSampler, NegativeSamplingLoss and the word2vec models: fast ==
reference (same negatives), finite differences, sampler distribution and exclusion, bad input."""
import numpy as np
import pytest
from scipy.stats import chisquare

from fastseq.gradcheck import numerical_gradient, relative_error
from fastseq.layers import negative_sampling as F
from fastseq.models import word2vec as M
from fastseq.optimizers import Adam
from fastseq.reference import negative_sampling as R
from fastseq.reference import word2vec as RM
from fastseq.reference.optimizers import Adam as RefAdam
from fastseq.reference.util import remove_duplicate as ref_remove_duplicate
from fastseq.util import remove_duplicate


class FixedSampler:
    """Hands out prepared negatives so the fast and reference losses see the same ones."""

    def __init__(self, negatives):
        self.negatives = list(negatives)

    def get_negative_sample(self, target):
        return self.negatives.pop(0)


def test_embedding_dot_matches_reference_and_finite_differences(rng):
    W = rng.standard_normal((7, 4))
    h = rng.standard_normal((5, 4))
    idx = np.array([1, 3, 3, 0, 6])
    fast, ref = F.EmbeddingDot(W), R.EmbeddingDot(W)
    np.testing.assert_allclose(fast.forward(h, idx), ref.forward(h, idx))
    dout = rng.standard_normal(5)
    np.testing.assert_allclose(fast.backward(dout), ref.backward(dout))
    np.testing.assert_allclose(fast.grads[0], ref.grads[0])
    f = lambda: float(fast.forward(h, idx) @ dout)                          # noqa: E731
    f()
    dh = fast.backward(dout)
    assert relative_error(dh, numerical_gradient(f, h)) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_negative_sampling_loss_matches_reference(rng, dtype):
    V, D, N, K = 12, 5, 6, 3
    corpus = rng.integers(0, V, 200)
    W = (rng.standard_normal((V, D)) * 0.5).astype(dtype)
    h = rng.standard_normal((N, D)).astype(dtype)
    target = rng.integers(0, V, N)
    negatives = [rng.integers(0, V, (N, K)) for _ in range(2)]
    fast, ref = F.NegativeSamplingLoss(W, corpus, sample_size=K), R.NegativeSamplingLoss(W, corpus, sample_size=K)
    fast.sampler, ref.sampler = FixedSampler(negatives), FixedSampler(negatives)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for _ in range(2):
        np.testing.assert_allclose(fast.forward(h, target), ref.forward(h, target), **tol)
        np.testing.assert_allclose(fast.backward(2.0), ref.backward(2.0), **tol)
        assert len(fast.params) == len(ref.params) == K + 1 and all(p is W for p in fast.params)
        np.testing.assert_allclose(sum(np.asarray(g) for g in fast.grads), sum(ref.grads), **tol)
        fp, fg = remove_duplicate(fast.params, fast.grads)
        rp, rg = ref_remove_duplicate(ref.params, [g.copy() for g in ref.grads])
        assert len(fp) == 1 and fp[0] is W
        np.testing.assert_allclose(fg[0], rg[0], **tol)


def test_negative_sampling_loss_finite_differences(rng):
    V, D, N = 9, 4, 5
    W = rng.standard_normal((V, D)) * 0.3          # sigmoids near 0.5, where eps barely matters
    h = rng.standard_normal((N, D))
    target = rng.integers(0, V, N)
    np.random.seed(0)
    layer = F.NegativeSamplingLoss(W, np.arange(V), sample_size=3)
    negatives = layer.sampler.get_negative_sample(target)
    layer.sampler = FixedSampler([negatives] * 1000)
    f = lambda: layer.forward(h, target)                                     # noqa: E731
    f()
    dh = layer.backward()
    dW = layer.grads[0].copy()
    # the book's loss is -log(y + 1e-7) while its gradient is y - t: they agree to about 1e-7
    assert relative_error(dh, numerical_gradient(f, h)) < 1e-6
    assert relative_error(dW, numerical_gradient(f, W)) < 1e-6


def test_sampler_distribution_and_exclusion():
    corpus = np.repeat(np.arange(6), [50, 20, 10, 10, 5, 5])
    np.random.seed(0)
    free = F.UnigramSampler(corpus, 0.75, 4, exclude=False)
    draws = free.get_negative_sample(np.zeros(20000, dtype=np.int64))
    counts = np.bincount(draws.ravel(), minlength=6)
    assert chisquare(counts, free.word_p * draws.size).pvalue > 1e-3
    sampler = F.UnigramSampler(corpus, 0.75, 3)
    target = np.tile(np.arange(6), 4000)
    neg = sampler.get_negative_sample(target)
    assert not (neg == target[:, None]).any()
    assert all(len(set(row)) == 3 for row in neg[:500])
    first = neg[target == 0, 0]                        # target 0 excluded: p restricted to 1..5
    p = sampler.word_p[1:] / sampler.word_p[1:].sum()
    assert chisquare(np.bincount(first, minlength=6)[1:], p * first.size).pvalue > 1e-3
    np.random.seed(5)
    a = sampler.get_negative_sample(target[:50])
    np.random.seed(5)
    np.testing.assert_array_equal(sampler.get_negative_sample(target[:50]), a)


def test_sampler_and_loss_bad_input(rng):
    corpus = np.arange(5)
    with pytest.raises(ValueError, match="sample_size=5 distinct negatives"):
        F.UnigramSampler(corpus, 0.75, 5)
    F.UnigramSampler(corpus, 0.75, 5, exclude=False)          # allowed without exclusion
    with pytest.raises(TypeError, match="corpus must be a 1-D integer array"):
        F.UnigramSampler(corpus.astype(float), 0.75, 2)
    with pytest.raises(ValueError, match="corpus is empty"):
        F.UnigramSampler(np.array([], dtype=np.int64), 0.75, 2)
    layer = F.NegativeSamplingLoss(rng.standard_normal((5, 3)).astype(np.float32), corpus, sample_size=2)
    with pytest.raises(IndexError, match="NegativeSamplingLoss: target holds id 5"):
        layer.forward(np.zeros((1, 3), np.float32), np.array([5]))
    with pytest.raises(ValueError, match="NegativeSamplingLoss: h contains NaN"):
        layer.forward(np.full((1, 3), np.nan, np.float32), np.array([1]))
    with pytest.raises(TypeError, match="target must hold integer ids"):
        layer.forward(np.zeros((1, 3), np.float32), np.array([1.0]))


def _train_pair(fast, ref, contexts, target, steps=3):
    fo, ro = Adam(), RefAdam()
    for _ in range(steps):
        np.testing.assert_allclose(fast.forward(contexts, target), ref.forward(contexts, target), rtol=1e-5)
        fast.backward()
        ref.backward()
        fp, fg = remove_duplicate(fast.params, fast.grads)
        rp, rg = ref_remove_duplicate(ref.params, ref.grads)
        assert len(fp) == len(rp)
        fo.update(fp, fg)
        ro.update(rp, rg)
    np.testing.assert_allclose(fast.word_vecs, ref.word_vecs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["CBOW", "SkipGram"])
def test_cbow_and_skipgram_match_the_books_models(rng, name):
    V, H, w, N = 15, 6, 2, 8
    corpus = rng.integers(0, V, 300)
    contexts, target = rng.integers(0, V, (N, 2 * w)), rng.integers(0, V, N)
    np.random.seed(1)
    fast = getattr(M, name)(V, H, w, corpus)
    np.random.seed(1)
    ref = getattr(RM, name)(V, H, w, corpus)
    assert len(fast.params) == len(ref.params)
    n_losses = 1 if name == "CBOW" else 2 * w
    negatives = [rng.integers(0, V, (N, 5)) for _ in range(3 * n_losses)]
    fast.ns_loss.sampler = FixedSampler([np.concatenate(negatives[k * n_losses:(k + 1) * n_losses]) for k in range(3)])
    for i, layer in enumerate([ref.ns_loss] if name == "CBOW" else ref.loss_layers):
        layer.sampler = FixedSampler([negatives[k * n_losses + i] for k in range(3)])
    _train_pair(fast, ref, contexts, target)


@pytest.mark.parametrize("name", ["SimpleCBOW", "SimpleSkipGram"])
def test_simple_models_match_reference(rng, name):
    V, H, N = 7, 4, 6
    contexts = np.eye(V, dtype=np.int32)[rng.integers(0, V, (N, 2))]
    target = np.eye(V, dtype=np.int32)[rng.integers(0, V, N)]
    np.random.seed(2)
    fast = getattr(M, name)(V, H)
    np.random.seed(2)
    ref = getattr(RM, name)(V, H)
    _train_pair(fast, ref, contexts, target)
