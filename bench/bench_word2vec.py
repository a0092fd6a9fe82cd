"""word2vec: NegativeSamplingLoss fwd+bwd and a book-style CBOW training step (fast vs reference),
the Hogwild kernel against its one-thread Python twin on a PTB slice, and the Hogwild trainer's
words/s on full PTB (fastseq, and gensim when installed)."""
import numba
import numpy as np
import pytest

from fastseq import models
from fastseq.datasets import ptb
from fastseq.kernels.sampling import alias_table
from fastseq.kernels.word2vec import CBOW, SKIPGRAM, SKIPGRAM_SHARED, train_span
from fastseq.layers import negative_sampling as F
from fastseq.optimizers import Adam
from fastseq.reference import negative_sampling as R
from fastseq.reference import word2vec as ref_models
from fastseq.reference.word2vec import hogwild_span
from fastseq.reference.optimizers import Adam as RefAdam
from fastseq.reference.util import remove_duplicate as ref_remove_duplicate
from fastseq.util import create_contexts_target, remove_duplicate
from fastseq.word2vec import train_word2vec


@pytest.fixture(scope="module")
def corpus():
    ids, word_to_id, _ = ptb.load_data("train")
    return ids, len(word_to_id)


@pytest.mark.parametrize("impl,L", [("fast", F), ("reference", R)])
def test_negative_sampling_loss(benchmark, paired, corpus, impl, L):
    ids, V = corpus
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((V, 100)) * 0.01).astype(np.float32)
    h = rng.standard_normal((100, 100)).astype(np.float32)
    target = rng.integers(0, V, 100)
    layer = L.NegativeSamplingLoss(W, ids, 0.75, 5)
    np.random.seed(0)

    def step():
        layer.forward(h, target)
        layer.backward()
    paired(benchmark, "NegativeSamplingLoss fwd+bwd N=100 D=100 K=5 V=10000", impl, step)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_cbow_step(benchmark, paired, corpus, impl):
    ids, V = corpus
    contexts, target = create_contexts_target(ids[:20000], 5)
    np.random.seed(0)
    if impl == "fast":
        model, opt, fold = models.CBOW(V, 100, 5, ids), Adam(), remove_duplicate
    else:
        model, opt, fold = ref_models.CBOW(V, 100, 5, ids), RefAdam(), ref_remove_duplicate
    batches = iter(range(0, 10 ** 9, 100))

    def step():
        i = next(batches) % (len(target) - 100)
        model.forward(contexts[i:i + 100], target[i:i + 100])
        model.backward()
        params, grads = fold(model.params, model.grads)
        opt.update(params, grads)
    paired(benchmark, "CBOW step (book) batch 100 window 5 V=10000 D=100 Adam", impl, step,
           rounds=5 if impl == "reference" else 30)


MODES = {"cbow": CBOW, "skipgram": SKIPGRAM, "skipgram-shared": SKIPGRAM_SHARED}


@pytest.mark.parametrize("impl", ["fast", "reference"])
@pytest.mark.parametrize("model", list(MODES))
def test_hogwild_span(benchmark, paired, corpus, model, impl):
    """One thread over the first 2,000 PTB words (window 5, dim 100, 5 negatives): the kernel
    against its Python twin, both starting from the same weights every round."""
    ids, V = corpus
    rng = np.random.default_rng(0)
    p = np.bincount(ids, minlength=V) ** 0.75
    prob, alias = alias_table(p / p.sum())
    W_in0 = ((rng.random((V, 100)) - 0.5) / 100).astype(np.float32)
    span = ids[:2000].astype(np.int32)
    args = (prob, alias, 5, 5, MODES[model], 0.025, 0.0, 1e6)
    loss, pairs = np.zeros(4), np.zeros(4, dtype=np.int64)

    def run():
        W_in, W_out = W_in0.copy(), np.zeros_like(W_in0)
        if impl == "fast":
            train_span(span, 0, span.size, W_in, W_out, *args, np.uint64(1), 1, loss, pairs)
        else:
            hogwild_span(span, 0, span.size, W_in, W_out, *args, 1, 4)
    paired(benchmark, f"Hogwild {model} span 2,000 PTB words, 1 thread", impl, run,
           rounds=3 if impl == "reference" else 20)


@pytest.mark.parametrize("model", list(MODES))
def test_hogwild_words_per_second(benchmark, paired, corpus, model):
    """One epoch on full PTB (window 5, dim 100, 5 negatives, sample 1e-3); words/s in extra_info.
    "skipgram-shared" is skip-gram with shared negatives, paired with gensim's skip-gram."""
    ids, V = corpus
    stats = []
    options = {"model": "skipgram", "shared_negatives": True} if model == "skipgram-shared" else {"model": model}

    def epoch():
        stats.append(train_word2vec(ids, V, **options, epochs=1, progress=False).epochs[0])
    paired(benchmark, f"word2vec {model} 1 epoch full PTB ({numba.get_num_threads()} threads)", "fast", epoch, rounds=3)
    seconds = benchmark.stats.stats.median          # the timed rounds' median, as in the summary table
    benchmark.extra_info["effective_words_per_s"] = float(np.median([s["words"] for s in stats]) / seconds)
    benchmark.extra_info["raw_words_per_s"] = float(ids.size / seconds)
    print(f"\n{model}: {benchmark.extra_info['effective_words_per_s']:,.0f} effective words/s, "
          f"{benchmark.extra_info['raw_words_per_s']:,.0f} raw words/s")


@pytest.mark.parametrize("model", list(MODES))
def test_hogwild_gensim(benchmark, paired, corpus, model):
    """gensim's Word2Vec on the same corpus and settings, when installed (an optional anchor):
    the vocabulary is built once, outside the timing; each round is one ``train`` epoch."""
    gensim_models = pytest.importorskip("gensim.models")
    ids, V = corpus
    words = [str(w) for w in ids]
    sentences = [words[i:i + 10000] for i in range(0, ids.size, 10000)]
    w2v = gensim_models.Word2Vec(vector_size=100, window=5, negative=5, sg=model != "cbow", min_count=1,
                                 workers=numba.get_num_threads(), sample=1e-3)
    w2v.build_vocab(sentences)
    paired(benchmark, f"word2vec {model} 1 epoch full PTB ({numba.get_num_threads()} threads)", "gensim",
           lambda: w2v.train(sentences, total_examples=len(sentences), epochs=1), rounds=3)
