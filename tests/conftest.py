import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not os.environ.get("FASTSEQ_DATA") and SHARED.is_dir():
    os.environ["FASTSEQ_DATA"] = str(SHARED)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def tol(dtype):
    """(rtol, atol) for comparing a fast result with its reference in ``dtype``."""
    return (1e-5, 1e-6) if np.dtype(dtype) == np.float32 else (1e-10, 1e-12)
