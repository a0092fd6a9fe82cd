"""Row-wise softmax and fused softmax + cross-entropy over a ``(R, C)`` float matrix.

Forward per row: max, ``exp(x - max)`` written once and summed, one scale by ``1/sum``, and the
row's loss from the log-sum-exp; rows run in parallel. Labels below 0 mark ignored rows
(loss 0, gradient 0). float32 or float64; all arrays C-contiguous.
"""
import numpy as np
from numba import njit, prange

from fastseq.kernels.threads import parallel_kernel
from fastseq.kernels.vmath import KERNEL, fast_exp


@njit(cache=True, **KERNEL)
def _row_max(x):
    """max of x (C,), with eight independent running maxima (numba's max does not vectorise)."""
    n = x.shape[0]
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = x[0]
    j = 0
    while j + 8 <= n:
        m0 = max(m0, x[j])
        m1 = max(m1, x[j + 1])
        m2 = max(m2, x[j + 2])
        m3 = max(m3, x[j + 3])
        m4 = max(m4, x[j + 4])
        m5 = max(m5, x[j + 5])
        m6 = max(m6, x[j + 6])
        m7 = max(m7, x[j + 7])
        j += 8
    while j < n:
        m0 = max(m0, x[j])
        j += 1
    return max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))


@njit(cache=True, **KERNEL)
def _softmax_row(x, y):
    """Write softmax(x) into y (both (C,)); return (row max, sum of exp(x - max))."""
    m = _row_max(x)
    y[0] = 0
    s = y[0]                    # a zero of y's type (x[0] * 0 would be NaN for x[0] = -inf)
    for j in range(x.shape[0]):
        e = fast_exp(x[j] - m)
        y[j] = e
        s += e
    inv = 1 / s
    for j in range(x.shape[0]):
        y[j] *= inv
    return m, s


@parallel_kernel(**KERNEL)
def softmax_forward(x, y):
    """y[i] = softmax(x[i]) for x, y of shape (R, C)."""
    for i in prange(x.shape[0]):
        _softmax_row(x[i], y[i])


@parallel_kernel(**KERNEL)
def softmax_backward(y, dout, dx):
    """dx = y * (dout - sum(y * dout, row)) for (R, C) arrays: the softmax Jacobian product."""
    for i in prange(y.shape[0]):
        s = y[i, 0] * 0
        for j in range(y.shape[1]):
            s += y[i, j] * dout[i, j]
        for j in range(y.shape[1]):
            dx[i, j] = y[i, j] * (dout[i, j] - s)


@parallel_kernel(**KERNEL)
def softmax_cross_entropy_forward(x, t, eps, y):
    """Softmax of x (R, C) into y and the summed cross-entropy against labels t (R,) int.

    Row loss: ``-log(y[t] + eps)`` when eps > 0 (the book's SoftmaxWithLoss), the exact
    log-sum-exp ``log(sum) - (x[t] - max)`` when eps == 0 (the book's TimeSoftmaxWithLoss).
    Rows with t < 0 add nothing. Returns the float64 sum of row losses.
    """
    total = 0.0
    for i in prange(x.shape[0]):
        m, s = _softmax_row(x[i], y[i])
        label = t[i]
        if label >= 0:
            if eps > 0:
                total += -np.log(np.float64(y[i, label]) + eps)
            else:
                total += np.log(np.float64(s)) - (np.float64(x[i, label]) - np.float64(m))
    return total


@parallel_kernel(**KERNEL)
def softmax_cross_entropy_backward(y, t, scale, dx):
    """dx = (y - onehot(t)) * scale for (R, C) arrays; rows with t < 0 get zeros."""
    scale = y.dtype.type(scale)
    for i in prange(y.shape[0]):
        label = t[i]
        if label < 0:
            for j in range(y.shape[1]):
                dx[i, j] = 0
        else:
            for j in range(y.shape[1]):
                dx[i, j] = y[i, j] * scale
            dx[i, label] -= scale


@parallel_kernel(**KERNEL)
def softmax_cross_entropy_with_grad(x, t, scale, dx):
    """Loss and gradient in one pass: for x (R, C) and labels t (R,) int, write
    dx = (softmax(x) - onehot(t)) * scale (rows with t < 0 get zeros) and return the float64
    sum over labelled rows of the exact cross-entropy ``log(sum exp(x - max)) - (x[t] - max)``.

    Each row is read from memory once and dx written once (the row stays in cache between the
    max, exp-sum and scale passes), half the traffic of a softmax output kept for a later backward.
    """
    total = 0.0
    sc = x.dtype.type(scale)
    for i in prange(x.shape[0]):
        label = t[i]
        row, out = x[i], dx[i]
        if label < 0:
            for j in range(out.shape[0]):
                out[j] = 0
            continue
        m, s = _softmax_row(row, out)
        for j in range(out.shape[0]):
            out[j] *= sc
        out[label] -= sc
        total += np.log(np.float64(s)) - (np.float64(row[label]) - np.float64(m))
    return total
