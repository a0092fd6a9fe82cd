"""fastseq.numpy_kernels against the kernels they stand in for: same arguments, same outputs."""
import sys
import warnings

import numpy as np
import pytest

from fastseq import kernels, numpy_kernels
from tests.test_layers_core import SMALL_AND_KERNEL_ROWS

DTYPES = [np.float32, np.float64]


def _tol(dtype):
    return dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)


def _both(module, name, *args):
    """Run the kernel and its NumPy twin on copies of ``args``; returns (kernel, numpy) results
    as (return value, arrays after the call)."""
    out = []
    for fn in (getattr(getattr(kernels, module), name), getattr(numpy_kernels, name)):
        copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        with warnings.catch_warnings():
            warnings.simplefilter("error")      # no overflow or invalid-value warnings
            value = fn(*copies)
        out.append((value, copies))
    return out


def test_the_layer_tests_sizes_fall_on_either_side():
    small, large = SMALL_AND_KERNEL_ROWS
    assert numpy_kernels.small(small * 11) and not numpy_kernels.small(large * 9)
    assert numpy_kernels.for_size("softmax", 10) is numpy_kernels
    assert numpy_kernels.for_size("softmax", numpy_kernels.MAX_SIZE) is kernels.softmax


def test_start_up_credit_serves_large_streaming_calls_until_numba_is_imported(monkeypatch):
    """Before numba is imported, a large call of a credited kind spends its size from the credit
    and runs in NumPy; one that would overdraw it, or of a kind not credited, takes the kernel;
    once numba is imported the credit is not touched."""
    large = numpy_kernels.MAX_SIZE * 3
    monkeypatch.setattr(numpy_kernels, "credit", large * 2 + 5)
    monkeypatch.delitem(sys.modules, "numba")           # as in a fresh process (restored after)
    assert numpy_kernels.for_size("softmax", large) is numpy_kernels
    assert numpy_kernels.for_size("recurrent", large) is numpy_kernels
    assert numpy_kernels.credit == 5
    assert numpy_kernels.for_size("activations", large) is kernels.activations
    assert numpy_kernels.for_size("activations", 10) is numpy_kernels      # small calls spend nothing
    monkeypatch.setattr(numpy_kernels, "credit", large * 10)
    assert numpy_kernels.for_size("cooccurrence", large) is kernels.cooccurrence
    assert numpy_kernels.credit == large * 10
    monkeypatch.undo()
    assert "numba" in sys.modules
    monkeypatch.setattr(numpy_kernels, "credit", large * 10)
    assert numpy_kernels.for_size("softmax", large) is kernels.softmax
    assert numpy_kernels.credit == large * 10


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_forward_and_backward(rng, dtype):
    x = np.concatenate([rng.standard_normal(200) * 6, [-1000.0, -100.0, 0.0, 100.0, 1000.0]]).astype(dtype)
    (_, k), (_, n) = _both("activations", "sigmoid_forward", x, np.empty_like(x))
    np.testing.assert_allclose(n[1], k[1], **_tol(dtype))
    assert n[1][-5] >= 0 and n[1][-1] == 1
    y, dout = k[1], rng.standard_normal(x.shape).astype(dtype)
    (_, k), (_, n) = _both("activations", "sigmoid_backward", dout, y, np.empty_like(x))
    np.testing.assert_allclose(n[2], k[2], **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [1e-7, 0.0])
def test_softmax_cross_entropy_with_ignored_rows(rng, dtype, eps):
    x = (rng.standard_normal((9, 13)) * 5).astype(dtype)
    x[0, 0] = 80                                    # a row with a dominant score
    t = rng.integers(0, 13, 9)
    t[[2, 5]] = -1                                  # rows that add nothing
    (lk, k), (ln, n) = _both("softmax", "softmax_cross_entropy_forward", x, t, eps, np.empty_like(x))
    assert isinstance(ln, float)
    np.testing.assert_allclose(ln, lk, rtol=_tol(dtype)["rtol"] * 10)
    np.testing.assert_allclose(n[3], k[3], **_tol(dtype))
    (_, k), (_, n) = _both("softmax", "softmax_cross_entropy_backward", k[3], t, 0.25, np.full_like(x, np.nan))
    np.testing.assert_allclose(n[3], k[3], **_tol(dtype))
    assert not n[3][[2, 5]].any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_forward_and_backward(rng, dtype):
    x = (rng.standard_normal((6, 10)) * 4).astype(dtype)
    (_, k), (_, n) = _both("softmax", "softmax_forward", x, np.empty_like(x))
    np.testing.assert_allclose(n[1], k[1], **_tol(dtype))
    dout = rng.standard_normal(x.shape).astype(dtype)
    (_, k), (_, n) = _both("softmax", "softmax_backward", k[1], dout, np.empty_like(x))
    np.testing.assert_allclose(n[2], k[2], **_tol(dtype))


OPTIMIZERS = {                  # kernel name: (state arrays, scalars)
    "sgd_update": (0, (0.1,)),
    "momentum_update": (1, (0.1, 0.9)),
    "nesterov_update": (1, (0.1, 0.9)),
    "adagrad_update": (1, (0.1, 1e-7)),
    "rmsprop_update": (1, (0.1, 0.99, 1e-7)),
    "adam_update": (2, (0.01, 0.9, 0.999, 1e-8)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_updates(rng, dtype, name):
    n_state, scalars = OPTIMIZERS[name]
    param, grad = (rng.standard_normal(50).astype(dtype) for _ in range(2))
    state = [np.abs(rng.standard_normal(50)).astype(dtype) for _ in range(n_state)]
    typed = [dtype(s) for s in scalars]
    (_, k), (_, n) = _both("optim", name, param, grad, *state, *typed)
    for a, b in zip(n, k):
        if isinstance(a, np.ndarray):
            assert a.dtype == dtype
            np.testing.assert_allclose(a, b, **_tol(dtype))
    assert not np.array_equal(n[0], param)          # the update happened in place


@pytest.mark.parametrize("window", [1, 2, 5])
@pytest.mark.parametrize("sides", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("length", [0, 1, 3, 40])
def test_dense_cooccurrence_counts(rng, window, sides, length):
    corpus = rng.integers(0, 6, length).astype(np.int32)
    (_, k), (_, n) = _both("cooccurrence", "count_dense", corpus, window, *sides, np.zeros((6, 6), np.int32))
    np.testing.assert_array_equal(n[4], k[4])
    assert n[4].sum() == sum(max(length - d, 0) for d in range(1, window + 1)) * sum(sides)


@pytest.mark.parametrize("log_shift", [0.0, 1.5])
def test_dense_ppmi_with_zero_counts_and_marginals(rng, log_shift):
    C = rng.integers(0, 4, (7, 7)).astype(np.int32)
    C[2, :] = 0
    C[:, 4] = 0
    S = C.sum(axis=0, dtype=np.float64)
    rows = C.sum(axis=1, dtype=np.float64)
    (_, k), (_, n) = _both("ppmi", "ppmi_dense", C, float(S.sum()), rows, S, 1e-8, log_shift,
                           np.full((7, 7), np.nan, np.float32))
    np.testing.assert_allclose(n[6], k[6], rtol=1e-6, atol=1e-7)
    assert np.isfinite(n[6]).all() and (n[6] >= 0).all() and not n[6][2].any()


def _cell_inputs(rng, dtype, N, H, blocks):
    """Pre-activations, state and gradients of one step, drawn wide enough to saturate a few
    gates."""
    draw = lambda *shape: (rng.standard_normal(shape) * 3).astype(dtype)
    return draw(N, blocks * H), draw(N, blocks * H), draw(N, H), draw(N, H)


def _cell_tol(dtype):
    """Near saturation 1 - y*y cancels: the kernels fuse it (FMA), NumPy rounds y*y first, so
    the two may differ by a few |gradient| * eps(dtype) in absolute terms (gradients here are
    below 10)."""
    return dict(rtol=_tol(dtype)["rtol"], atol=40 * np.finfo(dtype).eps)


def _assert_all_close(k, n, dtype):
    for a, b in zip(n, k):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, **_cell_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rnn_steps(rng, dtype):
    ax, ah, _, dh = _cell_inputs(rng, dtype, 5, 7, 1)
    (_, k), (_, n) = _both("recurrent", "rnn_step_forward", ax, ah, np.full_like(ax, np.nan))
    _assert_all_close(k, n, dtype)
    h_next = k[2]
    (_, k), (_, n) = _both("recurrent", "rnn_step_backward", dh, h_next, np.full_like(dh, np.nan))
    _assert_all_close(k, n, dtype)
    np.testing.assert_allclose(n[2], dh * (1 - np.tanh(ax + ah) ** 2), **_cell_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_steps(rng, dtype):
    N, H = 4, 6
    ax, ah, c_prev, dh = _cell_inputs(rng, dtype, N, H, 4)
    nan = lambda *shape: np.full(shape, np.nan, dtype)
    (_, k), (_, n) = _both("recurrent", "lstm_step_forward", ax, ah, c_prev, nan(N, 4 * H), nan(N, H), nan(N, H))
    _assert_all_close(k, n, dtype)
    a = (ax + ah).astype(np.float64)
    sig = lambda x: 1 / (1 + np.exp(-x))
    c = sig(a[:, :H]) * c_prev + np.tanh(a[:, H:2 * H]) * sig(a[:, 2 * H:3 * H])
    np.testing.assert_allclose(n[5], sig(a[:, 3 * H:]) * np.tanh(c), **_cell_tol(dtype))
    gates, c_next = k[3], k[4]
    dc = (rng.standard_normal((N, H))).astype(dtype)
    (_, k), (_, n) = _both("recurrent", "lstm_step_backward", dh, dc, gates, c_prev, c_next, nan(N, 4 * H))
    _assert_all_close(k, n, dtype)
    np.testing.assert_allclose(n[1], (dc + dh * gates[:, 3 * H:] * (1 - np.tanh(c_next) ** 2)) * gates[:, :H],
                               **_cell_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gru_steps(rng, dtype):
    N, H = 3, 5
    ax, _, h_prev, dh = _cell_inputs(rng, dtype, N, H, 3)
    ah_zr, ah_h, dhr = (rng.standard_normal(shape).astype(dtype) for shape in ((N, 2 * H), (N, H), (N, H)))
    nan = lambda *shape: np.full(shape, np.nan, dtype)
    (_, k), (_, n) = _both("recurrent", "gru_step_gates", ax, ah_zr, h_prev, nan(N, 3 * H), nan(N, H))
    np.testing.assert_allclose(n[3][:, :2 * H], k[3][:, :2 * H], **_cell_tol(dtype))
    np.testing.assert_allclose(n[4], k[4], **_cell_tol(dtype))
    gates = k[3]
    (_, k), (_, n) = _both("recurrent", "gru_step_output", ax, ah_h, h_prev, gates, nan(N, H))
    _assert_all_close(k, n, dtype)
    z, h_hat = n[3][:, :H], np.tanh(ax[:, 2 * H:] + ah_h)
    np.testing.assert_allclose(n[4], (1 - z) * h_prev + z * h_hat, **_cell_tol(dtype))
    gates = k[3]
    (_, k), (_, n) = _both("recurrent", "gru_step_backward_candidate", dh, gates, nan(N, 3 * H), nan(N, H))
    np.testing.assert_allclose(n[2][:, 2 * H:], k[2][:, 2 * H:], **_cell_tol(dtype))
    np.testing.assert_allclose(n[3], k[3], **_cell_tol(dtype))
    dA, dh_prev = k[2], k[3]
    (_, k), (_, n) = _both("recurrent", "gru_step_backward_gates", dh, dhr, gates, h_prev, dA, dh_prev)
    _assert_all_close(k, n, dtype)


def test_shared_vectors_are_read_only_and_made_once():
    """The cached row indices and ones vectors: right values and dtype, one array per key, and
    read-only, so no caller can change what the next call is given."""
    rows = numpy_kernels.shared_vector("arange", 5, np.intp)
    ones = numpy_kernels.shared_vector("ones", 4, np.dtype(np.float32))
    np.testing.assert_array_equal(rows, np.arange(5))
    assert ones.dtype == np.float32 and ones.tolist() == [1.0] * 4
    assert numpy_kernels.shared_vector("arange", 5, np.intp) is rows
    with pytest.raises(ValueError):
        ones[0] = 2
