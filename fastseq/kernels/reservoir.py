"""Echo state network kernels: the leaky reservoir update over a sparse CSR reservoir.

    x_t = (1 - leak) * x_{t-1} + leak * tanh(W @ x_{t-1} + drive_t)

``W`` is the (H, H) reservoir as a CSR triple ``(indptr (H+1,) uint64, indices (nnz,) uint16 or
uint32, data (nnz,) float32)`` (``fastseq.layers.reservoir.kernel_csr``): unsigned, so that
numba emits no negative-index wrap-around in the gather, and narrow, because a large
reservoir's step is bound by reading them (``bench/bench_esn.py`` times the kernel); the sums
are taken in the states' dtype;
``drive`` holds everything that does not depend on the state (``Win @ u_t + bias`` and noise),
computed beforehand by one BLAS product. Each unit's sum runs over its CSR row in stored order,
so a result is the same on any number of threads. No dense (H, H) matrix is ever built.
"""
import numpy as np
from numba import njit, prange

from fastseq.kernels.threads import parallel_kernel
from fastseq.kernels.vmath import FASTMATH, exp64_polynomial

KERNEL = {"fastmath": FASTMATH, "error_model": "numpy", "nogil": True}


@njit(cache=True, inline="always")
def _tanh(x):
    """tanh(x) in float64 from one polynomial exp (``exp64_polynomial``), branch-free so that a
    loop over it vectorises: absolute error below 3e-16 against ``np.tanh`` over [-25, 25]
    (tests/test_esn.py)."""
    a = min(abs(np.float64(x)), 20.0)       # tanh(20) rounds to 1 in float64
    e = exp64_polynomial(-2.0 * a)
    r = (1.0 - e) / (1.0 + e)
    return r if x >= 0 else -r


@njit(cache=True, inline="always")
def _sums(W, prev, drive_row, sums, lo, hi):
    """sums[i] = drive_row[i] + W[i] @ prev for the units lo..hi-1."""
    indptr, indices, data = W
    for i in range(lo, hi):
        s = drive_row[i]
        for k in range(indptr[i], indptr[i + 1]):
            s += data[k] * prev[indices[k]]
        sums[i] = s


@njit(cache=True, inline="always")
def _squash(prev, sums, leak, row):
    """The next state row = (1 - leak) prev + leak tanh(sums), all (H,): a loop LLVM
    vectorises, run over the whole row (the same loop over blocks of units measured slower).
    ``row`` must not be ``prev``."""
    for i in range(row.shape[0]):
        row[i] = (1 - leak) * prev[i] + leak * _tanh(sums[i])


def _work(W, drive, leak, state, out, first, unit_blocks):
    """What one parallel region splits, in elementwise operations: a step's nonzeros (a
    gathered multiply-add costs about one) and units, or every sequence's whole run. Split by
    units, a region is one step, so a step is split only from PARALLEL_MIN_WORK (about 130,000
    nonzeros) up: at H=1,000 and connectivity 0.1 (100,000 nonzeros) one thread was faster."""
    step = W[2].size + drive.shape[2]
    return step * (drive.shape[0] * drive.shape[1] if unit_blocks == 0 else 1)


@parallel_kernel(work=_work, **KERNEL)
def reservoir_run(W, drive, leak, state, out, first, unit_blocks):
    """Steps ``first .. first + T - 1`` of N sequences: drive (N, T, H) holds their drive;
    state (N, H), the state before step ``first``, is left at the last step; out (N, >= first
    + T, H) receives the states. Threads split the N sequences when ``unit_blocks`` is 0, else
    each step's units, cut into ``unit_blocks`` blocks. Every unit's sum runs over its CSR row
    in stored order, so results depend on neither."""
    N, T, H = drive.shape
    for n in prange(N if unit_blocks == 0 else 0):
        sums = np.empty(H, dtype=drive.dtype)
        for t in range(T):
            prev = state[n] if t == 0 else out[n, first + t - 1]
            _sums(W, prev, drive[n, t], sums, 0, H)
            _squash(prev, sums, leak, out[n, first + t])
    sums = np.empty(H, dtype=drive.dtype)
    for n in range(0 if unit_blocks == 0 else N):
        for t in range(T):
            prev = state[n] if t == 0 else out[n, first + t - 1]
            for b in prange(unit_blocks):
                _sums(W, prev, drive[n, t], sums, H * b // unit_blocks, H * (b + 1) // unit_blocks)
            _squash(prev, sums, leak, out[n, first + t])
    for n in range(N):
        if T > 0:
            state[n] = out[n, first + T - 1]


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
    sums = np.empty(H, dtype=state.dtype)
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
        _sums(W, state, drive, sums, 0, H)
        _squash(state, sums, leak, nxt)
        state[:] = nxt
