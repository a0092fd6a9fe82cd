"""One setting for every thread pool fastseq touches.

numba's parallel kernels and BLAS (NumPy's and SciPy's, which ``np.dot`` inside ``@njit`` uses)
each keep a pool. Running both at full width on the same cores oversubscribes them, so fastseq
sets them together: ``set_num_threads(n)`` limits numba and every BLAS pool found by
threadpoolctl to ``n``. The environment variable ``FASTSEQ_NUM_THREADS`` applies the same
setting when fastseq is imported. ``threads(n)`` does it for a ``with`` block and restores
what it changed afterwards.

The pools also take turns: a training step alternates BLAS calls and parallel kernels. numba's
OpenMP workers spin-wait after each kernel by default and take the cores BLAS needs next (a
small BetterRnnlm run took 6.4 s against 1.0 s without the spinning). So fastseq sets
``GOMP_SPINCOUNT=0`` (idle workers sleep at once) unless it is already set. GNU OpenMP reads it
when numba first starts its pool, so import fastseq before running any other parallel numba code.
"""
import contextlib
import os
import time
import warnings

os.environ.setdefault("GOMP_SPINCOUNT", "0")

import numba  # noqa: E402  (after GOMP_SPINCOUNT, which must precede the OpenMP runtime)
from threadpoolctl import ThreadpoolController, threadpool_limits  # noqa: E402

from fastseq._cache import ensure_writable_cache  # noqa: E402

ensure_writable_cache(numba.config)

_ENV = "FASTSEQ_NUM_THREADS"


def _check_count(n):
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if not 1 <= n <= numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"set_num_threads: n must be in [1, {numba.config.NUMBA_NUM_THREADS}] "
            f"(NUMBA_NUM_THREADS, fixed when numba starts), got {n}")
    return n


def get_num_threads():
    """Threads the numba kernels use now (an int)."""
    return numba.get_num_threads()


def set_num_threads(n):
    """Use ``n`` threads for numba kernels and for BLAS, process-wide."""
    n = _check_count(n)
    numba.set_num_threads(n)
    threadpool_limits(limits=n)


@contextlib.contextmanager
def threads(n):
    """Context manager: ``n`` threads for numba and BLAS inside the block, restored after it."""
    with policy(n, n):
        yield n


@contextlib.contextmanager
def policy(blas, kernels):
    """Context manager: BLAS pools limited to ``blas`` threads and numba's parallel kernels to
    ``kernels`` inside the block; both restored after it. The training functions apply their
    own: the language models and seq2seq run BLAS threaded and the elementwise kernels serial
    (their pools would fight for the cores), word2vec and counting run their kernels threaded."""
    blas, kernels = _check_count(blas), _check_count(kernels)
    old_numba = numba.get_num_threads()
    with threadpool_limits(limits=blas):
        numba.set_num_threads(kernels)
        try:
            yield
        finally:
            numba.set_num_threads(old_numba)


# Matrix products below this many multiply-adds run on one BLAS thread (``serial_blas``): about
# 1 ms of one core's work. Beside another CPU-bound process, OpenBLAS's second thread made a
# 50x100 @ 100x418 float32 product take 2.6 ms against 72 µs on one thread (measured here);
# a 700x100 @ 100x10000 product still ran faster on two threads (21.9 ms against 28.2 ms).
BLAS_MIN_WORK = 1 << 24
_blas_libs = None


class _SerialBlas:
    """Context manager: every loaded BLAS library on one thread inside, restored after."""

    def __init__(self):
        self._saved = []

    def __enter__(self):
        global _blas_libs
        if _blas_libs is None:      # numpy's BLAS, loaded with numpy: found once, on first use
            _blas_libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        saved = [c.get_num_threads() for c in _blas_libs]
        self._saved.append(saved)
        for c, n in zip(_blas_libs, saved):
            if n != 1:
                c.set_num_threads(1)

    def __exit__(self, *exc):
        for c, n in zip(_blas_libs, self._saved.pop()):
            if n != 1:
                c.set_num_threads(n)


_SERIAL_BLAS = _SerialBlas()
_NOTHING = contextlib.nullcontext()


def serial_blas(work):
    """A context manager for the matrix products of one layer call: one BLAS thread inside when
    ``work`` (their multiply-adds) is below BLAS_MIN_WORK or the machine is busy, the caller's
    threads otherwise."""
    return _SERIAL_BLAS if work < BLAS_MIN_WORK or machine_busy() else _NOTHING


# How often machine_busy looks again (seconds), and its last answer.
_LOOK_EVERY = 0.5
_last_look = [-1.0, False]
# Opt-in: with FASTSEQ_ONE_THREAD_WHEN_BUSY=1, calls take one thread while the machine is busy.
# Off by default, because a result then depends on the machine's load (one BLAS thread or two
# round differently), and a resumed run would no longer equal an uninterrupted one exactly.
_WHEN_BUSY_ENV = "FASTSEQ_ONE_THREAD_WHEN_BUSY"


def _own_running_threads():
    """This process's threads that are running or runnable now (its BLAS and numba workers
    included, so that they never count as a neighbour)."""
    count = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                count += f.read().rsplit(b")", 1)[1].split()[0] == b"R"
        except OSError:
            pass
    return count


def machine_busy():
    """With ``FASTSEQ_ONE_THREAD_WHEN_BUSY=1`` in the environment: True when other processes'
    threads are running on all the cores but one (Linux: the system's ``procs_running`` less
    this process's running threads, read at most every half second), where a second thread
    would wait for a core and one thread is faster. False otherwise, and where it cannot be
    read."""
    if os.environ.get(_WHEN_BUSY_ENV) != "1":
        return False
    now = time.monotonic()
    if now - _last_look[0] < _LOOK_EVERY:
        return _last_look[1]
    busy = False
    try:
        with open("/proc/stat", "rb") as f:
            running = next(int(line.split()[1]) for line in f if line.startswith(b"procs_running"))
        busy = running - _own_running_threads() >= available_cores() - 1 > 0
    except (OSError, ValueError, StopIteration):
        pass
    _last_look[0], _last_look[1] = now, busy
    return busy


def available_cores():
    """Cores this process may use: its CPU affinity, capped by a cgroup CPU quota when one is
    set (containers), and by NUMBA_NUM_THREADS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, min(cores, numba.config.NUMBA_NUM_THREADS))


def _apply_env():
    value = os.environ.get(_ENV)
    if not value:
        return
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{_ENV} must be a whole number of threads, got {value!r}") from None
    most = numba.config.NUMBA_NUM_THREADS
    if not 1 <= n <= most:
        clamped = min(max(n, 1), most)
        warnings.warn(f"{_ENV}={n}, but {most} threads are available (NUMBA_NUM_THREADS); using {clamped}",
                      RuntimeWarning, stacklevel=2)
        n = clamped
    set_num_threads(n)


_apply_env()
