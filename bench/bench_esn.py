"""Echo state network: reservoir states (one sequence, T=1000) and the ridge readout's fit,
fast vs the pure NumPy/SciPy twin, and reservoirpy (0.4) with the same matrices when installed.
For the states, ``fast`` is the team of threads that splits each step's units (on numba's
threads) and ``one-thread`` the same layer inside ``fastseq.threads(1)``.
The issue's full sizes (T = 10,000; H up to 10,000) run in ``bench/esn_reservoirpy.py``."""
import numpy as np
import pytest

import _reservoirpy as rp
import fastseq
from fastseq.layers.reservoir import Ridge, TimeReservoir
from fastseq.reference import reservoir as ref

CASES = [(1000, 0.1), (1000, 0.01)]
T = 1000


def _layer(H, c):
    return TimeReservoir(1, H, connectivity=c, spectral_radius=1.25, leak=0.3, seed=0, stateful=False)


def _xs():
    return np.random.default_rng(0).uniform(-1, 1, (1, T, 1))


@pytest.mark.parametrize("H,c", CASES)
@pytest.mark.parametrize("impl", ["fast", "one-thread", "reference", "reservoirpy"])
def test_reservoir_states(benchmark, paired, impl, H, c):
    layer, xs = _layer(H, c), _xs()
    if impl == "fast":
        fn = lambda: layer.forward(xs)      # noqa: E731
    elif impl == "one-thread":
        def fn():
            with fastseq.threads(1):
                return layer.forward(xs)
    elif impl == "reference":
        fn = lambda: ref.reservoir_states(layer.W, layer.Win, layer.bias, layer.leak, xs)      # noqa: E731
    else:
        if rp.reservoirpy is None:
            pytest.skip("reservoirpy is not installed (an anchor only)")
        fn = lambda: rp.states(rp.reservoir_like(layer), xs[0])        # noqa: E731
    paired(benchmark, f"ESN states H={H} c={c} T={T} float64", impl, fn, rounds=5)


@pytest.mark.parametrize("impl", ["fast", "reference", "reservoirpy"])
def test_ridge_fit(benchmark, paired, impl):
    states = _layer(1000, 0.1).forward(_xs())[0]
    target = np.sin(np.arange(T, dtype=np.float64))[:, None]
    if impl == "fast":
        fn = lambda: Ridge(1e-6).fit(states, target)          # noqa: E731
    elif impl == "reference":
        fn = lambda: ref.ridge_fit(states, target, 1e-6)      # noqa: E731
    else:
        if rp.reservoirpy is None:
            pytest.skip("reservoirpy is not installed (an anchor only)")
        fn = lambda: rp.ridge(1e-6).fit(states, target)       # noqa: E731
    paired(benchmark, f"ridge fit {T}x1000", impl, fn, rounds=5)
