"""Side-by-side benchmarks: every case runs the fast layer and its reference on the same inputs.

Each benchmark calls ``paired(benchmark, group, impl, fn)``; the session ends with a table of
medians and the reference/fast ratio per group (higher is better for fastseq).
"""
import os
from pathlib import Path

import numba
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not os.environ.get("FASTSEQ_DATA") and SHARED.is_dir():
    os.environ["FASTSEQ_DATA"] = str(SHARED)

_medians = {}
_threads = {}   # numba threads each group ran with (BLAS runs on fastseq's default)


@pytest.fixture
def paired():
    """Run ``fn`` once untimed (compilation), then under pytest-benchmark; remember its median."""
    def run(benchmark, group, impl, fn, rounds=20):
        benchmark.group = group
        benchmark.extra_info["impl"] = impl
        fn()
        benchmark.pedantic(fn, rounds=rounds, warmup_rounds=1, iterations=1)
        _medians.setdefault(group, {})[impl] = benchmark.stats.stats.median
        _threads[group] = numba.get_num_threads()
    return run


def pytest_terminal_summary(terminalreporter):
    if not _medians:
        return
    tr = terminalreporter
    tr.section("fastseq vs reference (medians)")
    tr.write_line(f"{'case':58s} {'numba':>5s} {'fast ms':>10s} {'ref ms':>10s} {'ratio':>8s}  others")
    for group, impls in _medians.items():
        fast, ref = impls.get("fast"), impls.get("reference")
        ratio = f"{ref / fast:7.1f}x" if fast and ref else "      -"
        others = ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in impls.items() if k not in ("fast", "reference"))
        tr.write_line(f"{group:58s} {_threads[group]:5d} {fast * 1e3 if fast else float('nan'):10.3f} "
                      f"{ref * 1e3 if ref else float('nan'):10.3f} {ratio}  {others}")
