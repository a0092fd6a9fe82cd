"""numba's start-up through fastseq (``fastseq._numba_start``): no SciPy import for the first
kernel, and BLAS inside ``@njit`` code still found and used when code asks for it."""
import subprocess
import sys
import textwrap


def _run(code):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_a_kernel_runs_without_importing_scipy_linalg_and_blas_stays_available():
    out = _run("""
        import sys
        import numpy as np
        from fastseq import kernels
        x = np.linspace(-3, 3, 4096, dtype=np.float32).reshape(4, 1024)
        y = np.empty_like(x)
        kernels.softmax.softmax_forward(x, y)
        assert np.allclose(y.sum(axis=1), 1, rtol=1e-5)
        import numba
        import numba.np.arraymath
        print("scipy.linalg" in sys.modules, numba.np.arraymath._HAVE_BLAS)

        @numba.njit
        def product(a, b):
            return np.dot(a, b)

        a = np.arange(12.0).reshape(3, 4)
        print(bool(np.allclose(product(a, a.T), a @ a.T)), "scipy.linalg" in sys.modules)
    """)
    assert out == ["False", "True", "True", "True"]


def test_numba_started_elsewhere_first_is_left_as_it_is():
    """When numba's array maths is already set up (by other code), ``start`` changes nothing."""
    out = _run("""
        import numba
        import numba.np.arraymath
        import numba.np.linalg
        check = numba.np.linalg.ensure_blas
        from fastseq._numba_start import start
        print(start() is numba, numba.np.linalg.ensure_blas is check)
    """)
    assert out == ["True", "True"]
