"""Fused elementwise kernels: sigmoid, sigmoid + binary cross-entropy, dropout masks.

All take 1-D contiguous views (layers flatten with ``reshape(-1)``) and write into
caller-owned outputs; float32 or float64.
"""
import numpy as np
from numba import prange

from fastseq.kernels.rng import uniform01
from fastseq.kernels.threads import parallel_kernel
from fastseq.kernels.vmath import KERNEL, fast_sigmoid


@parallel_kernel(**KERNEL)
def sigmoid_forward(x, y):
    """y = 1 / (1 + exp(-x)), x and y (n,)."""
    for i in prange(x.shape[0]):
        y[i] = fast_sigmoid(x[i])


@parallel_kernel(**KERNEL)
def sigmoid_backward(dout, y, dx):
    """dx = dout * y * (1 - y), all (n,)."""
    for i in prange(y.shape[0]):
        dx[i] = dout[i] * y[i] * (1 - y[i])


@parallel_kernel(**KERNEL)
def sigmoid_cross_entropy_forward(x, t, eps, y):
    """y = sigmoid(x); returns the float64 sum over i of -log(y + eps) where t == 1 and
    -log(1 - y + eps) where t == 0 (x, y (n,) float; t (n,) int or float 0/1)."""
    total = 0.0
    for i in prange(x.shape[0]):
        yi = fast_sigmoid(x[i])
        y[i] = yi
        p = yi if t[i] != 0 else 1 - yi
        total += -np.log(np.float64(p) + eps)
    return total


@parallel_kernel(**KERNEL)
def sigmoid_cross_entropy_backward(y, t, scale, dx):
    """dx = (y - t) * scale, all (n,)."""
    scale = y.dtype.type(scale)
    for i in prange(y.shape[0]):
        dx[i] = (y[i] - t[i]) * scale


@parallel_kernel()
def dropout_forward(x, seed, ratio, scale, y, mask):
    """mask[i] = uniform(seed, i) > ratio; y = x * mask * scale (x, y (n,) float, mask (n,) bool).

    ``scale`` is 1 for the book's Dropout and ``1 / (1 - ratio)`` for inverted dropout."""
    scale = x.dtype.type(scale)
    for i in prange(x.shape[0]):
        keep = uniform01(seed, i) > ratio
        mask[i] = keep
        y[i] = x[i] * scale if keep else 0


@parallel_kernel()
def dropout_backward(dout, mask, scale, dx):
    """dx = dout * mask * scale, all (n,)."""
    scale = dout.dtype.type(scale)
    for i in prange(dout.shape[0]):
        dx[i] = dout[i] * scale if mask[i] else 0
