"""Parallel kernels that run on one thread below the size where threads pay.

A ``prange`` loop wakes numba's worker threads and waits for all of them. On an idle machine
that costs about 2 µs; beside another CPU-bound process a worker may wait milliseconds for a
core (measured here: a 100-element parallel kernel took 0.66 ms beside a NumPy matrix-product
loop, 4 µs on one thread). ``parallel_kernel`` therefore compiles a kernel's source twice,
with ``parallel=True`` and without (``prange`` then runs as ``range``), and each call picks the
serial build when its work is below ``PARALLEL_MIN_WORK``, when numba is set to one thread, or,
with ``FASTSEQ_ONE_THREAD_WHEN_BUSY=1``, while other processes occupy the other cores
(``fastseq._threads.machine_busy``). Larger calls run on the threads the caller set
(``fastseq.threads``, the training functions' thread policy).
"""
import functools
import types

import numba
from numba import njit

from fastseq._threads import machine_busy

# 2**17 elements: about 60 µs of one thread's elementwise work, where a second thread saves
# less than a busy machine's wake-up delay costs.
PARALLEL_MIN_WORK = 1 << 17


def _first_size(*args):
    return args[0].size


def parallel_kernel(work=_first_size, **options):
    """Decorator: compile ``fn`` with ``njit(cache=True, parallel=True, **options)`` and a
    serial twin from the same source; ``work(*args)`` (default: the size of the first array)
    chooses the build per call. The builds are ``.parallel`` and ``.serial``."""
    def wrap(fn):
        # the serial build gets its own name, so numba's on-disk cache keeps the two apart
        serial_fn = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__,
                                       fn.__closure__)
        serial_fn.__qualname__ = fn.__qualname__ + "_serial"
        parallel = njit(cache=True, parallel=True, **options)(fn)
        serial = njit(cache=True, **options)(serial_fn)

        @functools.wraps(fn)
        def call(*args):
            if work(*args) < PARALLEL_MIN_WORK or numba.get_num_threads() == 1 or machine_busy():
                return call.serial(*args)
            return call.parallel(*args)
        call.parallel, call.serial = parallel, serial
        return call
    return wrap
