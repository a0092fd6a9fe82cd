"""The book's word2vec models on fastseq's layers.

SimpleCBOW and SimpleSkipGram share the reference structure (MatMul + SoftmaxWithLoss). CBOW and
SkipGram keep the book's signatures, ``params``/``grads`` layout and results but run one fused
Embedding over all context positions and one fused NegativeSamplingLoss (SkipGram stacks its
2*window context positions into one batch), so a step scatters into each matrix once instead of
once per position; the extra ``grads`` entries are zero views (see ``remove_duplicate``).
"""
import numpy as np

from fastseq import layers
from fastseq.layers.core import Embedding
from fastseq.layers.negative_sampling import NegativeSamplingLoss, zero_grad_view
from fastseq.reference import word2vec as structure

__all__ = ["SimpleCBOW", "SimpleSkipGram", "CBOW", "SkipGram"]


class SimpleCBOW(structure.SimpleCBOW):
    """``SimpleCBOW(vocab_size, hidden_size)`` as in the book, fast layers."""

    layer_module = layers


class SimpleSkipGram(structure.SimpleSkipGram):
    """``SimpleSkipGram(vocab_size, hidden_size)`` as in the book, fast layers."""

    layer_module = layers


def _contexts(where, contexts, window_size):
    contexts = np.asarray(contexts)
    if contexts.ndim != 2 or contexts.shape[1] != 2 * window_size:
        raise ValueError(f"{where}: contexts must have shape (N, {2 * window_size}), got {contexts.shape}")
    return contexts


class _NegativeSamplingModel:
    """What CBOW and SkipGram share: W_in and W_out as the book draws them, one Embedding on
    W_in and one NegativeSamplingLoss on W_out (power 0.75, 5 negatives)."""

    def __init__(self, vocab_size, hidden_size, window_size, corpus):
        V, H = vocab_size, hidden_size
        W_in = 0.01 * np.random.randn(V, H).astype("f")
        W_out = 0.01 * np.random.randn(V, H).astype("f")
        self.window_size = window_size
        self.in_layer = Embedding(W_in)
        self.ns_loss = NegativeSamplingLoss(W_out, corpus, power=0.75, sample_size=5)
        self.word_vecs = W_in


class CBOW(_NegativeSamplingModel):
    """``CBOW(vocab_size, hidden_size, window_size, corpus)``; ``forward(contexts (N, 2w),
    target (N,))`` → loss; ``word_vecs`` is W_in."""

    def __init__(self, vocab_size, hidden_size, window_size, corpus):
        super().__init__(vocab_size, hidden_size, window_size, corpus)
        W_in = self.word_vecs
        n_ctx = 2 * window_size
        self.params = [W_in] * n_ctx + self.ns_loss.params
        self.grads = self.in_layer.grads + [zero_grad_view(W_in)] * (n_ctx - 1) + self.ns_loss.grads

    def forward(self, contexts, target):
        contexts = _contexts("CBOW", contexts, self.window_size)
        h = self.in_layer.forward(contexts).mean(axis=1, dtype=self.word_vecs.dtype)
        return self.ns_loss.forward(h, target)

    def backward(self, dout=1):
        dh = self.ns_loss.backward(dout) * self.word_vecs.dtype.type(1 / (2 * self.window_size))
        N, C = self.in_layer.idx.shape
        self.in_layer.backward(np.broadcast_to(dh[:, None, :], (N, C, dh.shape[1])))
        return None


class SkipGram(_NegativeSamplingModel):
    """``SkipGram(vocab_size, hidden_size, window_size, corpus)``; ``forward(contexts (N, 2w),
    target (N,))`` → the sum over context positions of their negative-sampling losses."""

    def __init__(self, vocab_size, hidden_size, window_size, corpus):
        super().__init__(vocab_size, hidden_size, window_size, corpus)
        n_ctx = 2 * window_size
        W_out = self.ns_loss.params[0]
        self.params = [self.word_vecs] + self.ns_loss.params * n_ctx
        self.grads = (self.in_layer.grads + self.ns_loss.grads
                      + [zero_grad_view(W_out)] * (len(self.ns_loss.grads) * (n_ctx - 1)))

    def forward(self, contexts, target):
        contexts = _contexts("SkipGram", contexts, self.window_size)
        h = self.in_layer.forward(target)
        N, C = contexts.shape
        stacked = np.ascontiguousarray(contexts.T).reshape(-1)          # position-major: row i*N + n
        loss = self.ns_loss.forward(np.tile(h, (C, 1)), stacked)        # mean over N*C rows
        return loss * C

    def backward(self, dout=1):
        C = 2 * self.window_size
        dh = self.ns_loss.backward(dout * C)
        self.in_layer.backward(dh.reshape(C, -1, dh.shape[1]).sum(axis=0))
        return None
