import numpy as np
import pytest

import fastseq.layers.time_layers as F
import fastseq.reference.time_layers as R
from fastseq.gradcheck import numerical_gradient, relative_error
from tests.conftest import tol


def _lstm_params(rng, D, H, dtype, scale=0.5):
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in [(D, 4 * H), (H, 4 * H), (4 * H,)]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,T", [(3, 5), (1, 1), (2, 1)])
def test_time_lstm_matches_reference_over_stateful_calls(rng, dtype, N, T):
    D, H = 4, 6
    params = _lstm_params(rng, D, H, dtype)
    fast, ref = F.TimeLSTM(*params, stateful=True), R.TimeLSTM(*params, stateful=True)
    rtol, atol = tol(dtype)
    atol = max(atol, 1e-6 if dtype == np.float32 else 1e-12)
    for _ in range(3):
        xs = rng.standard_normal((N, T, D)).astype(dtype)
        dhs = rng.standard_normal((N, T, H)).astype(dtype)
        np.testing.assert_allclose(fast.forward(xs), ref.forward(xs), rtol=rtol, atol=atol)
        np.testing.assert_allclose(fast.h, ref.h, rtol=rtol, atol=atol)
        np.testing.assert_allclose(fast.c, ref.c, rtol=rtol, atol=atol)
        np.testing.assert_allclose(fast.backward(dhs), ref.backward(dhs), rtol=rtol, atol=atol)
        np.testing.assert_allclose(fast.dh, ref.dh, rtol=rtol, atol=atol)
        for gf, gr in zip(fast.grads, ref.grads):
            np.testing.assert_allclose(gf, gr, rtol=rtol, atol=atol)


def test_time_lstm_non_contiguous_input_and_reset(rng):
    params = _lstm_params(rng, 4, 5, np.float32)
    big = rng.standard_normal((3, 6, 8)).astype(np.float32)
    xs = big[:, ::2, ::2]   # strided view
    fast, ref = F.TimeLSTM(*params, stateful=True), R.TimeLSTM(*params, stateful=True)
    np.testing.assert_allclose(fast.forward(xs), ref.forward(np.ascontiguousarray(xs)), rtol=1e-5, atol=1e-6)
    fast.reset_state()
    assert fast.h is None and fast.c is None


def test_time_lstm_gradients_match_finite_differences(rng):
    D, H, N, T = 3, 4, 2, 3
    params = _lstm_params(rng, D, H, np.float64)
    layer = F.TimeLSTM(*params)
    xs = rng.standard_normal((N, T, D))
    G = rng.standard_normal((N, T, H))

    def f():
        return float(np.sum(layer.forward(xs) * G))

    layer.forward(xs)
    dxs = layer.backward(G)
    grads = [g.copy() for g in layer.grads]
    assert relative_error(dxs, numerical_gradient(f, xs)) < 1e-7
    for p, g in zip(layer.params, grads):
        assert relative_error(g, numerical_gradient(f, p)) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_time_embedding_affine_softmax_match_reference(rng, dtype):
    N, T, D, V = 3, 4, 5, 7
    W = rng.standard_normal((V, D)).astype(dtype)
    xs = rng.integers(0, 3, (N, T))           # repeated ids
    dout = rng.standard_normal((N, T, D)).astype(dtype)
    fe, re = F.TimeEmbedding(W), R.TimeEmbedding(W)
    np.testing.assert_array_equal(fe.forward(xs), re.forward(xs))
    fe.backward(dout)
    re.backward(dout)
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(fe.grads[0], re.grads[0], rtol=rtol, atol=atol)

    b = rng.standard_normal(V).astype(dtype)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    fa, ra = F.TimeAffine(W.T, b), R.TimeAffine(W.T, b)   # weight tying: transposed view
    np.testing.assert_allclose(fa.forward(x), ra.forward(x), rtol=rtol, atol=atol)
    d = rng.standard_normal((N, T, V)).astype(dtype)
    np.testing.assert_allclose(fa.backward(d), ra.backward(d), rtol=rtol, atol=atol)
    for gf, gr in zip(fa.grads, ra.grads):
        np.testing.assert_allclose(gf, gr, rtol=rtol, atol=atol)

    scores = (rng.standard_normal((N, T, V)) * 3).astype(dtype)
    ts = rng.integers(0, V, (N, T))
    ts[0, 1] = ts[2, 3] = -1
    for labels in (ts, None):
        fs, rs = F.TimeSoftmaxWithLoss(), R.TimeSoftmaxWithLoss()
        t_in = ts if labels is not None else np.eye(V, dtype=np.int32)[np.where(ts < 0, 0, ts)]
        np.testing.assert_allclose(fs.forward(scores, t_in), rs.forward(scores, t_in), rtol=rtol, atol=atol)
        dx = fs.backward(0.5)
        np.testing.assert_allclose(dx, rs.backward(0.5), rtol=rtol, atol=atol)


def test_ignored_positions_get_zero_gradient(rng):
    scores = rng.standard_normal((2, 3, 5))
    ts = np.array([[1, -1, 2], [-1, -1, 0]])
    layer = F.TimeSoftmaxWithLoss()
    layer.forward(scores, ts)
    dx = layer.backward()
    assert np.all(dx[ts == -1] == 0)
    num = numerical_gradient(lambda: layer.forward(scores, ts), scores)
    assert relative_error(dx, num) < 1e-7


def test_time_dropout_is_inverted_and_identity_at_test(rng):
    np.random.seed(0)
    xs = np.ones((20, 30, 40), np.float32)
    layer = F.TimeDropout(0.25)
    y = layer.forward(xs)
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs(y.mean() - 1) < 0.03
    np.testing.assert_array_equal(layer.backward(xs), y)
    layer.train_flg = False
    assert layer.forward(xs) is xs


def test_time_layer_bad_inputs(rng):
    params = _lstm_params(rng, 4, 5, np.float32)
    lstm = F.TimeLSTM(*params, stateful=True)
    with pytest.raises(ValueError, match=r"TimeLSTM: xs must have shape \(N, T, 4\)"):
        lstm.forward(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(TypeError, match="TimeLSTM: xs must be a float array"):
        lstm.forward(np.zeros((2, 3, 4), np.int64))
    bad = np.zeros((2, 3, 4), np.float32)
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="TimeLSTM: xs contains NaN"):
        lstm.forward(bad)
    with pytest.raises(ValueError, match=r"set_state: h must have shape \(N, 5\)"):
        lstm.set_state(np.zeros((2, 4)))
    lstm.forward(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="call reset_state"):
        lstm.forward(np.zeros((3, 3, 4), np.float32))
    with pytest.raises(IndexError, match=r"TimeSoftmaxWithLoss: ts holds id 7, outside \[0, 7\) \(or -1"):
        F.TimeSoftmaxWithLoss().forward(np.zeros((1, 2, 7), np.float32), np.array([[0, 7]]))
    with pytest.raises(IndexError, match="TimeEmbedding: xs holds id 10"):
        F.TimeEmbedding(np.zeros((10, 3), np.float32)).forward(np.array([[1, 10]]))
