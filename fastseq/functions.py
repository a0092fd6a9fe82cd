"""The book's ``common/functions`` on fastseq kernels: sigmoid, relu, softmax, cross_entropy_error."""
import numpy as np

from fastseq import _validate as v
from fastseq.numpy_kernels import for_size


def _as_float(where, x):
    """x as float: integers become float64, as NumPy's arithmetic makes them; bool (which the
    book's ``-x`` refuses), complex and float16 are refused."""
    x = np.asarray(x)
    if x.dtype.kind == "b":
        raise TypeError(f"{where}: x must be a float or integer array, got dtype bool")
    return x.astype(np.float64) if x.dtype.kind in "iu" else v.float_array(where, "x", x)


def sigmoid(x):
    """Elementwise ``1 / (1 + exp(-x))``; float in, same dtype out (ints give float64, as NumPy does)."""
    x = np.ascontiguousarray(_as_float("sigmoid", x))
    y = np.empty_like(x)
    for_size("activations", x.size).sigmoid_forward(x.reshape(-1), y.reshape(-1))
    return y


def relu(x):
    """Elementwise ``max(0, x)``."""
    return np.maximum(0, x)


def softmax(x):
    """Softmax over the last axis (rank ≥ 1), max-subtracted; returns a new array of x's shape."""
    x = _as_float("softmax", x)
    if x.ndim == 0:
        raise ValueError("softmax: x must have at least 1 dimension, got a scalar")
    rows = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
    y = np.empty_like(rows)
    for_size("softmax", rows.size).softmax_forward(rows, y)
    return y.reshape(x.shape)


def cross_entropy_error(y, t):
    """Mean of ``-log(y[n, t[n]] + 1e-7)`` for probabilities y (N, C) (or (C,)) and labels t (N,)
    or one-hot (N, C)."""
    y = v.float_array("cross_entropy_error", "y", y, ndims=(1, 2))
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = np.asarray(t).reshape(1, -1) if np.size(t) == y.size else np.asarray(t).reshape(1)
    t = v.targets_from_onehot("cross_entropy_error", "t", t, y.shape)
    t = v.label_array("cross_entropy_error", "t", t, y.shape[1], shape=y.shape[:1])
    batch_size = y.shape[0]
    if batch_size == 0:
        raise ValueError("cross_entropy_error: y is an empty batch; there is no loss to average")
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size
