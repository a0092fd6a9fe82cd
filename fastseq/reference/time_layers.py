"""The book's ``common/time_layers`` in plain NumPy, per step: RNN, TimeRNN, LSTM, TimeLSTM,
GRU, TimeGRU, TimeBiLSTM, TimeEmbedding, TimeAffine, TimeSoftmaxWithLoss, TimeSigmoidWithLoss,
TimeDropout (N batch, T time, D input, H hidden, V vocabulary)."""
import numpy as np

from fastseq import _composite
from fastseq.reference.attention import TimeAttention
from fastseq.reference.functions import sigmoid, softmax
from fastseq.reference.layers import Affine, Embedding, SigmoidWithLoss, SoftmaxWithLoss

__all__ = ["RNN", "TimeRNN", "LSTM", "TimeLSTM", "GRU", "TimeGRU", "TimeBiLSTM", "TimeEmbedding", "TimeAffine",
           "TimeSoftmaxWithLoss", "TimeSigmoidWithLoss", "TimeDropout", "TimeAttention", "Simple_TimeAffine",
           "Simple_TimeSoftmaxWithLoss"]


class RNN:
    """One RNN step: h_next = tanh(h_prev Wh + x Wx + b)."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        h_next = np.tanh(np.dot(h_prev, Wh) + np.dot(x, Wx) + b)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        x, h_prev, h_next = self.cache
        dt = dh_next * (1 - h_next ** 2)
        self.grads[0][...] = np.dot(x.T, dt)
        self.grads[1][...] = np.dot(h_prev.T, dt)
        self.grads[2][...] = np.sum(dt, axis=0)
        return np.dot(dt, Wx.T), np.dot(dt, Wh.T)


class GRU:
    """One GRU step; packed blocks z, r, h̃. Without ``b`` (the Korean edition's call
    ``GRU(Wx, Wh)``) the cell has no bias and ``params`` is ``[Wx, Wh]``; ``dWx``/``dWh`` name
    the weight gradients after a backward."""

    def __init__(self, Wx, Wh, b=None):
        self.params = [Wx, Wh] if b is None else [Wx, Wh, b]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.dWx = self.dWh = None
        self.cache = None

    def _weights(self):
        Wx, Wh = self.params[:2]
        b = self.params[2] if len(self.params) == 3 else np.zeros(Wh.shape[1], dtype=Wx.dtype)
        return Wx, Wh, b

    def forward(self, x, h_prev):
        Wx, Wh, b = self._weights()
        H = Wh.shape[0]
        Wxz, Wxr, Wxh = Wx[:, :H], Wx[:, H:2 * H], Wx[:, 2 * H:]
        Whz, Whr, Whh = Wh[:, :H], Wh[:, H:2 * H], Wh[:, 2 * H:]
        bz, br, bh = b[:H], b[H:2 * H], b[2 * H:]
        z = sigmoid(np.dot(x, Wxz) + np.dot(h_prev, Whz) + bz)
        r = sigmoid(np.dot(x, Wxr) + np.dot(h_prev, Whr) + br)
        h_hat = np.tanh(np.dot(x, Wxh) + np.dot(r * h_prev, Whh) + bh)
        h_next = (1 - z) * h_prev + z * h_hat
        self.cache = (x, h_prev, z, r, h_hat)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, _ = self._weights()
        H = Wh.shape[0]
        Wxz, Wxr, Wxh = Wx[:, :H], Wx[:, H:2 * H], Wx[:, 2 * H:]
        Whz, Whr, Whh = Wh[:, :H], Wh[:, H:2 * H], Wh[:, 2 * H:]
        x, h_prev, z, r, h_hat = self.cache
        dh_hat = dh_next * z
        dh_prev = dh_next * (1 - z)
        dt = dh_hat * (1 - h_hat ** 2)               # candidate h̃
        dbh = np.sum(dt, axis=0)
        dWhh = np.dot((r * h_prev).T, dt)
        dhr = np.dot(dt, Whh.T)
        dWxh = np.dot(x.T, dt)
        dx = np.dot(dt, Wxh.T)
        dh_prev += r * dhr
        dz = dh_next * h_hat - dh_next * h_prev      # update gate z
        dt = dz * z * (1 - z)
        dbz = np.sum(dt, axis=0)
        dWhz = np.dot(h_prev.T, dt)
        dh_prev += np.dot(dt, Whz.T)
        dWxz = np.dot(x.T, dt)
        dx += np.dot(dt, Wxz.T)
        dr = dhr * h_prev                            # reset gate r
        dt = dr * r * (1 - r)
        dbr = np.sum(dt, axis=0)
        dWhr = np.dot(h_prev.T, dt)
        dh_prev += np.dot(dt, Whr.T)
        dWxr = np.dot(x.T, dt)
        dx += np.dot(dt, Wxr.T)
        self.grads[0][...] = np.hstack((dWxz, dWxr, dWxh))
        self.grads[1][...] = np.hstack((dWhz, dWhr, dWhh))
        if len(self.grads) == 3:
            self.grads[2][...] = np.hstack((dbz, dbr, dbh))
        self.dWx, self.dWh = self.grads[0], self.grads[1]
        return dx, dh_prev


class _TimeSteps:
    """T steps of a cell whose state is h alone (RNN, GRU)."""

    cell = None

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh] if b is None else [Wx, Wh, b]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.layers = None
        self.h, self.dh = None, None
        self.stateful = stateful

    def forward(self, xs):
        Wx, Wh = self.params[:2]
        N, T, D = xs.shape
        H = Wh.shape[0]
        self.layers = []
        hs = np.empty((N, T, H), dtype=Wx.dtype)
        if not self.stateful or self.h is None:
            self.h = np.zeros((N, H), dtype=Wx.dtype)
        for t in range(T):
            layer = self.cell(*self.params)
            self.h = layer.forward(xs[:, t, :], self.h)
            hs[:, t, :] = self.h
            self.layers.append(layer)
        return hs

    def backward(self, dhs):
        Wx = self.params[0]
        N, T, H = dhs.shape
        dxs = np.empty((N, T, Wx.shape[0]), dtype=Wx.dtype)
        dh = 0
        grads = [0] * len(self.grads)
        for t in reversed(range(T)):
            layer = self.layers[t]
            dx, dh = layer.backward(dhs[:, t, :] + dh)
            dxs[:, t, :] = dx
            for i, grad in enumerate(layer.grads):
                grads[i] += grad
        for i, grad in enumerate(grads):
            self.grads[i][...] = grad
        self.dh = dh
        return dxs

    def set_state(self, h):
        self.h = h

    def reset_state(self):
        self.h = None


class TimeRNN(_TimeSteps):
    """T RNN steps; ``stateful`` keeps ``h`` between calls."""

    cell = RNN


class TimeGRU(_TimeSteps):
    """T GRU steps; ``stateful`` keeps ``h`` between calls. ``b`` is optional, and the Korean
    edition's ``TimeGRU(Wx, Wh, stateful)`` (a bool third) works; ``dWx``/``dWh`` after backward."""

    cell = GRU

    def __init__(self, Wx, Wh, b=None, stateful=False):
        if isinstance(b, (bool, np.bool_)):
            b, stateful = None, b
        super().__init__(Wx, Wh, b, stateful)
        self.dWx = self.dWh = None

    def backward(self, dhs):
        dxs = super().backward(dhs)
        self.dWx, self.dWh = self.grads[0], self.grads[1]
        return dxs


class LSTM:
    """One LSTM step; packed gate blocks in the order f, g, i, o."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        N, H = h_prev.shape
        A = np.dot(x, Wx) + np.dot(h_prev, Wh) + b
        f = sigmoid(A[:, :H])
        g = np.tanh(A[:, H:2 * H])
        i = sigmoid(A[:, 2 * H:3 * H])
        o = sigmoid(A[:, 3 * H:])
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        Wx, Wh, b = self.params
        x, h_prev, c_prev, i, f, g, o, c_next = self.cache
        tanh_c_next = np.tanh(c_next)
        ds = dc_next + (dh_next * o) * (1 - tanh_c_next ** 2)
        dc_prev = ds * f
        di = ds * g
        df = ds * c_prev
        do = dh_next * tanh_c_next
        dg = ds * i
        di *= i * (1 - i)
        df *= f * (1 - f)
        do *= o * (1 - o)
        dg *= (1 - g ** 2)
        dA = np.hstack((df, dg, di, do))
        self.grads[0][...] = np.dot(x.T, dA)
        self.grads[1][...] = np.dot(h_prev.T, dA)
        self.grads[2][...] = dA.sum(axis=0)
        return np.dot(dA, Wx.T), np.dot(dA, Wh.T), dc_prev


class TimeLSTM:
    """T LSTM steps; ``stateful`` keeps ``h``/``c`` between calls (truncated BPTT)."""

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.layers = None
        self.h, self.c = None, None
        self.dh = None
        self.stateful = stateful

    def forward(self, xs):
        Wx, Wh, b = self.params
        N, T, D = xs.shape
        H = Wh.shape[0]
        self.layers = []
        hs = np.empty((N, T, H), dtype=Wx.dtype)
        if not self.stateful or self.h is None:
            self.h = np.zeros((N, H), dtype=Wx.dtype)
        if not self.stateful or self.c is None:
            self.c = np.zeros((N, H), dtype=Wx.dtype)
        for t in range(T):
            layer = LSTM(*self.params)
            self.h, self.c = layer.forward(xs[:, t, :], self.h, self.c)
            hs[:, t, :] = self.h
            self.layers.append(layer)
        return hs

    def backward(self, dhs):
        Wx, Wh, b = self.params
        N, T, H = dhs.shape
        D = Wx.shape[0]
        dxs = np.empty((N, T, D), dtype=Wx.dtype)
        dh, dc = 0, 0
        grads = [0, 0, 0]
        for t in reversed(range(T)):
            layer = self.layers[t]
            dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)
            dxs[:, t, :] = dx
            for i, grad in enumerate(layer.grads):
                grads[i] += grad
        for i, grad in enumerate(grads):
            self.grads[i][...] = grad
        self.dh = dh
        return dxs

    def set_state(self, h, c=None):
        self.h, self.c = h, c

    def reset_state(self):
        self.h, self.c = None, None


class TimeEmbedding:
    """Embedding applied at every time step: ids (N, T) → (N, T, D)."""

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.layers = None
        self.W = W

    def forward(self, xs):
        N, T = xs.shape
        V, D = self.W.shape
        out = np.empty((N, T, D), dtype=self.W.dtype)
        self.layers = []
        for t in range(T):
            layer = Embedding(self.W)
            out[:, t, :] = layer.forward(xs[:, t])
            self.layers.append(layer)
        return out

    def backward(self, dout):
        N, T, D = dout.shape
        grad = 0
        for t in range(T):
            layer = self.layers[t]
            layer.backward(dout[:, t, :])
            grad += layer.grads[0]
        self.grads[0][...] = grad
        return None


class TimeAffine:
    """Affine over the last axis of (N, T, D) as one product over N*T rows."""

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        N, T, D = x.shape
        W, b = self.params
        rx = x.reshape(N * T, -1)
        out = np.dot(rx, W) + b
        self.x = x
        return out.reshape(N, T, -1)

    def backward(self, dout):
        x = self.x
        N, T, D = x.shape
        W, b = self.params
        dout = dout.reshape(N * T, -1)
        rx = x.reshape(N * T, -1)
        self.grads[0][...] = np.dot(rx.T, dout)
        self.grads[1][...] = np.sum(dout, axis=0)
        dx = np.dot(dout, W.T)
        return dx.reshape(*x.shape)


class TimeSoftmaxWithLoss:
    """Mean cross-entropy over all (n, t) whose label is not ``ignore_label`` (-1)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None
        self.ignore_label = -1

    def forward(self, xs, ts):
        N, T, V = xs.shape
        if ts.ndim == 3:
            ts = ts.argmax(axis=2)
        mask = (ts != self.ignore_label)
        xs = xs.reshape(N * T, V)
        ts = ts.reshape(N * T)
        mask = mask.reshape(N * T)
        ys = softmax(xs)
        ls = np.log(ys[np.arange(N * T), ts])
        ls *= mask
        loss = -np.sum(ls)
        loss /= mask.sum()
        self.cache = (ts, ys, mask, (N, T, V))
        return loss

    def backward(self, dout=1):
        ts, ys, mask, (N, T, V) = self.cache
        dx = ys
        dx[np.arange(N * T), ts] -= 1
        dx *= dout
        dx /= mask.sum()
        dx *= mask[:, np.newaxis]
        return dx.reshape((N, T, V))


class Simple_TimeAffine:
    """TimeAffine step by step: one Affine per time step, weight gradients summed over the steps.
    Keeps the book's attributes ``W``, ``b``, ``dW``, ``db`` (None before a backward)."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.dW, self.db = None, None
        self.layers = None

    def forward(self, xs):
        N, T, D = xs.shape
        out = np.empty((N, T, self.W.shape[1]), dtype=self.W.dtype)
        self.layers = []
        for t in range(T):
            layer = Affine(self.W, self.b)
            out[:, t, :] = layer.forward(xs[:, t, :])
            self.layers.append(layer)
        return out

    def backward(self, dout):
        N, T, _ = dout.shape
        dxs = np.empty((N, T, self.W.shape[0]), dtype=self.W.dtype)
        self.dW, self.db = 0, 0
        for t, layer in enumerate(self.layers):
            dxs[:, t, :] = layer.backward(dout[:, t, :])
            self.dW = self.dW + layer.grads[0]
            self.db = self.db + layer.grads[1]
        return dxs


class Simple_TimeSoftmaxWithLoss:
    """TimeSoftmaxWithLoss step by step: one SoftmaxWithLoss per time step, the loss their mean
    over T; no ignored labels."""

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, xs, ts):
        N, T, V = xs.shape
        layers = [SoftmaxWithLoss() for _ in range(T)]
        loss = sum(layer.forward(xs[:, t, :], ts[:, t]) for t, layer in enumerate(layers)) / T
        self.cache = (layers, xs)
        return loss

    def backward(self, dout=1):
        layers, xs = self.cache
        dxs = np.empty(xs.shape, dtype=xs.dtype)
        for t, layer in enumerate(layers):
            dxs[:, t, :] = layer.backward(dout / len(layers))
        return dxs


class TimeDropout:
    """Inverted dropout: ``x * mask / (1 - ratio)`` when ``train_flg``, identity otherwise."""

    def __init__(self, dropout_ratio=0.5):
        self.params, self.grads = [], []
        self.dropout_ratio = dropout_ratio
        self.mask = None
        self.train_flg = True

    def forward(self, xs):
        if self.train_flg:
            flg = np.random.rand(*xs.shape) > self.dropout_ratio
            scale = 1 / (1.0 - self.dropout_ratio)
            self.mask = flg.astype(np.float32) * scale
            return xs * self.mask
        return xs

    def backward(self, dout):
        return dout * self.mask


class TimeSigmoidWithLoss:
    """SigmoidWithLoss at every step of (N, T) scores; the mean over T of the batch means."""

    def __init__(self):
        self.params, self.grads = [], []
        self.xs_shape = None
        self.layers = None

    def forward(self, xs, ts):
        N, T = xs.shape
        self.xs_shape = xs.shape
        self.layers = []
        loss = 0
        for t in range(T):
            layer = SigmoidWithLoss()
            loss += layer.forward(xs[:, t], ts[:, t])
            self.layers.append(layer)
        return loss / T

    def backward(self, dout=1):
        N, T = self.xs_shape
        dxs = np.empty(self.xs_shape, dtype=self.layers[0].y.dtype)
        dout *= 1 / T
        for t in range(T):
            dxs[:, t] = self.layers[t].backward(dout)
        return dxs


class TimeBiLSTM(_composite.TimeBiLSTM):
    """A TimeLSTM forward in time and one over the reversed sequence, concatenated (N, T, 2H)
    (the composition is ``fastseq._composite``'s, shared with fastseq's TimeBiLSTM)."""

    lstm_class = TimeLSTM
