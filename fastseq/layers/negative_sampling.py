"""The book's ``ch04/negative_sampling_layer``: EmbeddingDot, UnigramSampler,
NegativeSamplingLoss, on fused kernels.

``NegativeSamplingLoss`` runs the positive and the ``sample_size`` negative targets in one
forward and one backward kernel (gather, dot, sigmoid cross-entropy, dh, and one race-free
scatter into dW) instead of ``sample_size + 1`` EmbeddingDot/SigmoidWithLoss layer pairs. Its
``params`` keeps the book's ``sample_size + 1`` entries, all the same W; ``grads[0]`` holds the
whole gradient and the other entries are read-only all-zero views, which ``remove_duplicate``
folds without work (the book spreads the same sum over ``sample_size + 1`` arrays).
"""
import numpy as np

from fastseq import _validate as v
from fastseq import kernels
from fastseq._draws import book_draws
from fastseq._threads import get_num_threads
from fastseq.layers.core import Embedding, _loss_is_finite, draw_seed

__all__ = ["EmbeddingDot", "UnigramSampler", "NegativeSamplingLoss", "zero_grad_view"]


def negative_distribution(where, counts, power, distinct=0):
    """Probabilities ∝ counts**power (V,) float64 summing to 1, refusing what cannot be drawn:
    ``power`` must be finite and > 0; with ``distinct`` > 0 (distinct negatives per row besides
    the row's target) at least ``distinct + 1`` ids need a nonzero probability, and the
    ``distinct`` likeliest ids must leave at least 1e-3 of the mass to the others (a rejection
    draw then needs at most about a thousand tries per negative)."""
    if isinstance(power, bool) or not isinstance(power, (int, float, np.number)) or not np.isfinite(power) \
            or power <= 0:
        raise ValueError(f"{where}: power must be a finite number > 0, got {power!r}")
    c = np.asarray(counts, dtype=np.float64)
    with np.errstate(over="ignore"):
        p = c ** power
    if not np.isfinite(p).all():                  # counts**power overflows: scale first
        p = (c / c.max()) ** power
    total = p.sum()
    if not total > 0:
        raise ValueError(f"{where}: no id has a nonzero probability (power={power})")
    p = p / total
    if distinct:
        nonzero = int(np.count_nonzero(p))
        if nonzero < distinct + 1:
            raise ValueError(f"{where}: sample_size={distinct} distinct negatives other than the target need "
                             f"{distinct + 1} ids of nonzero probability, and only {nonzero} have one "
                             f"(power={power}; use exclude=False, or a smaller sample_size)")
        rest = 1.0 - np.sort(p)[-distinct:].sum()
        if rest < 1e-3:
            raise ValueError(f"{where}: the {distinct} likeliest ids hold all but {rest:.2g} of the probability, "
                             f"so drawing {distinct} distinct negatives could take millions of tries "
                             f"(power={power} is too large, or sample_size too)")
    return p


def zero_grad_view(W):
    """A read-only all-zero array shaped like W that takes no memory (a zero-stride view)."""
    z = np.broadcast_to(np.zeros((), dtype=W.dtype), W.shape)
    return z


def _row_ids(where, name, ids, V, N):
    """Integer ids (N,) in [0, V) for the N rows of h."""
    ids = v.id_array(where, name, ids, V)
    if ids.shape != (N,):
        raise ValueError(f"{where}: {name} must have shape ({N},), got {ids.shape}")
    return ids


def _hidden(where, h, D, dtype):
    h = v.float_array(where, "h", h, ndims=(2,))
    if h.shape[1] != D:
        raise ValueError(f"{where}: h must have shape (N, {D}), got {h.shape}")
    return np.ascontiguousarray(v.no_nan(where, "h", h), dtype=dtype)


class EmbeddingDot:
    """``forward(h (N, D), idx (N,))`` → ``sum(W[idx] * h, axis=1)`` (N,); ``backward(dout)``
    → dh (N, D), and dW through Embedding's scatter-add."""

    def __init__(self, W):
        self.embed = Embedding(W)
        self.params = self.embed.params
        self.grads = self.embed.grads
        self.cache = None

    def forward(self, h, idx):
        W = self.params[0]
        h = _hidden("EmbeddingDot", h, W.shape[1], W.dtype)
        idx = _row_ids("EmbeddingDot", "idx", idx, W.shape[0], h.shape[0])
        target_W = self.embed.forward(idx)
        self.cache = (h, target_W)
        return np.einsum("nd,nd->n", target_W, h)

    def backward(self, dout):
        h, target_W = self.cache
        dout = np.asarray(dout, dtype=h.dtype).reshape(-1, 1)
        self.embed.backward(dout * h)
        return dout * target_W


class UnigramSampler:
    """Negative ids drawn with probability ∝ count^power over the corpus's words.

    ``get_negative_sample(target (N,))`` → int64 (N, sample_size). By default the book's CPU
    semantics: never the row's target and no repeats within a row (rejection over an O(1)
    alias-method draw). ``exclude=False`` allows both, as the book's GPU path does, and is faster
    when sample_size is a sizeable part of the vocabulary. Draws come from a counter-based stream
    seeded from ``np.random``, so ``np.random.seed`` makes them reproducible.

    Under ``fastseq._draws`` "book" mode (the drop-in runner's default) the excluding sampler
    draws exactly what the book's ``np.random.choice(..., replace=False, p=...)`` loop draws from
    NumPy's global generator, by a binary search on one cumulative sum per call instead of a
    fresh O(V) distribution per row; the result is then int32, as the book's."""

    def __init__(self, corpus, power, sample_size, exclude=True):
        corpus = np.asarray(corpus)
        if corpus.ndim != 1 or corpus.dtype.kind not in "iu":
            raise TypeError(f"UnigramSampler: corpus must be a 1-D integer array, got {corpus.dtype} {corpus.shape}")
        if corpus.size == 0:
            raise ValueError("UnigramSampler: corpus is empty")
        if corpus.min() < 0 or corpus.max() >= 2 ** 31:
            bad = corpus.min() if corpus.min() < 0 else corpus.max()
            raise IndexError(f"UnigramSampler: corpus holds id {bad}, ids must be in [0, 2**31)")
        counts = np.bincount(corpus)
        self.vocab_size = counts.shape[0]
        self.sample_size = int(sample_size)
        self.exclude = bool(exclude)
        if self.sample_size < 1:
            raise ValueError(f"UnigramSampler: sample_size must be ≥ 1, got {sample_size}")
        self.word_p = negative_distribution("UnigramSampler", counts, power,
                                            self.sample_size if self.exclude else 0)
        self._prob, self._alias = kernels.sampling.alias_table(self.word_p)
        self._cum = np.cumsum(self.word_p)

    def get_negative_sample(self, target):
        target = v.id_array("UnigramSampler", "target", target, self.vocab_size)
        if target.ndim != 1:
            raise ValueError(f"UnigramSampler: target must be 1-D, got shape {target.shape}")
        if self.exclude:
            alone = self.word_p[target] >= 1.0 - 1e-12
            if alone.any():
                raise ValueError("UnigramSampler: a target is the only word with nonzero probability")
        if self.exclude and book_draws():
            return self._book_sample(target)
        out = np.empty((target.shape[0], self.sample_size), dtype=np.int64)
        kernels.sampling.draw_negatives(self._prob, self._alias, target, self.exclude, draw_seed(), out)
        if target.shape[0] and out[:, 0].min() < 0:
            raise RuntimeError("UnigramSampler: a row found no distinct negatives in 1,000,000 tries")
        return out

    def _book_sample(self, target):
        """The book's per-row ``np.random.choice`` draws: uniforms taken from NumPy's global
        generator in its order, never more than the book takes (each pass draws only what the
        rows left need at the least)."""
        N, K = target.shape[0], self.sample_size
        out = np.empty((N, K), dtype=np.int32)
        state = np.zeros(3, dtype=np.int64)
        uniforms = np.random.rand(N * K)
        while not kernels.sampling.draw_rows_like_numpy_choice(self._cum, self.word_p, target, uniforms, state, out):
            row, found, pos = (int(s) for s in state)
            least = (K - found) + (N - row - 1) * K
            uniforms = np.concatenate([uniforms[pos:], np.random.rand(least - (uniforms.shape[0] - pos))])
            state[2] = 0
        return out


class NegativeSamplingLoss:
    """``NegativeSamplingLoss(W, corpus, power=0.75, sample_size=5)``: ``forward(h (N, D),
    target (N,))`` → the positive target's mean binary cross-entropy plus, for each of the
    ``sample_size`` negatives drawn by ``self.sampler``, its batch mean; ``backward(dout=1)`` → dh."""

    def __init__(self, W, corpus, power=0.75, sample_size=5, exclude=True):
        self.sample_size = sample_size
        corpus = np.asarray(corpus)
        if corpus.dtype.kind in "iu" and corpus.size and corpus.max() >= W.shape[0]:
            raise IndexError(f"NegativeSamplingLoss: corpus holds id {corpus.max()}, but W has only "
                             f"{W.shape[0]} rows")
        self.sampler = UnigramSampler(corpus, power, sample_size, exclude=exclude)
        if self.sampler.vocab_size > W.shape[0]:
            raise ValueError(f"NegativeSamplingLoss: corpus holds id {self.sampler.vocab_size - 1}, but W has "
                             f"only {W.shape[0]} rows")
        self.params = [W] * (sample_size + 1)
        self.grads = [np.zeros_like(W)] + [zero_grad_view(W)] * sample_size
        self._cache = None

    def forward(self, h, target):
        W = self.params[0]
        h = _hidden("NegativeSamplingLoss", h, W.shape[1], W.dtype)
        target = _row_ids("NegativeSamplingLoss", "target", target, W.shape[0], h.shape[0])
        negatives = self.sampler.get_negative_sample(target)
        idx = np.concatenate([target.astype(np.int64)[:, None], negatives], axis=1)
        y = np.empty(idx.shape, dtype=W.dtype)
        total = kernels.negative_sampling.ns_loss_forward(h, W, idx, 1e-7, y)
        self._cache = (h, idx, y)
        return _loss_is_finite("NegativeSamplingLoss", total / max(h.shape[0], 1))

    def backward(self, dout=1):
        if self._cache is None:
            raise RuntimeError("NegativeSamplingLoss: backward called before forward")
        h, idx, y = self._cache
        W, dW = self.params[0], self.grads[0]
        dh = np.empty_like(h)
        rows = np.empty((idx.size, h.shape[1]), dtype=h.dtype)
        kernels.negative_sampling.ns_loss_backward(h, W, idx, y, float(dout) / max(h.shape[0], 1), dh, rows)
        kernels.embedding.embedding_backward(idx.reshape(-1), rows, dW, get_num_threads())
        return dh
