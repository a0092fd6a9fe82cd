"""What the book's random draws cost: the drop-in's "book" draw mode (dropout masks from
``np.random.rand``, negatives in ``np.random.choice``'s order) against fastseq's "fast" mode
(counter-based streams inside the kernels), and against the reference twin where the book's
loop is slow. Group names say which pair is compared; "others" in the summary holds the third."""
import numpy as np
import pytest

from fastseq._draws import get_draws, set_draws
from fastseq.datasets import ptb
from fastseq.layers import core as F
from fastseq.layers import negative_sampling as NS
from fastseq.layers import time_layers as FT
from fastseq.reference import negative_sampling as R


@pytest.fixture
def draws():
    previous = get_draws()
    yield set_draws
    set_draws(previous)


@pytest.fixture(scope="module")
def corpus():
    ids, word_to_id, _ = ptb.load_data("train")
    return ids, len(word_to_id)


# impl "fast": fast draws; "reference": the book's draws, fastseq's kernels; "book-loop": the
# reference twin (the book's own per-row choice), for the sampler only.
@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_time_dropout_draws(benchmark, paired, draws, impl):
    draws("fast" if impl == "fast" else "book")
    xs = np.random.default_rng(0).standard_normal((20, 35, 650)).astype(np.float32)
    layer = FT.TimeDropout(0.5)
    paired(benchmark, "TimeDropout fwd 20x35x650: book draws (ref) vs fast", impl, lambda: layer.forward(xs))


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_dropout_draws(benchmark, paired, draws, impl):
    draws("fast" if impl == "fast" else "book")
    x = np.random.default_rng(0).standard_normal((700, 650)).astype(np.float32)
    layer = F.Dropout(0.5)
    paired(benchmark, "Dropout fwd 700x650: book draws (ref) vs fast", impl, lambda: layer.forward(x))


@pytest.mark.parametrize("impl", ["fast", "reference", "book-loop"])
def test_negative_sample_draws(benchmark, paired, draws, corpus, impl):
    ids, V = corpus
    target = np.random.default_rng(0).integers(0, V, 100)
    draws("fast" if impl == "fast" else "book")
    sampler = (R if impl == "book-loop" else NS).UnigramSampler(ids, 0.75, 5)
    np.random.seed(0)
    paired(benchmark, "UnigramSampler N=100 K=5 V=10000: book draws (ref) vs fast", impl,
           lambda: sampler.get_negative_sample(target))
