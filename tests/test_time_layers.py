import numpy as np
import pytest

import fastseq.layers.time_layers as F
import fastseq.reference.time_layers as R
from fastseq.gradcheck import numerical_gradient, relative_error
from tests.conftest import tol


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
    with pytest.raises(IndexError, match=r"TimeSoftmaxWithLoss: ts holds id 7, outside \[0, 7\) \(or -1"):
        F.TimeSoftmaxWithLoss().forward(np.zeros((1, 2, 7), np.float32), np.array([[0, 7]]))
    with pytest.raises(IndexError, match="TimeEmbedding: xs holds id 10"):
        F.TimeEmbedding(np.zeros((10, 3), np.float32)).forward(np.array([[1, 10]]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_time_sigmoid_with_loss_matches_reference(rng, dtype):
    xs = (rng.standard_normal((4, 6)) * 3).astype(dtype)
    ts = rng.integers(0, 2, (4, 6))
    fast, ref = F.TimeSigmoidWithLoss(), R.TimeSigmoidWithLoss()
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(fast.forward(xs, ts), ref.forward(xs, ts), rtol=rtol, atol=atol)
    dx = fast.backward(2.0)
    assert dx.shape == xs.shape
    np.testing.assert_allclose(dx, ref.backward(2.0), rtol=rtol, atol=atol)
    with pytest.raises(ValueError, match="TimeSigmoidWithLoss: xs"):
        fast.forward(xs[0], ts[0])
    with pytest.raises(IndexError, match="TimeSigmoidWithLoss: ts"):
        fast.forward(xs, ts + 1)


def test_variational_dropout_reuses_one_mask_over_time():
    np.random.seed(1)
    xs = np.ones((30, 7, 50), np.float32)
    layer = F.TimeDropout(0.4, variational=True)
    y = layer.forward(xs)
    assert layer.mask.shape == (30, 1, 50)
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1], y.shape))   # same mask at every t
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.6)}
    assert abs((y[:, 0] == 0).mean() - 0.4) < 0.05
    dout = np.arange(30 * 7 * 50, dtype=np.float32).reshape(30, 7, 50)
    np.testing.assert_array_equal(layer.backward(dout), dout * y)
    with pytest.raises(ValueError, match="TimeDropout: dout must have shape"):
        layer.backward(dout[:, :, :10])
    np.random.seed(1)
    np.testing.assert_array_equal(F.TimeDropout(0.4, variational=True).forward(xs), y)   # seeded


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simple_time_layers_match_reference(rng, dtype):
    N, T, D, V = 3, 4, 5, 6
    xs = rng.standard_normal((N, T, V)).astype(dtype)
    ts = rng.integers(0, V, (N, T))
    fast, ref = F.Simple_TimeSoftmaxWithLoss(), R.Simple_TimeSoftmaxWithLoss()
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(fast.forward(xs, ts), ref.forward(xs, ts), rtol=rtol, atol=atol)
    np.testing.assert_allclose(fast.backward(2.0), ref.backward(2.0), rtol=rtol, atol=atol)
    W, b = rng.standard_normal((D, V)).astype(dtype), rng.standard_normal(V).astype(dtype)
    fast, ref = F.Simple_TimeAffine(W, b), R.Simple_TimeAffine(W, b)
    x, dout = rng.standard_normal((N, T, D)).astype(dtype), rng.standard_normal((N, T, V)).astype(dtype)
    assert fast.dW is None and fast.W is W
    np.testing.assert_allclose(fast.forward(x), ref.forward(x), rtol=rtol, atol=atol)
    np.testing.assert_allclose(fast.backward(dout), ref.backward(dout), rtol=rtol, atol=atol)
    np.testing.assert_allclose(fast.dW, ref.dW, rtol=rtol, atol=atol * 10)
    np.testing.assert_allclose(fast.db, ref.db, rtol=rtol, atol=atol * 10)


def test_time_dropout_mask_is_the_books_scaled_float32(rng):
    layer = F.TimeDropout(0.25)
    xs = rng.standard_normal((2, 3, 4)).astype(np.float32)
    ys = layer.forward(xs)
    assert layer.mask.dtype == np.float32 and set(np.unique(layer.mask)) <= {0.0, np.float32(1 / 0.75)}
    np.testing.assert_allclose(ys, xs * layer.mask, rtol=1e-6)
