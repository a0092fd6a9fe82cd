"""One training epoch of Seq2seq and AttentionSeq2seq on the book's toy sets, fast vs reference.

An "epoch" here is the first 5,120 training questions (40 batches of 128) so the reference
side stays short; settings are the book's (wordvec 16, hidden 128 / 256, Adam, clip 5)."""
import numpy as np
import pytest
from _floors import recurrent_products

from fastseq.datasets import sequence
from fastseq.models import seq2seq as fast_models
from fastseq.optimizers import Adam
from fastseq.reference import seq2seq as ref_models
from fastseq.reference.optimizers import Adam as RefAdam
from fastseq.reference.util import clip_grads as ref_clip
from fastseq.util import clip_grads

CASES = [("addition", "Seq2seq", 128), ("addition", "AttentionSeq2seq", 128), ("date", "Seq2seq", 256),
         ("date", "AttentionSeq2seq", 256)]


@pytest.mark.parametrize("data,name,hidden", CASES)
@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_epoch(benchmark, paired, data, name, hidden, impl):
    (x, t), _ = sequence.load_data(f"{data}.txt")
    x, t = x[:5120], t[:5120]
    V = len(sequence.get_vocab()[1])
    np.random.seed(0)
    if impl == "fast":
        model, opt, clip = getattr(fast_models, name)(V, 16, hidden), Adam(), clip_grads
    else:
        model, opt, clip = getattr(ref_models, name)(V, 16, hidden), RefAdam(), ref_clip

    def epoch():
        for i in range(0, len(x), 128):
            model.forward(x[i:i + 128], t[i:i + 128])
            model.backward()
            clip(model.grads, 5.0)
            opt.update(model.params, model.grads)
    paired(benchmark, f"{name} epoch of 40 batches, {data}, hidden {hidden}", impl, epoch, rounds=3)


@pytest.mark.parametrize("data,name,hidden", CASES)
def test_epoch_gemm_floor(benchmark, paired, data, name, hidden):
    """The matrix products of the same 40 batches alone: encoder and decoder LSTMs (input
    projection, T recurrent products forward and back, weight and input gradients), the output
    affine forward and backward, and for attention its six batched products."""
    (x, t), _ = sequence.load_data(f"{data}.txt")
    V, N, D, H = len(sequence.get_vocab()[1]), 128, 16, hidden
    Te, Td = x.shape[1], t.shape[1] - 1
    rng = np.random.default_rng(0)
    encoder, decoder = recurrent_products(Te, N, D, H), recurrent_products(Td, N, D, H)
    H_out = 2 * H if name == "AttentionSeq2seq" else H
    h_out = rng.standard_normal((Td * N, H_out)).astype(np.float32)
    W_out = rng.standard_normal((H_out, V)).astype(np.float32)
    dy = rng.standard_normal((Td * N, V)).astype(np.float32)
    enc = rng.standard_normal((N, Te, H)).astype(np.float32)
    dec = rng.standard_normal((N, Td, H)).astype(np.float32)
    A = rng.standard_normal((N, Td, Te)).astype(np.float32)

    def epoch():
        for _ in range(40):
            encoder()
            decoder()
            h_out @ W_out
            h_out.T @ dy
            dy @ W_out.T
            if name == "AttentionSeq2seq":
                np.matmul(dec, enc.transpose(0, 2, 1))
                np.matmul(A, enc)
                np.matmul(dec, enc.transpose(0, 2, 1))
                np.matmul(A.transpose(0, 2, 1), dec)
                np.matmul(A.transpose(0, 2, 1), dec)
                np.matmul(A, enc)
    paired(benchmark, f"{name} epoch of 40 batches, {data}, hidden {hidden}", "gemm-floor", epoch, rounds=3)
