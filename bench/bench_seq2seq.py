"""One training epoch of Seq2seq and AttentionSeq2seq on the book's toy sets, fast vs reference.

An "epoch" here is the first 5,120 training questions (40 batches of 128) so the reference
side stays short; settings are the book's (wordvec 16, hidden 128 / 256, Adam, clip 5)."""
import numpy as np
import pytest

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
