"""Negative-sampling loss over one batch as two fused passes (float32 or float64).

For row n, column 0 is the positive id ``idx[n, 0]`` (label 1) and columns 1..K the negatives
(label 0). Forward gathers W[idx[n, j]], takes its dot product with h[n], applies the sigmoid
and the binary cross-entropy ``-log(y + eps)`` / ``-log(1 - y + eps)`` (the book's); backward
turns ``(y - label) * scale`` into dh[n] = Σ_j g W[idx[n, j]] and the rows g * h[n] that the
caller scatter-adds into dW with the race-free embedding kernel.
"""
import numpy as np
from numba import prange

from fastseq.kernels.threads import parallel_kernel
from fastseq.kernels.vmath import KERNEL, fast_sigmoid


@parallel_kernel(work=lambda h, W, idx, *rest: idx.size * h.shape[1], **KERNEL)
def ns_loss_forward(h, W, idx, eps, y):
    """y (N, 1+K) = σ(h[n] · W[idx[n, j]]); returns the float64 sum of the per-column batch
    sums of cross-entropy (the caller divides by N)."""
    N, J = idx.shape
    total = 0.0
    for n in prange(N):
        row_loss = 0.0
        for j in range(J):
            w = W[idx[n, j]]
            s = h[n, 0] * 0
            for d in range(h.shape[1]):
                s += h[n, d] * w[d]
            p = fast_sigmoid(s)
            y[n, j] = p
            if j == 0:
                row_loss -= np.log(np.float64(p) + eps)
            else:
                row_loss -= np.log(1.0 - np.float64(p) + eps)
        total += row_loss
    return total


@parallel_kernel(work=lambda h, W, idx, *rest: idx.size * h.shape[1], **KERNEL)
def ns_loss_backward(h, W, idx, y, scale, dh, rows):
    """g = (y[n, j] - label) * scale; dh[n] = Σ_j g W[idx[n, j]] (N, D); rows[n*(1+K)+j] = g h[n]."""
    N, J = idx.shape
    D = h.shape[1]
    sc = h.dtype.type(scale)
    for n in prange(N):
        for d in range(D):
            dh[n, d] = 0
        for j in range(J):
            g = (y[n, j] - (1 if j == 0 else 0)) * sc
            w = W[idx[n, j]]
            r = rows[n * J + j]
            for d in range(D):
                dh[n, d] += g * w[d]
                r[d] = g * h[n, d]
