"""Count-based pipeline on full PTB: co-occurrence (window 2), PPMI, corpus → 100-dim vectors.

The book's PPMI loop takes minutes on the full 10,000×10,000 matrix, so the fast/reference pair
runs on the sub-matrix of the 1,000 most frequent words; the full-matrix PPMI is timed for the
fast versions alone. Scaling to 50M tokens: ``python bench/zipf_scaling.py``.
"""
import numpy as np
import pytest

from fastseq import count
from fastseq.datasets import ptb
from fastseq.reference import count as ref


@pytest.fixture(scope="module")
def corpus():
    corpus, word_to_id, _ = ptb.load_data("train")
    return corpus, len(word_to_id)


@pytest.fixture(scope="module")
def matrices(corpus):
    ids, V = corpus
    dense = count.create_co_matrix(ids, V, 2)
    top = np.argsort(-dense.sum(axis=0))[:1000]
    return dense, count.co_occurrence(ids, V, 2), dense[np.ix_(top, top)]


@pytest.mark.parametrize("impl", ["fast", "fast-dense", "reference"])
def test_co_occurrence_ptb(benchmark, paired, corpus, impl):
    ids, V = corpus
    fn = {"fast": lambda: count.co_occurrence(ids, V, 2),
          "fast-dense": lambda: count.create_co_matrix(ids, V, 2),
          "reference": lambda: ref.create_co_matrix(ids, V, 2)}[impl]
    paired(benchmark, "co-occurrence full PTB window 2", impl, fn, rounds=3 if impl == "reference" else 10)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_ppmi_top_1000(benchmark, paired, matrices, impl):
    sub = matrices[2]
    fn = (lambda: count.ppmi(sub)) if impl == "fast" else (lambda: ref.ppmi(sub))
    paired(benchmark, "ppmi() 1000x1000 PTB sub-matrix", impl, fn, rounds=3 if impl == "reference" else 20)


@pytest.mark.parametrize("impl", ["fast-dense", "fast-sparse"])
def test_ppmi_full_ptb(benchmark, paired, matrices, impl):
    dense, sparse, _ = matrices
    fn = (lambda: count.ppmi(dense)) if impl == "fast-dense" else (lambda: count.ppmi_sparse(sparse))
    paired(benchmark, "PPMI full PTB 10000x10000", impl, fn, rounds=5)


def test_ptb_to_vectors(benchmark, paired, corpus):
    ids, V = corpus
    paired(benchmark, "full PTB -> co-occurrence -> PPMI -> 100-dim SVD", "fast-end-to-end",
           lambda: count.count_vectors(ids, V, 2, 100), rounds=3)
