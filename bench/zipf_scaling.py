"""Scaling of sparse co-occurrence counting on synthetic Zipf corpora: time and peak memory.

The corpus is generated and saved first; then a fresh subprocess loads it and counts, so the
peak resident memory it reports (``ru_maxrss``) is the corpus plus the counting. Tokens are drawn i.i.d. from a Zipf law over the vocabulary (p(k) ∝ 1/k), which gives more
distinct pairs than real text of the same size: a pessimistic case for memory.

    python bench/zipf_scaling.py                 # 1M, 10M, 50M tokens
    python bench/zipf_scaling.py 1000000 5000000 # chosen sizes
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np
from fastseq import count
path, V, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count.co_occurrence(np.arange(100, dtype=np.int32) % 10, 10, window)            # compile (or load the cache)
corpus = np.load(path)
n = corpus.size
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
C = count.co_occurrence(corpus, V, window)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"tokens": n, "vocab": V, "seconds": seconds, "pairs": int(C.nnz),
                  "peak_mib": peak / 1024, "before_mib": rss_before / 1024}))
"""


def zipf_corpus(n, V, seed=0):
    """n int32 ids drawn i.i.d. with p(k) ∝ 1/(k+1), k in [0, V)."""
    p = 1.0 / np.arange(1, V + 1)
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, np.random.default_rng(seed).random(n)), V - 1).astype(np.int32)


def run(n, V=100_000, window=2):
    """Count a Zipf corpus of n tokens in a subprocess; returns its measurements."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "corpus.npy")
        np.save(path, zipf_corpus(n, V))
        out = subprocess.run([sys.executable, "-c", CHILD, path, str(V), str(window)],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(sizes):
    print(f"{'tokens':>12s} {'vocab':>8s} {'seconds':>8s} {'distinct pairs':>15s} {'peak RSS MiB':>13s} "
          f"{'RSS with corpus loaded':>23s}")
    for n in sizes:
        r = run(n)
        print(f"{r['tokens']:12,d} {r['vocab']:8,d} {r['seconds']:8.2f} {r['pairs']:15,d} {r['peak_mib']:13.0f} "
              f"{r['before_mib']:23.0f}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000_000, 10_000_000, 50_000_000])
