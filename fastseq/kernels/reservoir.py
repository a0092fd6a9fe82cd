"""Echo state network kernels: the leaky reservoir update over a sparse CSR reservoir.

    x_t = (1 - leak) * x_{t-1} + leak * tanh(W @ x_{t-1} + Win @ u_t + bias + noise_t)

``W`` is the (H, H) reservoir as a CSR triple ``(indptr (H+1,) uint64, indices (nnz,) uint16 or
uint32, data (nnz,) float32)`` (``fastseq.layers.reservoir.kernel_csr``): unsigned, so that
numba emits no negative-index wrap-around in the gather, and narrow, because a large
reservoir's step is bound by reading them (``bench/bench_esn.py`` times the kernel); the sums
are taken in the states' dtype. ``inputs = (xs (N, T, D), Win (H, D), bias (H,), noise (N, T
or 0, H))`` give the rest of each pre-activation, computed unit by unit inside the step (an
empty noise array means none): no (N, T, H) drive array is written and read back. Each unit's
sum runs in a fixed order, so a result is the same on any number of threads. No dense (H, H)
matrix is ever built.
"""
import numba
import numpy as np
from numba import njit, prange

from fastseq._threads import others_hold_the_cores
from fastseq.kernels.intrinsics import compare_exchange, load_acquire, store_release, wait_a_moment
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
def _sums(W, prev, inputs, n, t, sums, lo, hi):
    """sums[i] = bias[i] + Win[i] @ xs[n, t] (+ noise[n, t, i]) + W[i] @ prev for the units
    lo..hi-1."""
    indptr, indices, data = W
    xs, Win, bias, noise = inputs
    u = xs[n, t]
    noisy = noise.shape[1] > 0
    for i in range(lo, hi):
        s = bias[i]
        for d in range(u.shape[0]):
            s += Win[i, d] * u[d]
        if noisy:
            s += noise[n, t, i]
        for k in range(indptr[i], indptr[i + 1]):
            s += data[k] * prev[indices[k]]
        sums[i] = s


@njit(cache=True, inline="always")
def _squash(prev, sums, leak, row):
    """The next state row = (1 - leak) prev + leak tanh(sums), all (H,) or the same slice of
    each: a loop LLVM vectorises (it runs from 0, so numba's negative-index wrap-around, which
    stops that, goes; a loop over lo..hi measured half as fast). ``row`` must not be ``prev``.
    It is written prev + leak (tanh(sums) - prev), where fastmath's contraction into a fused
    multiply-add has one place to go, so that the rounding is the same wherever it is inlined
    (the other form rounded differently in the team kernel)."""
    for i in range(row.shape[0]):
        row[i] = prev[i] + leak * (_tanh(sums[i]) - prev[i])


def _step_work(W, inputs):
    """Elementwise operations of one step of one sequence: its connections (a gathered
    multiply-add costs about one) and its input weights."""
    return W[2].size + inputs[1].size


def _work(W, inputs, leak, state, out, first):
    """Elementwise operations of a whole call."""
    xs = inputs[0]
    return _step_work(W, inputs) * xs.shape[0] * xs.shape[1]


@parallel_kernel(work=_work, **KERNEL)
def reservoir_run(W, inputs, leak, state, out, first):
    """Steps ``first .. first + T - 1`` of N sequences, threads splitting the sequences:
    ``inputs`` (see the module) hold their T steps of input; state (N, H), the state before
    step ``first``, is left at the last step; out (N, >= first + T, H) receives the states."""
    xs = inputs[0]
    N, T, _ = xs.shape
    H = state.shape[1]
    for n in prange(N):
        sums = np.empty(H, dtype=state.dtype)
        for t in range(T):
            prev = state[n] if t == 0 else out[n, first + t - 1]
            _sums(W, prev, inputs, n, t, sums, 0, H)
            _squash(prev, sums, leak, out[n, first + t])
        if T > 0:
            state[n] = out[n, first + T - 1]


# Slots of the team's counters are this many int64 apart (one 64-byte cache line each).
_LINE = 8
# A thread waiting for another's block takes it over, if no one has claimed it yet, after this
# many rounds of waiting (``wait_a_moment``, a few µs: a running partner claims its block well
# within 1 µs of the step before ending), and at once while it keeps finding blocks unclaimed
# (a partner that is not running, for example one waiting for this thread's core).
_PATIENCE = 64
# The team pays for itself from about this many elementwise operations a step (connections +
# units): at H=1,000 and connectivity 0.01 (11,000), ``bench/bench_esn.py`` took 7.9 ms for
# 1,000 steps on two threads against 11.5 ms on one.
TEAM_MIN_STEP = 8192


@njit(cache=True, inline="always")
def _run_block_if_unclaimed(W, inputs, leak, state, out, first, team, b, step):
    """Claim block b of the team's step ``step`` (sequence step // T, step step % T), run it
    and mark it done; False, doing nothing, when another thread has claimed it."""
    cuts, counters, sums, local, local_step = team
    B = cuts.size - 1
    if load_acquire(counters, b * _LINE) != step or not compare_exchange(counters, b * _LINE, step, step + 1):
        return False
    T = inputs[0].shape[1]
    n, t = step // T, step % T
    prev = state[n] if t == 0 else out[n, first + t - 1]
    if local_step[0] != step:  # one sweep over the units another core wrote, before the gathers,
        local[:] = prev        # once a step however many of its blocks this thread runs
        local_step[0] = step
    lo, hi = cuts[b], cuts[b + 1]
    _sums(W, local, inputs, n, t, sums, lo, hi)
    _squash(prev[lo:hi], sums[lo:hi], leak, out[n, first + t, lo:hi])
    store_release(counters, (B + b) * _LINE, step + 1)
    return True


@njit(cache=True, parallel=True, **KERNEL)
def reservoir_run_team(W, inputs, leak, state, out, first, cuts):
    """``reservoir_run`` with each step's units split among a team of threads that stays up for
    the whole call, for the few sequences a step is worth splitting for. cuts (B+1,) int64 cut
    the units into B blocks (0 = cuts[0] < ... < cuts[B] = H), one a thread; steps run in
    order, sequence after sequence.

    Blocks are claimed, never assigned: block b of step s is run by whichever thread moves its
    claim counter from s to s+1 (compare-and-exchange), and marked done when its units are
    written. Thread b claims block b of each step; for the other blocks it waits until they are
    done, and takes over one still unclaimed after ``_PATIENCE`` rounds of waiting. A step
    begins only when the one before is done, and a wait is only ever for a block another
    running thread holds, so a thread that never starts (one thread in numba's pool, or one put
    off its core) leaves its blocks to the others: the run cannot deadlock, and ends after the
    N*T steps whoever runs them. Each unit's sum is the same whichever thread takes it."""
    N, T, _ = inputs[0].shape
    H = state.shape[1]
    B = cuts.size - 1
    counters = np.zeros(2 * B * _LINE, dtype=np.int64)      # claims of block b at b, done at B + b
    sums = np.empty(H, dtype=state.dtype)
    for me in prange(B):
        team = (cuts, counters, sums, np.empty(H, dtype=state.dtype), np.full(1, -1, dtype=np.int64))
        eager = False
        for step in range(N * T):
            stole = False
            for j in range(B):
                b = (me + j) % B
                if (j == 0 or eager) and _run_block_if_unclaimed(W, inputs, leak, state, out, first, team, b, step):
                    stole = stole or j > 0
                    continue
                rounds = 0
                while load_acquire(counters, (B + b) * _LINE) <= step:
                    rounds += 1
                    if rounds % _PATIENCE == 0 and \
                            _run_block_if_unclaimed(W, inputs, leak, state, out, first, team, b, step):
                        stole = True
                        break
                    wait_a_moment(rounds)
            eager = stole
    for n in range(N):
        if T > 0:
            state[n] = out[n, first + T - 1]


# Elements of 8 bytes in a 4 KiB page: the smallest page there is on x86-64 and AArch64.
_PAGE_ELEMENTS = 512


@njit(cache=True, parallel=True, **KERNEL)
def map_pages(flat):
    """Write 0 into one element of every 4 KiB of flat (a C-contiguous 1-D float array, the
    rest left as it was), so that the OS maps its new pages now, threads sharing the page
    faults: a thread of ``reservoir_run_team`` that stopped for a page fault would hold up its
    partner. 80 MB of new 4 KiB pages took 19-21 ms this way, and 31 ms touched by one
    thread."""
    step = _PAGE_ELEMENTS * 8 // flat.itemsize
    for p in prange((flat.size + step - 1) // step):
        flat[p * step] = 0


def unit_cuts(indptr, blocks):
    """(blocks + 1,) int64 cuts of the H units into ``blocks`` runs of about equal work (a
    unit's connections and the unit itself), for ``reservoir_run_team``; indptr (H+1,) is the
    reservoir's CSR row pointer."""
    H = indptr.size - 1
    work = indptr.astype(np.int64) + np.arange(H + 1)
    cuts = np.searchsorted(work, work[-1] * np.arange(blocks + 1) // blocks).astype(np.int64)
    cuts[0], cuts[-1] = 0, H
    return cuts


def run_steps(W, inputs, leak, state, out, first, cuts):
    """Steps ``first .. first + T - 1`` (arguments as ``reservoir_run``'s), by the team kernel
    when numba has as many threads as cuts (B+1,) make blocks, more than the sequences, a step
    is worth splitting (``TEAM_MIN_STEP``) and other processes do not hold the cores
    (``fastseq._threads.others_hold_the_cores``: its threads wait on each other); else
    by ``reservoir_run``, which splits the sequences or runs on one thread."""
    N = state.shape[0]
    blocks = cuts.size - 1
    if 1 < blocks == numba.get_num_threads() and N < blocks and _step_work(W, inputs) >= TEAM_MIN_STEP \
            and not others_hold_the_cores():
        for n in range(N):       # the pages' faults now, by both threads, not while a partner waits
            map_pages(out[n, first:first + inputs[0].shape[1]].reshape(-1))
        reservoir_run_team(W, inputs, leak, state, out, first, cuts)
    else:
        reservoir_run(W, inputs, leak, state, out, first)


@njit(cache=True, **KERNEL)
def generate_closed_loop(W, inputs, readout, leak, state, out):
    """Closed-loop (generative) run of one sequence: the readout of the state is the output,
    then the next input. ``inputs = (Win (H, D), bias (H,))``, ``readout = (Wout (H, D),
    bout (D,))``; state (H,) is where the loop starts and is left after the last output has
    been fed back; out (steps, D) receives the outputs."""
    Win, bias = inputs
    Wout, bout = readout
    H, D = Win.shape
    u = np.empty((1, 1, D), dtype=state.dtype)
    step_inputs = (u, Win, bias, np.empty((1, 0, H), dtype=state.dtype))
    nxt = np.empty(H, dtype=state.dtype)
    sums = np.empty(H, dtype=state.dtype)
    for t in range(out.shape[0]):
        for d in range(D):
            y = bout[d]
            for i in range(H):
                y += state[i] * Wout[i, d]
            out[t, d] = y
            u[0, 0, d] = y
        _sums(W, state, step_inputs, 0, 0, sums, 0, H)
        _squash(state, sums, leak, nxt)
        state[:] = nxt
