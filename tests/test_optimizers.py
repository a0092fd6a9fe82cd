import numpy as np
import pytest

import fastseq.optimizers as F
import fastseq.reference.optimizers as R

NAMES = ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_matches_reference_over_steps_with_lr_change(rng, name, dtype):
    # NumPy updates the small ones (numpy_kernels.MAX_SIZE), the kernels the (40, 30) ones
    shapes = [(300,), (7, 5), (5, 7), (40, 30), (30, 40)]
    p_fast = [rng.standard_normal(s).astype(dtype) for s in shapes]
    p_fast[2] = np.asfortranarray(p_fast[2])   # transposed-layout parameters
    p_fast[4] = np.asfortranarray(p_fast[4])
    p_ref = [p.copy() for p in p_fast]
    ids = [id(p) for p in p_fast]
    fast, ref = getattr(F, name)(lr=0.05), getattr(R, name)(lr=0.05)
    for step in range(4):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        if step == 2:
            fast.lr = ref.lr = 0.01
        fast.update(p_fast, grads)
        ref.update(p_ref, grads)
    assert [id(p) for p in p_fast] == ids
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(p_fast, p_ref):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def test_state_created_lazily_one_slot_per_param(rng):
    opt = F.Adam()
    assert opt.m is None and opt.v is None and opt.iter == 0
    params = [np.zeros(3, np.float32), np.zeros((2, 2), np.float32)]
    opt.update(params, [np.ones(3, np.float32), np.ones((2, 2), np.float32)])
    assert opt.iter == 1 and [m.shape for m in opt.m] == [(3,), (2, 2)]


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"grads\[0\] has shape \(2,\), params\[0\] has \(3,\)"):
        F.SGD().update([np.zeros(3)], [np.zeros(2)])
    with pytest.raises(ValueError, match="1 params but 2 grads"):
        F.SGD().update([np.zeros(3)], [np.zeros(3), np.zeros(3)])
    with pytest.raises(ValueError, match="must be C- or F-contiguous"):
        F.SGD().update([np.zeros((4, 4))[::2]], [np.zeros((2, 4))])
