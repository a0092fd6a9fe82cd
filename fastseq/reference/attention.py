"""The book's attention layers (``ch08/attention_layer.py``) in plain NumPy, step by step."""
import numpy as np

from fastseq import _composite
from fastseq.reference.layers import Softmax


class WeightSum:
    """c = Σ_t a[n, t] hs[n, t]: hs (N, T, H), a (N, T) → (N, H)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, hs, a):
        N, T, H = hs.shape
        ar = a.reshape(N, T, 1)
        self.cache = (hs, ar)
        return np.sum(hs * ar, axis=1)

    def backward(self, dc):
        hs, ar = self.cache
        N, T, H = hs.shape
        dt = dc.reshape(N, 1, H).repeat(T, axis=1)
        return dt * ar, np.sum(dt * hs, axis=2)


class AttentionWeight:
    """a = softmax_t(hs[n, t] · h[n]): hs (N, T, H), h (N, H) → (N, T)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.softmax = Softmax()
        self.cache = None

    def forward(self, hs, h):
        N, T, H = hs.shape
        hr = h.reshape(N, 1, H)
        self.cache = (hs, hr)
        return self.softmax.forward(np.sum(hs * hr, axis=2))

    def backward(self, da):
        hs, hr = self.cache
        N, T, H = hs.shape
        dt = self.softmax.backward(da).reshape(N, T, 1).repeat(H, axis=2)
        return dt * hr, np.sum(dt * hs, axis=1)


class Attention(_composite.Attention):
    """AttentionWeight then WeightSum; ``attention_weight`` keeps a (the composition is
    ``fastseq._composite``'s, shared with fastseq's Attention)."""

    parts = (AttentionWeight, WeightSum)


class TimeAttention:
    """One Attention per decoder step: forward(hs_enc (N, Te, H), hs_dec (N, Td, H)) → (N, Td, H)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.layers = None
        self.attention_weights = None

    def forward(self, hs_enc, hs_dec):
        N, T, H = hs_dec.shape
        out = np.empty_like(hs_dec)
        self.layers, self.attention_weights = [], []
        for t in range(T):
            layer = Attention()
            out[:, t, :] = layer.forward(hs_enc, hs_dec[:, t, :])
            self.layers.append(layer)
            self.attention_weights.append(layer.attention_weight)
        return out

    def backward(self, dout):
        N, T, H = dout.shape
        dhs_enc = 0
        dhs_dec = np.empty_like(dout)
        for t in range(T):
            dhs, dh = self.layers[t].backward(dout[:, t, :])
            dhs_enc += dhs
            dhs_dec[:, t, :] = dh
        return dhs_enc, dhs_dec
