"""A few kernels' arithmetic as NumPy calls, for arrays too small to be worth starting numba.

A process pays numba's start-up once, on its first kernel call: its import and target set-up,
about 0.3 s on an idle machine here, and over 1 s on days the machine ran slower. The book's shortest
scripts (chapters 1 and 3) train for under a second on arrays of a few hundred elements, so
that start-up alone made them twice as slow as the book. Calls on fewer than ``MAX_SIZE``
elements therefore go to these functions instead: the elementwise activations, the softmax and
its cross-entropy, the optimizer updates, and the book's dense co-occurrence counts and PPMI,
which is every kernel such a script needs, so it never imports numba. (For the co-occurrence
counts the size is the corpus length times the window.)

Each function has its kernel's name, arguments and outputs (written in place; the same scalars
in the same dtype), and computes the same formula with NumPy's functions in place of the
kernels' polynomial ``exp``: results agree with the kernels to rounding (tests compare them). A
call here costs a few microseconds more than a kernel call on the same small array (several
ufunc calls against one fused loop), about what the book's own NumPy code costs.
"""
import sys

import numpy as np

from fastseq import kernels

# Calls on arrays of fewer elements than this use NumPy. At 1,024 elements a NumPy call cost
# at most 14 µs more than the kernel here (the softmax cross-entropy); a script whose every
# call is this small needs thousands of steps to lose numba's start-up to that.
MAX_SIZE = 1024


def small(n):
    """True when an array of ``n`` elements is served by NumPy (``n < MAX_SIZE``)."""
    return n < MAX_SIZE


def for_size(module, n):
    """Where a call on ``n`` elements finds its function: this module when ``small(n)``, else
    the kernel module ``fastseq.kernels.<module>`` (imported, with numba, on first use)."""
    return sys.modules[__name__] if n < MAX_SIZE else getattr(kernels, module)


# -log(tiny) caps for exp(-x): exp of the cap is finite in the dtype, so no overflow warning
_EXP_CAP = {np.dtype(np.float32): np.float32(88.0), np.dtype(np.float64): np.float64(709.0)}


def sigmoid_forward(x, y):
    """y = 1 / (1 + exp(-x)), x and y (n,) float32 or float64."""
    np.negative(x, out=y)
    np.minimum(y, _EXP_CAP[y.dtype], out=y)
    np.exp(y, out=y)
    y += 1
    np.reciprocal(y, out=y)


def sigmoid_backward(dout, y, dx):
    """dx = dout * y * (1 - y), all (n,)."""
    np.subtract(1, y, out=dx)
    dx *= y
    dx *= dout


def _softmax_rows(x, y):
    """y = softmax of each row of x (R, C); returns the rows' (max, sum of exp(x - max)), (R, 1) each."""
    m = np.maximum.reduce(x, axis=1, keepdims=True)
    np.subtract(x, m, out=y)
    np.exp(y, out=y)
    s = np.add.reduce(y, axis=1, keepdims=True)
    y /= s
    return m, s


def _labelled(t):
    """(rows, labels): the rows of t (R,) with a label >= 0, and those labels."""
    if t.shape[0] and t.min() >= 0:
        return np.arange(t.shape[0]), t
    rows = np.flatnonzero(t >= 0)
    return rows, t[rows]


def softmax_forward(x, y):
    """y[i] = softmax(x[i]) for x, y of shape (R, C)."""
    _softmax_rows(x, y)


def softmax_backward(y, dout, dx):
    """dx = y * (dout - sum(y * dout, row)) for (R, C) arrays."""
    np.multiply(y, dout, out=dx)
    s = np.add.reduce(dx, axis=1, keepdims=True)
    np.subtract(dout, s, out=dx)
    dx *= y


def softmax_cross_entropy_forward(x, t, eps, y):
    """Softmax of x (R, C) into y and the float64 summed cross-entropy against labels t (R,):
    ``-log(y[t] + eps)`` per row when eps > 0, the exact ``log(sum) - (x[t] - max)`` when
    eps == 0; rows with t < 0 add nothing."""
    m, s = _softmax_rows(x, y)
    rows, labels = _labelled(t)
    if eps > 0:
        return -float(np.add.reduce(np.log(y[rows, labels].astype(np.float64, copy=False) + eps)))
    picked = x[rows, labels].astype(np.float64, copy=False) - m[rows, 0]
    return float(np.add.reduce(np.log(s[rows, 0].astype(np.float64, copy=False)) - picked))


def softmax_cross_entropy_backward(y, t, scale, dx):
    """dx = (y - onehot(t)) * scale for (R, C) arrays; rows with t < 0 get zeros."""
    scale = y.dtype.type(scale)
    np.multiply(y, scale, out=dx)
    rows, labels = _labelled(t)
    dx[rows, labels] -= scale
    if rows.shape[0] != t.shape[0]:
        dx[t < 0] = 0


def sgd_update(param, grad, lr):
    """param -= lr * grad."""
    param -= lr * grad


def momentum_update(param, grad, v, lr, momentum):
    """v = momentum * v - lr * grad; param += v."""
    v *= momentum
    v -= lr * grad
    param += v


def nesterov_update(param, grad, v, lr, momentum):
    """v = momentum * v - lr * grad; param += momentum**2 * v - (1 + momentum) * lr * grad."""
    v *= momentum
    v -= lr * grad
    param += momentum * momentum * v - (1 + momentum) * lr * grad


def adagrad_update(param, grad, h, lr, eps):
    """h += grad**2; param -= lr * grad / (sqrt(h) + eps)."""
    h += grad * grad
    param -= lr * grad / (np.sqrt(h) + eps)


def rmsprop_update(param, grad, h, lr, decay_rate, eps):
    """h = decay * h + (1 - decay) * grad**2; param -= lr * grad / (sqrt(h) + eps)."""
    h *= decay_rate
    h += (1 - decay_rate) * grad * grad
    param -= lr * grad / (np.sqrt(h) + eps)


def adam_update(param, grad, m, v, lr_t, beta1, beta2, eps):
    """m += (1-beta1)(grad - m); v += (1-beta2)(grad**2 - v); param -= lr_t m / (sqrt(v) + eps)."""
    m += (1 - beta1) * (grad - m)
    v += (1 - beta2) * (grad * grad - v)
    param -= lr_t * m / (np.sqrt(v) + eps)


def count_dense(corpus, window, left, right, co):
    """co[w, c] += 1 for every context c within ``window`` of an occurrence of w (co (V, V),
    int32 or float, zeroed by the caller)."""
    for d in range(1, min(window, corpus.shape[0] - 1) + 1):
        if left:
            np.add.at(co, (corpus[d:], corpus[:-d]), 1)
        if right:
            np.add.at(co, (corpus[:-d], corpus[d:]), 1)


def ppmi_dense(C, N, row_marginal, col_marginal, eps, log_shift, M):
    """M[i, j] = max(0, log2(C[i, j] N / (row_marginal[i] col_marginal[j]) + eps) - log_shift),
    0 where the count or the marginals' product is 0 (C (R, K) counts, M (R, K) float)."""
    denom = np.multiply.outer(row_marginal, col_marginal)
    keep = (C != 0) & (denom > 0)
    ratio = np.divide(C.astype(np.float64) * N, denom, out=np.ones_like(denom), where=keep)
    M[...] = np.where(keep, np.maximum(0.0, np.log2(ratio + eps) - log_shift), 0.0)
