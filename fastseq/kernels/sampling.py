"""Drawing ids from a discrete distribution in O(1) per draw (Walker/Vose alias method).

``alias_table(p)`` builds, for V outcomes, ``prob`` (V,) float64 and ``alias`` (V,) int64: draw
a column k uniformly, keep k with probability ``prob[k]``, else take ``alias[k]``.
``draw_negatives`` fills a (N, K) array with draws for N rows, optionally excluding each row's
target and repeats within a row (rejection; the accepted draws then follow the distribution
restricted to the allowed ids, as sampling without replacement does). Randomness is
counter-based: row n uses counters of its own, so the result does not depend on the thread count.
"""
import numpy as np
from numba import njit, prange

from fastseq.kernels.rng import uniform01
from fastseq.kernels.threads import parallel_kernel


@njit(cache=True)
def alias_table(p):
    """Vose's alias tables for probabilities p (V,) float64 summing to 1 → (prob, alias)."""
    V = p.shape[0]
    prob = np.empty(V, dtype=np.float64)
    alias = np.arange(V).astype(np.int64)
    scaled = p * V
    small = np.empty(V, dtype=np.int64)
    large = np.empty(V, dtype=np.int64)
    ns = nl = 0
    for k in range(V):
        if scaled[k] < 1.0:
            small[ns] = k
            ns += 1
        else:
            large[nl] = k
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        if scaled[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):                      # rounding leftovers
        prob[small[i]] = 1.0
    return prob, alias


@njit(cache=True, inline="always")
def alias_draw(prob, alias, u1, u2):
    """One id from the alias tables given two uniforms on [0, 1)."""
    k = min(np.int64(u1 * prob.shape[0]), prob.shape[0] - 1)
    return k if u2 < prob[k] else alias[k]


@parallel_kernel(work=lambda prob, alias, target, exclude, seed, out: out.size * 16)
def draw_negatives(prob, alias, target, exclude, seed, out):
    """out (N, K) int: draws for row n; with ``exclude`` never target[n] and no repeats in a row.
    The caller guarantees that enough ids have nonzero probability for K distinct draws; a row
    that still finds none in 1,000,000 tries gets out[n, 0] = -1 (the caller raises)."""
    N, K = out.shape
    for n in prange(N):
        base = np.uint64(n) << np.uint64(32)
        attempt = 0
        j = 0
        while j < K:
            if attempt >= 1000000:
                out[n, 0] = -1
                break
            c = base + np.uint64(2 * attempt)
            attempt += 1
            x = alias_draw(prob, alias, uniform01(seed, c), uniform01(seed, c + np.uint64(1)))
            if exclude:
                if x == target[n]:
                    continue
                repeated = False
                for i in range(j):
                    if out[n, i] == x:
                        repeated = True
                        break
                if repeated:
                    continue
            out[n, j] = x
            j += 1


@njit(cache=True, inline="always")
def _mass_through(cum, p, removed, n_removed, j):
    """cum[j] less the probability of the removed ids ≤ j: the unnormalised cdf at j of p with
    ``removed[:n_removed]`` set to 0."""
    m = cum[j]
    for r in range(n_removed):
        if removed[r] <= j:
            m -= p[removed[r]]
    return m


@njit(cache=True)
def _search_without(cum, p, removed, n_removed, x):
    """The id ``np.searchsorted(cdf, x, side="right")`` gives for the cdf of p with the removed
    ids zeroed, x in [0, total mass). Never returns an id of zero mass (rounding guard)."""
    V = p.shape[0]
    lo, hi = 0, V
    while lo < hi:
        mid = (lo + hi) // 2
        if _mass_through(cum, p, removed, n_removed, mid) > x:
            hi = mid
        else:
            lo = mid + 1
    step = 1 if lo < V else -1
    j = min(lo, V - 1)
    while 0 <= j < V:
        usable = p[j] > 0.0
        for r in range(n_removed):
            if removed[r] == j:
                usable = False
        if usable:
            return j
        j += step
        if j == V:
            step, j = -1, min(lo, V - 1)
    return -1


@njit(cache=True)
def draw_rows_like_numpy_choice(cum, p, target, uniforms, state, out):
    """Each row n of out (N, K) int32 as the book draws it: ``np.random.choice(V, K,
    replace=False, p=q)`` with q = p (V,) float64 with target[n] zeroed, consuming ``uniforms``
    in NumPy's order (a round of K - found draws against the cdf without the ids found so far;
    repeats within a round dropped, first occurrence kept; rounds until K distinct ids).
    ``cum`` (V,) is ``np.cumsum(p)``. ``state`` int64 [row, found, pos] is where to resume; it
    is updated. Returns True when all rows are drawn, False when ``uniforms`` ran out (the
    caller appends more and calls again)."""
    N, K = out.shape
    removed = np.empty(K + 1, dtype=np.int64)
    fresh = np.empty(K, dtype=np.int64)
    row, found, pos = state[0], state[1], state[2]
    while row < N:
        need = K - found
        if uniforms.shape[0] - pos < need:
            break
        removed[0] = target[row]
        for f in range(found):
            removed[1 + f] = out[row, f]
        n_removed = found + 1
        total = _mass_through(cum, p, removed, n_removed, p.shape[0] - 1)
        n_fresh = 0
        for d in range(need):
            j = _search_without(cum, p, removed, n_removed, uniforms[pos + d] * total)
            repeated = False
            for e in range(n_fresh):
                if fresh[e] == j:
                    repeated = True
            if not repeated:
                fresh[n_fresh] = j
                n_fresh += 1
        pos += need
        for e in range(n_fresh):
            out[row, found + e] = fresh[e]
        found += n_fresh
        if found == K:
            row += 1
            found = 0
    state[0], state[1], state[2] = row, found, pos
    return row == N
