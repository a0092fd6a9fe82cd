"""Sharded reading (word2vec's ``--dask``) and co-occurrence counting (``count --dask``) on a
local Dask cluster of 1 and 2 workers against the single-process path, on one text cut into
shards (one file each).

    python bench/dask_counts.py TEXT [--shards 8] [--window 2]

Each figure is the wall time of the whole read (uncached), or of the whole count (reading
included), with the kernels already compiled and the cluster already started; the ids and the
counts are checked equal.
"""
import argparse
import os
import tempfile
import time

import numpy as np

from fastseq.corpus import read_corpus
from fastseq.count import co_occurrence
from fastseq.sharded import client_for, sharded_corpus, sharded_counts


def cut(text, shards, folder):
    """``text`` cut at line ends into ``shards`` files of about equal size; their paths."""
    size = os.path.getsize(text)
    paths = []
    with open(text, "rb") as f:
        for k in range(shards):
            block = f.read(size // shards) + (f.readline() if k < shards - 1 else f.read())
            path = os.path.join(folder, f"{k:03d}.txt")
            with open(path, "wb") as out:
                out.write(block)
            paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--window", type=int, default=2)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = cut(opts.text, opts.shards, tmp)
        read_corpus(paths[:1], cache=False, progress=False)          # compile outside the clock
        t = time.perf_counter()
        corpus = read_corpus(paths, cache=False, progress=False)
        read = time.perf_counter() - t
        single = co_occurrence(corpus.ids, len(corpus.words), opts.window)
        base = time.perf_counter() - t
        print(f"single process: read {read:.2f} s, read and count {base:.2f} s ({corpus.ids.size:,} words, "
              f"{single.nnz:,} pairs)", flush=True)
        for workers in (1, 2):
            with client_for("local", workers=workers) as client:
                sharded_counts(paths[:1], opts.window, client)         # workers load the kernels
                t = time.perf_counter()
                ids, words = sharded_corpus(paths, client)
                seconds_read = time.perf_counter() - t
                t = time.perf_counter()
                counts, _, _ = sharded_counts(paths, opts.window, client)
                seconds = time.perf_counter() - t
            assert words == corpus.words and np.array_equal(ids, corpus.ids)
            assert (counts != single).nnz == 0
            print(f"dask, {workers} worker(s): read {seconds_read:.2f} s, {read / seconds_read:.2f}x the single "
                  f"process; read and count {seconds:.2f} s, {base / seconds:.2f}x; ids and counts equal",
                  flush=True)

if __name__ == "__main__":
    main()
