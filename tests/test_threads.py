import numba
import pytest
from threadpoolctl import threadpool_info

import fastseq


def test_threads_context_sets_numba_and_blas_and_restores():
    before = fastseq.get_num_threads()
    with fastseq.threads(1):
        assert numba.get_num_threads() == 1
        assert all(info["num_threads"] == 1 for info in threadpool_info())
    assert fastseq.get_num_threads() == before


def test_bad_thread_counts():
    with pytest.raises(ValueError, match="n must be in"):
        fastseq.set_num_threads(0)
    with pytest.raises(TypeError, match="must be an int"):
        fastseq.set_num_threads(1.5)


def test_small_kernel_calls_take_the_serial_build_with_equal_results(monkeypatch):
    import numpy as np
    from fastseq.kernels import activations, threads

    calls = []
    for build in ("serial", "parallel"):
        original = getattr(activations.sigmoid_forward, build)
        monkeypatch.setattr(activations.sigmoid_forward, build,
                            lambda *a, _o=original, _b=build: (calls.append(_b), _o(*a))[1])
    monkeypatch.setattr(threads, "machine_busy", lambda: False)
    x = np.random.default_rng(0).standard_normal(threads.PARALLEL_MIN_WORK).astype(np.float32)
    small, large = np.empty(10, np.float32), np.empty_like(x)
    with fastseq.threads(2):
        activations.sigmoid_forward(x[:10], small)
        activations.sigmoid_forward(x, large)
        with fastseq.threads(1):
            activations.sigmoid_forward(x, large)
        monkeypatch.setattr(threads, "machine_busy", lambda: True)
        activations.sigmoid_forward(x, large)
    assert calls == ["serial", "parallel", "serial", "serial"]
    np.testing.assert_array_equal(small, large[:10])


def test_serial_blas_sets_one_thread_for_small_products_and_restores():
    from fastseq._threads import BLAS_MIN_WORK, serial_blas

    with fastseq.threads(2):
        with serial_blas(10):
            assert all(info["num_threads"] == 1 for info in threadpool_info() if info["user_api"] == "blas")
        assert all(info["num_threads"] == 2 for info in threadpool_info() if info["user_api"] == "blas")
        with serial_blas(BLAS_MIN_WORK):
            assert all(info["num_threads"] == 2 for info in threadpool_info() if info["user_api"] == "blas")


def test_machine_busy_is_opt_in_and_does_not_count_this_process(monkeypatch):
    from fastseq import _threads

    monkeypatch.delenv("FASTSEQ_ONE_THREAD_WHEN_BUSY", raising=False)
    _threads._last_look[0] = -1.0
    monkeypatch.setattr(_threads, "_own_running_threads", lambda: -100)    # would read as busy
    assert _threads.machine_busy() is False                                # off by default
    monkeypatch.setenv("FASTSEQ_ONE_THREAD_WHEN_BUSY", "1")
    assert _threads.machine_busy() is True
    monkeypatch.undo()
    assert _threads._own_running_threads() >= 1          # this thread, reading the file
