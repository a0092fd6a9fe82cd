"""Hogwild word2vec: CBOW and skip-gram with negative sampling, in place on shared matrices.

``train_span`` splits a span of the (already subsampled) corpus into one contiguous part per
thread; every thread walks its part word by word with its own random stream and updates
W_in and W_out in place without locks, as the original word2vec does (rare concurrent updates
of the same row are tolerated by design: Hogwild). Per word: a dynamic window ``b`` uniform in
[1, window]; a linearly decaying learning rate; 1 positive and ``negative`` negative targets
(alias-method draws, redrawn when they hit the positive); the loss ``-log σ(±x)`` is summed
for reporting, as the log of a running product of the probabilities (one log call per few
hundred targets instead of one per target). With one thread and a fixed seed a run is
reproducible.
"""
import numpy as np
from numba import njit, prange

from fastseq.kernels.rng import splitmix64
from fastseq.kernels.sampling import alias_draw
from fastseq.kernels.vmath import KERNEL, fast_sigmoid


@njit(cache=True, inline="always")
def _next(state):
    """xorshift64*: (new state, uniform float64 on [0, 1))."""
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    out = state * np.uint64(2685821657736338717)
    return state, np.float64(out >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, **KERNEL)
def _pair(h, w_out, label, lr, neu1e):
    """One (input vector h, output row w_out) logistic step: neu1e += g w_out; w_out += g h.
    Returns σ(±h·w_out), the probability given to the right label (at least 1e-12)."""
    s = h[0] * 0
    for d in range(h.shape[0]):
        s += h[d] * w_out[d]
    p = fast_sigmoid(s)
    g = (label - p) * lr
    for d in range(h.shape[0]):
        neu1e[d] += g * w_out[d]
        w_out[d] += g * h[d]
    q = p if label == 1 else 1 - p
    return max(np.float64(q), 1e-12)


@njit(cache=True, **KERNEL)
def _targets(w, h, W_out, prob, alias, negative, lr, neu1e, state):
    """The positive target w and ``negative`` drawn ones against h; returns (the product of
    their probabilities, state)."""
    prob_product = _pair(h, W_out[w], 1, lr, neu1e)
    k = 0
    while k < negative:
        state, u1 = _next(state)
        state, u2 = _next(state)
        t = alias_draw(prob, alias, u1, u2)
        if t == w:
            continue
        prob_product *= _pair(h, W_out[t], 0, lr, neu1e)
        k += 1
    return prob_product, state


@njit(cache=True, parallel=True, **KERNEL)
def train_span(corpus, start, stop, W_in, W_out, prob, alias, window, negative, cbow,
               lr0, done_before, total, seed, n_threads, loss_out, pairs_out):
    """Train on corpus[start:stop] (ids into W_in/W_out (V, D), float32). The learning rate at a
    word is lr0 * max(1 - progress/total, 1e-4), progress counted from ``done_before`` over all
    threads. loss_out/pairs_out (n_threads,) receive each thread's summed loss and its number of
    examples (a positive target with its negatives)."""
    n = corpus.shape[0]
    D = W_in.shape[1]
    span = stop - start
    for tid in prange(n_threads):
        a = start + span * tid // n_threads
        b = start + span * (tid + 1) // n_threads
        state = splitmix64(seed + np.uint64(tid + 1) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
        neu1 = np.empty(D, dtype=W_in.dtype)
        neu1e = np.empty(D, dtype=W_in.dtype)
        loss = 0.0
        running = 1.0          # product of probabilities not yet folded into loss
        pairs = 0
        for p in range(a, b):
            progress = done_before + (p - a) * n_threads
            lr = W_in.dtype.type(lr0 * max(1.0 - progress / total, 1e-4))
            state, u = _next(state)
            bw = 1 + min(np.int64(u * window), window - 1)
            lo = max(p - bw, 0)
            hi = min(p + bw, n - 1)
            w = corpus[p]
            if cbow:
                for d in range(D):
                    neu1[d] = 0
                    neu1e[d] = 0
                count = 0
                for q in range(lo, hi + 1):
                    if q != p:
                        row = W_in[corpus[q]]
                        for d in range(D):
                            neu1[d] += row[d]
                        count += 1
                if count == 0:
                    continue
                inv = W_in.dtype.type(1.0 / count)
                for d in range(D):
                    neu1[d] *= inv
                q, state = _targets(w, neu1, W_out, prob, alias, negative, lr, neu1e, state)
                running *= q
                if running < 1e-200:            # each q ≥ 1e-72: no underflow before this check
                    loss -= np.log(running)
                    running = 1.0
                pairs += 1
                for q in range(lo, hi + 1):
                    if q != p:
                        row = W_in[corpus[q]]
                        for d in range(D):
                            row[d] += neu1e[d]
            else:
                for q in range(lo, hi + 1):
                    if q == p:
                        continue
                    row = W_in[corpus[q]]
                    for d in range(D):
                        neu1e[d] = 0
                    q, state = _targets(w, row, W_out, prob, alias, negative, lr, neu1e, state)
                    running *= q
                    if running < 1e-200:
                        loss -= np.log(running)
                        running = 1.0
                    pairs += 1
                    for d in range(D):
                        row[d] += neu1e[d]
        loss_out[tid] = loss - np.log(running)
        pairs_out[tid] = pairs
