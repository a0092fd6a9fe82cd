"""The LLVM operations kernels use: prefetch_row changes nothing, fetch_add hands out each ticket once,
compare_exchange lets one thread claim each value, acquire loads see release stores, and a wait
round (its pause and, after long waits, sched_yield) returns."""
import numpy as np
import pytest
from numba import njit, prange
from numba.core.errors import TypingError

from fastseq.kernels.intrinsics import (compare_exchange, fetch_add, load_acquire, prefetch_row, store_release,
                                        wait_a_moment)


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


def test_compare_exchange_stores_only_over_the_expected_value():
    @njit
    def swap(c, index, expected, new):
        return compare_exchange(c, index, expected, new)

    c = np.array([5, 9], dtype=np.int64)
    assert swap(c, 1, 9, 10) and c.tolist() == [5, 10]
    assert not swap(c, 1, 9, 11) and c.tolist() == [5, 10]
    assert not swap(c, 0, 4, 0) and c.tolist() == [5, 10]


def test_compare_exchange_lets_one_thread_claim_each_value():
    @njit(parallel=True)
    def claim(counter, n):
        claimed = np.zeros(n, dtype=np.int64)
        for _ in prange(4):
            rounds = 0
            while True:
                k = load_acquire(counter, 0)
                if k >= n:
                    break
                if compare_exchange(counter, 0, k, k + 1):
                    claimed[k] += 1
                else:
                    wait_a_moment(rounds)
                    rounds += 1
        return claimed

    counter = np.zeros(1, dtype=np.int64)
    assert np.all(claim(counter, 50_000) == 1)
    assert counter[0] == 50_000


def test_release_stores_publish_what_was_written_before_them():
    @njit(parallel=True)
    def hand_over(data, flags, n):
        for me in prange(2):
            for i in range(n):
                if me == 0:
                    data[i] = i + 1
                    store_release(flags, 0, i + 1)
                else:
                    rounds = 0
                    while load_acquire(flags, 0) <= i:     # the writer may never run concurrently:
                        wait_a_moment(rounds)               # then the reader starts after it
                        rounds += 1
                    if data[i] != i + 1:
                        flags[1] += 1                       # an unpublished value seen
        return flags

    flags = hand_over(np.zeros(20_000), np.zeros(2, dtype=np.int64), 20_000)
    assert flags.tolist() == [20_000, 0]


def test_a_wait_round_returns_early_and_late():
    @njit
    def wait(rounds):
        for r in range(rounds):
            wait_a_moment(r)
        return rounds

    assert wait(3000) == 3000              # past round 1,024 it also yields the core
