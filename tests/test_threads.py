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


def _blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def _spy_on_products(monkeypatch, fail_on=None):
    """Record each np.matmul call's output shape, BLAS thread counts and thread; optionally
    raise on the call whose output has ``fail_on`` columns."""
    import threading

    import numpy as np

    calls = []

    def spy_on(real):
        def spy(a, b, out=None):
            shape = (a.shape[0], b.shape[1]) if out is None else out.shape
            calls.append((shape, tuple(_blas_threads()), threading.get_ident()))
            if fail_on is not None and shape[1] == fail_on:
                raise MemoryError("piece failed")
            return real(a, b) if out is None else real(a, b, out=out)
        return spy
    monkeypatch.setattr(np, "matmul", spy_on(np.matmul))
    monkeypatch.setattr(np, "dot", spy_on(np.dot))
    return calls


def test_small_products_take_one_blas_thread_and_large_ones_fixed_pieces(monkeypatch):
    import numpy as np
    from fastseq import _threads

    monkeypatch.setattr(_threads, "PRODUCT_PIECES", 3)
    rng = np.random.default_rng(0)
    small = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((5, 6)).astype(np.float32)
    wide = rng.standard_normal((20, 650)).astype(np.float32), rng.standard_normal((650, 2600)).astype(np.float32)
    tall = rng.standard_normal((2600, 700)).astype(np.float32), rng.standard_normal((700, 650)).astype(np.float32)
    mid = rng.standard_normal((40, 100)).astype(np.float32), rng.standard_normal((100, 100)).astype(np.float32)
    with fastseq.threads(2):
        calls = _spy_on_products(monkeypatch)
        _threads.matmul(*mid)       # OpenBLAS would thread it: switched to one thread
        assert calls == [((40, 100), (1,) * len(_blas_threads()), calls[0][2])]
        calls.clear()
        _threads.matmul(*small)     # OpenBLAS keeps it on the calling thread: nothing to switch
        serial_anyway = _threads.blas_runs_it_serially(4, 5, 6)
        assert calls == [((4, 6), (1 if not serial_anyway else 2,) * len(_blas_threads()), calls[0][2])]
        calls.clear()
        _threads.matmul(*wide)              # cut along the 2,600 columns
        assert sorted(c[0] for c in calls) == [(20, 866), (20, 867), (20, 867)]
        calls.clear()
        _threads.matmul(*tall)              # cut along the 2,600 rows
        assert sorted(c[0] for c in calls) == [(866, 650), (867, 650), (867, 650)]
        assert all(set(c[1]) == {1} for c in calls)      # every piece on one BLAS thread
        assert _blas_threads() and set(_blas_threads()) == {2}     # restored
        monkeypatch.undo()


def test_products_are_left_unswitched_only_below_openblas_own_serial_thresholds(monkeypatch):
    import sys

    from fastseq import _threads

    monkeypatch.setattr(_threads, "_blas_switches", [([], True), len(sys.modules)])     # OpenBLAS alone
    assert _threads.blas_runs_it_serially(64, 64, 64)           # 2^18 multiply-adds: gemm keeps it
    assert not _threads.blas_runs_it_serially(64, 64, 65)
    assert _threads.blas_runs_it_serially(1, 92, 100)           # 9,200 < 9,216: gemv keeps it
    assert not _threads.blas_runs_it_serially(1, 96, 96)
    assert not _threads.blas_runs_it_serially(96, 96, 1)
    monkeypatch.setattr(_threads, "_blas_switches", [([], False), len(sys.modules)])    # another BLAS too
    assert not _threads.blas_runs_it_serially(2, 2, 2)


def test_one_blas_thread_covers_blas_libraries_loaded_after_its_first_use(monkeypatch):
    import sys

    import scipy.linalg  # noqa: F401  (SciPy's own BLAS, beside NumPy's)
    from fastseq import _threads

    # as if the libraries had been looked for before any import loaded a BLAS
    monkeypatch.setattr(_threads, "_blas_switches", [([], True), len(sys.modules) - 1])
    with fastseq.threads(2):
        with _threads.one_blas_thread:
            assert _blas_threads() and set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {2}
    assert len(_threads._blas_switches[0][0]) == len(_blas_threads())


def test_one_blas_thread_nested_keeps_one_thread_until_the_outer_block_ends(monkeypatch):
    """A product inside a training loop that holds ``one_blas_thread`` enters it again: BLAS stays
    on one thread, the inner exit changes nothing, the outer one restores the setting; a BLAS
    library loaded inside the outer block is switched by the next inner one."""
    import sys

    from fastseq import _threads

    with fastseq.threads(2):
        with _threads.one_blas_thread:
            calls = []
            monkeypatch.setattr(_threads, "_current_blas_switches", lambda: calls.append(1) or [[], True])
            with _threads.one_blas_thread:
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {1} and calls == []          # nested: nothing looked up or switched
            monkeypatch.setitem(sys.modules, "a_module_loaded_inside", object())
            with _threads.one_blas_thread:
                pass
            assert calls == [1]                                      # one more module: looked again
            with _threads.one_blas_thread:
                pass
            assert calls == [1]                                      # and then no more
            monkeypatch.undo()
        assert set(_blas_threads()) == {2}


def test_split_products_equal_numpy_for_views_and_any_thread_count(monkeypatch):
    import numpy as np
    from fastseq import _threads

    monkeypatch.setattr(_threads, "PRODUCT_PIECES", 3)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((700, 650)).astype(np.float32)
    d = rng.standard_normal((700, 2600)).astype(np.float32)
    cases = [(x.T, d, None),                              # a weight gradient: a transposed view
             (d, rng.standard_normal((650, 2600)).astype(np.float32).T, None),
             (x.T, d[:, :1300], np.zeros((650, 2600), np.float32)[:, 1300:])]   # into a slice
    for a, b, out in cases:
        results = []
        for n in (1, 2):
            with fastseq.threads(n):
                target = None if out is None else out.copy()
                results.append(_threads.matmul(a, b, target))
        np.testing.assert_allclose(results[0], a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=2e-3)
        np.testing.assert_array_equal(results[0], results[1])       # same pieces, same sums


def test_the_caller_takes_every_piece_no_helper_takes(monkeypatch):
    import numpy as np
    from fastseq import _threads

    class Asleep:                        # a helper that never wakes
        def put(self, job):
            pass
    monkeypatch.setattr(_threads, "PRODUCT_PIECES", 2)
    monkeypatch.setattr(_threads._HELPERS, "queues", [Asleep()])
    a, b = np.ones((20, 650), np.float32), np.ones((650, 2600), np.float32)
    with fastseq.threads(2):
        np.testing.assert_array_equal(_threads.matmul(a, b), np.full((20, 2600), 650, np.float32))


def test_a_failing_piece_raises_in_the_caller_after_every_piece_ends(monkeypatch):
    import numpy as np
    from fastseq import _threads

    monkeypatch.setattr(_threads, "PRODUCT_PIECES", 2)
    a, b = np.ones((20, 650), np.float32), np.ones((650, 2600), np.float32)
    with fastseq.threads(2):
        calls = _spy_on_products(monkeypatch, fail_on=1300)
        with pytest.raises(MemoryError, match="piece failed"):
            _threads.matmul(a, b)
        assert len(calls) == 2
        assert set(_blas_threads()) == {2}


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
