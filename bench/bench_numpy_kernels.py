"""``fastseq.numpy_kernels`` against the kernels they stand in for, on the start-up credit's
kinds and shapes (the book's chapter-7 generation: one row of 650 hidden units, a softmax over
10,000 words; a training batch of 20 rows). The "reference" column is the NumPy version; a
ratio below 1 means NumPy was faster. Per-element costs: (numpy - fast) / elements."""
import numpy as np
import pytest

from fastseq import kernels, numpy_kernels

rng = np.random.default_rng(0)
DTYPES = [np.float32, np.float64]
IMPLS = ["fast", "reference"]


def _impl(module, name, impl):
    return getattr(getattr(kernels, module) if impl == "fast" else numpy_kernels, name)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [1, 20])
def test_softmax_rows(benchmark, paired, impl, dtype, rows):
    x = rng.standard_normal((rows, 10000)).astype(dtype)
    y = np.empty_like(x)
    fn = _impl("softmax", "softmax_forward", impl)
    paired(benchmark, f"softmax {rows}x10000 {np.dtype(dtype).name} (ref: NumPy)", impl, lambda: fn(x, y),
           rounds=200)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,H", [(1, 650), (20, 100)])
def test_lstm_step(benchmark, paired, impl, dtype, N, H):
    ax, ah = (rng.standard_normal((N, 4 * H)).astype(dtype) for _ in range(2))
    c_prev, dh = (rng.standard_normal((N, H)).astype(dtype) for _ in range(2))
    gates, dA = np.empty_like(ax), np.empty_like(ax)
    c_next, h_next, dc = np.empty_like(c_prev), np.empty_like(c_prev), np.empty_like(c_prev)
    forward, backward = (_impl("recurrent", name, impl) for name in ("lstm_step_forward", "lstm_step_backward"))

    def step():
        forward(ax, ah, c_prev, gates, c_next, h_next)
        dc[:] = dh
        backward(dh, dc, gates, c_prev, c_next, dA)
    paired(benchmark, f"LSTM step fwd+bwd N={N} H={H} {np.dtype(dtype).name} (ref: NumPy)", impl, step,
           rounds=200)
