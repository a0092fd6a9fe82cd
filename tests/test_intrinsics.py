"""The LLVM operations kernels use: prefetch_row changes nothing, fetch_add hands out each ticket once."""
import numpy as np
import pytest
from numba import njit, prange
from numba.core.errors import TypingError

from fastseq.kernels.intrinsics import fetch_add, prefetch_row


def test_prefetch_row_is_a_hint_only():
    @njit
    def touch_every_row(M):
        for i in range(M.shape[0]):
            prefetch_row(M, np.int32(i))
            prefetch_row(M, i)
        return M.sum()

    for M in (np.arange(15, dtype=np.float32).reshape(3, 5), np.arange(600.0).reshape(2, 300)):
        before = M.copy()
        assert touch_every_row(M) == before.sum()
        np.testing.assert_array_equal(M, before)

    @njit
    def on_a_vector(v):
        prefetch_row(v, 0)
    with pytest.raises(TypingError):
        on_a_vector(np.zeros(3))


def test_fetch_add_hands_out_every_ticket_exactly_once():
    @njit(parallel=True)
    def claim(counter, n):
        claimed = np.zeros(n, dtype=np.int64)
        for _ in prange(4):
            while True:
                k = fetch_add(counter, 0, 1)
                if k >= n:
                    break
                claimed[k] += 1
        return claimed

    counter = np.zeros(1, dtype=np.int64)
    claimed = claim(counter, 50_000)
    assert np.all(claimed == 1)
    assert counter[0] == 50_000 + 4                  # each worker's last, refused ticket

    @njit
    def on_floats(c):
        return fetch_add(c, 0, 1)
    with pytest.raises(TypingError):
        on_floats(np.zeros(1))
