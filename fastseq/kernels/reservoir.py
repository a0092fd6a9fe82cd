"""Echo state network kernels: the leaky reservoir update over a sparse CSR reservoir.

    x_t = (1 - leak) * x_{t-1} + leak * tanh(W @ x_{t-1} + drive_t)

``W`` is the (H, H) reservoir as a CSR triple ``(indptr (H+1,) uint64, indices (nnz,) uint32,
data (nnz,))``: unsigned, so that numba emits no negative-index wrap-around in the gather
(``bench/bench_esn.py`` times the kernel);
``drive`` holds everything that does not depend on the state (``Win @ u_t + bias`` and noise),
computed beforehand by one BLAS product. Each unit's sum runs over its CSR row in stored order,
so a result is the same on any number of threads. No dense (H, H) matrix is ever built.
"""
import numpy as np
from numba import njit, prange

from fastseq.kernels.threads import parallel_kernel
from fastseq.kernels.vmath import FASTMATH

KERNEL = {"fastmath": FASTMATH, "nogil": True}


@njit(cache=True, inline="always")
def _tanh(x):
    """tanh(x) from one exp, cheaper than libm's tanh: absolute error below 3e-16 in float64
    (measured over [-25, 25]); tiny arguments lose relative, not absolute, digits."""
    a = min(abs(x), 20.0)             # tanh(20) rounds to 1 in float64
    e = np.exp(-2 * a)
    r = (1 - e) / (1 + e)
    return r if x >= 0 else -r


@njit(cache=True, inline="always")
def _unit(W, prev, drive_i, leak, i):
    """The next state of unit ``i`` from the previous state ``prev`` (H,)."""
    indptr, indices, data = W
    s = drive_i
    for k in range(indptr[i], indptr[i + 1]):
        s += data[k] * prev[indices[k]]
    return (1 - leak) * prev[i] + leak * _tanh(s)


@njit(cache=True, inline="always")
def _one_sequence(W, drive, leak, state, out, n):
    T, H = drive.shape[1], drive.shape[2]
    for t in range(T):
        prev = state[n] if t == 0 else out[n, t - 1]
        for i in range(H):
            out[n, t, i] = _unit(W, prev, drive[n, t, i], leak, i)
    if T > 0:
        state[n] = out[n, T - 1]


def _work(W, drive, leak, state, out, by_sequence):
    """What one parallel region splits, in elementwise operations: a step's nonzeros (a
    gathered multiply-add costs about four), or every sequence's whole run."""
    return 4 * W[2].size * (drive.shape[0] * drive.shape[1] if by_sequence else 1)


@parallel_kernel(work=_work, **KERNEL)
def reservoir_run(W, drive, leak, state, out, by_sequence):
    """drive (N, T, H); state (N, H), the state before the first step, left at the last one;
    out (N, T, H) receives every step's state. Threads split the N sequences when
    ``by_sequence``, else each step's units."""
    N, T, H = drive.shape
    if by_sequence:
        for n in prange(N):
            _one_sequence(W, drive, leak, state, out, n)
    else:
        for n in range(N):
            for t in range(T):
                prev = state[n] if t == 0 else out[n, t - 1]
                for i in prange(H):
                    out[n, t, i] = _unit(W, prev, drive[n, t, i], leak, i)
            if T > 0:
                state[n] = out[n, T - 1]


@njit(cache=True, **KERNEL)
def generate_closed_loop(W, inputs, readout, leak, state, out):
    """Closed-loop (generative) run of one sequence: the readout of the state is the output,
    then the next input. ``inputs = (Win (H, D), bias (H,))``, ``readout = (Wout (H, D),
    bout (D,))``; state (H,) is where the loop starts and is left after the last output has
    been fed back; out (steps, D) receives the outputs."""
    Win, bias = inputs
    Wout, bout = readout
    H, D = Win.shape
    u = np.empty(D, dtype=state.dtype)
    drive = np.empty(H, dtype=state.dtype)
    nxt = np.empty(H, dtype=state.dtype)
    for t in range(out.shape[0]):
        for d in range(D):
            y = bout[d]
            for i in range(H):
                y += state[i] * Wout[i, d]
            out[t, d] = y
            u[d] = y
        for i in range(H):
            s = bias[i]
            for d in range(D):
                s += Win[i, d] * u[d]
            drive[i] = s
        for i in range(H):
            nxt[i] = _unit(W, state, drive[i], leak, i)
        state[:] = nxt
