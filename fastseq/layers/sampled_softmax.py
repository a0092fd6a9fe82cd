"""Sampled softmax: a language model's training loss over each target and ``k`` drawn words.

The full softmax over V words costs three (rows x H x V) products per step. In training, this
loss takes each row's target and one shared draw of ``k`` words from a proposal Q (word counts
raised to ``power``), and computes the softmax cross-entropy over those ``k + 1`` scores only,
each score corrected by ``-log(k Q(w))`` (sampled softmax, Jean et al. 2015), so that its
gradient estimates the full softmax's. A drawn word that equals a row's target is left out of
that row. Evaluation keeps the full softmax.

``SampledSoftmaxWithLoss`` works on the output weights as rows ``E`` (V, H) (``W = E.T``, the
tied embedding of BetterRnnlm) and a bias ``b`` (V,). ``SampledTraining`` puts it behind a
BetterRnnlm for ``train_step``: the same ``params``, forward and backward through the same
layers, and the output weights' gradient rows scattered into the embedding's gradient in the
embedding's own kernel call.
"""
import numpy as np

from fastseq import _validate as v
from fastseq import kernels
from fastseq._threads import get_num_threads, matmul
from fastseq.layers.negative_sampling import zero_grad_view
from fastseq.util import same_memory_transposed


class SampledSoftmaxWithLoss:
    """Softmax cross-entropy over the target and ``k`` words drawn from ``counts ** power``.

    ``E`` (V, H) float32/float64: the output weights as rows (scores ``h @ E.T + b``); ``b`` (V,);
    ``counts`` (V,) non-negative, not all 0 (each word gets at least count 1 in the proposal).
    ``forward(h (R, H), t (R,) int)`` draws the ``k`` words with ``np.random`` and returns the
    mean loss; ``backward(dout=1)`` returns ``(dh (R, H), rows (M,) int64, values (M, H))``: the
    gradient of h, and that of E as rows to scatter-add (``dE[rows[i]] += values[i]``), after
    writing b's gradient into ``db`` (V,): the array given as ``db``, else one of its own.
    """

    def __init__(self, E, b, counts, k, power=0.75, db=None):
        if not isinstance(E, np.ndarray) or E.ndim != 2 or not v.is_kernel_float(E.dtype):
            raise TypeError(f"SampledSoftmaxWithLoss: E must be a 2-D float32 or float64 array, got {E!r:.60}")
        V = E.shape[0]
        if not isinstance(b, np.ndarray) or b.shape != (V,) or b.dtype != E.dtype:
            raise ValueError(f"SampledSoftmaxWithLoss: b must be a ({V},) {E.dtype} array")
        self.k = v.integer("SampledSoftmaxWithLoss", "k", k)
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != (V,) or not np.isfinite(counts).all() or (counts < 0).any():
            raise ValueError(f"SampledSoftmaxWithLoss: counts must be ({V},) finite and >= 0, got shape {counts.shape}")
        q = np.maximum(counts, 1.0) ** power
        q /= q.sum()
        if db is not None and (not isinstance(db, np.ndarray) or db.shape != b.shape or db.dtype != b.dtype):
            raise ValueError(f"SampledSoftmaxWithLoss: db must be a ({V},) {E.dtype} array like b")
        self.E, self.b = E, b
        self.db = np.zeros_like(b) if db is None else db
        self._cdf = np.cumsum(q)
        self._cdf[-1] = 1.0
        self._log_expected = np.log(self.k * q).astype(E.dtype)    # log of each word's expected draws
        self._cache = None

    def draw(self):
        """``k`` word ids (int64) drawn from the proposal with ``np.random``."""
        return np.searchsorted(self._cdf, np.random.random_sample(self.k), side="right")

    def forward(self, h, t, samples=None):
        """Mean loss over the rows of h; ``samples`` (k,) replaces the draw (tests)."""
        E, b = self.E, self.b
        h = v.float_array("SampledSoftmaxWithLoss", "h", h, ndims=(2,))
        if h.shape[1] != E.shape[1] or h.dtype != E.dtype:
            raise ValueError(f"SampledSoftmaxWithLoss: h must be (R, {E.shape[1]}) {E.dtype}, got {h.shape} {h.dtype}")
        t = v.id_array("SampledSoftmaxWithLoss", "t", t, E.shape[0])
        if t.shape != (h.shape[0],):
            raise ValueError(f"SampledSoftmaxWithLoss: t must have shape ({h.shape[0]},), got {t.shape}")
        s = self.draw() if samples is None else v.id_array("SampledSoftmaxWithLoss", "samples", samples, E.shape[0])
        Et, Es = E[t], E[s]
        true = np.einsum("rh,rh->r", h, Et) + (b[t] - self._log_expected[t])
        scores = matmul(h, Es.T)
        scores += b[s] - self._log_expected[s]
        scores[s[None, :] == t[:, None]] = -np.inf                 # a drawn target is the row's target only
        top = np.maximum(true, scores.max(axis=1))
        p_true = np.exp(true - top)
        scores -= top[:, None]
        p = np.exp(scores, out=scores)                               # the scores' array, reused
        z = p_true + p.sum(axis=1)
        p_true /= z
        p /= z[:, None]
        self._cache = (h, t, s, Et, Es, p_true, p)
        return float(np.mean(np.log(z.astype(np.float64)) - (true - top)))

    def backward(self, dout=1):
        h, t, s, Et, Es, p_true, p = v.forward_done("SampledSoftmaxWithLoss", self._cache)
        scale = h.dtype.type(float(dout) / h.shape[0])
        g_true = (p_true - 1) * scale                                # d loss / d true score
        g = p * scale                                                # d loss / d drawn scores
        dh = g_true[:, None] * Et
        dh += matmul(g, Es)
        R = h.shape[0]
        values = np.empty((R + s.shape[0], h.shape[1]), dtype=h.dtype)
        np.multiply(g_true[:, None], h, out=values[:R])
        matmul(g.T, h, out=values[R:])
        rows = np.concatenate([t, s]).astype(np.int64, copy=False)
        self.db[...] = 0
        np.add.at(self.db, rows, np.concatenate([g_true, g.sum(axis=0)]))
        return dh, rows, values


class SampledTraining:
    """A BetterRnnlm trained through ``SampledSoftmaxWithLoss`` (``train_step``'s model).

    ``params`` are the model's; ``grads`` the model's, with the output weights' entry (the
    transposed embedding) a zero view: their gradient rows go into the embedding's gradient in
    the same scatter as its own rows. ``forward(xs (N, T), ts (N, T))`` runs the model's layers
    up to the output with dropout on and returns the sampled loss; ``backward()``."""

    def __init__(self, model, counts, k, power=0.75):
        embed, affine = model.layers[0], model.layers[-1]
        E, b = embed.params[0], affine.params[1]
        if not same_memory_transposed(E, affine.params[0]):
            raise ValueError("SampledTraining: the model's output weights must be its embedding's transpose "
                             "(BetterRnnlm's weight tying)")
        self.model = model
        self.loss = SampledSoftmaxWithLoss(E, b, counts, k, power, db=affine.grads[1])
        self.params = model.params
        self.grads = [zero_grad_view(g) if g is affine.grads[0] else g for g in model.grads]
        self._shape = None

    def forward(self, xs, ts):
        model = self.model
        for layer in model.drop_layers:
            layer.train_flg = True
        h = xs
        for layer in model.layers[:-1]:
            h = layer.forward(h)
        N, T, H = h.shape
        self._shape = h.shape
        return self.loss.forward(np.ascontiguousarray(h).reshape(N * T, H), np.asarray(ts).reshape(N * T))

    def backward(self, dout=1):
        model = self.model
        dh, rows, values = self.loss.backward(dout)          # b's gradient written in place
        d = dh.reshape(self._shape)
        for layer in reversed(model.layers[1:-1]):
            d = layer.backward(d)
        embed = model.layers[0]
        ids = np.concatenate([v.forward_done("SampledTraining", embed.idx).reshape(-1).astype(np.int64), rows])
        kernels.embedding.embedding_backward(ids, np.concatenate([d.reshape(-1, d.shape[-1]), values]),
                                             embed.grads[0], get_num_threads())
