"""The book's ``common/functions``: sigmoid, relu, softmax, cross_entropy_error."""
import numpy as np


def sigmoid(x):
    """Elementwise logistic function."""
    return 1 / (1 + np.exp(-x))


def relu(x):
    """Elementwise ``max(0, x)``."""
    return np.maximum(0, x)


def softmax(x):
    """Softmax over the last axis, max-subtracted (the book handles 1-D and 2-D; so does this,
    and any higher rank row-wise over the last axis)."""
    x = x - x.max(axis=-1, keepdims=True)
    x = np.exp(x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


def cross_entropy_error(y, t):
    """Mean cross-entropy of probabilities ``y (N, C)`` against labels ``t (N,)`` or one-hot ``(N, C)``."""
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size
