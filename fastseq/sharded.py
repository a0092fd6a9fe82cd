"""Corpus reading and co-occurrence counting sharded over a Dask cluster (``pip install
fastseq[dask]``), one input file a shard.

``sharded_corpus(files, client, ...)`` gives the same ids and vocabulary as
``fastseq.corpus.read_corpus`` over the files read one after the other (steps 1 and 2 below,
then each worker encodes its shard with the global ids); word2vec trains on them.
``sharded_counts(files, window, client, ...)`` gives the same vocabulary and the same counts as
``read_corpus`` followed by ``fastseq.count.co_occurrence``:

1. each worker reads its shards (``read_corpus``, every word kept), keeps their ids in its
   memory (4 bytes a token) and returns their words, in order of first appearance, and their
   counts;
2. the client merges them in file order: a word's global first appearance is in the first shard
   that has it, so the merged order is the single-machine one; ``min_count`` and
   ``max_vocab_size`` then apply to the global counts, by the same rules;
3. each worker maps its shards' ids to the global ones and counts their co-occurrences with
   the same numba kernel, returning a sparse matrix and its first and last ``window`` ids;
4. the partial matrices are summed pairwise, tree-wise, on the workers; the pairs that straddle
   a file boundary are counted on the client from those edge ids: at each boundary, the pairs
   between the stream's last ``window`` ids before it and the next shard's first ids.

Integer counts equal the single-machine counts exactly; ``harmonic`` weights (float32) agree to
float32 rounding, their sums being taken in another order.
"""
import numpy as np
import scipy.sparse as sp

__all__ = ["client_for", "sharded_corpus", "sharded_counts"]


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


def _read_shard(path, reading):
    """The shard read with every word kept (``read_corpus``): ``(ids int32 (tokens,), words
    list, counts int64 (words,))``, all empty for a file without words."""
    from fastseq.corpus import read_corpus

    try:
        c = read_corpus(path, cache=False, progress=False, **{**reading, "min_count": 1, "max_vocab_size": None})
    except ValueError as exc:
        if "no words" in str(exc):
            return np.zeros(0, np.int32), [], np.zeros(0, np.int64)
        raise
    return c.ids, c.words, c.counts


def _shard_words(shard):
    """A read shard's words joined by ``\\n`` (which no word holds; one string pickles much
    faster than a list) and their counts."""
    _, words, counts = shard
    return "\n".join(words), counts


def _shard_ids(shard, lookup):
    """A read shard's ids in the global vocabulary, int32 (tokens,): ``lookup`` maps the shard's
    own ids (first appearance in the shard) to the global ones."""
    return lookup[shard[0]]


def _shard_counts(shard, lookup, vocab_size, window, harmonic):
    from fastseq.count import co_occurrence

    ids = _shard_ids(shard, lookup)
    if ids.size == 0:
        return sp.csr_matrix((vocab_size, vocab_size), dtype=np.float32 if harmonic else np.int64), ids, ids
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


def _merged(shard_words):
    """Per shard ``(words joined by \\n, counts)`` in file order → ``(the merged words as UTF-8
    bytes, in order of first appearance; their total counts int64; per shard an int32 array
    mapping its words to the merged ones)``, merged by the corpus reader's hash table."""
    from fastseq.corpus import _entries_in_order

    merged, lookups = _entries_in_order([joined.encode("utf-8") for joined, _ in shard_words])
    totals = np.zeros(len(merged), np.int64)
    for lookup, (_, counts) in zip(lookups, shard_words):
        totals[lookup] += counts                       # a shard's words are distinct
    return merged, totals, lookups


def _read_shards(files, client, reading):
    """Steps 1 and 2 of the module docstring: ``(the read shards, futures held by the workers;
    words; word counts int64 (V,); per shard an int32 array mapping its own ids to the global
    ones)``."""
    from fastseq.corpus import _files, _vocabulary
    from fastseq.datasets.text import READING_DEFAULTS

    reading = {**READING_DEFAULTS, **(reading or {})}
    files = [str(f) for f in _files(files)]
    shards = client.map(_read_shard, files, reading=reading, pure=False)
    merged, totals, lookups = _merged(client.gather(client.map(_shard_words, shards, pure=False)))
    if not merged:
        raise ValueError("--corpus: no words in the files")
    words, word_counts, _, merged_to_id = _vocabulary(merged, totals, False, reading["min_count"],
                                                      reading["max_vocab_size"])
    return shards, words, word_counts, [merged_to_id[lk] for lk in lookups]


def sharded_corpus(files, client, reading=None):
    """``(ids int32 (tokens,), words list)`` of ``files`` (paths, one shard each, in reading
    order), equal to ``read_corpus(files, **reading)``'s: the workers read and encode their
    shards, the client joins the ids (4 bytes a token, in memory). ``reading``:
    ``read_corpus``'s options (tokenize, line_ends, min_count, max_vocab_size)."""
    shards, words, _, lookups = _read_shards(files, client, reading)
    parts = client.gather(client.map(_shard_ids, shards, lookups, pure=False))
    return np.concatenate(parts).astype(np.int32, copy=False), words


def sharded_counts(files, window, client, reading=None, harmonic=False):
    """``(counts csr (V, V), words list, word counts int64 (V,))`` over ``files`` (paths, one
    shard each, in reading order); ``reading``: ``read_corpus``'s options (tokenize,
    line_ends, min_count, max_vocab_size). See the module docstring."""
    shards, words, word_counts, lookups = _read_shards(files, client, reading)
    V = len(words)
    parts = client.map(_shard_counts, shards, lookups, vocab_size=V, window=window, harmonic=harmonic, pure=False)
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
