"""The language model's output layer, where the vocabulary product costs most of a step.

* A BetterRnnlm training step (batch 20, 35 steps, 400 units, PTB's 10,000 words) through the
  sampled softmax (``train-lm --sampled-softmax 2048``, column "fast") against the full
  softmax (column "reference").
* The bias in the vocabulary product: TimeAffine's forward at that shape (column "reference")
  against its product alone (column "fast"). Their difference is the most that folding the
  bias into the product could save.
"""
import numpy as np
import pytest

from fastseq.layers.sampled_softmax import SampledTraining
from fastseq.layers.time_layers import TimeAffine
from fastseq.models import BetterRnnlm
from fastseq.optimizers import SGD
from fastseq.trainer import train_step

V, H, N, T, K = 10000, 400, 20, 35, 2048


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_better_rnnlm_step_sampled_against_full_softmax(benchmark, paired, impl):
    rng = np.random.default_rng(0)
    np.random.seed(0)
    model = BetterRnnlm(V, H, H, dropout_ratio=0.3)
    counts = rng.zipf(1.3, V).astype(np.float64)
    trained = SampledTraining(model, counts, K) if impl == "fast" else model
    xs = rng.integers(0, V, (N, T))
    ts = rng.integers(0, V, (N, T))
    optimizer = SGD(0.1)
    paired(benchmark, f"BetterRnnlm step H={H} V={V} N={N} T={T}: sampled k={K} vs full", impl,
           lambda: train_step(trained, optimizer, xs, ts, 0.25, 1, 1), rounds=10)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_vocabulary_product_with_and_without_its_bias(benchmark, paired, impl):
    rng = np.random.default_rng(1)
    E = rng.standard_normal((V, H)).astype(np.float32)
    layer = TimeAffine(E.T, np.zeros(V, dtype=np.float32))
    x = rng.standard_normal((N, T, H)).astype(np.float32)
    if impl == "reference":
        step = lambda: layer.forward(x)                      # noqa: E731
    else:
        from fastseq._threads import matmul
        rows = x.reshape(N * T, H)
        step = lambda: matmul(rows, E.T)                     # noqa: E731
    paired(benchmark, f"TimeAffine forward {N * T}x{H} @ {H}x{V}: product only vs with bias", impl, step)
