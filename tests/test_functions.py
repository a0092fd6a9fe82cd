import numpy as np
import pytest

import fastseq.functions as F
import fastseq.reference.functions as R


@pytest.mark.parametrize("shape", [(7,), (3, 7), (2, 3, 7), (2, 40, 30)])   # the last past numpy_kernels.MAX_SIZE
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_sigmoid_match_reference(rng, shape, dtype):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    y = F.softmax(x)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y, R.softmax(x), rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(y.sum(-1), 1, rtol=1e-5)
    np.testing.assert_allclose(F.sigmoid(x), R.sigmoid(x), rtol=2e-6, atol=1e-7)
    np.testing.assert_array_equal(F.relu(x), R.relu(x))


def test_cross_entropy_matches_reference_labels_and_one_hot(rng):
    y = R.softmax(rng.standard_normal((4, 5)))
    t = rng.integers(0, 5, 4)
    assert F.cross_entropy_error(y, t) == pytest.approx(R.cross_entropy_error(y, t))
    onehot = np.eye(5)[t]
    assert F.cross_entropy_error(y, onehot) == pytest.approx(R.cross_entropy_error(y, onehot))
    assert F.cross_entropy_error(y[0], onehot[0]) == pytest.approx(R.cross_entropy_error(y[0], onehot[0]))


def test_function_bad_inputs():
    with pytest.raises(IndexError, match="cross_entropy_error: t holds id 9"):
        F.cross_entropy_error(np.full((2, 3), 1 / 3), np.array([0, 9]))
    with pytest.raises(ValueError, match="softmax: x must have at least 1 dimension"):
        F.softmax(np.float32(1.0))
