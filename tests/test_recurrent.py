"""RNN, LSTM, GRU (single step and Time*) and TimeBiLSTM: fast == reference, finite
differences, state handling and bad input."""
import numpy as np
import pytest

import fastseq.layers.time_layers as F
import fastseq.reference.time_layers as R
from fastseq import numpy_kernels
from fastseq.gradcheck import numerical_gradient, relative_error
from tests.conftest import tol

BLOCKS = {"RNN": 1, "LSTM": 4, "GRU": 3}


@pytest.fixture(params=["numpy", "kernels"])
def step_engine(request, monkeypatch):
    """Which engine runs the time steps: NumPy (``fastseq.numpy_kernels``, which serves these
    tests' small layers) or the kernels (every call, with ``MAX_SIZE`` 0)."""
    if request.param == "kernels":
        monkeypatch.setattr(numpy_kernels, "MAX_SIZE", 0)
    return request.param


def _params(rng, cell, D, H, dtype, scale=0.5):
    k = BLOCKS[cell]
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in [(D, k * H), (H, k * H), (k * H,)]]


def _close(a, b, dtype):
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=max(atol, 1e-6 if dtype == np.float32 else 1e-12))


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,T", [(3, 5), (1, 1), (2, 1), (16, 5)])
def test_time_layer_matches_reference_over_stateful_calls(rng, cell, dtype, N, T, step_engine):
    """(16, 5) runs the backward loop's products from a contiguous copy of Wh.T (``_step_operand``)."""
    D, H = 4, 6
    params = _params(rng, cell, D, H, dtype)
    fast, ref = getattr(F, "Time" + cell)(*params, stateful=True), getattr(R, "Time" + cell)(*params, stateful=True)
    for _ in range(3):
        xs = rng.standard_normal((N, T, D)).astype(dtype)
        dhs = rng.standard_normal((N, T, H)).astype(dtype)
        _close(fast.forward(xs), ref.forward(xs), dtype)
        _close(fast.h, ref.h, dtype)
        if cell == "LSTM":
            _close(fast.c, ref.c, dtype)
        _close(fast.backward(dhs), ref.backward(dhs), dtype)
        _close(fast.dh, ref.dh, dtype)
        for gf, gr in zip(fast.grads, ref.grads):
            _close(gf, gr, dtype)


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_single_step_layer_matches_reference(rng, cell, step_engine):
    N, D, H = 3, 4, 5
    params = _params(rng, cell, D, H, np.float64)
    fast, ref = getattr(F, cell)(*params), getattr(R, cell)(*params)
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    if cell == "LSTM":
        for a, b in zip(fast.forward(x, h, c), ref.forward(x, h, c)):
            _close(a, b, np.float64)
        outs = fast.backward(dh, dc), ref.backward(dh, dc)
    else:
        _close(fast.forward(x, h), ref.forward(x, h), np.float64)
        outs = fast.backward(dh), ref.backward(dh)
    assert len(outs[0]) == len(outs[1])
    for a, b in zip(*outs):
        _close(a, b, np.float64)
    for gf, gr in zip(fast.grads, ref.grads):
        _close(gf, gr, np.float64)


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_time_layer_gradients_match_finite_differences(rng, cell, step_engine):
    D, H, N, T = 3, 4, 2, 3
    params = _params(rng, cell, D, H, np.float64)
    layer = getattr(F, "Time" + cell)(*params, stateful=True)
    xs = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    G = rng.standard_normal((N, T, H))

    def f():
        layer.set_state(h0, np.zeros((N, H)) if cell == "LSTM" else None)
        return float(np.sum(layer.forward(xs) * G))

    f()
    dxs = layer.backward(G)
    grads, dh0 = [g.copy() for g in layer.grads], layer.dh.copy()
    assert relative_error(dxs, numerical_gradient(f, xs)) < 1e-7
    assert relative_error(dh0, numerical_gradient(f, h0)) < 1e-7
    for p, g in zip(layer.params, grads):
        assert relative_error(g, numerical_gradient(f, p)) < 1e-7


def test_single_step_lstm_gradients_reach_the_cell_state(rng, step_engine):
    N, D, H = 2, 3, 4
    layer = F.LSTM(*_params(rng, "LSTM", D, H, np.float64))
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Gh, Gc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def f():
        h_next, c_next = layer.forward(x, h, c)
        return float(np.sum(h_next * Gh) + np.sum(c_next * Gc))

    f()
    dx, dh, dc = layer.backward(Gh, Gc)
    for analytic, arg in ((dx, x), (dh, h), (dc, c)):
        assert relative_error(analytic, numerical_gradient(f, arg)) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_time_bilstm_matches_reference(rng, dtype, step_engine):
    N, T, D, H = 2, 5, 3, 4
    params = _params(rng, "LSTM", D, H, dtype) + _params(rng, "LSTM", D, H, dtype)
    fast, ref = F.TimeBiLSTM(*params), R.TimeBiLSTM(*params)
    xs = rng.standard_normal((N, T, D)).astype(dtype)
    dhs = rng.standard_normal((N, T, 2 * H)).astype(dtype)
    out = fast.forward(xs)
    assert out.shape == (N, T, 2 * H)
    _close(out, ref.forward(xs), dtype)
    _close(fast.backward(dhs), ref.backward(dhs), dtype)
    assert len(fast.grads) == 6
    for gf, gr in zip(fast.grads, ref.grads):
        _close(gf, gr, dtype)
    # the second half of the output at t=0 has seen the whole sequence: changing the last input moves it
    xs2 = xs.copy()
    xs2[:, -1] += 1
    moved = fast.forward(xs2)
    assert not np.allclose(moved[:, 0, H:], out[:, 0, H:]) and np.allclose(moved[:, 0, :H], out[:, 0, :H])


def test_non_contiguous_input_and_reset(rng):
    params = _params(rng, "GRU", 4, 5, np.float32)
    xs = rng.standard_normal((3, 6, 8)).astype(np.float32)[:, ::2, ::2]   # strided view
    fast, ref = F.TimeGRU(*params, stateful=True), R.TimeGRU(*params, stateful=True)
    _close(fast.forward(xs), ref.forward(np.ascontiguousarray(xs)), np.float32)
    fast.reset_state()
    assert fast.h is None


def test_float64_input_is_cast_to_the_weights_dtype(rng):
    layer = F.TimeLSTM(*_params(rng, "LSTM", 3, 4, np.float32))
    assert layer.forward(rng.standard_normal((2, 3, 3))).dtype == np.float32


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_bad_input_names_layer_and_argument(rng, cell):
    name = "Time" + cell
    layer = getattr(F, name)(*_params(rng, cell, 4, 5, np.float32), stateful=True)
    with pytest.raises(ValueError, match=rf"{name}: xs must have shape \(N, T, 4\)"):
        layer.forward(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=rf"{name}: xs must have shape"):
        layer.forward(np.zeros((2, 4), np.float32))
    with pytest.raises(TypeError, match=f"{name}: xs must be a float array"):
        layer.forward(np.zeros((2, 3, 4), np.int64))
    with pytest.raises(TypeError, match=f"{name}: xs must be a float array"):
        layer.forward(np.zeros((2, 3, 4), np.complex64))
    bad = np.zeros((2, 3, 4), np.float32)
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=f"{name}: xs contains NaN"):
        layer.forward(bad)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"set_state: h must have shape \(N, 5\)"):
        layer.set_state(np.zeros((2, 4)))
    layer.forward(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=rf"{name}: dhs must have shape \(2, 3, 5\)"):
        layer.backward(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="call reset_state"):
        layer.forward(np.zeros((3, 3, 4), np.float32))
    with pytest.raises(ValueError, match=f"{name}: Wh must be a float array of shape"):
        k = BLOCKS[cell]
        getattr(F, name)(np.zeros((4, 5 * k), np.float32), np.zeros((5, 7), np.float32), np.zeros(5 * k, np.float32))
    step = getattr(F, cell)(*_params(rng, cell, 4, 5, np.float32))
    with pytest.raises(ValueError, match=rf"{cell}: h_prev must have shape \(2, 5\)"):
        step.forward(np.zeros((2, 4), np.float32), np.zeros((3, 5), np.float32), *(
            [np.zeros((2, 5), np.float32)] if cell == "LSTM" else []))


def test_cache_holds_only_what_backward_needs(rng):
    N, T, D, H = 2, 3, 4, 5
    layer = F.TimeLSTM(*_params(rng, "LSTM", D, H, np.float32))
    assert layer.cache_bytes == 0
    layer.forward(rng.standard_normal((N, T, D)).astype(np.float32))
    # xs, h0, c0, hs, cs and the activated gates, float32
    assert layer.cache_bytes == 4 * (N * T * D + 2 * N * H + 2 * N * T * H + N * T * 4 * H)


def test_bias_free_gru_of_the_korean_edition(rng):
    """GRU(Wx, Wh) and TimeGRU(Wx, Wh, stateful) without b: equal to the reference, finite
    differences, and the book's dWx / dWh attributes."""
    D, H, N, T = 3, 4, 2, 3
    Wx, Wh = (rng.standard_normal(s) * 0.5 for s in [(D, 3 * H), (H, 3 * H)])
    fast, ref = F.TimeGRU(Wx, Wh, True), R.TimeGRU(Wx, Wh, True)
    assert fast.stateful and len(fast.params) == len(fast.grads) == 2 and fast.dWx is None
    for _ in range(2):
        xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
        _close(fast.forward(xs), ref.forward(xs), np.float64)
        _close(fast.backward(dhs), ref.backward(dhs), np.float64)
        _close(fast.dWx, ref.dWx, np.float64)
        _close(fast.dWh, ref.dWh, np.float64)
        assert fast.dWx is fast.grads[0] and fast.dWh is fast.grads[1]
    xs, h0, G = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))

    def f():
        fast.set_state(h0)
        return float(np.sum(fast.forward(xs) * G))

    f()
    fast.backward(G)
    for p, g in zip(fast.params, [g.copy() for g in fast.grads]):
        assert relative_error(g, numerical_gradient(f, p)) < 1e-7
    step, step_ref = F.GRU(Wx, Wh), R.GRU(Wx, Wh)
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    _close(step.forward(x, h), step_ref.forward(x, h), np.float64)
    for a, b in zip(step.backward(h), step_ref.backward(h)):
        _close(a, b, np.float64)
    _close(step.dWx, step_ref.dWx, np.float64)


def test_gru_with_bias_keeps_the_original_call(rng):
    params = _params(rng, "GRU", 3, 4, np.float64)
    layer = F.TimeGRU(*params, stateful=True)
    assert layer.stateful and len(layer.params) == 3 and layer.params[2] is params[2]
    with pytest.raises(TypeError, match="stateful given twice"):
        F.TimeGRU(params[0], params[1], True, True)
