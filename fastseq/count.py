"""Count-based word vectors (the book's chapter 2), scaled past the dense V×V matrix.

* ``create_co_matrix(corpus, vocab_size, window_size=1)``: the book's dense int32 counts.
* ``co_occurrence(corpus, vocab_size, window_size=1, harmonic=False, context="both")``: the
  same counts as a ``scipy.sparse.csr_matrix``, built without allocating V×V.
* ``ppmi(C, verbose=False, eps=1e-8)``: the book's PPMI, dense in and out.
* ``ppmi_sparse(C, alpha=1.0, shift=1.0, eps=1e-8)``: PPMI on the nonzeros of a sparse matrix,
  with context-distribution smoothing and a shift (below).
* ``truncated_svd(M, k, seed=0)``: the top-k left singular vectors (word vectors).
* ``count_vectors(corpus, vocab_size, ...)``: corpus → co-occurrence → PPMI → SVD in one call.

PPMI: ``PMI(w, c) = log2(C[w,c] * N / (S_w * S_c) + eps)`` with N the total count;
``PPMI = max(0, PMI - log2(shift))``. The dense ``ppmi`` takes both marginals from the column
sums, as the book does (equal to the row sums for the symmetric matrices ``create_co_matrix``
makes). ``ppmi_sparse`` takes S_w from the row sums and S_c from the column sums, raised to
``alpha`` and renormalised (``alpha=0.75`` is Levy et al.'s smoothing; ``shift=k`` their
shifted PPMI for k negative samples). A zero row or column gives zeros, never NaN or inf.
An empty corpus gives an all-zero matrix.
"""
import sys
import time

import numpy as np

from fastseq import _validate as v
from fastseq._lang import phrase
from fastseq._threads import get_num_threads, one_blas_thread
from fastseq import kernels
from fastseq.numpy_kernels import for_size

__all__ = ["create_co_matrix", "co_occurrence", "ppmi", "ppmi_sparse", "truncated_svd", "count_vectors", "count_run"]

_CONTEXTS = {"both": (True, True), "left": (True, False), "right": (False, True)}


# The most (word, window position) visits a count may take: about ten minutes on 2 cores. A
# kernel cannot be interrupted, so a larger request is refused rather than left to run for hours.
MAX_PAIRS = 10 ** 10


def _corpus(where, corpus, vocab_size, window_size):
    """The validated corpus (int ids in [0, vocab_size)) and the window to count with: a window
    wider than the corpus counts the same pairs as one of ``len(corpus) - 1``, so it is clamped
    there; a count of more than MAX_PAIRS visits is refused."""
    corpus = np.asarray(corpus)
    if corpus.ndim != 1:
        raise ValueError(f"{where}: corpus must be a 1-D array of word ids, got shape {corpus.shape}")
    if corpus.dtype.kind not in "iu":
        raise TypeError(f"{where}: corpus must hold integer word ids, got dtype {corpus.dtype}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"{where}: vocab_size must be a positive integer, got {vocab_size!r}")
    if isinstance(window_size, bool) or not isinstance(window_size, (int, np.integer)) or window_size < 1:
        raise ValueError(f"{where}: window_size must be a positive integer, got {window_size!r}")
    window_size = int(min(window_size, max(corpus.shape[0] - 1, 1)))
    if corpus.shape[0] * window_size > MAX_PAIRS:
        raise ValueError(f"{where}: window_size={window_size} over {corpus.shape[0]} words means "
                         f"{corpus.shape[0] * window_size:.3g} positions to visit, more than {MAX_PAIRS:.0e}; "
                         "use a smaller window")
    return v.id_array(where, "corpus", corpus, vocab_size), window_size


def _count_dtype(corpus, window_size):
    """int32 while no count can pass 2**31 - 1 (at most 2 * n * window pairs in all), else int64."""
    return np.int32 if 2 * corpus.shape[0] * window_size < np.iinfo(np.int32).max else np.int64


def _context(where, context):
    if context not in _CONTEXTS:
        raise ValueError(f"{where}: context must be 'both', 'left' or 'right', got {context!r}")
    return _CONTEXTS[context]


def create_co_matrix(corpus, vocab_size, window_size=1):
    """The book's co-occurrence matrix: (vocab_size, vocab_size) int32 (int64 for a corpus whose
    counts could pass 2**31 - 1), C[w, c] = how often c occurs within ``window_size`` words left
    or right of w. corpus (n,) integer ids."""
    corpus, window_size = _corpus("create_co_matrix", corpus, vocab_size, window_size)
    co = np.zeros((vocab_size, vocab_size), dtype=_count_dtype(corpus, window_size))
    for_size("cooccurrence", corpus.size * window_size).count_dense(corpus, window_size, True, True, co)
    return co


def co_occurrence(corpus, vocab_size, window_size=1, harmonic=False, context="both"):
    """Sparse co-occurrence counts: a (vocab_size, vocab_size) ``csr_matrix`` with sorted column
    ids, int32 counts (int64 when they could pass 2**31 - 1; float32 when ``harmonic=True``: a
    context at distance d adds 1/d).
    ``context`` 'both' (the book's), 'left' or 'right' of the word. Never allocates V×V."""
    where = "co_occurrence"
    corpus, window_size = _corpus(where, corpus, vocab_size, window_size)
    left, right = _context(where, context)
    n_threads = get_num_threads()
    starts, positions = kernels.cooccurrence.positions_by_word(corpus, vocab_size)
    lengths = np.empty(vocab_size, dtype=np.int64)
    kernels.cooccurrence.row_lengths(corpus, starts, positions, window_size, left, right, n_threads, lengths)
    indptr = np.zeros(vocab_size + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float32 if harmonic else _count_dtype(corpus, window_size))
    kernels.cooccurrence.fill_rows(corpus, starts, positions, window_size, left, right, bool(harmonic), n_threads,
                                   indptr, indices, data)
    if nnz < np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    C = _sparse().csr_matrix((data, indices, indptr), shape=(vocab_size, vocab_size))
    C.has_sorted_indices = True
    return C


def _sparse():
    """scipy.sparse, imported on first use: it would add about 0.13 s to every import of
    fastseq (the drop-in's start-up), and only the counting functions need it."""
    import scipy.sparse
    return scipy.sparse


def _count_matrix(where, C):
    if "scipy.sparse" in sys.modules and _sparse().issparse(C):
        raise TypeError(f"{where}: C must be a dense array; use ppmi_sparse for sparse matrices")
    C = np.asarray(C)
    if C.ndim != 2 or C.dtype.kind not in "iuf":
        raise ValueError(f"{where}: C must be a 2-D array of counts, got {C.dtype} {C.shape}")
    _counts_ok(where, C)
    return np.ascontiguousarray(C)


def _counts_ok(where, counts):
    """Refuse NaN, inf and negative counts (PPMI of them would be silent garbage)."""
    if counts.size and counts.dtype.kind == "f" and not np.isfinite(counts).all():
        raise ValueError(f"{where}: C holds NaN or inf counts")
    if counts.size and counts.min() < 0:
        raise ValueError(f"{where}: C holds a negative count ({counts.min()})")


def ppmi(C, verbose=False, eps=1e-8):
    """The book's PPMI of a dense count matrix C (R, K): float32 (R, K), both marginals from the
    column sums. ``verbose=True`` prints the book's hundred progress lines (``"%.1f%% done"``)
    after the one kernel call that does the work."""
    C = _count_matrix("ppmi", C)
    S = C.sum(axis=0, dtype=np.float64)
    if C.shape[0] != C.shape[1]:
        raise ValueError(f"ppmi: C must be square (the book's marginals assume it), got {C.shape}")
    orphan = np.flatnonzero((C.sum(axis=1) > 0) & (S == 0))
    if orphan.size:
        raise ValueError(f"ppmi: row {orphan[0]} of C has counts but column {orphan[0]} sums to 0; the book's "
                         "PPMI takes both marginals from the column sums, so C must be symmetric (its PMI "
                         "would be inf); use ppmi_sparse for one-sided counts")
    M = np.empty(C.shape, dtype=np.float32)
    for_size("ppmi", C.size).ppmi_dense(C, float(S.sum()), S, S, float(eps), 0.0, M)
    if verbose:
        total = C.shape[0] * C.shape[1]
        for count in range(total // 100 + 1, total + 1, total // 100 + 1):
            print(phrase("percent_done") % (100 * count / total))
    return M


def _smoothed(col_sums, N, alpha):
    if alpha == 1.0:
        return col_sums
    powered = col_sums ** alpha
    total = powered.sum()
    return powered * (N / total) if total > 0 else powered


def ppmi_sparse(C, alpha=1.0, shift=1.0, eps=1e-8, dtype=np.float32):
    """PPMI on the nonzeros of a sparse count matrix (any scipy sparse format, R×K): a
    ``csr_matrix`` of ``dtype`` with explicit zeros removed. ``alpha`` in (0, 1] smooths the
    context distribution (S_c^alpha, renormalised); ``shift`` ≥ 1 subtracts log2(shift)."""
    sp = _sparse()
    if not sp.issparse(C):
        raise TypeError("ppmi_sparse: C must be a scipy sparse matrix; use ppmi for dense arrays")
    if not 0 < alpha <= 1:
        raise ValueError(f"ppmi_sparse: alpha must be in (0, 1], got {alpha}")
    if not shift >= 1:
        raise ValueError(f"ppmi_sparse: shift must be >= 1, got {shift}")
    C = C.tocsr()
    try:
        C.check_format(full_check=True)
    except ValueError as exc:
        raise ValueError(f"ppmi_sparse: C is not a well-formed sparse matrix ({exc})") from None
    if C.data.dtype.kind not in "iuf":
        raise TypeError(f"ppmi_sparse: C must hold integer or float counts, got {C.data.dtype}")
    _counts_ok("ppmi_sparse", C.data)
    N = float(C.sum(dtype=np.float64))
    row_sums = np.asarray(C.sum(axis=1, dtype=np.float64)).ravel()
    col_sums = np.asarray(C.sum(axis=0, dtype=np.float64)).ravel()
    out = np.empty(C.nnz, dtype=dtype)
    kernels.ppmi.ppmi_csr(C.indptr, C.indices, C.data, N, row_sums, _smoothed(col_sums, N, alpha), float(eps),
             float(np.log2(shift)), out)
    M = sp.csr_matrix((out, C.indices.copy(), C.indptr.copy()), shape=C.shape)
    M.eliminate_zeros()
    return M


def truncated_svd(M, k, seed=0, n_iter=5, oversample=10):
    """Top-k singular triplets of M (R, K), dense or sparse, by randomized SVD (Halko et al.:
    a Gaussian sketch, ``n_iter`` power iterations with re-orthonormalisation, then an exact
    SVD of the small projected matrix). Returns U (R, k), s (k,), Vt (k, K) in float64;
    the same ``seed`` gives the same result, with signs fixed so each column of U has a
    positive largest-magnitude entry."""
    R, K = M.shape
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= min(R, K):
        raise ValueError(f"truncated_svd: k must be an integer in [1, {min(R, K)}], got {k!r}")
    rng = np.random.default_rng(seed)
    width = min(k + oversample, min(R, K))
    # LAPACK on one thread: its QR of a (R, width) panel is a few ms, and threaded LAPACK
    # waits at barriers that a busy machine turns into seconds.
    with one_blas_thread:
        Q, _ = np.linalg.qr(M @ rng.standard_normal((K, width)))
        for _ in range(n_iter):
            Z, _ = np.linalg.qr(M.T @ Q)
            Q, _ = np.linalg.qr(M @ Z)
        B = np.asarray((M.T @ Q).T)
        Ub, s, Vt = np.linalg.svd(B, full_matrices=False)
        U = Q @ Ub[:, :k]
    s, Vt = s[:k], Vt[:k]
    signs = np.sign(U[np.abs(U).argmax(axis=0), np.arange(k)])
    signs[signs == 0] = 1
    return U * signs, s, Vt * signs[:, None]


def count_vectors(corpus, vocab_size, window_size=2, dim=100, alpha=1.0, shift=1.0, harmonic=False, seed=0,
                  report=None):
    """Corpus (n,) ids → sparse co-occurrence → sparse PPMI → ``dim``-dimensional word vectors
    (vocab_size, dim) float32: the left singular vectors, as the book uses them.
    ``report(stage, seconds, info)``, when given, is called after each stage ("co-occurrence",
    "ppmi", "svd"; ``info`` a dict of counts)."""
    _check_dim("count_vectors", dim, vocab_size)
    report = report or (lambda stage, seconds, info: None)
    t0 = time.perf_counter()
    C = co_occurrence(corpus, vocab_size, window_size, harmonic=harmonic)
    report("co-occurrence", time.perf_counter() - t0, {"pairs": int(C.nnz)})
    return vectors_from_counts(C, dim, alpha, shift, seed, report)


def vectors_from_counts(C, dim=100, alpha=1.0, shift=1.0, seed=0, report=None):
    """Co-occurrence counts (V, V) csr → sparse PPMI → ``dim``-dimensional word vectors (V, dim)
    float32, the second half of ``count_vectors``."""
    _check_dim("count_vectors", dim, C.shape[0])
    report = report or (lambda stage, seconds, info: None)
    t1 = time.perf_counter()
    M = ppmi_sparse(C, alpha=alpha, shift=shift, dtype=np.float64)
    t2 = time.perf_counter()
    report("ppmi", t2 - t1, {"positive": int(M.nnz)})
    U, _, _ = truncated_svd(M, dim, seed=seed)
    report("svd", time.perf_counter() - t2, {"dim": dim})
    return U.astype(np.float32)


def _check_dim(where, dim, vocab_size):
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 1 <= dim < vocab_size:
        raise ValueError(f"{where}: dim must be an integer below the vocabulary size {vocab_size}, got {dim!r}")


_SCHEMA = {"corpus": (str,), "tokens": (int,), "vocab_size": (int,), "window": (int,), "dim": (int,),
           "alpha": (int, float), "shift": (int, float), "harmonic": (bool,), "seed": (int,)}


def count_run(folder, corpus="ptb", window=2, dim=100, alpha=1.0, shift=1.0, harmonic=False, seed=0, force=False,
              threads=None, dask=None, **reading):
    """``fastseq count``: ``count_vectors`` on ``corpus`` (``"ptb"``, or text files read with the
    ``reading`` options, see ``fastseq.datasets.text.load_corpus``) into the run folder
    ``folder`` (see ``fastseq.runs``): one log line per stage, then ``vectors.npz`` and
    ``vectors.txt``. ``threads`` (default: the available cores) runs the kernels and BLAS, one
    after the other. ``dask`` ("local", or a scheduler's address) counts on a Dask cluster
    instead, one text file a shard (``fastseq.sharded``). Returns the KeyedVectors."""
    from fastseq import _threads
    from fastseq.datasets.text import READING_DEFAULTS, check_shardable, load_corpus
    from fastseq.runs import RunFolder, rss_mib
    from fastseq.vectors import KeyedVectors

    reading = {**READING_DEFAULTS, **reading}
    if dask is not None:
        check_shardable(corpus)
    with RunFolder(folder, "count", force=force) as run:
        def report(stage, seconds, info):
            run.log({"stage": stage, "seconds": round(seconds, 3), **info, "rss_mib": rss_mib()})

        t0 = time.perf_counter()
        config = {"corpus": corpus, **reading, "window": window, "dim": dim, "alpha": alpha, "shift": shift,
                  "harmonic": bool(harmonic), "seed": seed, "dask": dask}
        cores = threads or _threads.available_cores()
        if dask is None:
            ids, words = load_corpus(corpus, **reading)
            _check_dim("count", dim, len(words))
            run.write_config({**config, "tokens": int(ids.size), "vocab_size": len(words)})
            report("load", time.perf_counter() - t0, {"tokens": int(ids.size), "words": len(words)})
            with _threads.policy(cores, cores):
                U = count_vectors(ids, len(words), window, dim, alpha=alpha, shift=shift, harmonic=harmonic,
                                  seed=seed, report=report)
        else:
            from fastseq.sharded import client_for, sharded_counts

            with client_for(dask) as client:
                C, words, word_counts = sharded_counts(corpus, window, client, reading, harmonic)
            tokens = int(word_counts.sum())
            _check_dim("count", dim, len(words))
            run.write_config({**config, "tokens": tokens, "vocab_size": len(words)})
            report("load", 0.0, {"tokens": tokens, "words": len(words)})
            report("co-occurrence", time.perf_counter() - t0, {"pairs": int(C.nnz)})
            with _threads.policy(cores, cores):
                U = vectors_from_counts(C, dim, alpha, shift, seed, report)
        kv = KeyedVectors(U, words)
        kv.save_to_run(run)
        return kv
