"""Co-occurrence counting over an integer corpus (n,) with ids in [0, V).

Dense: ``count_dense`` fills a (V, V) matrix in one serial pass, the book's loop compiled.

Sparse (CSR), never allocating V×V, race-free by construction:

1. ``positions_by_word``: a counting sort of the corpus positions by word id, so the
   occurrences of word w are ``positions[starts[w]:starts[w+1]]``.
2. ``row_lengths`` and ``fill_rows``: each thread owns the rows w ≡ tid (mod n_threads)
   (interleaved, which spreads a Zipf corpus's heavy rows evenly) and accumulates one row at a
   time in a private dense scratch of V values plus a list of touched columns, a sparse
   accumulator. The first pass writes each row's number of distinct contexts; the caller turns
   those into ``indptr``; the second pass writes the sorted column ids and the counts.

Memory: the corpus, its sorted positions (n int64), the CSR arrays (nnz), and per thread one
scratch row (V values + V int32): it grows with the number of distinct pairs, not V².
A context at distance d adds 1 (``harmonic=False``) or 1/d (``harmonic=True``); ``left`` and
``right`` choose which side of the word counts.
"""
import numpy as np
from numba import njit, prange


@njit(cache=True)
def count_dense(corpus, window, left, right, co):
    """co[w, c] += 1 for every context c within ``window`` of an occurrence of w (co (V, V),
    int32 or float, zeroed by the caller); the book's ``create_co_matrix`` loop."""
    n = corpus.shape[0]
    for p in range(n):
        w = corpus[p]
        for d in range(1, window + 1):
            if left and p - d >= 0:
                co[w, corpus[p - d]] += 1
            if right and p + d < n:
                co[w, corpus[p + d]] += 1


@njit(cache=True)
def positions_by_word(corpus, V):
    """Counting sort of positions by word id: returns starts (V+1,) int64 and positions (n,)
    int64 with the occurrences of w, in corpus order, at positions[starts[w]:starts[w+1]]."""
    starts = np.zeros(V + 1, dtype=np.int64)
    for p in range(corpus.shape[0]):
        starts[corpus[p] + 1] += 1
    for w in range(V):
        starts[w + 1] += starts[w]
    fill = starts[:-1].copy()
    positions = np.empty(corpus.shape[0], dtype=np.int64)
    for p in range(corpus.shape[0]):
        w = corpus[p]
        positions[fill[w]] = p
        fill[w] += 1
    return starts, positions


@njit(cache=True)
def _accumulate_row(w, corpus, starts, positions, window, left, right, harmonic, scratch, touched):
    """Add row w's contexts into scratch (V,), listing first-touched columns in touched;
    return how many columns were touched."""
    n = corpus.shape[0]
    k = 0
    for q in range(starts[w], starts[w + 1]):
        p = positions[q]
        for d in range(1, window + 1):
            weight = 1.0 / d if harmonic else 1.0
            for side in range(2):
                if side == 0:
                    if not left or p - d < 0:
                        continue
                    c = corpus[p - d]
                else:
                    if not right or p + d >= n:
                        continue
                    c = corpus[p + d]
                if scratch[c] == 0:
                    touched[k] = c
                    k += 1
                scratch[c] += weight
    return k


@njit(cache=True, parallel=True)
def row_lengths(corpus, starts, positions, window, left, right, n_threads, lengths):
    """lengths[w] = number of distinct contexts of word w (lengths (V,) int64)."""
    V = lengths.shape[0]
    for tid in prange(n_threads):
        scratch = np.zeros(V, dtype=np.float64)
        touched = np.empty(V, dtype=np.int32)
        for w in range(tid, V, n_threads):
            k = _accumulate_row(w, corpus, starts, positions, window, left, right, False, scratch, touched)
            lengths[w] = k
            for i in range(k):
                scratch[touched[i]] = 0


@njit(cache=True, parallel=True)
def fill_rows(corpus, starts, positions, window, left, right, harmonic, n_threads, indptr, indices, data):
    """Write the CSR rows: indices[indptr[w]:indptr[w+1]] the sorted context ids of w (int32),
    data the same slice's counts (int32, or float for harmonic weights)."""
    V = indptr.shape[0] - 1
    for tid in prange(n_threads):
        scratch = np.zeros(V, dtype=np.float64)
        touched = np.empty(V, dtype=np.int32)
        for w in range(tid, V, n_threads):
            k = _accumulate_row(w, corpus, starts, positions, window, left, right, harmonic, scratch, touched)
            cols = np.sort(touched[:k])
            base = indptr[w]
            for i in range(k):
                c = cols[i]
                indices[base + i] = c
                data[base + i] = scratch[c]
                scratch[c] = 0
