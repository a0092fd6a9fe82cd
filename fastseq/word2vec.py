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

from fastseq import _threads, _validate as v
from fastseq.kernels.sampling import alias_table
from fastseq.layers.negative_sampling import negative_distribution
from fastseq.kernels.word2vec import CBOW, SKIPGRAM, SKIPGRAM_SHARED, train_span

__all__ = ["train_word2vec", "Word2VecResult"]

_CHUNKS_PER_CALL = 32


@dataclasses.dataclass
class Word2VecResult:
    """W_in (V, dim) (the word vectors) and W_out, float32; per-epoch statistics. ``rng_state``
    and ``words_done`` are where the random stream and the learning-rate schedule stood after
    the last full epoch: passing the result back as ``start`` continues the run exactly."""
    W_in: np.ndarray
    W_out: np.ndarray
    epochs: list
    interrupted: bool = False
    rng_state: dict = None
    words_done: float = 0.0


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


_SUBSAMPLE_BLOCK = 1 << 22


def _subsample(corpus, keep, rng):
    """The words of ``corpus`` kept by subsampling (int32): word w survives when a uniform draw
    is below ``keep[w]``. Drawn block by block, which gives the same draws as one call over the
    whole corpus while holding one block's temporaries, not eight bytes per token."""
    parts = []
    for a in range(0, corpus.size, _SUBSAMPLE_BLOCK):
        block = corpus[a:a + _SUBSAMPLE_BLOCK]
        parts.append(block[rng.random(block.size) < keep[block]].astype(np.int32))
    return np.concatenate(parts)


def _shared_negatives(model, shared_negatives):
    """The choice of shared negatives, None meaning the default: True for skip-gram."""
    return model == "skipgram" if shared_negatives is None else shared_negatives


def train_word2vec(corpus, vocab_size=None, model="cbow", dim=100, window=5, negative=5, epochs=5,
                   lr=None, sample=1e-3, power=0.75, seed=1, progress=None, calls_per_epoch=20, start=None,
                   on_epoch=None, stop=None, shared_negatives=None):
    """Train word vectors on ``corpus`` (n,) int ids in [0, vocab_size); see the module docstring.
    ``lr`` defaults to the original word2vec's starting rates: 0.05 for CBOW, 0.025 for skip-gram.
    ``shared_negatives`` (skip-gram only): a window's context words share one draw of negatives,
    and the window is one small dense product (``fastseq.kernels.word2vec``); None, the
    default, means True for skip-gram (False: the classic one draw per context word).
    Uses ``numba.get_num_threads()`` threads (``fastseq.threads(n)`` sets it). Returns a
    Word2VecResult; each epoch's entry has ``words`` (after subsampling), ``seconds``,
    ``words_per_s`` and ``loss`` (per example, a positive target with its negatives: the mean of
    their summed -log σ).

    ``start``: a Word2VecResult of the same run to continue after its last full epoch (with
    one thread, the continued run equals the uninterrupted one bit for bit); ``on_epoch(result)``
    is called after every epoch; ``stop`` (an object with a ``requested`` flag, or None) is
    checked between kernel calls. A non-finite loss or weight raises FloatingPointError."""
    corpus = np.asarray(corpus)
    if corpus.ndim != 1 or corpus.dtype.kind not in "iu":
        raise TypeError(f"train_word2vec: corpus must be a 1-D array of integer ids, got {corpus.dtype} {corpus.shape}")
    if corpus.size < 2:
        raise ValueError(f"train_word2vec: corpus must hold at least 2 words, got {corpus.size}")
    if model not in ("cbow", "skipgram"):
        raise ValueError(f"train_word2vec: model must be 'cbow' or 'skipgram', got {model!r}")
    shared_negatives = _shared_negatives(model, shared_negatives)
    if not isinstance(shared_negatives, (bool, np.bool_)):
        raise TypeError(f"train_word2vec: shared_negatives must be True, False or None, got {shared_negatives!r}")
    if shared_negatives and model != "skipgram":
        raise ValueError("train_word2vec: shared_negatives applies to model='skipgram' only (CBOW already "
                         "draws one set of negatives per window)")
    mode = CBOW if model == "cbow" else SKIPGRAM_SHARED if shared_negatives else SKIPGRAM
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
    result = Word2VecResult(W_in, W_out, [], rng_state=rng.bit_generator.state)
    if start is not None:
        result = _continued(start, vocab_size, dim)
        rng.bit_generator.state = result.rng_state
    threads = numba.get_num_threads()
    expected = float(np.sum(counts * keep)) * epochs
    bar = tqdm(total=epochs * corpus.size, initial=len(result.epochs) * corpus.size, unit="word", unit_scale=True,
               disable=None if progress is None else not progress)
    # Each call is cut into chunks that the threads claim one at a time (see train_span).
    loss_out, pairs_out = np.zeros(_CHUNKS_PER_CALL), np.zeros(_CHUNKS_PER_CALL, dtype=np.int64)
    W_in, W_out, done = result.W_in, result.W_out, result.words_done
    try:
        for epoch in range(len(result.epochs), epochs):
            kept = _subsample(corpus, keep, rng)
            bounds = np.linspace(0, kept.size, calls_per_epoch + 1).astype(np.int64)
            began, loss, pairs = time.perf_counter(), 0.0, 0
            for a, b in zip(bounds[:-1], bounds[1:]):
                if stop is not None and stop.requested:
                    raise KeyboardInterrupt
                train_span(kept, a, b, W_in, W_out, prob, alias, window, negative, mode,
                           lr, done, expected, np.uint64(rng.integers(1 << 62)), threads, loss_out, pairs_out)
                done += b - a
                loss += loss_out.sum()
                pairs += int(pairs_out.sum())
                if not np.isfinite(loss):
                    raise FloatingPointError(f"train_word2vec: the loss became {loss} in epoch {epoch + 1}; lower "
                                             f"lr (got {lr})")
                seconds = time.perf_counter() - began
                bar.update(int(round((b - a) * corpus.size / max(kept.size, 1))))
                bar.set_postfix({"loss": f"{loss / max(pairs, 1):.3f}", "words/s": f"{b / seconds:,.0f}"})
            if not (np.isfinite(W_in).all() and np.isfinite(W_out).all()):
                raise FloatingPointError(f"train_word2vec: the weights hold NaN or inf after epoch {epoch + 1}; "
                                         f"lower lr (got {lr})")
            seconds = time.perf_counter() - began
            result.epochs.append({"epoch": epoch + 1, "words": int(kept.size), "seconds": seconds,
                                  "words_per_s": kept.size / seconds, "loss": loss / max(pairs, 1)})
            result.rng_state, result.words_done = rng.bit_generator.state, done
            if on_epoch is not None:
                on_epoch(result)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        bar.close()
    return result


def _continued(start, vocab_size, dim):
    """A copy of ``start`` (a Word2VecResult) to train on, after checking it fits the run."""
    for name in ("W_in", "W_out"):
        a = getattr(start, name)
        if not isinstance(a, np.ndarray) or a.shape != (vocab_size, dim) or a.dtype != np.float32:
            raise ValueError(f"train_word2vec: start.{name} must be a float32 array of shape ({vocab_size}, {dim})")
    if not isinstance(start.rng_state, dict) or not isinstance(start.epochs, list):
        raise ValueError("train_word2vec: start.rng_state must be the state of the run's random generator and "
                         "start.epochs a list")
    return Word2VecResult(start.W_in.copy(), start.W_out.copy(), list(start.epochs), rng_state=start.rng_state,
                          words_done=float(start.words_done))


_SCHEMA = {"corpus": (str, list), "tokenize": (str,), "line_ends": (str,), "min_count": (int,),
           "max_vocab_size": (int, type(None)), "tokens": (int,), "vocab_size": (int,), "model": (str,), "dim": (int,),
           "window": (int,), "negative": (int,), "epochs": (int,), "lr": (int, float), "sample": (int, float),
           "seed": (int,), "shared_negatives": (bool,)}
# keys that runs of an earlier version did not save, with the value they ran with
_EARLIER = {"shared_negatives": False}


def train_run(folder, corpus="ptb", model="cbow", dim=100, window=5, negative=5, epochs=10, lr=None, sample=1e-3,
              seed=1, shared_negatives=None, resume=False, force=False, threads=None, progress=None, dask=None,
              **reading):
    """``fastseq train-word2vec``: train on ``corpus`` (``"ptb"``, or text files read with the
    ``reading`` options, see ``fastseq.datasets.text.load_corpus``) into the run folder ``folder`` (see ``fastseq.runs``): one log
    line and one checkpoint per epoch, then ``vectors.npz``, ``vectors.txt`` and ``loss.png`` (with
    matplotlib). ``resume``
    continues the saved run after its last full epoch (the options must equal the saved ones;
    ``threads`` may change). ``threads`` (default: the available cores) runs the kernels.
    ``dask`` ("local", or a scheduler's address) reads the text files on a Dask cluster, one
    file a shard, to the same ids (``fastseq.sharded.sharded_corpus``); training stays here.
    Ctrl-C stops between kernel calls and raises KeyboardInterrupt; returns the KeyedVectors."""
    from fastseq.datasets.text import READING_DEFAULTS, check_shardable, load_corpus
    from fastseq.runs import RunError, RunFolder, StopFlag, conflicts, rss_mib, save_curve
    from fastseq.vectors import KeyedVectors

    if dask is not None:
        check_shardable(corpus)
    with RunFolder(folder, "train-word2vec", resume=resume, force=force) as run:
        options = {"corpus": corpus, **READING_DEFAULTS, **reading, "model": model, "dim": dim, "window": window, "negative": negative,
                   "epochs": epochs, "lr": lr if lr is not None else 0.05 if model == "cbow" else 0.025,
                   "sample": sample, "seed": seed,
                   "shared_negatives": _shared_negatives(model, shared_negatives)}
        if resume:
            saved = run.read_config(_SCHEMA, {**READING_DEFAULTS, **_EARLIER})
            if shared_negatives is None:            # not chosen: the run's own
                options["shared_negatives"] = saved["shared_negatives"]
            conflicts(saved, options)
            options = {k: saved[k] for k in options}
        ids, words = load_corpus(options["corpus"], progress=progress, dask=dask,
                                 **{k: options[k] for k in READING_DEFAULTS})
        config = {**options, "tokens": int(ids.size), "vocab_size": len(words)}
        if resume and (saved["tokens"], saved["vocab_size"]) != (config["tokens"], config["vocab_size"]):
            raise RunError(f"--resume: the corpus {corpus} changed since the run started ({config['tokens']} tokens "
                           f"and {config['vocab_size']} words now, {saved['tokens']} and {saved['vocab_size']} then)")
        run.write_config(config)
        start = None
        if resume:
            start = run.load_checkpoint(lambda arrays, meta: _continued(
                Word2VecResult(arrays["W_in"], arrays["W_out"], meta["epochs"], rng_state=meta["rng"],
                               words_done=meta["words_done"]), config["vocab_size"], options["dim"]))

        def checkpoint(result):
            run.log({**result.epochs[-1], "rss_mib": rss_mib()})
            run.save_checkpoint({"W_in": result.W_in, "W_out": result.W_out},
                                {"epochs": result.epochs, "rng": result.rng_state, "words_done": result.words_done})

        train_options = {k: v for k, v in options.items() if k != "corpus" and k not in READING_DEFAULTS}
        cores = threads or _threads.available_cores()
        with _threads.policy(cores, cores), \
                StopFlag() as stop:
            result = train_word2vec(ids, len(words), **train_options, progress=progress, start=start,
                                    on_epoch=checkpoint, stop=stop)
        if result.interrupted and not result.epochs:
            raise KeyboardInterrupt("interrupted in epoch 1, before the first checkpoint: nothing was kept")
        if result.interrupted:
            raise KeyboardInterrupt(f"interrupted in epoch {len(result.epochs) + 1}; the checkpoint holds "
                                    f"{len(result.epochs)} full epochs: continue with --resume {run.path}")
        kv = KeyedVectors(result.W_in, words)
        kv.save_to_run(run)
        save_curve(run.file("loss.png"), {"train": ([e["epoch"] for e in result.epochs],
                                                    [e["loss"] for e in result.epochs])}, "epoch", "loss")
        return kv
