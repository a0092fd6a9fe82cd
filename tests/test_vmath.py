import numpy as np
from numba import njit

from fastseq.kernels.vmath import KERNEL, exp64_polynomial, fast_exp, fast_sigmoid, fast_tanh


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


def test_float32_exp_underflows_and_overflows_as_numpy():
    x = np.array([-1000, 1000, 0, -88, 89], np.float32)
    np.testing.assert_array_equal(run(x, 0), [0, np.inf, 1, 0, np.inf])
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(run(x, 1), 1 / (1 + np.exp(-x)), rtol=1e-6, atol=0)   # saturates as NumPy's
    assert run(x, 1)[0] == 0 and run(x, 1)[1] == 1
    np.testing.assert_array_equal(run(x, 2), [-1, 1, 0, -1, 1])
    with np.errstate(over="ignore"):
        assert np.array_equal(run(x, 0) == 0, np.exp(x) < 1e-37)


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


@njit(**KERNEL)
def _exp64_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp64_polynomial(x[i])


def test_float64_polynomial_exp_relative_error():
    """Compiled with the kernels' fastmath flags, as the kernels inline it."""
    near = np.linspace(-40, 0, 400001)
    out = np.empty_like(near)
    _exp64_all(near, out)
    assert np.abs(out / np.exp(near) - 1).max() < 2e-15
    wide = np.linspace(-700, 700, 400001)
    out = np.empty_like(wide)
    _exp64_all(wide, out)
    assert np.abs(out / np.exp(wide) - 1).max() < 1e-13
