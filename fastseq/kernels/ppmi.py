"""Positive pointwise mutual information, dense and on CSR nonzeros.

PMI(w, c) = log2(C[w, c] * N / (S_w * S_c) + eps); PPMI = max(0, PMI - log2(shift)). A zero
count gives 0 (log2(eps) < 0), and so does a zero marginal (no NaN or inf from 0/0 or x/0).
Arithmetic in float64, output in the output array's dtype; rows run in parallel.
"""
import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _ppmi(count, N, s_w, s_c, eps, log_shift):
    if count == 0:
        return 0.0
    denom = s_w * s_c
    if denom <= 0:
        return 0.0
    return max(0.0, np.log2(count * N / denom + eps) - log_shift)


@njit(cache=True, parallel=True)
def ppmi_dense(C, N, row_marginal, col_marginal, eps, log_shift, M):
    """M[i, j] = PPMI of C[i, j] (C (R, K) counts, M (R, K) float), marginals float64."""
    for i in prange(C.shape[0]):
        s_w = row_marginal[i]
        for j in range(C.shape[1]):
            M[i, j] = _ppmi(np.float64(C[i, j]), N, s_w, col_marginal[j], eps, log_shift)


@njit(cache=True, parallel=True)
def ppmi_csr(indptr, indices, data, N, row_marginal, col_marginal, eps, log_shift, out):
    """out[k] = PPMI of the k-th stored count of a CSR matrix (out (nnz,) float)."""
    for i in prange(indptr.shape[0] - 1):
        s_w = row_marginal[i]
        for k in range(indptr[i], indptr[i + 1]):
            out[k] = _ppmi(np.float64(data[k]), N, s_w, col_marginal[indices[k]], eps, log_shift)
