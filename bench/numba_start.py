"""numba's start-up in a fresh process, numba's own way against ``fastseq._numba_start``'s, side by
side: seconds from ``import numba`` to the end of one cached kernel's first call.

    python bench/numba_start.py [--rounds 10]

numba's way imports ``numba.np.arraymath`` as it is (its import-time BLAS check imports SciPy's
``linalg``) before fastseq's first kernel; fastseq's way lets the kernel start numba through
``fastseq._numba_start``. Every round runs both, each in a new process; medians and their ratio.
"""
import argparse
import statistics
import subprocess
import sys

CHILD = r"""
import sys, time
import numpy as np
x = np.linspace(-3, 3, 4096, dtype=np.float32).reshape(4, 1024)
y = np.empty_like(x)
t = time.perf_counter()
if sys.argv[1] == "numba":
    import numba.np.arraymath
from fastseq import kernels
kernels.softmax.softmax_forward(x, y)
print(time.perf_counter() - t)
"""


def _once(way):
    done = subprocess.run([sys.executable, "-c", CHILD, way], capture_output=True, text=True, check=True)
    return float(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    _once("fastseq")                            # the kernel compiled and cached outside the clock
    times = {"numba": [], "fastseq": []}
    for _ in range(args.rounds):
        for way in times:
            times[way].append(_once(way))
    numba_s, fast_s = statistics.median(times["numba"]), statistics.median(times["fastseq"])
    print(f"numba's own start-up, then the first kernel call: {numba_s * 1e3:7.1f} ms (median of {args.rounds})")
    print(f"through fastseq._numba_start:                     {fast_s * 1e3:7.1f} ms")
    print(f"ratio {numba_s / fast_s:.2f}x, {1e3 * (numba_s - fast_s):.0f} ms less a process")


if __name__ == "__main__":
    main()
