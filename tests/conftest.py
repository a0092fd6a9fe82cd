import os
import sys
from pathlib import Path

import numpy as np
import pytest

from fastseq import numpy_kernels

# Large calls go to the kernels from the first one, whatever ran before in this process: the
# start-up credit (fastseq.numpy_kernels) has its own tests, in subprocesses and by hand.
numpy_kernels.credit = 0

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not os.environ.get("FASTSEQ_DATA") and SHARED.is_dir():
    os.environ["FASTSEQ_DATA"] = str(SHARED)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def tol(dtype):
    """(rtol, atol) for comparing a fast result with its reference in ``dtype``."""
    return (1e-5, 1e-6) if np.dtype(dtype) == np.float32 else (1e-10, 1e-12)


def pytest_terminal_summary(terminalreporter):
    """The fuzz suite's totals (tests/test_fuzz.py), when it ran."""
    fuzz = sys.modules.get("test_fuzz") or sys.modules.get("tests.test_fuzz")
    if fuzz is not None and fuzz.TOTALS:
        terminalreporter.section("fuzz suite")
        terminalreporter.write_line(", ".join(f"{k}: {v}" for k, v in fuzz.TOTALS.items()))
