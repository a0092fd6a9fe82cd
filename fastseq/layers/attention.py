"""Attention layers of the book's chapter 8, as batched matrix products.

``TimeAttention`` handles every decoder step at once: scores S = hs_dec · hs_encᵀ (N, Td, Te)
in one batched product, a row softmax (fastseq's kernel), the contexts A · hs_enc; backward is
four batched products and the softmax Jacobian. The same numbers as the book's per-step loop,
without per-step layers. ``attention_weights`` is the book's list of (N, Te) arrays, one per
decoder step (views into one (N, Td, Te) array, ``weights``)."""
import numpy as np

from fastseq import _validate as v
from fastseq import _composite, kernels

__all__ = ["WeightSum", "AttentionWeight", "Attention", "TimeAttention"]


def _softmax_rows(s):
    out = np.empty_like(s)
    kernels.softmax.softmax_forward(s.reshape(-1, s.shape[-1]), out.reshape(-1, s.shape[-1]))
    return out


def _softmax_rows_backward(a, da):
    ds = np.empty_like(a)
    width = a.shape[-1]
    kernels.softmax.softmax_backward(a.reshape(-1, width), np.ascontiguousarray(da, dtype=a.dtype).reshape(-1, width),
                                     ds.reshape(-1, width))
    return ds


def _states(where, name, x, ndim, H=None):
    x = v.float_array(where, name, x, ndims=(ndim,))
    if H is not None and x.shape[-1] != H:
        raise ValueError(f"{where}: {name} must end in dimension {H}, got shape {x.shape}")
    return np.ascontiguousarray(v.finite(where, name, x))


class WeightSum:
    """c = Σ_t a[n, t] hs[n, t]: ``forward(hs (N, T, H), a (N, T))`` → (N, H);
    ``backward(dc)`` → (dhs, da)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, hs, a):
        hs = _states("WeightSum", "hs", hs, 3)
        a = np.ascontiguousarray(a, dtype=hs.dtype)
        if a.shape != hs.shape[:2]:
            raise ValueError(f"WeightSum: a must have shape {hs.shape[:2]}, got {a.shape}")
        self.cache = (hs, a)
        return np.matmul(a[:, None, :], hs)[:, 0]

    def backward(self, dc):
        hs, a = v.forward_done("WeightSum", self.cache)
        dc = v.gradient("WeightSum", "dc", dc, (hs.shape[0], hs.shape[2]), hs.dtype)
        return a[:, :, None] * dc[:, None, :], np.matmul(hs, dc[:, :, None])[:, :, 0]


class AttentionWeight:
    """a = softmax_t(hs[n, t] · h[n]): ``forward(hs (N, T, H), h (N, H))`` → (N, T);
    ``backward(da)`` → (dhs, dh)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, hs, h):
        hs = _states("AttentionWeight", "hs", hs, 3)
        h = _states("AttentionWeight", "h", h, 2, hs.shape[2]).astype(hs.dtype, copy=False)
        a = _softmax_rows(np.matmul(hs, h[:, :, None])[:, :, 0])
        self.cache = (hs, h, a)
        return a

    def backward(self, da):
        hs, h, a = v.forward_done("AttentionWeight", self.cache)
        ds = _softmax_rows_backward(a, v.gradient("AttentionWeight", "da", da, a.shape, a.dtype))
        return ds[:, :, None] * h[:, None, :], np.matmul(ds[:, None, :], hs)[:, 0]


class Attention(_composite.Attention):
    """AttentionWeight then WeightSum (the book's composition, with these fast parts);
    ``attention_weight`` keeps the weights (N, T)."""

    parts = (AttentionWeight, WeightSum)


class TimeAttention:
    """``forward(hs_enc (N, Te, H), hs_dec (N, Td, H))`` → contexts (N, Td, H);
    ``backward(dout)`` → (dhs_enc, dhs_dec)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.weights = None
        self.attention_weights = None
        self._cache = None

    def forward(self, hs_enc, hs_dec):
        hs_enc = _states("TimeAttention", "hs_enc", hs_enc, 3)
        hs_dec = _states("TimeAttention", "hs_dec", hs_dec, 3, hs_enc.shape[2]).astype(hs_enc.dtype, copy=False)
        if hs_dec.shape[0] != hs_enc.shape[0]:
            raise ValueError(f"TimeAttention: hs_enc and hs_dec must have the same batch size, got "
                             f"{hs_enc.shape[0]} and {hs_dec.shape[0]}")
        A = _softmax_rows(np.matmul(hs_dec, hs_enc.transpose(0, 2, 1)))
        self.weights = A
        self.attention_weights = [A[:, t] for t in range(A.shape[1])]
        self._cache = (hs_enc, hs_dec, A)
        return np.matmul(A, hs_enc)

    def backward(self, dout):
        hs_enc, hs_dec, A = v.forward_done("TimeAttention", self._cache)
        dout = v.gradient("TimeAttention", "dout", dout, hs_dec.shape, hs_enc.dtype)
        dS = _softmax_rows_backward(A, np.matmul(dout, hs_enc.transpose(0, 2, 1)))
        dhs_enc = np.matmul(A.transpose(0, 2, 1), dout) + np.matmul(dS.transpose(0, 2, 1), hs_dec)
        return dhs_enc, np.matmul(dS, hs_enc)
