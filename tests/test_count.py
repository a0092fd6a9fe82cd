"""Count-based vectors: co-occurrence (dense, sparse), PPMI, truncated SVD, the count CLI."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from fastseq import cli, count
from fastseq.reference import count as ref
from fastseq.util import preprocess


def test_book_example_counts_and_ppmi():
    corpus, word_to_id, _ = preprocess("You say goodbye and I say hello.")
    C = count.create_co_matrix(corpus, len(word_to_id))
    assert C.dtype == np.int32
    np.testing.assert_array_equal(C, ref.create_co_matrix(corpus, len(word_to_id)))
    np.testing.assert_array_equal(C[word_to_id["say"]], [1, 0, 1, 0, 1, 1, 0])
    # by hand: N = 14, S(you) = 1, S(say) = 4: PPMI(you, say) = log2(1 * 14 / (1 * 4)) = 1.807
    M = count.ppmi(C)
    assert M.dtype == np.float32
    assert M[word_to_id["you"], word_to_id["say"]] == pytest.approx(np.log2(14 / 4), abs=1e-6)
    assert M[word_to_id["hello"], word_to_id["."]] == pytest.approx(np.log2(14 / 2), abs=1e-6)
    np.testing.assert_allclose(M, ref.ppmi(C), rtol=1e-6)
    np.testing.assert_allclose(count.ppmi_sparse(sp.csr_matrix(C)).toarray(), M, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=30), st.integers(0, 3), st.integers(1, 5))
def test_sparse_and_dense_counts_equal_the_book_loop(ids, extra_vocab, window):
    corpus = np.array(ids, dtype=np.int32)
    V = 7 + extra_vocab                       # vocab_size may exceed the ids in use
    expected = ref.create_co_matrix(corpus, V, window)
    np.testing.assert_array_equal(count.create_co_matrix(corpus, V, window), expected)
    C = count.co_occurrence(corpus.astype(np.int64), V, window)
    assert C.shape == (V, V) and C.has_sorted_indices
    np.testing.assert_array_equal(C.toarray(), expected)
    assert np.all(C.data > 0)


def test_window_past_both_ends_and_repeated_words():
    corpus = np.array([2, 2, 2])
    np.testing.assert_array_equal(count.co_occurrence(corpus, 3, window_size=10).toarray(),
                                  [[0, 0, 0], [0, 0, 0], [0, 0, 6]])


def test_left_right_and_harmonic_contexts(rng):
    corpus = rng.integers(0, 5, 40)
    left = count.co_occurrence(corpus, 5, 3, context="left").toarray()
    right = count.co_occurrence(corpus, 5, 3, context="right").toarray()
    np.testing.assert_array_equal(left + right, count.create_co_matrix(corpus, 5, 3))
    np.testing.assert_array_equal(left, right.T)
    expected = np.zeros((5, 5))
    for p, w in enumerate(corpus):
        for q in range(max(0, p - 3), min(len(corpus), p + 4)):
            if q != p:
                expected[w, corpus[q]] += 1 / abs(q - p)
    harmonic = count.co_occurrence(corpus, 5, 3, harmonic=True)
    assert harmonic.dtype == np.float32
    np.testing.assert_allclose(harmonic.toarray(), expected, rtol=1e-6)


def test_empty_corpus_gives_zeros():
    assert not count.create_co_matrix(np.array([], dtype=np.int32), 4).any()
    C = count.co_occurrence(np.array([], dtype=np.int64), 4)
    assert C.shape == (4, 4) and C.nnz == 0


@pytest.mark.parametrize("fn", [count.create_co_matrix, count.co_occurrence])
def test_bad_corpus_is_refused(fn):
    with pytest.raises(IndexError, match=f"{fn.__name__}: corpus holds id 5, outside \\[0, 5\\)"):
        fn(np.array([0, 5]), 5)
    with pytest.raises(IndexError, match="holds id -1"):
        fn(np.array([0, -1]), 5)
    with pytest.raises(TypeError, match="corpus must hold integer word ids"):
        fn(np.array([0.0, 1.0]), 5)
    with pytest.raises(ValueError, match="corpus must be a 1-D array"):
        fn(np.zeros((2, 2), dtype=np.int32), 5)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="window_size must be a positive integer"):
            fn(np.array([0, 1]), 5, bad)
    with pytest.raises(ValueError, match="vocab_size must be a positive integer"):
        fn(np.array([0, 1]), 0)


def test_ppmi_matches_reference_and_zero_rows_give_zeros(rng):
    C = rng.integers(0, 4, (6, 6)) * (rng.random((6, 6)) < 0.5)
    C = C + C.T
    C[2, :] = C[:, 2] = 0                  # a word that never occurs
    M = count.ppmi(C)
    assert np.isfinite(M).all() and not M[2].any() and not M[:, 2].any()
    np.testing.assert_allclose(M, ref.ppmi(C), rtol=1e-6)
    Ms = count.ppmi_sparse(sp.coo_matrix(C))
    np.testing.assert_allclose(Ms.toarray(), M, rtol=1e-6)
    assert np.all(Ms.data > 0)                      # zeros are not stored
    with pytest.raises(ValueError, match="ppmi: C holds a negative count"):
        count.ppmi(-np.ones((2, 2)))
    with pytest.raises(TypeError, match="ppmi_sparse: C must be a scipy sparse matrix"):
        count.ppmi_sparse(C)
    with pytest.raises(TypeError, match="ppmi: C must be a dense array"):
        count.ppmi(sp.csr_matrix(C))


def test_ppmi_sparse_smoothing_and_shift_by_hand():
    C = sp.csr_matrix(np.array([[0, 3, 1], [2, 0, 0], [1, 4, 0]]))
    N, rows, cols = 11.0, np.array([4, 2, 5]), np.array([3, 7, 1])
    alpha, shift = 0.75, 2.0
    smoothed = cols ** alpha / np.sum(cols ** alpha) * N
    M = count.ppmi_sparse(C, alpha=alpha, shift=shift, eps=0.0, dtype=np.float64).toarray()
    for i, j in zip(*C.nonzero()):
        expected = max(0.0, np.log2(C[i, j] * N / (rows[i] * smoothed[j])) - 1.0)
        assert M[i, j] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="alpha must be in"):
        count.ppmi_sparse(C, alpha=0)
    with pytest.raises(ValueError, match="shift must be >= 1"):
        count.ppmi_sparse(C, shift=0.5)


def test_truncated_svd_finds_the_top_singular_vectors(rng):
    A = rng.standard_normal((60, 8)) @ rng.standard_normal((8, 40))   # rank 8
    U, s, Vt = count.truncated_svd(sp.csr_matrix(A), 5, seed=3)
    s_exact = np.linalg.svd(A, compute_uv=False)[:5]
    np.testing.assert_allclose(s, s_exact, rtol=1e-8)
    np.testing.assert_allclose(U.T @ U, np.eye(5), atol=1e-10)
    np.testing.assert_allclose(U.T @ A, s[:, None] * Vt, atol=1e-8)
    U2, _, _ = count.truncated_svd(A, 5, seed=3)
    np.testing.assert_allclose(U2, U, atol=1e-10)         # dense and sparse, same seed, same vectors
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 40\]"):
        count.truncated_svd(A, 41)


def test_count_vectors_on_ptb_put_similar_words_together():
    from fastseq.datasets import ptb
    from fastseq.vectors import KeyedVectors
    corpus, word_to_id, id_to_word = ptb.load_data("train")
    U = count.count_vectors(corpus[:200000], len(word_to_id), window_size=2, dim=50, alpha=0.75)
    assert U.shape == (len(word_to_id), 50) and U.dtype == np.float32
    kv = KeyedVectors(U, id_to_word)
    assert kv.similarity("monday", "tuesday") > kv.similarity("monday", "stock") + 0.2


def test_count_cli_on_a_text_file(tmp_path, capsys):
    text = tmp_path / "tiny.txt"
    text.write_text("the cat sat on the mat . the dog sat on the log .\n" * 20)
    out = tmp_path / "run"
    assert cli.main(["count", "--corpus", str(text), "--dim", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "280 tokens, 8 words" in printed and "vectors.npz, vectors.txt" in printed
    from fastseq.vectors import KeyedVectors
    kv = KeyedVectors.load_word2vec_format(out / "vectors.txt")
    assert len(kv) == 8 and kv.vectors.shape == (8, 3)
    assert kv.most_similar("cat", 1)[0][0] in ("dog", "mat", "log")
    assert cli.main(["count", "--corpus", str(text), "--dim", "8", "--out", str(tmp_path / "b")]) == 1
    assert "dim must be an integer below the vocabulary size 8" in capsys.readouterr().err
    assert not any((tmp_path / "b").iterdir()) or sorted(p.name for p in (tmp_path / "b").iterdir()) == [".lock"]
