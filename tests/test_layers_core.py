import numpy as np
import pytest

import fastseq.layers as F
import fastseq.reference.layers as R
from fastseq.gradcheck import numerical_gradient, relative_error
from tests.conftest import tol

DTYPES = [np.float32, np.float64]


def assert_close(a, b, dtype):
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_affine_match_reference(rng, dtype):
    W = rng.standard_normal((6, 4)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    x = rng.standard_normal((5, 6)).astype(dtype)
    dout = rng.standard_normal((5, 4)).astype(dtype)
    for fast, ref in ((F.MatMul(W), R.MatMul(W)), (F.Affine(W, b), R.Affine(W, b))):
        assert fast.params[0] is W
        grads_before = [g for g in fast.grads]
        assert_close(fast.forward(x), ref.forward(x), dtype)
        assert_close(fast.backward(dout), ref.backward(dout), dtype)
        for gf, gr, g0 in zip(fast.grads, ref.grads, grads_before):
            assert gf is g0
            assert_close(gf, gr, dtype)


def test_matmul_accepts_one_hot_ints(rng):
    W = rng.standard_normal((5, 3)).astype(np.float32)
    x = np.eye(5, dtype=np.int32)[[0, 3]]
    np.testing.assert_allclose(F.MatMul(W).forward(x), W[[0, 3]], rtol=1e-6)


def test_matmul_works_with_transposed_weight(rng):
    E = rng.standard_normal((4, 6))
    x = rng.standard_normal((3, 6))
    fast, ref = F.MatMul(E.T), R.MatMul(E.T)
    assert_close(fast.forward(x), ref.forward(x), np.float64)
    dout = rng.standard_normal((3, 4))
    assert_close(fast.backward(dout), ref.backward(dout), np.float64)
    assert_close(fast.grads[0], ref.grads[0], np.float64)


# Row counts on either side of numpy_kernels.MAX_SIZE (elements): NumPy serves the first, the kernels the second.
SMALL_AND_KERNEL_ROWS = [7, 150]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("one_hot", [False, True])
@pytest.mark.parametrize("rows", SMALL_AND_KERNEL_ROWS)
def test_softmax_with_loss_matches_reference(rng, dtype, one_hot, rows):
    x = (rng.standard_normal((rows, 11)) * 5).astype(dtype)
    t = rng.integers(0, 11, rows)
    tt = np.eye(11, dtype=np.int32)[t] if one_hot else t
    fast, ref = F.SoftmaxWithLoss(), R.SoftmaxWithLoss()
    assert_close(fast.forward(x, tt), ref.forward(x, tt), dtype)
    assert_close(fast.y, ref.y, dtype)
    assert_close(fast.backward(2.0), ref.backward(2.0), dtype)


def test_softmax_with_loss_is_stable_on_huge_scores():
    x = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    layer = F.SoftmaxWithLoss()
    assert layer.forward(x, np.array([0])) == pytest.approx(-np.log(1 + 1e-7), abs=1e-6)
    assert np.all(np.isfinite(layer.backward()))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", SMALL_AND_KERNEL_ROWS)
def test_softmax_layer_matches_reference_any_rank(rng, dtype, rows):
    x = rng.standard_normal((2, rows, 9)).astype(dtype)
    dout = rng.standard_normal((2, rows, 9)).astype(dtype)
    fast, ref = F.Softmax(), R.Softmax()
    assert_close(fast.forward(x), ref.forward(x), dtype)
    assert_close(fast.backward(dout), ref.backward(dout), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", SMALL_AND_KERNEL_ROWS)
def test_sigmoid_layers_match_reference(rng, dtype, rows):
    x = (rng.standard_normal((rows, 9)) * 3).astype(dtype)
    dout = rng.standard_normal((rows, 9)).astype(dtype)
    fast, ref = F.Sigmoid(), R.Sigmoid()
    assert_close(fast.forward(x), ref.forward(x), dtype)
    assert_close(fast.backward(dout), ref.backward(dout), dtype)
    s = x[:, 0].copy()
    t = rng.integers(0, 2, rows)
    fast, ref = F.SigmoidWithLoss(), R.SigmoidWithLoss()
    assert_close(fast.forward(s, t), ref.forward(s, t), dtype)
    assert_close(fast.backward(1.5), ref.backward(1.5), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_matches_np_add_at_with_repeats(rng, dtype):
    W = rng.standard_normal((50, 8)).astype(dtype)
    for idx_dtype in (np.int32, np.int64):
        idx = rng.integers(0, 5, size=300).astype(idx_dtype)   # many repeats
        dout = rng.standard_normal((300, 8)).astype(dtype)
        fast, ref = F.Embedding(W), R.Embedding(W)
        np.testing.assert_array_equal(fast.forward(idx), ref.forward(idx))
        fast.grads[0][...] = 7  # stale values must be cleared
        assert fast.backward(dout) is None
        ref.backward(dout)
        np.testing.assert_array_equal(fast.grads[0], ref.grads[0])


def test_dropout_train_and_test_modes(rng):
    np.random.seed(3)
    x = rng.standard_normal((200, 50)).astype(np.float32)
    layer = F.Dropout(0.3)
    y = layer.forward(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x * layer.mask)
    assert abs(layer.mask.mean() - 0.7) < 0.02
    dout = rng.standard_normal(x.shape).astype(np.float32)
    np.testing.assert_array_equal(layer.backward(dout), dout * layer.mask)
    np.testing.assert_allclose(layer.forward(x, train_flg=False), x * 0.7, rtol=1e-6)
    np.random.seed(3)
    np.testing.assert_array_equal(F.Dropout(0.3).forward(x), y)  # reproducible via np.random.seed


def _loss_and_grads(layer_fn, x, G):
    """Scalar loss sum(forward(x) * G) and its analytic gradient w.r.t. x and params."""
    layer = layer_fn()
    layer.forward(x)
    dx = layer.backward(G)
    return layer, dx


@pytest.mark.parametrize("make", [
    lambda rng: F.Affine(rng.standard_normal((4, 3)), rng.standard_normal(3)),
    lambda rng: F.MatMul(rng.standard_normal((4, 3))),
    lambda rng: F.Sigmoid(),
    lambda rng: F.Softmax(),
])
def test_layer_gradients_match_finite_differences(rng, make):
    layer = make(rng)
    x = rng.standard_normal((5, 4))
    out_shape = layer.forward(x).shape
    G = rng.standard_normal(out_shape)

    def f():
        return float(np.sum(layer.forward(x) * G))

    layer.forward(x)
    dx = layer.backward(G)
    assert relative_error(dx, numerical_gradient(f, x)) < 1e-7
    for p, g in zip(layer.params, [g.copy() for g in layer.grads]):
        assert relative_error(g, numerical_gradient(f, p)) < 1e-7


@pytest.mark.parametrize("layer_cls,labels", [(F.SoftmaxWithLoss, 6), (F.SigmoidWithLoss, 2)])
def test_loss_gradients_match_finite_differences(rng, layer_cls, labels):
    layer = layer_cls()
    x = rng.standard_normal((5, 6)) if labels == 6 else rng.standard_normal(5)
    t = rng.integers(0, labels, 5)
    layer.forward(x, t)
    dx = layer.backward()
    num = numerical_gradient(lambda: layer.forward(x, t), x)
    assert relative_error(dx, num) < 1e-6


def test_bad_inputs_raise_clear_errors(rng):
    W = rng.standard_normal((4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"Affine: x must have shape \(N, 4\)"):
        F.Affine(W, np.zeros(3, np.float32)).forward(np.zeros((2, 5), np.float32))
    with pytest.raises(TypeError, match="SoftmaxWithLoss: x must be a float"):
        F.SoftmaxWithLoss().forward(np.zeros((2, 3), np.int64), np.array([0, 1]))
    with pytest.raises(IndexError, match="SoftmaxWithLoss: t holds id 3, outside"):
        F.SoftmaxWithLoss().forward(np.zeros((2, 3), np.float32), np.array([0, 3]))
    with pytest.raises(IndexError, match="holds id -1"):
        F.SoftmaxWithLoss().forward(np.zeros((2, 3), np.float32), np.array([-1, 0]))
    with pytest.raises(TypeError, match="t must hold integer class ids"):
        F.SoftmaxWithLoss().forward(np.zeros((2, 3), np.float32), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"t must have shape \(2,\)"):
        F.SoftmaxWithLoss().forward(np.zeros((2, 3), np.float32), np.array([0, 1, 2]))
    with pytest.raises(FloatingPointError, match="NaN or inf"):
        F.SoftmaxWithLoss().forward(np.array([[np.nan, 0.0]], np.float32), np.array([0]))
    with pytest.raises(IndexError, match="SigmoidWithLoss: t holds id 2"):
        F.SigmoidWithLoss().forward(np.zeros(3, np.float32), np.array([0, 1, 2]))
    with pytest.raises(IndexError, match=r"Embedding: idx holds id 4, outside \[0, 4\)"):
        F.Embedding(W).forward(np.array([0, 4]))
    with pytest.raises(IndexError, match="Embedding: idx holds id -2"):
        F.Embedding(W).forward(np.array([-2]))
    with pytest.raises(TypeError, match="Embedding: idx must hold integer ids"):
        F.Embedding(W).forward(np.array([0.0]))
    with pytest.raises(ValueError, match=r"Dropout: dropout_ratio must be in \[0, 1\)"):
        F.Dropout(1.0)
    with pytest.raises(TypeError, match="Sigmoid: x must be a float"):
        F.Sigmoid().forward(np.array([1 + 2j]))


def test_embedding_sparse_backward_equals_the_touched_rows_of_the_dense_gradient(rng):
    W = rng.standard_normal((50, 4)).astype(np.float32)
    layer = F.Embedding(W)
    idx = np.array([[3, 7, 3], [49, 0, 7]])
    layer.forward(idx)
    dout = rng.standard_normal((2, 3, 4)).astype(np.float32)
    rows, values = layer.sparse_backward(dout)
    assert not layer.grads[0].any()                      # dW untouched
    layer.backward(dout)
    np.testing.assert_array_equal(rows, [0, 3, 7, 49])
    np.testing.assert_allclose(values, layer.grads[0][rows], rtol=1e-6)
    with pytest.raises(ValueError, match=r"Embedding: dout must have shape \(2, 3, 4\)"):
        layer.sparse_backward(dout[:, :2])


def test_dropout_in_book_draw_mode_uses_the_books_mask(rng):
    from fastseq._draws import get_draws, set_draws
    x = rng.standard_normal((6, 7)).astype(np.float32)
    previous = get_draws()
    set_draws("book")
    try:
        np.random.seed(4)
        y = F.Dropout(0.4).forward(x)
    finally:
        set_draws(previous)
    np.random.seed(4)
    np.testing.assert_array_equal(y, x * (np.random.rand(6, 7) > 0.4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_with_loss_keeps_the_shape_of_one_sample_and_of_strided_rows(rng, dtype):
    """A 1-D x is one sample, and its gradient is 1-D; rows given as a strided view are copied
    into contiguous rows, with the same results as the contiguous copy."""
    x = rng.standard_normal((6, 10)).astype(dtype)
    one, row = F.SoftmaxWithLoss(), F.SoftmaxWithLoss()
    assert one.forward(x[0], np.array(3)) == row.forward(x[:1], np.array([3]))
    assert_close(one.forward(x[0], np.array(3)), R.SoftmaxWithLoss().forward(x[0], np.array(3)), dtype)
    assert one.backward().shape == (10,)
    np.testing.assert_array_equal(one.backward(), row.backward()[0])
    strided, dense = F.SoftmaxWithLoss(), F.SoftmaxWithLoss()
    t = np.eye(5, dtype=np.int64)[[0, 4, 2, 1, 3, 3]]
    assert strided.forward(x[:, ::2], t) == dense.forward(np.ascontiguousarray(x[:, ::2]), t)
    np.testing.assert_array_equal(strided.backward(), dense.backward())
