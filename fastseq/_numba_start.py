"""numba's start-up, once per process, without the SciPy import it does not need yet.

numba's first compile or cache load imports ``numba.np.arraymath``, whose module body asks
whether a BLAS is available (``_HAVE_BLAS``, which only chooses how ``np.dot``-like calls inside
``@njit`` code are built) by importing ``scipy.linalg.cython_blas``. That imports all of
``scipy.linalg`` and SciPy's array-API layer, which in turn imports ``numpy.f2py``; none of
fastseq's kernels calls BLAS. ``bench/numba_start.py`` times both ways side by side: from
``import numba`` to the end of a cached kernel's first call, 345 ms numba's way against 263 ms
this way here (2026-12-07, medians of 10).

``start()`` imports numba and then ``numba.np.arraymath`` with that one import-time check
answered "available" (true: SciPy is a dependency of fastseq) without importing anything;
every later BLAS check, from the first ``np.dot`` compiled inside ``@njit`` code on, is numba's
own, which imports SciPy's BLAS when it is first needed. Where numba's internals differ from
what this expects, or ``arraymath`` is already imported, numba starts as it always does.
"""
import sys


def start():
    """The numba module, imported (and its array-math module set up) on the first call."""
    if "numba.np.arraymath" in sys.modules:
        return sys.modules["numba"]
    import numba
    try:
        import numba.np.linalg as linalg
        check = linalg.ensure_blas
    except (ImportError, AttributeError):
        return numba
    asked = []

    def first_check_answered(*args, **kwargs):
        if not asked:               # the availability check in arraymath's module body
            asked.append(True)
            return None
        return check(*args, **kwargs)

    linalg.ensure_blas = first_check_answered
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        linalg.ensure_blas = check
    return numba
