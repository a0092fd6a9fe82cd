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
