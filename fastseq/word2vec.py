"""word2vec training at full speed: CBOW or skip-gram with negative sampling, Hogwild.

``train_word2vec(corpus, ...)`` trains on a 1-D id corpus with the choices of the original
word2vec: frequent-word subsampling (``sample``; word w kept with probability
``(sqrt(f/(sample*N)) + 1) * sample*N/f`` for a count f among N tokens, redrawn each epoch),
a dynamic window (uniform in [1, window]), negatives drawn ∝ count^0.75, a learning rate that
decays linearly from ``lr`` to ``lr * 1e-4`` over all epochs, W_in initialised uniform in
±0.5/dim and W_out at zero. Each epoch is a few calls of one parallel kernel
(``fastseq.kernels.word2vec``) so a progress bar can show words/s and the loss; Ctrl-C stops
between calls and returns what was trained so far (``result.interrupted``).
"""
import dataclasses
import time

import numba
import numpy as np
from tqdm.auto import tqdm

from fastseq import _validate as v
from fastseq.kernels.sampling import alias_table
from fastseq.layers.negative_sampling import negative_distribution
from fastseq.kernels.word2vec import train_span

__all__ = ["train_word2vec", "Word2VecResult"]

_CHUNKS_PER_CALL = 32


@dataclasses.dataclass
class Word2VecResult:
    """W_in (V, dim) (the word vectors) and W_out, float32; per-epoch statistics."""
    W_in: np.ndarray
    W_out: np.ndarray
    epochs: list
    interrupted: bool = False


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"train_word2vec: {name} must be an integer ≥ {low}, got {value!r}")
    return int(value)


def keep_probabilities(counts, sample):
    """word2vec's subsampling keep probability per word (1 where sample == 0)."""
    counts = counts.astype(np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / threshold) + 1) * threshold / counts
    return np.where(counts > 0, np.minimum(keep, 1.0), 1.0)


def train_word2vec(corpus, vocab_size=None, model="cbow", dim=100, window=5, negative=5, epochs=5,
                   lr=None, sample=1e-3, power=0.75, seed=1, progress=None, calls_per_epoch=20):
    """Train word vectors on ``corpus`` (n,) int ids in [0, vocab_size); see the module docstring.
    ``lr`` defaults to the original word2vec's starting rates: 0.05 for CBOW, 0.025 for skip-gram.
    Uses ``numba.get_num_threads()`` threads (``fastseq.threads(n)`` sets it). Returns a
    Word2VecResult; each epoch's entry has ``words`` (after subsampling), ``seconds``,
    ``words_per_s`` and ``loss`` (per example, a positive target with its negatives: the mean of
    their summed -log σ)."""
    corpus = np.asarray(corpus)
    if corpus.ndim != 1 or corpus.dtype.kind not in "iu":
        raise TypeError(f"train_word2vec: corpus must be a 1-D array of integer ids, got {corpus.dtype} {corpus.shape}")
    if corpus.size < 2:
        raise ValueError(f"train_word2vec: corpus must hold at least 2 words, got {corpus.size}")
    if model not in ("cbow", "skipgram"):
        raise ValueError(f"train_word2vec: model must be 'cbow' or 'skipgram', got {model!r}")
    vocab_size = int(corpus.max()) + 1 if vocab_size is None else _check_int("vocab_size", vocab_size, 1)
    if vocab_size > 2 ** 31:
        raise ValueError(f"train_word2vec: vocab_size {vocab_size} is past 2**31 (the corpus's ids must be "
                         "compact, 0 .. V-1)")
    v.id_array("train_word2vec", "corpus", corpus, vocab_size)
    dim, window = _check_int("dim", dim, 1), _check_int("window", window, 1)
    if lr is None:
        lr = 0.05 if model == "cbow" else 0.025
    negative, epochs = _check_int("negative", negative, 1), _check_int("epochs", epochs, 1)
    if not (np.isfinite(lr) and lr > 0) or not (np.isfinite(sample) and sample >= 0):
        raise ValueError(f"train_word2vec: lr must be finite and > 0 and sample finite and ≥ 0, got lr={lr}, "
                         f"sample={sample}")
    counts = np.bincount(corpus, minlength=vocab_size)
    if np.count_nonzero(counts) < 2:
        raise ValueError("train_word2vec: the corpus must hold at least 2 distinct words")
    prob, alias = alias_table(negative_distribution("train_word2vec", counts, power, distinct=1))
    keep = keep_probabilities(counts, sample)
    rng = np.random.default_rng(seed)
    W_in = ((rng.random((vocab_size, dim)) - 0.5) / dim).astype(np.float32)
    W_out = np.zeros((vocab_size, dim), dtype=np.float32)
    threads = numba.get_num_threads()
    expected = float(np.sum(counts * keep)) * epochs
    done = 0.0
    result = Word2VecResult(W_in, W_out, [])
    bar = tqdm(total=epochs * corpus.size, unit="word", unit_scale=True, disable=None if progress is None else not progress)
    # Each call is cut into chunks that the threads claim one at a time (see train_span).
    loss_out, pairs_out = np.zeros(_CHUNKS_PER_CALL), np.zeros(_CHUNKS_PER_CALL, dtype=np.int64)
    try:
        for epoch in range(epochs):
            kept = corpus[rng.random(corpus.size) < keep[corpus]].astype(np.int32)
            bounds = np.linspace(0, kept.size, calls_per_epoch + 1).astype(np.int64)
            start, loss, pairs = time.perf_counter(), 0.0, 0
            for a, b in zip(bounds[:-1], bounds[1:]):
                train_span(kept, a, b, W_in, W_out, prob, alias, window, negative, model == "cbow",
                           lr, done, expected, np.uint64(rng.integers(1 << 62)), threads, loss_out, pairs_out)
                done += b - a
                loss += loss_out.sum()
                pairs += int(pairs_out.sum())
                seconds = time.perf_counter() - start
                bar.update(int(round((b - a) * corpus.size / max(kept.size, 1))))
                bar.set_postfix({"loss": f"{loss / max(pairs, 1):.3f}", "words/s": f"{b / seconds:,.0f}"})
            seconds = time.perf_counter() - start
            result.epochs.append({"epoch": epoch + 1, "words": int(kept.size), "seconds": seconds,
                                  "words_per_s": kept.size / seconds, "loss": loss / max(pairs, 1)})
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        bar.close()
    return result
