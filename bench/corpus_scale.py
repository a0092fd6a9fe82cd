"""Corpus ingestion and word2vec at scale, against gensim, on a synthetic text and on PTB.

    python bench/corpus_scale.py [--tokens 100000000] [--keep FILE]

The text is generated first (``make_text``): words drawn i.i.d. from a Zipf law (p(k) ∝ 1/k)
over 200,000 word types of lower-case letters whose lengths grow with rank (frequent words
short, as in English: about 5 letters on average per token), 20 words a line, a ``.`` ending
some words. Each measurement then runs in a fresh process, so its peak resident memory
(``ru_maxrss``) is its own:

* ingestion: ``fastseq.corpus.read_corpus`` (scan, vocabulary, ids written as a memory-mapped
  ``.npy``) against gensim's vocabulary scan of the same file
  (``Word2Vec(corpus_file=...).build_vocab``), in tokens/s;
* word2vec end to end (read + vocabulary + 1 CBOW epoch, 2 threads, dim 100, window 5,
  negative 5) against gensim ``corpus_file`` with 2 workers.

gensim is an anchor only: without it those rows are skipped. Figures are printed as JSON lines
and a table with the ratios.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

WORDS = 200_000


def make_text(path, tokens, seed=0, per_line=20, block=1_000_000):
    """Write ``tokens`` synthetic words to ``path`` (see the module docstring); returns its bytes."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, WORDS + 1)
    lengths = np.clip(np.round(1.5 + 1.1 * np.log(ranks) + rng.normal(0, 1.0, WORDS)), 1, 18).astype(int)
    letters = np.frombuffer(b"etaoinshrdlcumwfgypbvkjxqz", np.uint8)
    freq = np.linspace(2.0, 0.1, 26)
    vocab, seen = [], set()
    for n in lengths:
        while True:
            w = rng.choice(letters, n, p=freq / freq.sum()).tobytes().decode()
            if w not in seen:
                seen.add(w)
                vocab.append(w)
                break
            n += 1
    vocab = np.array(vocab, dtype=object)
    cdf = np.cumsum(1.0 / ranks)
    cdf /= cdf[-1]
    written = 0
    with open(path, "w", encoding="ascii") as f:
        for start in range(0, tokens, block):
            n = min(block, tokens - start)
            ids = np.minimum(np.searchsorted(cdf, rng.random(n)), WORDS - 1)
            words = vocab[ids]
            dots = rng.random(n) < 0.05
            words[dots] = words[dots] + "."
            lines = [" ".join(words[i:i + per_line]) for i in range(0, n, per_line)]
            text = "\n".join(lines) + "\n"
            f.write(text)
            written += len(text)
    return written


WARM = r"""
import os, tempfile
from fastseq.corpus import read_corpus
with tempfile.TemporaryDirectory() as d:            # kernels loaded from numba's cache outside the clock
    with open(os.path.join(d, "w.txt"), "w") as f:
        f.write("a b.\n")
    read_corpus(os.path.join(d, "w.txt"), cache=False, progress=False)
"""

FASTSEQ_READ = WARM + r"""
import json, resource, sys, time
path, cache = sys.argv[1], sys.argv[2]
t = time.perf_counter()
c = read_corpus(path, cache_dir=cache, progress=False)
s = time.perf_counter() - t
print(json.dumps({"tokens": int(c.ids.shape[0]), "words": len(c.words), "seconds": s,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

GENSIM_VOCAB = r"""
import json, logging, resource, sys, time
from gensim.models import Word2Vec
path = sys.argv[1]
m = Word2Vec(vector_size=100, window=5, min_count=1, workers=2)
t = time.perf_counter()
m.build_vocab(corpus_file=path)
s = time.perf_counter() - t
print(json.dumps({"tokens": int(m.corpus_total_words), "words": len(m.wv), "seconds": s,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FASTSEQ_W2V = WARM + r"""
import json, resource, sys, time
import fastseq
from fastseq.corpus import read_corpus
from fastseq.word2vec import train_word2vec
path, cache = sys.argv[1], sys.argv[2]
t = time.perf_counter()
c = read_corpus(path, cache_dir=cache, progress=False)
read = time.perf_counter() - t
with fastseq.threads(2):
    r = train_word2vec(c.ids, len(c.words), model="cbow", dim=100, window=5, negative=5, epochs=1, progress=False)
s = time.perf_counter() - t
model_mib = (r.W_in.nbytes + r.W_out.nbytes) / 2**20
print(json.dumps({"tokens": int(c.ids.shape[0]), "seconds": s, "read_seconds": read, "model_mib": model_mib,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

GENSIM_W2V = r"""
import json, resource, sys, time
from gensim.models import Word2Vec
path = sys.argv[1]
t = time.perf_counter()
m = Word2Vec(corpus_file=path, vector_size=100, window=5, min_count=1, negative=5, sg=0, workers=2, epochs=1)
s = time.perf_counter() - t
print(json.dumps({"tokens": int(m.corpus_total_words), "seconds": s,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code, *args):
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _has_gensim():
    return subprocess.run([sys.executable, "-c", "import gensim"], capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000_000)
    parser.add_argument("--keep", help="keep the generated text at this path (and reuse it if it exists)")
    parser.add_argument("--ptb", default=os.path.join(os.environ.get("FASTSEQ_DATA", "../shared/data"), "ptb",
                                                      "ptb.train.txt"))
    parser.add_argument("--skip-word2vec", action="store_true")
    opts = parser.parse_args()
    gensim = _has_gensim()
    with tempfile.TemporaryDirectory() as tmp:
        path = opts.keep or os.path.join(tmp, "zipf.txt")
        if not os.path.exists(path):
            t = time.perf_counter()
            size = make_text(path, opts.tokens)
            print(f"generated {opts.tokens:,} tokens, {size / 2**20:,.0f} MiB in {time.perf_counter() - t:.0f} s",
                  flush=True)
        inputs = [("synthetic", path)] + ([("PTB", opts.ptb)] if os.path.exists(opts.ptb) else [])
        for name, text in inputs:
            _child(FASTSEQ_READ, opts.ptb, os.path.join(tmp, "warm"))        # kernels compiled outside the clock
            mib = os.path.getsize(text) / 2**20
            fast = _child(FASTSEQ_READ, text, os.path.join(tmp, f"cache-{name}"))
            row = {"input": name, "MiB": round(mib), "tokens": fast["tokens"], "words": fast["words"],
                   "fastseq_s": round(fast["seconds"], 2), "fastseq_tokens_per_s": round(fast["tokens"] / fast["seconds"]),
                   "fastseq_MB_per_s": round(mib / fast["seconds"], 1), "fastseq_peak_mib": round(fast["peak_mib"]),
                   "bytes_per_token": round(fast["peak_mib"] * 2**20 / fast["tokens"], 2)}
            if gensim:
                g = _child(GENSIM_VOCAB, text)
                row.update({"gensim_s": round(g["seconds"], 2), "gensim_tokens_per_s": round(g["tokens"] / g["seconds"]),
                            "ingestion_ratio": round(g["seconds"] / fast["seconds"], 2),
                            "gensim_peak_mib": round(g["peak_mib"])})
            if not opts.skip_word2vec:
                fw = _child(FASTSEQ_W2V, text, os.path.join(tmp, f"cache2-{name}"))
                row.update({"w2v_fastseq_s": round(fw["seconds"], 1), "w2v_fastseq_peak_mib": round(fw["peak_mib"]),
                            "w2v_beyond_model_mib": round(fw["peak_mib"] - fw["model_mib"])})
                if gensim:
                    gw = _child(GENSIM_W2V, text)
                    row.update({"w2v_gensim_s": round(gw["seconds"], 1), "w2v_gensim_peak_mib": round(gw["peak_mib"]),
                                "w2v_ratio": round(gw["seconds"] / fw["seconds"], 2)})
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
