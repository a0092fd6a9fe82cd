import numpy as np
from numba import njit

from fastseq.kernels.rng import splitmix64, uniform01


@njit
def _draw(seed, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform01(seed, i)
    return out


@njit
def _mix(x):
    return splitmix64(x)


def test_uniform01_is_uniform_and_keyed_by_seed_and_position():
    u = _draw(np.uint64(7), 200000)
    assert u.min() >= 0 and u.max() < 1
    counts = np.histogram(u, bins=20, range=(0, 1))[0]
    expected = len(u) / 20
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 43.8   # 99.9% point of chi-square with 19 degrees of freedom
    np.testing.assert_array_equal(u[:100], _draw(np.uint64(7), 100))
    assert not np.array_equal(u[:100], _draw(np.uint64(8), 100))


def test_splitmix64_mixes_neighbouring_counters():
    a, b = int(_mix(np.uint64(1))), int(_mix(np.uint64(2)))
    assert a != b and bin(a ^ b).count("1") > 16
