"""Hogwild word2vec: CBOW and skip-gram with negative sampling, in place on shared matrices.

``train_span`` cuts a span of the (already subsampled) corpus into chunks; the threads claim
chunks one at a time from a shared atomic ticket (so a thread the machine slows down holds up no
other, as in word2vec's and gensim's job queues), walk each chunk word by word with the chunk's
own random stream and update W_in and W_out in place without locks, as the original word2vec
does (rare concurrent updates of the same row are tolerated by design: Hogwild). Per word: a
dynamic window ``b`` uniform in [1, window]; a linearly decaying learning rate; 1 positive and
``negative`` negative targets (alias-method draws, redrawn when they hit the positive); the
loss ``-log σ(±x)`` is summed for reporting, as the log of a running product of the
probabilities (one log call per few hundred targets instead of one per target). With one
thread and a fixed seed a run is reproducible; ``fastseq.reference.word2vec.hogwild_span`` is
its Python twin.

Skip-gram with shared negatives (SKIPGRAM_SHARED, after Ji et al. 2016, "Parallelizing
Word2Vec in Multi-Core and Many-Core Architectures") draws the negatives once per window
instead of once per context word: the window's context rows and its targets (the centre word
and the negatives) then meet in one small dense product, the targets' rows are loaded once per
window instead of once per context word, and all the window's gradients are taken at its
starting weights.

Memory, not arithmetic, bounds this loop (a target row is 400 bytes at D=100, picked at random
from a matrix larger than L2), so two things matter:

* rows are read and written by index (``W_out[t, d]``), never as slices: a slice updates the
  whole array's reference count, an atomic write that both threads make to one shared cache line;
* a word's rows are prefetched (with write intent) as soon as their ids are known: the centre
  word's output row and the window's input rows when the window is drawn, and all negatives
  before the first of them is used, so their loads overlap instead of queueing behind each
  other (measured on PTB, one thread: 1.29x skip-gram and 1.30x CBOW words/s over slices
  without prefetch).
"""
import numpy as np
from numba import njit, prange

from fastseq.kernels.intrinsics import fetch_add, prefetch_row
from fastseq.kernels.rng import splitmix64
from fastseq.kernels.sampling import alias_draw
from fastseq.kernels.vmath import KERNEL, fast_sigmoid

# train_span's modes
SKIPGRAM, CBOW, SKIPGRAM_SHARED = 0, 1, 2


@njit(cache=True, inline="always")
def _next(state):
    """xorshift64*: (new state, uniform float64 on [0, 1))."""
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    out = state * np.uint64(2685821657736338717)
    return state, np.float64(out >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always", **KERNEL)
def _pair(H, i, W_out, t, label, lr, neu1e):
    """One logistic step of the input vector H[i] against the output row W_out[t]:
    neu1e += g W_out[t]; W_out[t] += g H[i]. Returns σ(±H[i]·W_out[t]), the probability given to
    the right label (at least 1e-12). Rows indexed, not sliced (see the module docstring)."""
    D = H.shape[1]
    s = H[i, 0] * 0
    for d in range(D):
        s += H[i, d] * W_out[t, d]
    p = fast_sigmoid(s)
    g = (label - p) * lr
    for d in range(D):
        neu1e[d] += g * W_out[t, d]
        W_out[t, d] += g * H[i, d]
    q = p if label == 1 else 1 - p
    return max(np.float64(q), 1e-12)


@njit(cache=True, inline="always")
def _fold_loss(loss, running, prob):
    """Multiply ``prob`` into the running product; move the product into the summed loss (as
    -log) before it can underflow. Returns (loss, running)."""
    running *= prob
    if running < 1e-200:            # prob ≥ 1e-12, so the product never underflows first
        loss -= np.log(running)
        running = 1.0
    return loss, running


@njit(cache=True, inline="always")
def _draw_negatives(w, W_out, prob, alias, negatives, state):
    """Fill ``negatives`` with alias-method draws other than w, prefetching their W_out rows so
    that their loads overlap; returns the stream's state. A draw equal to w is redrawn, at most a
    million times in all (the caller's distribution leaves at least 1e-3 of the mass to other
    ids, so the bound is never reached in practice)."""
    k = 0
    tries = 0
    while k < negatives.shape[0]:
        state, u1 = _next(state)
        state, u2 = _next(state)
        t = alias_draw(prob, alias, u1, u2)
        tries += 1
        if t != w or tries > 1000000:
            negatives[k] = t
            prefetch_row(W_out, t)
            k += 1
    return state


@njit(cache=True, inline="always", **KERNEL)
def _targets(w, H, i, W_out, prob, alias, lr, neu1e, negatives, state, loss, running):
    """The positive target w and ``len(negatives)`` drawn ones against H[i], their probabilities
    folded into (loss, running); returns (state, loss, running). All ids are drawn before any
    row is touched, so the rows' addresses are known early."""
    state = _draw_negatives(w, W_out, prob, alias, negatives, state)
    loss, running = _fold_loss(loss, running, _pair(H, i, W_out, w, 1, lr, neu1e))
    for k in range(negatives.shape[0]):
        loss, running = _fold_loss(loss, running, _pair(H, i, W_out, negatives[k], 0, lr, neu1e))
    return state, loss, running


@njit(cache=True, inline="always", **KERNEL)
def _shared_window(w, count, W_in, W_out, lr, scratch, loss, running):
    """Skip-gram with shared negatives: the ``count`` context rows W_in[ctx[:count]] against the
    centre word w (label 1) and the window's negatives (label 0) at once, a small dense product
    (count × (1 + negatives)) instead of ``count`` separate sets of pairs. Every gradient is
    taken at the window's starting weights, then W_out and W_in are updated; returns (loss,
    running). Context rows go in pairs, so that each load of a target's row serves two dot
    products, two gradient sums and two updates (an odd last row is paired with itself, its twin's
    results unused)."""
    negatives, ctx, grads, delta = scratch[2], scratch[3], scratch[4], scratch[5]
    D = W_in.shape[1]
    targets = negatives.shape[0] + 1
    for i in range(0, count, 2):
        c0 = ctx[i]
        c1 = ctx[i + 1] if i + 1 < count else c0          # a lone last row is paired with itself
        for d in range(D):
            delta[i, d] = 0
            delta[i + 1, d] = 0
        for j in range(targets):
            t = w if j == 0 else negatives[j - 1]
            s0 = W_in[c0, 0] * 0
            s1 = s0
            for d in range(D):
                s0 += W_in[c0, d] * W_out[t, d]
                s1 += W_in[c1, d] * W_out[t, d]
            p0 = fast_sigmoid(s0)
            p1 = fast_sigmoid(s1)
            label = 1 if j == 0 else 0
            grads[i, j] = (label - p0) * lr
            grads[i + 1, j] = (label - p1) * lr
            g0 = grads[i, j]                # float32, as the rows
            g1 = grads[i + 1, j]
            for d in range(D):              # W_out[t] is still in cache, and not updated yet
                delta[i, d] += g0 * W_out[t, d]
                delta[i + 1, d] += g1 * W_out[t, d]
            loss, running = _fold_loss(loss, running, max(np.float64(p0 if j == 0 else 1 - p0), 1e-12))
            if i + 1 < count:
                loss, running = _fold_loss(loss, running, max(np.float64(p1 if j == 0 else 1 - p1), 1e-12))
    for j in range(targets):
        t = w if j == 0 else negatives[j - 1]
        for i in range(0, count - 1, 2):
            c0 = ctx[i]
            c1 = ctx[i + 1]
            g0 = grads[i, j]
            g1 = grads[i + 1, j]
            for d in range(D):
                W_out[t, d] += g0 * W_in[c0, d] + g1 * W_in[c1, d]
        if count % 2:
            c0 = ctx[count - 1]
            g0 = grads[count - 1, j]
            for d in range(D):
                W_out[t, d] += g0 * W_in[c0, d]
    for i in range(count):
        c = ctx[i]
        for d in range(D):
            W_in[c, d] += delta[i, d]
    return loss, running


@njit(cache=True, **KERNEL)
def _train_chunk(corpus, a, b, start, W_in, W_out, prob, alias, window, mode, lr0, done_before, total, state,
                 scratch):
    """Words corpus[a:b] of the span that starts at ``start``; returns (summed loss, examples).
    ``scratch``: the worker's buffers (see ``train_span``)."""
    neu1, neu1e, negatives, ctx = scratch[0], scratch[1], scratch[2], scratch[3]
    n = corpus.shape[0]
    D = W_in.shape[1]
    loss = 0.0
    running = 1.0          # product of probabilities not yet folded into loss
    pairs = 0
    for p in range(a, b):
        progress = done_before + (p - start)
        lr = W_in.dtype.type(lr0 * max(1.0 - progress / total, 1e-4))
        state, u = _next(state)
        bw = 1 + min(np.int64(u * window), window - 1)
        lo = max(p - bw, 0)
        hi = min(p + bw, n - 1)
        w = corpus[p]
        prefetch_row(W_out, w)
        for q in range(lo, hi + 1):
            prefetch_row(W_in, corpus[q])
        if mode == CBOW:
            for d in range(D):
                neu1[0, d] = 0
                neu1e[d] = 0
            count = 0
            for q in range(lo, hi + 1):
                if q != p:
                    c = corpus[q]
                    for d in range(D):
                        neu1[0, d] += W_in[c, d]
                    count += 1
            if count == 0:
                continue
            inv = W_in.dtype.type(1.0 / count)
            for d in range(D):
                neu1[0, d] *= inv
            state, loss, running = _targets(w, neu1, 0, W_out, prob, alias, lr, neu1e, negatives, state, loss,
                                            running)
            pairs += 1
            for q in range(lo, hi + 1):
                if q != p:
                    c = corpus[q]
                    for d in range(D):
                        W_in[c, d] += neu1e[d]
        elif mode == SKIPGRAM_SHARED:
            count = 0
            for q in range(lo, hi + 1):
                if q != p:
                    ctx[count] = corpus[q]
                    count += 1
            if count == 0:
                continue
            state = _draw_negatives(w, W_out, prob, alias, negatives, state)
            loss, running = _shared_window(w, count, W_in, W_out, lr, scratch, loss, running)
            pairs += count
        else:
            for q in range(lo, hi + 1):
                if q == p:
                    continue
                c = corpus[q]
                for d in range(D):
                    neu1e[d] = 0
                state, loss, running = _targets(w, W_in, c, W_out, prob, alias, lr, neu1e, negatives, state,
                                                loss, running)
                pairs += 1
                for d in range(D):
                    W_in[c, d] += neu1e[d]
    return loss - np.log(running), pairs


@njit(cache=True, parallel=True, **KERNEL)
def train_span(corpus, start, stop, W_in, W_out, prob, alias, window, negative, mode,
               lr0, done_before, total, seed, n_threads, loss_out, pairs_out):
    """Train on corpus[start:stop] (ids into W_in/W_out (V, D), float32) with ``n_threads``
    workers; ``mode`` is SKIPGRAM, CBOW or SKIPGRAM_SHARED (skip-gram whose context words share
    one draw of negatives per window). The span is cut into ``len(loss_out)`` chunks of equal
    length (the last may be shorter); each worker takes the next unclaimed chunk until none is
    left (a shared atomic ticket), so a worker that the machine slows down holds up no other.
    Chunk c has its own random stream, from ``seed`` and c: one worker reproduces a run exactly.
    The learning rate at word p is lr0 * max(1 - (done_before + p - start)/total, 1e-4).
    loss_out/pairs_out (n_chunks,) receive each chunk's summed loss and its number of examples
    (a positive target with its negatives)."""
    D = W_in.shape[1]
    n_chunks = loss_out.shape[0]
    chunk = (stop - start + n_chunks - 1) // n_chunks
    ticket = np.zeros(1, dtype=np.int64)
    for _ in prange(n_threads):
        scratch = (np.empty((1, D), dtype=W_in.dtype), np.empty(D, dtype=W_in.dtype),
                   np.empty(negative, dtype=np.int64), np.empty(2 * window, dtype=np.int64),
                   np.empty((2 * window + 1, negative + 1), dtype=W_in.dtype),
                   np.empty((2 * window + 1, D), dtype=W_in.dtype))
        while True:
            c = fetch_add(ticket, 0, 1)
            if c >= n_chunks:
                break
            a = start + c * chunk
            b = min(a + chunk, stop)
            state = splitmix64(seed + np.uint64(c + 1) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
            loss_out[c], pairs_out[c] = _train_chunk(corpus, a, b, start, W_in, W_out, prob, alias, window, mode,
                                                     lr0, done_before, total, state, scratch)
