"""Optimizers: one update over 1M float32 parameters (as 4 arrays), fast vs reference."""
import numpy as np
import pytest

import fastseq.optimizers as F
import fastseq.reference.optimizers as R


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"])
@pytest.mark.parametrize("impl,O", [("fast", F), ("reference", R)])
def test_update(benchmark, paired, name, impl, O):
    rng = np.random.default_rng(0)
    shapes = [(1000, 900), (900,), (100, 990), (100,)]
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [1e-3 * rng.standard_normal(s).astype(np.float32) for s in shapes]
    opt = getattr(O, name)()
    paired(benchmark, f"{name}.update 1M floats f32", impl, lambda: opt.update(params, grads))
