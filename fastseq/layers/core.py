"""The book's ``common/layers`` on fastseq kernels.

Every class keeps the book's surface: ``params`` (the caller's arrays, never copied or rebound),
``grads`` (allocated once, written in place), ``forward`` and ``backward``. Inputs are checked
once here; the kernels trust them. Layers compute in the dtype of their weights or inputs
(float32 fast path, float64 works).
"""
import math

import numpy as np

from fastseq import _validate as v
from fastseq import kernels
from fastseq._draws import book_draws
from fastseq._threads import get_num_threads, matmul, one_thread_matmul
from fastseq.numpy_kernels import for_size, shared_vector


def _matmul_input(where, x, W):
    """x as an array whose last axis matches W's rows; one-hot ints are cast to W's dtype."""
    if type(x) is np.ndarray and x.ndim == 2 and x.shape[1] == W.shape[0]:     # the usual cases
        if x.dtype == W.dtype:
            return x
        if x.dtype.kind in "iub":
            return x.astype(W.dtype)
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        x = x.astype(W.dtype)
    x = v.float_array(where, "x", x)
    if x.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(f"{where}: x must have shape (N, {W.shape[0]}), got {x.shape}")
    return x


def _weights(where, params, names, grads=None):
    """The layer's params, each a float32/float64 ndarray of one dtype and, with ``grads``, of
    its gradient's shape: checked at every forward, since a caller may swap ``params[i]`` after
    construction and the kernels write gradients by the params' shapes."""
    dtype = params[0].dtype if params and type(params[0]) is np.ndarray else None
    if dtype is not None and dtype.char in "fd" and dtype.isnative:   # the usual case, one line per weight
        for i, p in enumerate(params):
            if type(p) is not np.ndarray or p.dtype != dtype or (grads is not None and grads[i].shape != p.shape):
                break
        else:
            return params
    dtype = None
    for i, (p, name) in enumerate(zip(params, names)):
        if grads is not None and isinstance(p, np.ndarray) and grads[i].shape != p.shape:
            raise ValueError(f"{where}: {name} has shape {p.shape} but its gradient {grads[i].shape}; "
                             "params were replaced after construction: build a new layer")
        if not isinstance(p, np.ndarray) or not v.is_kernel_float(p.dtype):
            got = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
            raise TypeError(f"{where}: {name} must be a float32 or float64 array, got {got}")
        if dtype is not None and p.dtype != dtype:
            raise TypeError(f"{where}: {name} is {p.dtype}, the other weights {dtype}")
        dtype = p.dtype
    return params


def nonempty_batch(where, name, n):
    """``n`` rows to average a loss over, refusing an empty batch (its mean is 0/0)."""
    if n == 0:
        raise ValueError(f"{where}: {name} is an empty batch; there is no loss to average")
    return n


def affine_forward(x, W, b):
    """x (R, D) @ W (D, M) + b (M,) → (R, M); W may be a transposed view."""
    out = matmul(x, W)
    out += b
    return out


def column_sums(x, out):
    """out (M,) = the column sums of x (R, M), as a BLAS matrix-vector product with a vector of
    ones: the bias gradient. Over a (700, 10,000) float32 x it took 0.27 ms against 2.2 ms for
    ``x.sum(axis=0)``; over (700, 2,600), an LSTM's gate gradients, 62 µs against 164 µs."""
    one_thread_matmul(shared_vector("ones", x.shape[0], x.dtype), x, out)


def affine_backward(x, dout, W, grads):
    """Fill grads[0] = x.T @ dout and grads[1] = column sums of dout in place; return dout @ W.T."""
    matmul(x.T, dout, out=grads[0])
    column_sums(dout, grads[1])
    return matmul(dout, W.T)


def _loss_is_finite(where, loss):
    if not math.isfinite(loss):
        raise FloatingPointError(f"{where}: the loss is {loss}; x contains NaN or inf")
    return loss


class MatMul:
    """``out = x @ W``. x (N, D) float (0/1 ints are accepted as one-hot); W (D, H)."""

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.x = None

    def forward(self, x):
        W, = _weights("MatMul", self.params, ("W",), self.grads)
        self.x = _matmul_input("MatMul", x, W)
        return matmul(self.x, W)

    def backward(self, dout):
        x = v.forward_done("MatMul", self.x)
        W, = self.params
        dout = v.gradient("MatMul", "dout", dout, (x.shape[0], W.shape[1]), W.dtype)
        matmul(x.T, dout, out=self.grads[0])
        return matmul(dout, W.T)


class Affine:
    """``out = x @ W + b``. x (N, D) float; W (D, H); b (H,)."""

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = _weights("Affine", self.params, ("W", "b"), self.grads)
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(f"Affine: W must be 2-D and b of shape (W.shape[1],), got {W.shape} and {b.shape}")
        self.x = _matmul_input("Affine", x, W)
        return affine_forward(self.x, W, b)

    def backward(self, dout):
        x = v.forward_done("Affine", self.x)
        W = self.params[0]
        dout = v.gradient("Affine", "dout", dout, (x.shape[0], W.shape[1]), W.dtype)
        return affine_backward(x, dout, W, self.grads)


def _rows(x):
    """A contiguous 2-D (rows, last axis) view or copy of x."""
    x = np.ascontiguousarray(x)
    return x.reshape(-1, x.shape[-1])


class Softmax:
    """Row-wise softmax over the last axis (any rank ≥ 1); backward applies its Jacobian."""

    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        x = v.float_array("Softmax", "x", x)
        if x.ndim == 0:
            raise ValueError("Softmax: x must have at least 1 dimension, got a scalar")
        rows = _rows(x)
        out = np.empty_like(rows)
        for_size("softmax", rows.size).softmax_forward(rows, out)
        self.out = out.reshape(x.shape)
        return self.out

    def backward(self, dout):
        out = v.forward_done("Softmax", self.out)
        y = out.reshape(-1, out.shape[-1])
        dout = v.gradient("Softmax", "dout", dout, out.shape, y.dtype).reshape(y.shape)
        dx = np.empty_like(y)
        for_size("softmax", y.size).softmax_backward(y, dout, dx)
        return dx.reshape(self.out.shape)


class SoftmaxWithLoss:
    """Softmax and mean cross-entropy in one fused kernel.

    ``forward(x (N, C) float, t)`` with t labels (N,) or one-hot (N, C); a 1-D x is one sample.
    ``backward(dout=1)`` → ``(y - onehot(t)) * dout / N``, of x's shape.
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.y = None
        self.t = None

    def forward(self, x, t):
        if (type(x) is np.ndarray and x.ndim == 2 and x.shape[0] and x.flags.c_contiguous
                and v.is_kernel_float(x.dtype) and type(t) is np.ndarray and t.shape == x.shape and x.shape[1] > 1):
            labels = t.argmax(axis=1)       # one-hot rows: their argmax is a valid label by construction
            rows = x
        else:                               # any other x and t: converted, or refused by name
            rows, labels = self._checked(x, t)
        y = np.empty_like(rows)
        total = for_size("softmax", y.size).softmax_cross_entropy_forward(rows, labels, 1e-7, y)
        self.y, self.t = (y if rows is x else y.reshape(x.shape)), labels
        return _loss_is_finite("SoftmaxWithLoss", total / rows.shape[0])

    @staticmethod
    def _checked(x, t):
        """(x's rows (R, C), C-contiguous; labels (R,)) after every check, for any accepted x and t."""
        x = v.float_array("SoftmaxWithLoss", "x", x, ndims=(1, 2))
        t = v.targets_from_onehot("SoftmaxWithLoss", "t", t, x.shape)
        rows = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
        labels = v.label_array("SoftmaxWithLoss", "t", t, rows.shape[1], shape=x.shape[:-1]).reshape(-1)
        nonempty_batch("SoftmaxWithLoss", "x", rows.shape[0])
        return rows, labels

    def backward(self, dout=1):
        out = v.forward_done("SoftmaxWithLoss", self.y)
        y = out if out.ndim == 2 else out.reshape(1, -1)
        dx = np.empty_like(y)
        for_size("softmax", y.size).softmax_cross_entropy_backward(y, self.t, float(dout) / y.shape[0], dx)
        return dx if out.ndim == 2 else dx.reshape(out.shape)


class Sigmoid:
    """Elementwise logistic function, any shape; backward ``dout * y * (1 - y)``."""

    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        if not (type(x) is np.ndarray and x.flags.c_contiguous and v.is_kernel_float(x.dtype)):
            x = np.ascontiguousarray(v.float_array("Sigmoid", "x", x))
        out = np.empty_like(x)
        for_size("activations", x.size).sigmoid_forward(x.reshape(-1), out.reshape(-1))
        self.out = out
        return out

    def backward(self, dout):
        out = v.forward_done("Sigmoid", self.out)
        dout = v.gradient("Sigmoid", "dout", dout, out.shape, out.dtype)
        dx = np.empty_like(self.out)
        for_size("activations", dx.size).sigmoid_backward(dout.reshape(-1), self.out.reshape(-1), dx.reshape(-1))
        return dx


class SigmoidWithLoss:
    """Sigmoid and mean binary cross-entropy: ``forward(x (N,) float, t (N,) 0/1 ints)``;
    ``backward(dout=1)`` → ``(y - t) * dout / N``."""

    _x_ndim = 1

    def __init__(self):
        self.params, self.grads = [], []
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        where = type(self).__name__
        x = np.ascontiguousarray(v.float_array(where, "x" if self._x_ndim == 1 else "xs", x, ndims=(self._x_ndim,)))
        self.t = v.label_array(where, "t" if self._x_ndim == 1 else "ts", t, 2, shape=x.shape).reshape(-1)
        nonempty_batch(where, "x" if self._x_ndim == 1 else "xs", x.size)
        self.y = np.empty_like(x)
        total = kernels.activations.sigmoid_cross_entropy_forward(x.reshape(-1), self.t, 1e-7, self.y.reshape(-1))
        self.loss = _loss_is_finite(where, total / x.size)
        return self.loss

    def backward(self, dout=1):
        y = v.forward_done(type(self).__name__, self.y)
        dx = np.empty_like(y)
        kernels.activations.sigmoid_cross_entropy_backward(y.reshape(-1), self.t, float(dout) / self.t.shape[0],
                                                           dx.reshape(-1))
        return dx


def _check_ratio(where, ratio):
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"{where}: dropout_ratio must be in [0, 1), got {ratio}")
    return ratio


def draw_seed():
    """A uint64 seed for a kernel's counter-based stream, drawn from NumPy's global RNG
    (so ``np.random.seed`` makes a run reproducible)."""
    return np.uint64(np.random.randint(0, np.iinfo(np.int64).max, dtype=np.int64))


class Dropout:
    """The book's Dropout: at train time ``x * mask`` (mask true with probability
    ``1 - dropout_ratio``), at test time ``x * (1 - dropout_ratio)``."""

    def __init__(self, dropout_ratio=0.5):
        self.params, self.grads = [], []
        self.dropout_ratio = _check_ratio(type(self).__name__, dropout_ratio)
        self._keep = None

    @property
    def mask(self):
        """The kept units of the last forward, bool (None before)."""
        return self._keep

    @mask.setter
    def mask(self, keep):
        self._keep = keep

    def _train_scale(self):
        """Factor applied to kept units at train time (1 here; inverted dropout overrides it)."""
        return 1.0

    def _drop(self, x, name):
        """x * mask * scale with a fresh mask kept in ``self._keep``. In "book" draw mode the mask
        is the book's ``np.random.rand(*x.shape) > dropout_ratio`` (float64 uniforms from
        NumPy's global generator), else one kernel draws it from a counter-based stream."""
        x = np.ascontiguousarray(v.float_array(type(self).__name__, name, x))
        out = np.empty_like(x)
        if book_draws():
            self._keep = np.random.rand(*x.shape) > self.dropout_ratio
            kernels.activations.dropout_backward(x.reshape(-1), self._keep.reshape(-1), self._train_scale(),
                                                 out.reshape(-1))
            return out
        self._keep = np.empty(x.shape, dtype=np.bool_)
        kernels.activations.dropout_forward(x.reshape(-1), draw_seed(), self.dropout_ratio, self._train_scale(),
                        out.reshape(-1), self._keep.reshape(-1))
        return out

    def forward(self, x, train_flg=True):
        if not train_flg:
            return np.ascontiguousarray(v.float_array("Dropout", "x", x)) * (1.0 - self.dropout_ratio)
        return self._drop(x, "x")

    def backward(self, dout):
        dout = np.ascontiguousarray(dout)
        if self._keep is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        if dout.shape != self._keep.shape:
            raise ValueError(f"{type(self).__name__}: dout must have shape {self._keep.shape}, got {dout.shape}")
        dx = np.empty_like(dout)
        kernels.activations.dropout_backward(dout.reshape(-1), self._keep.reshape(-1), self._train_scale(),
                                             dx.reshape(-1))
        return dx


class Embedding:
    """Row gather ``W[idx]`` for integer ids of any shape (int32 or int64).

    backward(dout) zeroes dW and scatter-adds ``dout`` rows at ``idx`` (repeated ids accumulate
    exactly as ``np.add.at``) in one parallel, race-free kernel; returns None.
    """

    _ids_name = "idx"

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.idx = None

    def forward(self, idx):
        W, = _weights(type(self).__name__, self.params, ("W",), self.grads)
        if W.ndim != 2:
            raise ValueError(f"{type(self).__name__}: W must be 2-D (V, D), got shape {W.shape}")
        self.idx = v.id_array(type(self).__name__, self._ids_name, idx, W.shape[0])
        return W[self.idx]

    def backward(self, dout):
        where = type(self).__name__
        idx = v.forward_done(where, self.idx)
        dW, = self.grads
        D = dW.shape[1]
        dout = v.gradient(where, "dout", dout, idx.shape + (D,), dW.dtype)
        kernels.embedding.embedding_backward(idx.reshape(-1), dout.reshape(-1, D), dW, get_num_threads())
        return None

    def sparse_backward(self, dout):
        """The gradient as touched rows only, for callers that update rows themselves:
        ``(rows (k,) int64 sorted and distinct, values (k, D))`` with ``values[i]`` the sum of
        ``dout`` over the positions whose id is ``rows[i]``; dW is not touched (no V×D zeroing)."""
        D = self.params[0].shape[1]
        dout = np.asarray(dout)
        if dout.shape != self.idx.shape + (D,):
            raise ValueError(f"{type(self).__name__}: dout must have shape {self.idx.shape + (D,)}, got {dout.shape}")
        rows, inverse = np.unique(self.idx.reshape(-1), return_inverse=True)
        values = np.zeros((rows.shape[0], D), dtype=self.params[0].dtype)
        np.add.at(values, inverse, dout.reshape(-1, D))
        return rows.astype(np.int64), values
