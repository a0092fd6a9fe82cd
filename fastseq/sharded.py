"""Co-occurrence counting sharded over a Dask cluster (``pip install fastseq[dask]``).

``sharded_counts(files, window, client, ...)`` gives the same vocabulary and the same counts as
``fastseq.corpus.read_corpus`` followed by ``fastseq.count.co_occurrence`` over the files read
one after the other, with the work spread over the cluster's workers, one input file a shard:

1. each worker reads its shard (``read_corpus``, every word kept) and returns its words, in
   order of first appearance, and their counts;
2. the client merges them in file order: a word's global first appearance is in the first shard
   that has it, so the merged order is the single-machine one; ``min_count`` and
   ``max_vocab_size`` then apply to the global counts, by the same rules;
3. each worker reads its shard again, maps its ids to the global ones and counts its
   co-occurrences with the same numba kernel, returning a sparse matrix and its first and last
   ``window`` ids;
4. the partial matrices are summed pairwise, tree-wise, on the workers; the pairs that straddle
   a file boundary are counted on the client from those edge ids: at each boundary, the pairs
   between the stream's last ``window`` ids before it and the next shard's first ids.

Integer counts equal the single-machine counts exactly; ``harmonic`` weights (float32) agree to
float32 rounding, their sums being taken in another order.
"""
import numpy as np
import scipy.sparse as sp

__all__ = ["client_for", "sharded_counts"]


def client_for(address=None, workers=2):
    """A ``distributed.Client``: joined to the scheduler at ``address``, or to a new local cluster
    of ``workers`` processes (one thread each) when ``address`` is None or "local"."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("--dask needs the dask extra: pip install 'fastseq[dask]'") from None
    if address in (None, "local"):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        return Client(cluster)
    return Client(address)


def _shard_words(path, reading):
    from fastseq.corpus import read_corpus

    try:
        c = read_corpus(path, cache=False, progress=False, **{**reading, "min_count": 1, "max_vocab_size": None})
    except ValueError as exc:
        if "no words" in str(exc):
            return [], np.zeros(0, np.int64)
        raise
    return c.words, c.counts


def _shard_counts(path, lookup, reading, vocab_size, window, harmonic):
    from fastseq.count import co_occurrence
    from fastseq.corpus import read_corpus

    try:
        c = read_corpus(path, cache=False, progress=False, **{**reading, "min_count": 1, "max_vocab_size": None})
    except ValueError as exc:
        if "no words" in str(exc):
            return sp.csr_matrix((vocab_size, vocab_size), dtype=np.float32 if harmonic else np.int64), \
                np.zeros(0, np.int32), np.zeros(0, np.int32)
        raise
    ids = lookup[c.ids]
    counts = co_occurrence(ids, vocab_size, window, harmonic=harmonic)
    return _widen(counts, harmonic), ids[:window].copy(), ids[-window:].copy()


def _widen(matrix, harmonic):
    return matrix if harmonic else matrix.astype(np.int64)


def _add(a, b):
    return a + b


def _straddling(left, right, vocab_size, window, harmonic):
    """Counts of the pairs with one id in ``left`` and one in ``right`` (``left`` then ``right``
    in the stream)."""
    from fastseq.count import co_occurrence

    if left.size == 0 or right.size == 0:
        return None
    both = np.concatenate([left, right])
    pairs = co_occurrence(both, vocab_size, window, harmonic=harmonic)
    for part in (left, right):
        if part.size > 1:
            pairs = pairs - co_occurrence(part, vocab_size, window, harmonic=harmonic)
    pairs = _widen(sp.csr_matrix(pairs), harmonic)
    pairs.eliminate_zeros()
    return pairs


def sharded_counts(files, window, client, reading=None, harmonic=False):
    """``(counts csr (V, V), words list, word counts int64 (V,))`` over ``files`` (paths, one
    shard each, in reading order); ``reading``: ``read_corpus``'s options (tokenize,
    line_ends, min_count, max_vocab_size). See the module docstring."""
    from fastseq.corpus import _files, _vocabulary
    from fastseq.datasets.text import READING_DEFAULTS

    reading = {**READING_DEFAULTS, **(reading or {})}
    files = [str(f) for f in _files(files)]
    shard_words = client.gather(client.map(_shard_words, files, reading=reading, pure=False))
    index, merged, merged_counts = {}, [], []
    lookups = []
    for words, counts in shard_words:
        lookup = np.empty(len(words), np.int64)
        for k, (w, n) in enumerate(zip(words, counts.tolist())):
            e = index.setdefault(w, len(merged))
            if e == len(merged):
                merged.append(w)
                merged_counts.append(0)
            merged_counts[e] += n
            lookup[k] = e
        lookups.append(lookup)
    if not merged:
        raise ValueError("--corpus: no words in the files")
    words, word_counts, _, merged_to_id = _vocabulary([w.encode("utf-8") for w in merged],
                                                      np.array(merged_counts, np.int64), False,
                                                      reading["min_count"], reading["max_vocab_size"])
    V = len(words)
    parts = client.map(_shard_counts, files, [merged_to_id[lk].astype(np.int32) for lk in lookups],
                       reading=reading, vocab_size=V, window=window, harmonic=harmonic, pure=False)
    edges = client.gather(client.map(lambda r: (r[1], r[2]), parts, pure=False))
    matrices = client.map(lambda r: r[0], parts, pure=False)
    while len(matrices) > 1:                                   # tree-wise sum on the workers
        pairs = [client.submit(_add, a, b, pure=False) for a, b in zip(matrices[::2], matrices[1::2])]
        matrices = pairs + ([matrices[-1]] if len(matrices) % 2 else [])
    total = client.gather(matrices[0])
    stream_tail = np.zeros(0, np.int32)
    for head, tail in edges:
        straddling = _straddling(stream_tail, head, V, window, harmonic)
        if straddling is not None:
            total = total + straddling
        stream_tail = np.concatenate([stream_tail, tail])[-window:]
    total = sp.csr_matrix(total)
    total.sort_indices()
    return total, words, word_counts
