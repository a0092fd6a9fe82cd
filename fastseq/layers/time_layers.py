"""The book's ``common/time_layers`` on fastseq kernels (N batch, T time, D input, H hidden).

TimeLSTM runs its time loop as: one input projection ``xs @ Wx + b`` over all N*T rows, then per
step one recurrent product ``h @ Wh`` (NumPy's BLAS) and one fused gate kernel; backward runs
the loop back with a fused gate-derivative kernel and forms dWx, dWh, db and dxs as single large
products after the loop. It caches compact arrays (hs, cs, gates), never per-step objects.
"""
import numpy as np

from fastseq import _validate as v
from fastseq.kernels.lstm import lstm_step_backward, lstm_step_forward
from fastseq.kernels.softmax import softmax_cross_entropy_backward, softmax_cross_entropy_forward
from fastseq.layers.core import Dropout, Embedding, _loss_is_finite, affine_backward, affine_forward

__all__ = ["TimeLSTM", "TimeEmbedding", "TimeAffine", "TimeSoftmaxWithLoss", "TimeDropout"]


def _sequence_input(where, xs, D, dtype):
    """xs as a (N, T, D) array of ``dtype`` without NaN."""
    xs = np.asarray(xs)
    if xs.dtype.kind != "f":
        raise TypeError(f"{where}: xs must be a float array, got dtype {xs.dtype}")
    if xs.ndim != 3 or xs.shape[2] != D:
        raise ValueError(f"{where}: xs must have shape (N, T, {D}), got {xs.shape}")
    if np.isnan(xs).any():
        raise ValueError(f"{where}: xs contains NaN")
    return xs.astype(dtype, copy=False)


class TimeLSTM:
    """LSTM over T steps. ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)``; gate blocks f, g, i, o.

    ``forward(xs (N, T, D))`` → ``hs (N, T, H)``; ``backward(dhs)`` → ``dxs`` and fills grads;
    ``stateful=True`` carries ``h``/``c`` between calls; ``dh`` is the gradient w.r.t. the
    initial h after backward. Computes in Wx's dtype (float32 or float64)."""

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.h, self.c = None, None
        self.dh = None
        self.stateful = stateful
        self._cache = None

    def _initial(self, state, N, H, dtype, name):
        if not self.stateful or state is None:
            return np.zeros((N, H), dtype=dtype)
        if state.shape != (N, H):
            raise ValueError(f"TimeLSTM: carried state {name} has shape {state.shape}, but this batch "
                             f"needs ({N}, {H}); call reset_state() when the batch size changes")
        return state

    def forward(self, xs):
        Wx, Wh, b = self.params
        D, H = Wx.shape[0], Wh.shape[0]
        xs = _sequence_input("TimeLSTM", xs, D, Wx.dtype)
        N, T, _ = xs.shape
        h0 = self._initial(self.h, N, H, Wx.dtype, "h")
        c0 = self._initial(self.c, N, H, Wx.dtype, "c")
        ax = (xs.reshape(N * T, D) @ Wx + b).reshape(N, T, 4 * H)
        hs = np.empty((N, T, H), dtype=Wx.dtype)
        cs = np.empty((N, T, H), dtype=Wx.dtype)
        gates = np.empty((N, T, 4 * H), dtype=Wx.dtype)
        ah = np.empty((N, 4 * H), dtype=Wx.dtype)
        h, c = h0, c0
        for t in range(T):
            np.matmul(h, Wh, out=ah)
            lstm_step_forward(ax[:, t], ah, c, gates[:, t], cs[:, t], hs[:, t])
            h, c = hs[:, t], cs[:, t]
        self.h, self.c = h.copy(), c.copy()
        self._cache = (xs, h0, c0, hs, cs, gates)
        return hs

    def backward(self, dhs):
        Wx, Wh, b = self.params
        xs, h0, c0, hs, cs, gates = self._cache
        N, T, H = hs.shape
        D = Wx.shape[0]
        dhs = np.asarray(dhs, dtype=Wx.dtype)
        if dhs.shape != hs.shape:
            raise ValueError(f"TimeLSTM: dhs must have shape {hs.shape}, got {dhs.shape}")
        dA = np.empty((N, T, 4 * H), dtype=Wx.dtype)
        dh = np.zeros((N, H), dtype=Wx.dtype)
        dc = np.zeros((N, H), dtype=Wx.dtype)
        for t in range(T - 1, -1, -1):
            dh += dhs[:, t]
            c_prev = cs[:, t - 1] if t > 0 else c0
            lstm_step_backward(dh, dc, gates[:, t], c_prev, cs[:, t], dA[:, t])
            np.matmul(dA[:, t], Wh.T, out=dh)
        dA2 = dA.reshape(N * T, 4 * H)
        h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1).reshape(N * T, H)
        np.matmul(xs.reshape(N * T, D).T, dA2, out=self.grads[0])
        np.matmul(h_prev.T, dA2, out=self.grads[1])
        np.sum(dA2, axis=0, out=self.grads[2])
        self.dh = dh
        return (dA2 @ Wx.T).reshape(N, T, D)

    def set_state(self, h, c=None):
        """Set the carried state (h, and c or None)."""
        H = self.params[1].shape[0]
        for name, s in (("h", h), ("c", c)):
            if s is not None and (np.ndim(s) != 2 or np.shape(s)[1] != H):
                raise ValueError(f"TimeLSTM.set_state: {name} must have shape (N, {H}), got {np.shape(s)}")
        self.h, self.c = h, c

    def reset_state(self):
        """Forget the carried state."""
        self.h, self.c = None, None


class TimeEmbedding(Embedding):
    """ids (N, T) int → W rows (N, T, D); backward scatter-adds into dW (Embedding's race-free kernel)."""

    _ids_name = "xs"

    def __init__(self, W):
        super().__init__(W)
        self.W = W

    def forward(self, xs):
        if np.ndim(xs) != 2:
            raise ValueError(f"TimeEmbedding: xs must have shape (N, T), got {np.shape(xs)}")
        return super().forward(xs)


class TimeAffine:
    """(N, T, D) @ W (D, M) + b as one product over N*T rows; W may be a transposed view
    (weight tying, ``TimeAffine(embed_W.T, b)``), used as is, never copied."""

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = self.params
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != W.shape[0]:
            raise ValueError(f"TimeAffine: x must have shape (N, T, {W.shape[0]}), got {x.shape}")
        self.x = x
        N, T, D = x.shape
        return affine_forward(x.reshape(N * T, D), W, b).reshape(N, T, -1)

    def backward(self, dout):
        N, T, D = self.x.shape
        dout = np.asarray(dout).reshape(N * T, -1)
        return affine_backward(self.x.reshape(N * T, D), dout, self.params[0], self.grads).reshape(N, T, D)


class TimeSoftmaxWithLoss:
    """Mean cross-entropy over all (n, t) whose label is not ``ignore_label`` (-1), softmax and
    loss in one fused kernel (exact log-sum-exp). ``ts`` labels (N, T) or one-hot (N, T, V)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.ignore_label = -1
        self._cache = None

    def forward(self, xs, ts):
        xs = v.float_array("TimeSoftmaxWithLoss", "xs", xs, ndims=(3,))
        N, T, V = xs.shape
        ts = v.targets_from_onehot("TimeSoftmaxWithLoss", "ts", ts, xs.shape)
        ts = v.label_array("TimeSoftmaxWithLoss", "ts", ts, V, shape=(N, T), ignore_label=self.ignore_label)
        ts = ts.reshape(N * T)
        count = int(np.count_nonzero(ts != self.ignore_label))
        x2 = np.ascontiguousarray(xs).reshape(N * T, V)
        ys = np.empty_like(x2)
        total = softmax_cross_entropy_forward(x2, ts, 0.0, ys)
        self._cache = (ts, ys, count, (N, T, V))
        return _loss_is_finite("TimeSoftmaxWithLoss", total / max(count, 1))

    def backward(self, dout=1):
        ts, ys, count, shape = self._cache
        dx = np.empty_like(ys)
        softmax_cross_entropy_backward(ys, ts, float(dout) / max(count, 1), dx)
        return dx.reshape(shape)


class TimeDropout(Dropout):
    """Inverted dropout: ``xs * mask / (1 - ratio)`` while ``train_flg`` is True, identity
    otherwise. The mask comes from a counter-based stream seeded from ``np.random``."""

    def __init__(self, dropout_ratio=0.5):
        super().__init__(dropout_ratio)
        self.train_flg = True

    def _train_scale(self):
        return 1.0 / (1.0 - self.dropout_ratio)

    def forward(self, xs):
        return self._drop(xs, "xs") if self.train_flg else xs
