"""Recurrent path: TimeLSTM fwd+bwd and one Rnnlm training iteration, fast vs reference.

Run as the trainer runs them: BLAS threaded, numba's elementwise kernels on one thread
(see fastseq/kernels/lstm.py for why). The GEMM-only floor times the same matrix products alone.
"""
import numba
import numpy as np
import pytest

import fastseq.layers.time_layers as F
import fastseq.reference.time_layers as R
from fastseq.models import Rnnlm
from fastseq.optimizers import SGD
from fastseq.reference.models import Rnnlm as RefRnnlm
from fastseq.reference.optimizers import SGD as RefSGD
from fastseq.reference.util import clip_grads as ref_clip
from fastseq.util import clip_grads


@pytest.fixture(autouse=True)
def serial_kernels():
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


def _lstm_inputs(H, N=20, T=35):
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal(s) * 0.1).astype(np.float32) for s in [(H, 4 * H), (H, 4 * H), (4 * H,)]]
    return params, rng.standard_normal((N, T, H)).astype(np.float32), rng.standard_normal((N, T, H)).astype(np.float32)


@pytest.mark.parametrize("H", [100, 650])
@pytest.mark.parametrize("impl,L", [("fast", F), ("reference", R)])
def test_time_lstm(benchmark, paired, H, impl, L):
    params, xs, dhs = _lstm_inputs(H)
    layer = L.TimeLSTM(*params)

    def step():
        layer.forward(xs)
        layer.backward(dhs)
    paired(benchmark, f"TimeLSTM fwd+bwd N=20 T=35 D=H={H}", impl, step, rounds=10 if H == 650 else 30)


@pytest.mark.parametrize("H", [100, 650])
def test_time_lstm_gemm_floor(benchmark, paired, H):
    (Wx, Wh, _), xs, _ = _lstm_inputs(H)
    N, T = 20, 35
    x2 = xs.reshape(N * T, H)
    h = np.ones((N, H), np.float32)
    dA = np.ones((N * T, 4 * H), np.float32)

    def products():
        x2 @ Wx
        for _ in range(T):
            h @ Wh
            dA[:N] @ Wh.T
        x2.T @ dA
        x2.T @ dA
        dA @ Wx.T
    paired(benchmark, f"TimeLSTM fwd+bwd N=20 T=35 D=H={H}", "gemm-floor", products, rounds=10)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_rnnlm_iteration(benchmark, paired, impl):
    rng = np.random.default_rng(0)
    xs, ts = rng.integers(0, 10000, (20, 35)), rng.integers(0, 10000, (20, 35))
    np.random.seed(0)
    model, opt, clip = (Rnnlm(), SGD(20.0), clip_grads) if impl == "fast" else (RefRnnlm(), RefSGD(20.0), ref_clip)

    def iteration():
        model.forward(xs, ts)
        model.backward()
        clip(model.grads, 0.25)
        opt.update(model.params, model.grads)
    paired(benchmark, "Rnnlm iteration V=10000 D=H=100 N=20 T=35", impl, iteration)
