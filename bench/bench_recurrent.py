"""Recurrent path: TimeRNN/TimeLSTM/TimeGRU fwd+bwd, TimeSoftmaxWithLoss, TimeEmbedding backward
and one Rnnlm training iteration, fast vs reference (and PyTorch when installed).

Run as the trainer runs them: BLAS threaded, numba's elementwise kernels on one thread
(see fastseq/kernels/recurrent.py for why). The GEMM-only floor times the same matrix products alone.
"""
import numba
import numpy as np
import pytest
from numba import njit

from _floors import recurrent_products

import fastseq.layers.time_layers as F
import fastseq.reference.time_layers as R
from fastseq import models
from fastseq.kernels.recurrent import lstm_step_backward, lstm_step_forward
from fastseq.optimizers import SGD
from fastseq.reference import models as ref_models
from fastseq.reference.optimizers import SGD as RefSGD
from fastseq.reference.util import clip_grads as ref_clip
from fastseq.reference.util import remove_duplicate as ref_remove_duplicate
from fastseq.util import clip_grads, remove_duplicate


@pytest.fixture(autouse=True)
def serial_kernels():
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


BLOCKS = {"RNN": 1, "LSTM": 4, "GRU": 3}
CASES = [("LSTM", 100), ("LSTM", 650), ("RNN", 100), ("GRU", 100)]


def _inputs(cell, H, N=20, T=35):
    k = BLOCKS[cell]
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal(s) * 0.1).astype(np.float32) for s in [(H, k * H), (H, k * H), (k * H,)]]
    return params, rng.standard_normal((N, T, H)).astype(np.float32), rng.standard_normal((N, T, H)).astype(np.float32)


def _group(cell, H):
    return f"Time{cell} fwd+bwd N=20 T=35 D=H={H}"


@pytest.mark.parametrize("cell,H", CASES)
@pytest.mark.parametrize("impl,L", [("fast", F), ("reference", R)])
def test_time_recurrent(benchmark, paired, cell, H, impl, L):
    params, xs, dhs = _inputs(cell, H)
    layer = getattr(L, "Time" + cell)(*params)

    def step():
        layer.forward(xs)
        layer.backward(dhs)
    paired(benchmark, _group(cell, H), impl, step, rounds=10 if H == 650 else 30)


@pytest.mark.parametrize("cell,H", CASES)
def test_time_recurrent_gemm_floor(benchmark, paired, cell, H):
    """The same matrix products alone: input projection, T recurrent products forward and back,
    dWx, dWh, dxs (for GRU the recurrent product is split in two, the same flops)."""
    (Wx, _, _), _, _ = _inputs(cell, H)
    products = recurrent_products(35, 20, Wx.shape[0], H, blocks=Wx.shape[1] // H)
    paired(benchmark, _group(cell, H), "gemm-floor", products, rounds=10)


@njit(cache=True)
def _lstm_forward_loop(ax, Wh, h0, c0, hs, cs, gates, ah):
    h, c = h0, c0
    for t in range(ax.shape[0]):
        np.dot(h, Wh, ah)
        lstm_step_forward(ax[t], ah, c, gates[t], cs[t], hs[t])
        h, c = hs[t], cs[t]


@njit(cache=True)
def _lstm_backward_loop(dhs, WhT, c0, cs, gates, dA, dh, dc):
    for t in range(dhs.shape[0] - 1, -1, -1):
        dh += dhs[t]
        lstm_step_backward(dh, dc, gates[t], cs[t - 1] if t > 0 else c0, cs[t], dA[t])
        np.dot(dA[t], WhT, dh)


class CompiledLoopTimeLSTM(F.TimeLSTM):
    """The alternative design: the whole step loop compiled, np.dot inside @njit (SciPy's BLAS)."""

    def _steps_forward(self, ax, h0, c0):
        T, N, _ = ax.shape
        hs, cs = np.empty((2, T, N, h0.shape[1]), dtype=ax.dtype)
        gates, ah = np.empty_like(ax), np.empty_like(ax[0])
        _lstm_forward_loop(ax, self.params[1], h0, c0, hs, cs, gates, ah)
        return hs, cs, (c0, cs, gates)

    def _steps_backward(self, dhs, dh, dc, state, hs, h0, dA):
        c0, cs, gates = state
        _lstm_backward_loop(dhs, self.params[1].T, c0, cs, gates, dA, dh, dc)
        return dh


@pytest.mark.parametrize("H", [100, 650])
def test_time_lstm_compiled_loop(benchmark, paired, H):
    params, xs, dhs = _inputs("LSTM", H)
    layer = CompiledLoopTimeLSTM(*params)
    ref = F.TimeLSTM(*params)
    np.testing.assert_allclose(layer.forward(xs), ref.forward(xs), rtol=1e-5, atol=1e-6)

    def step():
        layer.forward(xs)
        layer.backward(dhs)
    paired(benchmark, _group("LSTM", H), "compiled-loop", step, rounds=10 if H == 650 else 30)


@pytest.mark.parametrize("cell,H", CASES)
def test_time_recurrent_pytorch(benchmark, paired, cell, H):
    """torch.nn.{RNN,LSTM,GRU} forward+backward on the same shapes (its GRU puts r after the
    recurrent product, the same cost). Skipped when PyTorch is not installed."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    _, xs, dhs = _inputs(cell, H)
    layer = getattr(torch.nn, cell)(H, H, batch_first=True)
    x = torch.from_numpy(xs).requires_grad_()
    d = torch.from_numpy(dhs)

    def step():
        out, _ = layer(x)
        out.backward(d)
    paired(benchmark, _group(cell, H), "pytorch", step, rounds=10 if H == 650 else 30)


@pytest.mark.parametrize("impl,L", [("fast", F), ("reference", R)])
def test_time_softmax_with_loss(benchmark, paired, impl, L):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((20, 35, 10000)).astype(np.float32)
    ts = rng.integers(0, 10000, (20, 35))
    layer = L.TimeSoftmaxWithLoss()

    def step():
        layer.forward(xs, ts)
        layer.backward()
    paired(benchmark, "TimeSoftmaxWithLoss fwd+bwd N*T=700 V=10000", impl, step)


@pytest.mark.parametrize("impl,L", [("fast", F), ("reference", R)])
def test_time_embedding_backward(benchmark, paired, impl, L):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((10000, 650)).astype(np.float32)
    xs = rng.integers(0, 10000, (20, 35))
    dout = rng.standard_normal((20, 35, 650)).astype(np.float32)
    layer = L.TimeEmbedding(W)
    layer.forward(xs)
    paired(benchmark, "TimeEmbedding backward V=10000 D=650 N=20 T=35", impl, lambda: layer.backward(dout))


LM_CASES = {"Rnnlm": dict(D=100, H=100, layers=1), "BetterRnnlm": dict(D=650, H=650, layers=2)}


def _lm_group(name):
    c = LM_CASES[name]
    return f"{name} iteration V=10000 D=H={c['H']} N=20 T=35"


def _lm_batch():
    rng = np.random.default_rng(0)
    return rng.integers(0, 10000, (20, 35)), rng.integers(0, 10000, (20, 35))


@pytest.mark.parametrize("name", list(LM_CASES))
@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_lm_iteration(benchmark, paired, name, impl):
    """forward, backward, weight-tying fold, clip 0.25, SGD: the training step of train-lm."""
    xs, ts = _lm_batch()
    np.random.seed(0)
    if impl == "fast":
        model, opt, clip, fold = getattr(models, name)(), SGD(20.0), clip_grads, remove_duplicate
    else:
        model, opt, clip, fold = getattr(ref_models, name)(), RefSGD(20.0), ref_clip, ref_remove_duplicate

    def iteration():
        model.forward(xs, ts)
        model.backward()
        params, grads = fold(model.params, model.grads)
        clip(grads, 0.25)
        opt.update(params, grads)
    paired(benchmark, _lm_group(name), impl, iteration, rounds=5 if name == "BetterRnnlm" else 20)


@pytest.mark.parametrize("name", list(LM_CASES))
def test_lm_iteration_gemm_floor(benchmark, paired, name):
    """The iteration's matrix products alone: per LSTM layer the input projection, T recurrent
    products forward and back, dWx, dWh, dx; the vocabulary affine forward, dW and dx."""
    c = LM_CASES[name]
    D, H, V, N, T = c["D"], c["H"], 10000, 20, 35
    lstm = recurrent_products(T, N, D, H)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((N * T, H)).astype(np.float32)
    W = rng.standard_normal((H, V)).astype(np.float32)
    dy = rng.standard_normal((N * T, V)).astype(np.float32)

    def products():
        for _ in range(c["layers"]):
            lstm()
        h @ W
        h.T @ dy
        dy @ W.T
    paired(benchmark, _lm_group(name), "gemm-floor", products, rounds=5 if name == "BetterRnnlm" else 20)


@pytest.mark.parametrize("name", list(LM_CASES))
def test_lm_iteration_pytorch(benchmark, paired, name):
    """The same architecture and step in PyTorch (nn.Embedding, nn.LSTM, nn.Linear, cross-entropy,
    clip_grad_norm_, SGD), state carried between iterations. Skipped without PyTorch."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    torch.manual_seed(0)
    c = LM_CASES[name]
    better = name == "BetterRnnlm"
    embed = torch.nn.Embedding(10000, c["D"])
    lstm = torch.nn.LSTM(c["D"], c["H"], num_layers=c["layers"], batch_first=True, dropout=0.5 if better else 0.0)
    affine = torch.nn.Linear(c["H"], 10000)
    if better:
        affine.weight = embed.weight                  # weight tying
    drop = torch.nn.Dropout(0.5 if better else 0.0)
    params = list({id(p): p for m in (embed, lstm, affine) for p in m.parameters()}.values())
    opt = torch.optim.SGD(params, lr=20.0)
    xs, ts = (torch.from_numpy(a) for a in _lm_batch())
    state = [None]

    def iteration():
        out, hc = lstm(drop(embed(xs)), state[0])
        state[0] = tuple(s.detach() for s in hc)
        loss = torch.nn.functional.cross_entropy(affine(drop(out)).reshape(-1, 10000), ts.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.25)
        opt.step()
    paired(benchmark, _lm_group(name), "pytorch", iteration, rounds=5 if name == "BetterRnnlm" else 20)
