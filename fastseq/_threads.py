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

The layers' matrix products go through ``matmul``: one BLAS thread below a size, and above it
fixed pieces that the caller and sleeping helper threads share, each piece a one-thread BLAS
product. OpenBLAS's own threads meet at barriers inside every product, and beside another
CPU-bound process each barrier waits for a thread that has no core (a BetterRnnlm iteration
once took 20x its quiet time); a piece nobody has taken is computed by the caller, so a
delayed helper costs nothing. Since the pieces are fixed by the shapes, a result is the same
for every thread count and load.
"""
import contextlib
import os
import sys
import time
import warnings

os.environ.setdefault("GOMP_SPINCOUNT", "0")

import numpy as np  # noqa: E402

from fastseq._cache import ensure_writable_cache  # noqa: E402

# Before numba's import, which reads NUMBA_CACHE_DIR (set here when the package's folder is not
# writable). numba itself is imported on first use (``_numba``): its import and start-up take
# about half a second, which a script that only builds models or reads data never needs.
ensure_writable_cache(sys.modules["numba"].config if "numba" in sys.modules else None)

_ENV = "FASTSEQ_NUM_THREADS"


def _numba():
    """The numba module, imported on first call (``fastseq._numba_start``)."""
    from fastseq._numba_start import start
    return start()


def _check_count(n):
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    most = _numba().config.NUMBA_NUM_THREADS
    if not 1 <= n <= most:
        raise ValueError(
            f"set_num_threads: n must be in [1, {most}] (NUMBA_NUM_THREADS, fixed when numba starts), got {n}")
    return n


def get_num_threads():
    """Threads the numba kernels use now (an int)."""
    return _numba().get_num_threads()


def set_num_threads(n):
    """Use ``n`` threads for numba kernels, BLAS and split matrix products, process-wide."""
    from threadpoolctl import threadpool_limits
    n = _check_count(n)
    _numba().set_num_threads(n)
    threadpool_limits(limits=n)
    _product_threads[0] = n


@contextlib.contextmanager
def threads(n):
    """Context manager: ``n`` threads for numba, BLAS and split products inside the block,
    restored after it."""
    with policy(n, n):
        yield n


@contextlib.contextmanager
def policy(blas, kernels, products=None):
    """Context manager: BLAS pools limited to ``blas`` threads, numba's parallel kernels to
    ``kernels`` and the layers' split matrix products (``matmul``) to ``products`` (default:
    ``blas``) inside the block; all restored after it. The training functions apply their own:
    the language models and seq2seq split their products over their threads, with OpenBLAS's
    own pool and numba's elementwise kernels on one thread each (pools that spin would fight
    for the cores); word2vec and counting run their kernels threaded."""
    from threadpoolctl import threadpool_limits
    blas, kernels = _check_count(blas), _check_count(kernels)
    products = blas if products is None else _check_count(products)
    numba = _numba()
    old_numba, old_products = numba.get_num_threads(), _product_threads[0]
    with threadpool_limits(limits=blas):
        numba.set_num_threads(kernels)
        _product_threads[0] = products
        try:
            yield
        finally:
            numba.set_num_threads(old_numba)
            _product_threads[0] = old_products


# Matrix products below this many multiply-adds run on one BLAS thread: about 1 ms of one core's
# work. Beside another CPU-bound process, OpenBLAS's second thread made a 50x100 @ 100x418
# float32 product take 2.6 ms against 72 µs on one thread (measured here).
BLAS_MIN_WORK = 1 << 24
# The BLAS libraries' switches, and len(sys.modules) when they were found: an import since may
# have loaded another BLAS (SciPy's, with scipy.linalg), so they are looked for again then.
_blas_switches = [None, -1]


# OpenBLAS computes a small product on the calling thread whatever its thread setting: a
# matrix-matrix product (gemm) of at most 65536 * 4 multiply-adds, a matrix-vector product
# (gemv) of fewer than 2304 * 4 (its interface/gemm.c and gemv.c, with the default
# GEMM_MULTITHREAD_THRESHOLD of 4). Switching its threads around such a product changes
# nothing but the time: the C calls and Python's bookkeeping can cost more than the product.
_OPENBLAS_SERIAL_GEMM = 65536 * 4
_OPENBLAS_SERIAL_GEMV = 2304 * 4


def _find_blas_switches():
    """``(switches, all_openblas)``: the ``(get, set)`` thread-count functions of every BLAS
    library loaded now, and whether every one is OpenBLAS. For OpenBLAS on its own threads
    these are the library's C functions, called directly: a small product switches them twice,
    and threadpoolctl's methods (symbol lookup and thread bookkeeping on every call) cost about
    as much as the product. Other libraries keep threadpoolctl's."""
    from threadpoolctl import ThreadpoolController
    switches, all_openblas = [], True
    for c in ThreadpoolController().lib_controllers:
        if c.user_api != "blas":
            continue
        get = put = None
        all_openblas &= c.internal_api == "openblas"
        if c.internal_api == "openblas" and getattr(c, "threading_layer", None) == "pthreads":
            lookup = getattr(c, "_get_symbol", lambda name: None)
            get, put = lookup("openblas_get_num_threads"), lookup("openblas_set_num_threads")
        if get is None or put is None:
            get, put = c.get_num_threads, c.set_num_threads
        switches.append((get, put))
    return switches, all_openblas


def _current_blas_switches():
    """``_find_blas_switches()``, looked for again only after an import."""
    if _blas_switches[1] != len(sys.modules):
        _blas_switches[:] = _find_blas_switches(), len(sys.modules)
    return _blas_switches[0]


def blas_runs_it_serially(rows, inner, cols):
    """True when every loaded BLAS is OpenBLAS and it computes a ``(rows, inner) @ (inner,
    cols)`` product on the calling thread by itself (a matrix-vector product when ``rows`` or
    ``cols`` is 1), so that no thread switching is needed around it."""
    work = rows * inner * cols
    if work > _OPENBLAS_SERIAL_GEMM:
        return False
    if (rows == 1 or cols == 1) and work >= _OPENBLAS_SERIAL_GEMV:
        return False
    return _current_blas_switches()[1]


class _SerialBlas:
    """Context manager: every loaded BLAS library on one thread inside, restored when the
    outermost block ends. Entered again inside itself (a product inside a training loop that
    holds it), it only counts the depth, unless a module was imported since the libraries were
    last seen on one thread: a BLAS loaded since (SciPy's) is then switched too, and restored
    with the others when the outermost block ends."""

    def __init__(self):
        self._depth = 0
        self._restore = []          # (put, threads) for the outermost block's end
        self._checked_at = -1       # len(sys.modules) when every BLAS was last seen on one thread

    def __enter__(self):
        self._depth += 1
        if self._checked_at == len(sys.modules):
            return
        for get, put in _current_blas_switches()[0]:
            n = get()
            if n != 1:
                put(1)
                self._restore.append((put, n))
        self._checked_at = len(sys.modules)

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0:
            for put, n in reversed(self._restore):
                put(n)
            self._restore.clear()
            self._checked_at = -1


one_blas_thread = _SerialBlas()
"""Context manager: numpy's BLAS on one thread inside (for products not worth splitting)."""


class _Job:
    """The pieces of one split product, claimed one at a time by whichever thread asks first:
    the caller and any helper that wakes in time. A helper that wakes late finds nothing left."""

    def __init__(self, pieces):
        import threading                # here: a script that never splits a product never imports it
        self.pieces, self.next, self.left = pieces, 0, len(pieces)
        self.lock, self.finished, self.error = threading.Lock(), threading.Event(), None

    def work(self):
        while True:
            with self.lock:
                i = self.next
                if i == len(self.pieces):
                    return
                self.next = i + 1
            try:
                a, b, out = self.pieces[i]
                np.matmul(a, b, out=out)
            except BaseException as error:     # handed to the caller, who raises it
                self.error = error
            self._done(1)

    def _done(self, count):
        with self.lock:
            self.left -= count
            if self.left == 0:
                self.finished.set()

    def cancel_unclaimed(self):
        with self.lock:
            unclaimed = len(self.pieces) - self.next
            self.next = len(self.pieces)
        if unclaimed:
            self._done(unclaimed)


class _Helpers:
    """Threads that sleep on a queue (no spinning) until a split product needs them."""

    def __init__(self):
        self.queues = []
        os.register_at_fork(after_in_child=self.queues.clear)   # threads do not survive a fork

    def run(self, pieces, helpers):
        job = _Job(pieces)
        while len(self.queues) < helpers:
            import queue                # here, not at the top: an import fastseq never pays for it
            import threading
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name="fastseq-product", daemon=True).start()
            self.queues.append(inbox)
        for inbox in self.queues[:helpers]:
            inbox.put(job)
        try:
            job.work()
        finally:                        # never leave a helper writing after the caller returns
            job.cancel_unclaimed()
            job.finished.wait()
        if job.error is not None:
            raise job.error

    @staticmethod
    def _serve(inbox):
        while True:
            inbox.get().work()


_HELPERS = _Helpers()


def one_thread_matmul(a, b, out):
    """``a @ b`` into ``out`` on one BLAS thread, returning ``out``; ``a`` (M, K) or (K,), ``b``
    (K, N) or (K,). BLAS's threads are switched only where it would use more than one."""
    rows = a.shape[0] if a.ndim == 2 else 1
    cols = b.shape[1] if b.ndim == 2 else 1
    if blas_runs_it_serially(rows, a.shape[-1], cols):
        return _product(a, b, out)
    with one_blas_thread:
        return _product(a, b, out)


def _product(a, b, out):
    """``a @ b`` into ``out``: by ``np.dot`` where it accepts ``out`` (C-contiguous, of the
    operands' dtype), whose call costs about half of ``np.matmul``'s on a small product; both
    hand the same product to BLAS."""
    if out.flags.c_contiguous and out.dtype == a.dtype == b.dtype:
        return np.dot(a, b, out=out)
    return np.matmul(a, b, out=out)


def matmul(a, b, out=None):
    """``a (M, K) @ b (K, N)`` → ``out (M, N)`` (allocated when None; may be a view, as ``a`` and
    ``b`` may be transposed or sliced views), returned.

    Below BLAS_MIN_WORK multiply-adds it is one product on one BLAS thread
    (``one_thread_matmul``). Above, the output's longer side is cut into PRODUCT_PIECES fixed
    pieces, each a one-thread BLAS product; the caller and up to ``product threads - 1`` helper
    threads take pieces until none are left.
    The helpers sleep between products, and the caller computes any piece no helper has taken,
    so a helper kept off its core by another process delays nothing. The pieces depend only on
    the shapes, so results are the same for any thread count and any load."""
    M, N = a.shape[0], b.shape[1]
    if (M * a.shape[1] * N < _OPENBLAS_SERIAL_GEMV and _blas_switches[1] == len(sys.modules)
            and _blas_switches[0][1]):           # the same test as below, inlined for the smallest products
        return np.dot(a, b) if out is None else _product(a, b, out)
    if blas_runs_it_serially(M, a.shape[1], N):     # BLAS keeps it on this thread: nothing to switch
        return np.dot(a, b) if out is None else _product(a, b, out)
    if out is None:
        out = np.empty((M, N), dtype=np.result_type(a, b))
    longer = max(M, N)
    if M * a.shape[1] * N < BLAS_MIN_WORK or longer < PRODUCT_PIECES or PRODUCT_PIECES == 1:
        with one_blas_thread:
            return _product(a, b, out)
    cuts = [longer * i // PRODUCT_PIECES for i in range(PRODUCT_PIECES + 1)]
    if N >= M:
        pieces = [(a, b[:, i:j], out[:, i:j]) for i, j in zip(cuts, cuts[1:])]
    else:
        pieces = [(a[i:j], b, out[i:j]) for i, j in zip(cuts, cuts[1:])]
    with one_blas_thread:
        _HELPERS.run(pieces, min(_product_threads[0], PRODUCT_PIECES) - 1)
    return out


# How often others_hold_the_cores looks again (seconds), and its last answer.
_LOOK_EVERY = 0.5
_LOOKS = 3
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
    """With ``FASTSEQ_ONE_THREAD_WHEN_BUSY=1`` in the environment: ``others_hold_the_cores()``,
    where a second thread would wait for a core and one thread is faster. False otherwise."""
    return os.environ.get(_WHEN_BUSY_ENV) == "1" and others_hold_the_cores()


def others_hold_the_cores():
    """True when other processes' threads are running on all the cores but one (Linux: the
    system's ``procs_running`` less this process's running threads, looked at most every half
    second, and busy only when ``_LOOKS`` reads 0.5 ms apart all say so: one read caught a
    passing system thread about once in a hundred on an idle machine). False otherwise, and
    where it cannot be read. Kernels whose threads wait on each other within a call
    (``kernels.reservoir.reservoir_run_team``) ask it whatever the environment says: their
    results do not depend on the answer."""
    now = time.monotonic()
    if now - _last_look[0] < _LOOK_EVERY:
        return _last_look[1]
    busy = False
    try:
        for look in range(_LOOKS):
            if look:
                time.sleep(0.0005)
            with open("/proc/stat", "rb") as f:
                running = next(int(line.split()[1]) for line in f if line.startswith(b"procs_running"))
            busy = running - _own_running_threads() >= available_cores() - 1 > 0
            if not busy:
                break
    except (OSError, ValueError, StopIteration):
        busy = False
    _last_look[0], _last_look[1] = time.monotonic(), busy
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
    return max(1, min(cores, _numba_thread_cap(cores)))


def _numba_thread_cap(cores):
    """NUMBA_NUM_THREADS: numba's setting once numba is imported; before, the environment's
    (numba's default is the cores this process may use)."""
    if "numba" in sys.modules:
        return sys.modules["numba"].config.NUMBA_NUM_THREADS
    try:
        return int(os.environ.get("NUMBA_NUM_THREADS") or cores)
    except ValueError:
        return cores


# A large product is cut into this many pieces, one per core this process may use when it
# starts: fixed for the process, so a result never depends on the thread setting or the load.
PRODUCT_PIECES = available_cores()
# Threads (the caller and helpers) that take a split product's pieces: fastseq.threads sets it.
_product_threads = [PRODUCT_PIECES]


def _apply_env():
    value = os.environ.get(_ENV)
    if not value:
        return
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{_ENV} must be a whole number of threads, got {value!r}") from None
    most = _numba().config.NUMBA_NUM_THREADS
    if not 1 <= n <= most:
        clamped = min(max(n, 1), most)
        warnings.warn(f"{_ENV}={n}, but {most} threads are available (NUMBA_NUM_THREADS); using {clamped}",
                      RuntimeWarning, stacklevel=2)
        n = clamped
    set_num_threads(n)


_apply_env()
