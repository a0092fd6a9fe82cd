"""Inputs that used to crash, hang or give silent garbage: each now gets a clear error naming the
argument, or the correct result."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import fastseq
from fastseq import count
from fastseq.layers import attention as FA
from fastseq.layers import time_layers as FT
from fastseq.layers.negative_sampling import UnigramSampler
from fastseq.models import Rnnlm
from fastseq.optimizers import Adam
from fastseq.reference import attention as RA
from fastseq.vectors import KeyedVectors
from fastseq.word2vec import train_word2vec


def _trained_grads(model):
    model.forward(np.zeros((2, 3), dtype=np.int64), np.ones((2, 3), dtype=np.int64))
    model.backward()
    return model.params, model.grads


def test_optimizer_state_of_another_model_is_refused():
    opt = Adam()
    opt.update([np.zeros(4, "f4")], [np.ones(4, "f4")])
    with pytest.raises(ValueError, match=r"Adam.update: state m\[0\] is float32 \(4,\)"):
        opt.update([np.zeros(20_000_000, "f4")], [np.ones(20_000_000, "f4")])
    opt = Adam()
    opt.update(*_trained_grads(Rnnlm(30, 4, 4)))
    big = Rnnlm(30, 4, 64)
    before = [p.copy() for p in big.params]
    with pytest.raises(ValueError, match="state made for another model"):
        opt.update(*_trained_grads(big))
    assert all(np.array_equal(a, b) for a, b in zip(before, big.params))     # nothing was touched


def test_loaded_optimizer_state_is_checked_before_use():
    opt = Adam()
    opt.update([np.zeros(4, "f4")], [np.ones(4, "f4")])
    state = opt.state_dict()
    state["arrays"]["m.0"] = np.zeros(3, "f4")
    fresh = Adam()
    fresh.load_state_dict(state)
    with pytest.raises(ValueError, match=r"state m\[0\] is float32 \(3,\)"):
        fresh.update([np.zeros(4, "f4")], [np.ones(4, "f4")])
    with pytest.raises(ValueError, match="unknown state array"):
        Adam().load_state_dict({"scalars": {}, "arrays": {"q.0": np.zeros(2)}})


def test_attention_weight_backward_checks_da():
    rng = np.random.default_rng(0)
    hs, h = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 3))
    fast, ref = FA.AttentionWeight(), RA.AttentionWeight()
    fast.forward(hs, h)
    ref.forward(hs, h)
    with pytest.raises(ValueError, match=r"AttentionWeight: da must have shape \(2, 5\)"):
        fast.backward(np.ones((2, 7)))
    da = rng.standard_normal(5)                       # broadcasts, as in the book
    for a, b in zip(fast.backward(da), ref.backward(da)):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        FA.AttentionWeight().backward(da)


@pytest.mark.parametrize("power", [0, -0.75, 500, float("nan"), float("inf")])
def test_sampler_that_cannot_draw_fails_at_construction(power):
    corpus = np.array([0, 0, 0, 1, 2, 3, 3, 6])            # ids 4 and 5 never occur
    with pytest.raises(ValueError, match="UnigramSampler: "):
        UnigramSampler(corpus, power, 3)


def test_word2vec_refuses_an_undrawable_distribution_and_infinite_rates():
    corpus = np.arange(50) % 7                 # id 0 occurs once more than the others
    with pytest.raises(ValueError, match="train_word2vec: .*power=200"):
        train_word2vec(corpus, power=200.0, epochs=1)
    with pytest.raises(ValueError, match="train_word2vec: lr must be finite"):
        train_word2vec(corpus, lr=float("inf"), epochs=1)


def test_huge_window_is_clamped_not_quadratic():
    corpus = np.random.default_rng(1).integers(0, 20, 300)
    C = count.co_occurrence(corpus, 20, 100_000_000).toarray()
    np.testing.assert_array_equal(C, count.create_co_matrix(corpus, 20, len(corpus) - 1))
    with pytest.raises(ValueError, match="co_occurrence: window_size=199999 over 200000 words means"):
        count.co_occurrence(np.zeros(200_000, np.int32), 1, 10 ** 8)
    assert count._count_dtype(np.zeros(10 ** 6, np.int32), 2000) == np.int64     # 4e9 pairs: int64
    assert count._count_dtype(np.zeros(10 ** 6, np.int32), 2) == np.int32


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_ppmi_refuses_nan_and_inf_counts(bad):
    C = np.ones((3, 3))
    C[1, 2] = bad
    with pytest.raises(ValueError, match="ppmi: C holds NaN or inf"):
        count.ppmi(C)
    with pytest.raises(ValueError, match="ppmi_sparse: C holds NaN or inf"):
        count.ppmi_sparse(sp.csr_matrix(C))


def test_malformed_csr_is_refused():
    C = sp.csr_matrix((np.ones(2), np.array([0, 7]), np.array([0, 1, 2])), shape=(2, 2), copy=False)
    with pytest.raises(ValueError, match="ppmi_sparse: C is not a well-formed sparse matrix"):
        count.ppmi_sparse(C)


def test_params_replaced_after_construction_are_refused():
    rng = np.random.default_rng(2)
    layer = FT.TimeLSTM(*(rng.standard_normal(s).astype("f") for s in [(3, 16), (4, 16), (16,)]))
    layer.params[1] = rng.standard_normal((40, 160)).astype("f")
    with pytest.raises(ValueError, match=r"TimeLSTM: params\[1\] is now float32 \(40, 160\)"):
        layer.forward(np.zeros((2, 5, 3), "f"))
    affine = FT.TimeAffine(np.zeros((3, 4), "f"), np.zeros(4, "f"))
    affine.params[0] = np.zeros((3, 9), "f")
    with pytest.raises(ValueError, match="TimeAffine: W has shape"):
        affine.forward(np.zeros((1, 2, 3), "f"))


def test_float16_empty_batches_and_backward_first():
    with pytest.raises(TypeError, match="Affine: x must be a float32 or float64 array, got dtype float16"):
        fastseq.layers.Affine(np.zeros((3, 2), "f"), np.zeros(2, "f")).forward(np.zeros((4, 3), np.float16))
    empty = FT.TimeAffine(np.ones((3, 2), "f"), np.zeros(2, "f")).forward(np.zeros((0, 5, 3), "f"))
    assert empty.shape == (0, 5, 2)
    with pytest.raises(ValueError, match="SoftmaxWithLoss: x is an empty batch"):
        fastseq.layers.SoftmaxWithLoss().forward(np.zeros((0, 3), "f"), np.zeros(0, int))
    with pytest.raises(ValueError, match="TimeSoftmaxWithLoss: ts is empty or every label is ignore_label"):
        FT.TimeSoftmaxWithLoss().forward(np.zeros((2, 3, 4), "f"), -np.ones((2, 3), int))
    assert FT.TimeLSTM(np.zeros((3, 8), "f"), np.zeros((2, 8), "f"), np.zeros(8, "f")).forward(
        np.zeros((4, 0, 3), "f")).shape == (4, 0, 2)
    for layer, args in ((fastseq.layers.Affine(np.zeros((3, 2)), np.zeros(2)), (np.zeros((1, 2)),)),
                        (fastseq.layers.Embedding(np.zeros((3, 2))), (np.zeros((1, 2)),)),
                        (FT.TimeAffine(np.zeros((3, 2)), np.zeros(2)), (np.zeros((1, 1, 2)),))):
        with pytest.raises(RuntimeError, match="backward called before forward"):
            layer.backward(*args)


def test_too_many_threads_are_clamped_with_one_warning():
    env = dict(os.environ, FASTSEQ_NUM_THREADS="64")
    done = subprocess.run([sys.executable, "-c", "import fastseq; print(fastseq.get_num_threads())"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and int(done.stdout) <= os.cpu_count()
    assert done.stderr.count("FASTSEQ_NUM_THREADS=64") == 1
    done = subprocess.run([sys.executable, "-m", "fastseq.cli", "count", "--help"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr


def test_unwritable_kernel_cache_falls_back_to_the_user_cache(tmp_path):
    """A copy of the package whose kernels/__pycache__ cannot be created (a file stands there):
    numba would fail with 'cannot cache function'; fastseq moves the cache and warns once."""
    copy = tmp_path / "site" / "fastseq"
    shutil.copytree(Path(fastseq.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "kernels" / "__pycache__").write_text("not a folder")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(tmp_path / "site"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    code = ("import numpy as np, fastseq.functions as F, fastseq.numpy_kernels as K; K.credit = 0; "
            "print(F.sigmoid(np.zeros(4096, 'f'))[0]); "
            "import os; print(os.environ['NUMBA_CACHE_DIR'])")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "0.5" and done.stdout.split()[1] == str(tmp_path / "cache" / "fastseq" / "numba")
    assert done.stderr.count("is not writable") == 1
    assert any((tmp_path / "cache" / "fastseq" / "numba").rglob("*.nbi"))


def test_word2vec_text_format_words_and_the_c_tools_trailing_space(tmp_path):
    vectors = np.eye(2, dtype=np.float32)
    with pytest.raises(ValueError, match="the word 'new york' is empty or holds white space"):
        KeyedVectors(vectors, ["new york", "b"]).save_word2vec_format(tmp_path / "v.txt")
    assert not (tmp_path / "v.txt").exists()
    (tmp_path / "c.txt").write_text("2 2\nalpha 1 0 \nbeta 0 1 \n")       # as word2vec.c writes
    kv = KeyedVectors.load_word2vec_format(tmp_path / "c.txt")
    assert kv.id_to_word == ["alpha", "beta"] and np.array_equal(kv.vectors, vectors)
    (tmp_path / "bad.txt").write_text("1 2\nalpha 1 x\n")
    with pytest.raises(ValueError, match="load_word2vec_format: .*bad.txt:2: the 2 values are not all numbers"):
        KeyedVectors.load_word2vec_format(tmp_path / "bad.txt")
