"""Counter-based random numbers for kernels: the value at position ``i`` depends only on
``(seed, i)``, so a parallel kernel gives the same stream whatever the thread count."""
import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def splitmix64(state):
    """SplitMix64 finaliser: a well-mixed uint64 from a uint64 counter."""
    z = state + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def uniform01(seed, i):
    """A float64 uniform on [0, 1) for counter ``i`` of stream ``seed`` (both uint64)."""
    bits = splitmix64(seed * np.uint64(0xD1B54A32D192ED03) + np.uint64(i))
    return np.float64(bits >> np.uint64(11)) * (1.0 / 9007199254740992.0)
