"""Embedding backward: a race-free parallel scatter-add.

The rows of dW are split into one contiguous block per thread; every thread scans all ids and
adds only the rows it owns, in id order, so repeated ids accumulate exactly as ``np.add.at``
does and no two threads ever write the same row.
"""
from numba import prange

from fastseq.kernels.threads import parallel_kernel


@parallel_kernel(work=lambda idx, dout, dW, n_blocks: dW.size + dout.size)
def embedding_backward(idx, dout, dW, n_blocks):
    """dW[...] = 0, then dW[idx[n]] += dout[n] for n in order.

    idx (N,) int32/int64 in [0, V); dout (N, D) float; dW (V, D) float, C-contiguous;
    n_blocks: how many row blocks to split dW into (the thread count).
    """
    V = dW.shape[0]
    per_block = (V + n_blocks - 1) // n_blocks
    for b in prange(n_blocks):
        lo = b * per_block
        hi = min(V, lo + per_block)
        for r in range(lo, hi):
            for d in range(dW.shape[1]):
                dW[r, d] = 0
        for n in range(idx.shape[0]):
            r = idx[n]
            if lo <= r < hi:
                for d in range(dW.shape[1]):
                    dW[r, d] += dout[n, d]
