import numpy as np
from numba import njit

from fastseq.kernels.vmath import fast_exp, fast_sigmoid, fast_tanh


@njit
def _apply(x, out, which):
    for i in range(x.shape[0]):
        if which == 0:
            out[i] = fast_exp(x[i])
        elif which == 1:
            out[i] = fast_sigmoid(x[i])
        else:
            out[i] = fast_tanh(x[i])


def run(x, which):
    out = np.empty_like(x)
    _apply(x, out, which)
    return out


def test_float32_exp_relative_error_small_over_whole_range():
    x = np.linspace(-87, 88, 200001, dtype=np.float32)
    rel = np.abs(run(x, 0).astype(np.float64) / np.exp(x.astype(np.float64)) - 1)
    assert rel.max() < 5e-7


def test_float32_exp_clamps_instead_of_overflowing():
    out = run(np.array([-1000, 1000, 0], np.float32), 0)
    assert 0 < out[0] < 2e-38 and np.isfinite(out[1]) and out[1] > 2e38 and out[2] == 1


def test_float32_sigmoid_tanh_close_to_numpy():
    x = np.linspace(-30, 30, 10001, dtype=np.float32)
    assert np.abs(run(x, 1) - 1 / (1 + np.exp(-x.astype(np.float64)))).max() < 3e-7
    assert np.abs(run(x, 2) - np.tanh(x.astype(np.float64))).max() < 3e-7


def test_nan_propagates():
    assert np.isnan(run(np.array([np.nan], np.float32), 0)[0])


def test_float64_uses_full_precision():
    x = np.linspace(-20, 20, 1001)
    np.testing.assert_allclose(run(x, 0), np.exp(x), rtol=1e-15)
    np.testing.assert_allclose(run(x, 2), np.tanh(x), rtol=1e-15, atol=1e-16)
