"""The book's count-based functions written plainly (the oracle for ``fastseq.count``)."""
import numpy as np


def create_co_matrix(corpus, vocab_size, window_size=1):
    """Dense (vocab_size, vocab_size) int32 co-occurrence counts, word by word."""
    corpus_size = len(corpus)
    co_matrix = np.zeros((vocab_size, vocab_size), dtype=np.int32)
    for idx, word_id in enumerate(corpus):
        for i in range(1, window_size + 1):
            left_idx = idx - i
            right_idx = idx + i
            if left_idx >= 0:
                co_matrix[word_id, corpus[left_idx]] += 1
            if right_idx < corpus_size:
                co_matrix[word_id, corpus[right_idx]] += 1
    return co_matrix


def ppmi(C, verbose=False, eps=1e-8):
    """Positive PMI, element by element, both marginals from the column sums."""
    M = np.zeros_like(C, dtype=np.float32)
    N = np.sum(C)
    S = np.sum(C, axis=0)
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            with np.errstate(divide="ignore", invalid="ignore"):
                pmi = np.log2(C[i, j] * N / (S[j] * S[i]) + eps)
            M[i, j] = max(0, pmi)
    return M
