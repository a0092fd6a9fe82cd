"""The book's ``common/time_layers`` on fastseq kernels (N batch, T time, D input, H hidden,
V vocabulary). The recurrent layers live in ``fastseq.layers.recurrent`` and are re-exported
here, as the book's module holds them too; so is ``TimeAttention`` (``fastseq.layers.attention``)
so that the seq2seq models find all their time layers in one module."""
import numpy as np

from fastseq import _validate as v
from fastseq import kernels
from fastseq.layers.core import (Dropout, Embedding, SigmoidWithLoss, SoftmaxWithLoss, _loss_is_finite,
                                 _weights, affine_backward, affine_forward)
from fastseq.layers.attention import TimeAttention
from fastseq.layers.recurrent import GRU, LSTM, RNN, TimeBiLSTM, TimeGRU, TimeLSTM, TimeRNN

__all__ = ["RNN", "LSTM", "GRU", "TimeRNN", "TimeLSTM", "TimeGRU", "TimeBiLSTM", "TimeEmbedding",
           "TimeAffine", "TimeSoftmaxWithLoss", "TimeSigmoidWithLoss", "TimeDropout", "TimeAttention",
           "Simple_TimeAffine", "Simple_TimeSoftmaxWithLoss"]


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
        W, b = _weights("TimeAffine", self.params, ("W", "b"), self.grads)
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(f"TimeAffine: W must be 2-D and b of shape (W.shape[1],), got {W.shape} and {b.shape}")
        x = v.float_array("TimeAffine", "x", x, ndims=(3,)).astype(W.dtype, copy=False)
        if x.shape[2] != W.shape[0]:
            raise ValueError(f"TimeAffine: x must have shape (N, T, {W.shape[0]}), got {x.shape}")
        self.x = x
        N, T, D = x.shape
        return affine_forward(x.reshape(N * T, D), W, b).reshape(N, T, W.shape[1])

    def backward(self, dout):
        N, T, D = v.forward_done("TimeAffine", self.x).shape
        W = self.params[0]
        dout = v.gradient("TimeAffine", "dout", dout, (N, T, W.shape[1]), W.dtype).reshape(N * T, W.shape[1])
        return affine_backward(self.x.reshape(N * T, D), dout, W, self.grads).reshape(N, T, D)


class TimeSoftmaxWithLoss:
    """Mean cross-entropy over all (n, t) whose label is not ``ignore_label`` (-1). One fused
    kernel computes the loss (exact log-sum-exp) and writes the gradient for ``dout=1`` during
    forward; ``backward(dout)`` returns it (scaled when dout != 1). ``ts`` labels (N, T) or
    one-hot (N, T, V)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.ignore_label = -1
        self._dx = None

    def forward(self, xs, ts):
        xs = v.float_array("TimeSoftmaxWithLoss", "xs", xs, ndims=(3,))
        N, T, V = xs.shape
        ts = v.targets_from_onehot("TimeSoftmaxWithLoss", "ts", ts, xs.shape)
        ts = v.label_array("TimeSoftmaxWithLoss", "ts", ts, V, shape=(N, T), ignore_label=self.ignore_label)
        ts = ts.reshape(N * T)
        count = int(np.count_nonzero(ts != self.ignore_label))
        if count == 0:
            raise ValueError("TimeSoftmaxWithLoss: ts is empty or every label is ignore_label "
                             f"({self.ignore_label}); there is no loss to average")
        x2 = np.ascontiguousarray(xs).reshape(N * T, V)
        dx = np.empty_like(x2)
        total = kernels.softmax.softmax_cross_entropy_with_grad(x2, ts, 1.0 / count, dx)
        self._dx = dx.reshape(N, T, V)
        return _loss_is_finite("TimeSoftmaxWithLoss", total / count)

    def backward(self, dout=1):
        v.forward_done("TimeSoftmaxWithLoss", self._dx)
        return self._dx if dout == 1 else self._dx * self._dx.dtype.type(dout)


class Simple_TimeSoftmaxWithLoss:
    """The book's step-by-step TimeSoftmaxWithLoss: the mean over T of each step's
    SoftmaxWithLoss (``-log(y + 1e-7)``, no ignored labels), which is the mean over all N*T
    rows, so one SoftmaxWithLoss over ``xs`` reshaped to (N*T, V) computes it. ``ts`` labels
    (N, T) or one-hot (N, T, V); ``backward(dout=1)`` → (N, T, V)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None
        self._rows = SoftmaxWithLoss()

    def forward(self, xs, ts):
        xs = v.float_array("Simple_TimeSoftmaxWithLoss", "xs", xs, ndims=(3,))
        N, T, V = xs.shape
        ts = np.asarray(ts)
        self.cache = xs.shape
        return self._rows.forward(xs.reshape(N * T, V), ts.reshape((N * T,) + ts.shape[2:]))

    def backward(self, dout=1):
        if self.cache is None:
            raise RuntimeError("Simple_TimeSoftmaxWithLoss: backward called before forward")
        return self._rows.backward(dout).reshape(self.cache)


class Simple_TimeAffine(TimeAffine):
    """The book's step-by-step TimeAffine, run as one product over N*T rows, with the book's
    attributes ``W``, ``b``, ``dW``, ``db`` (None before the first backward) beside
    ``params``/``grads``. (The book's own backward reads a ``dW`` its Affine layers do not have
    and fails; this one returns dxs and sets dW, db.)"""

    def __init__(self, W, b):
        super().__init__(W, b)
        self.W, self.b = W, b
        self.dW, self.db = None, None

    def backward(self, dout):
        dxs = super().backward(dout)
        self.dW, self.db = self.grads
        return dxs


class TimeSigmoidWithLoss(SigmoidWithLoss):
    """Sigmoid + binary cross-entropy over ``xs (N, T)`` scores and ``ts (N, T)`` 0/1 labels:
    the mean over T of the batch means (= the mean over all N*T); ``backward(dout=1)`` →
    ``(y - t) * dout / (N*T)``, shape (N, T)."""

    _x_ndim = 2


class TimeDropout(Dropout):
    """Inverted dropout: ``xs * mask / (1 - ratio)`` while ``train_flg`` is True, identity
    otherwise. The mask comes from a counter-based stream seeded from ``np.random``.

    ``variational=True`` draws one mask per sequence and feature, shape (N, 1, D), and reuses it
    at every time step (Gal & Ghahramani's variational dropout) instead of a fresh mask per
    element; ``mask`` then has that broadcastable shape."""

    def __init__(self, dropout_ratio=0.5, variational=False):
        super().__init__(dropout_ratio)
        self.train_flg = True
        self.variational = bool(variational)

    @property
    def mask(self):
        """The book's TimeDropout mask: float32 ``keep / (1 - ratio)`` of the last forward
        (None before), made when read."""
        if self._keep is None:
            return None
        return self._keep.astype(np.float32) * np.float32(self._train_scale())

    def _train_scale(self):
        return 1.0 / (1.0 - self.dropout_ratio)

    def forward(self, xs):
        if not self.train_flg:
            return xs
        if not self.variational:
            return self._drop(xs, "xs")
        xs = v.float_array("TimeDropout", "xs", xs, ndims=(3,))
        N, _, D = xs.shape
        scaled_mask = self._drop(np.ones((N, 1, D), dtype=xs.dtype), "xs")   # sets self._keep (N, 1, D)
        return xs * scaled_mask

    def backward(self, dout):
        if not self.variational:
            return super().backward(dout)
        dout = np.asarray(dout)
        keep = self._keep
        if dout.ndim != 3 or dout.shape[0] != keep.shape[0] or dout.shape[2] != keep.shape[2]:
            raise ValueError(f"TimeDropout: dout must have shape ({keep.shape[0]}, T, "
                             f"{keep.shape[2]}), got {dout.shape}")
        return dout * (keep * dout.dtype.type(self._train_scale()))
