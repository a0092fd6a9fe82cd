"""``fastseq warm-up``: compile the numba kernels every command uses, once, into numba's cache.

numba compiles a kernel the first time it is called and keeps the machine code in its on-disk
cache (``fastseq/**/__pycache__``, or ``~/.cache/fastseq/numba`` where that is not writable).
A fresh install therefore spends its first run compiling. ``warm_up()`` runs each command's
library function on a few hundred synthetic tokens in a temporary folder, so that every later
run, the first included, starts from the cache. Parallel kernels have a serial and a parallel
build (``fastseq.kernels.threads``); both are compiled, the parallel one only where more than
one core is available. Nothing is written outside the cache and the temporary folder.
"""
import contextlib
import dataclasses
import os
import tempfile
import time

import numpy as np

from fastseq.kernels import threads as kernel_threads

_VOCAB = 50


def _corpus(n, seed):
    """Synthetic int32 ids in [0, _VOCAB), every id present."""
    ids = np.random.default_rng(seed).integers(0, _VOCAB, n).astype(np.int32)
    ids[:_VOCAB] = np.arange(_VOCAB, dtype=np.int32)
    return ids


@contextlib.contextmanager
def _parallel_builds():
    """Every parallel kernel call takes its parallel build, and the corpus reader scans every
    chunk as two halves, inside the block."""
    from fastseq import corpus

    saved = kernel_threads.PARALLEL_MIN_WORK, corpus.SPLIT_MIN_BYTES
    kernel_threads.PARALLEL_MIN_WORK, corpus.SPLIT_MIN_BYTES = 0, 1
    try:
        yield
    finally:
        kernel_threads.PARALLEL_MIN_WORK, corpus.SPLIT_MIN_BYTES = saved


@contextlib.contextmanager
def _kernels_for_every_size():
    """Inside the block, every call takes the kernels, not their NumPy versions
    (``fastseq.numpy_kernels``), whatever its size and the start-up credit: the jobs' arrays
    are small, a real run's are not."""
    from fastseq import numpy_kernels

    saved = numpy_kernels.MAX_SIZE, numpy_kernels.credit
    numpy_kernels.MAX_SIZE, numpy_kernels.credit = 0, 0
    try:
        yield
    finally:
        numpy_kernels.MAX_SIZE, numpy_kernels.credit = saved


def _language_models(tmp, threads):
    from fastseq import lm
    from fastseq.models import BetterRnnlmGen, RnnlmGen

    data = (_corpus(800, 0), _corpus(400, 1), _corpus(400, 2))     # evaluation reads batches of 10 x 35
    small = {"epochs": 1, "batch_size": 4, "time_size": 5, "wordvec": 8, "hidden": 8}
    for name in ("rnnlm", "better"):
        recipe = dataclasses.replace(lm.RECIPES[name], **small)
        lm.train(recipe, os.path.join(tmp, name), data, _VOCAB, threads=threads, progress_bar=False)
    for gen in (RnnlmGen(_VOCAB, 8, 8), BetterRnnlmGen(_VOCAB, 8, 8)):
        gen.generate(1, [0], 5)


def _word2vec(tmp, threads):
    from fastseq import threads as use_threads
    from fastseq.word2vec import train_word2vec

    with use_threads(threads):
        for model in ("cbow", "skipgram"):
            train_word2vec(_corpus(2000, 3), _VOCAB, model=model, dim=8, epochs=1, progress=False)


def _text(tmp, threads):
    from fastseq import threads as use_threads
    from fastseq.corpus import read_corpus
    from fastseq.kernels.tokenize import rehash

    os.makedirs(tmp, exist_ok=True)
    path = os.path.join(tmp, "text.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("The cat sat on the mat. 고양이가 매트 위에 앉았다.\n" * 50)
    with use_threads(threads):
        for line_ends in ("ignore", "eos"):
            read_corpus(path, line_ends=line_ends, cache_dir=os.path.join(tmp, "cache"), progress=False)
    rehash(np.full(8, -1, np.int64), np.full(16, -1, np.int64))    # the table's growth, which small texts skip


def _count(tmp, threads):
    from fastseq import threads as use_threads
    from fastseq.count import count_vectors

    with use_threads(threads):
        count_vectors(_corpus(2000, 4), _VOCAB, dim=4)


def _seq2seq(tmp, threads):
    from fastseq.datasets.sequence import generate_addition
    from fastseq.seq2seq_train import MODELS, train_seq2seq

    os.makedirs(tmp, exist_ok=True)
    generate_addition(os.path.join(tmp, "addition.txt"), 300, seed=0)
    for model in sorted(MODELS):
        train_seq2seq(data=os.path.join(tmp, "addition"), model=model, epochs=1, batch_size=64, wordvec=8,
                      hidden=8, out=os.path.join(tmp, f"seq2seq-{model}"), examples=0, progress=False,
                      threads=threads)


def _esn(tmp, threads):
    import numpy as np

    from fastseq import kernels
    from fastseq.esn_train import train_esn
    from fastseq.layers.reservoir import TimeReservoir

    train_esn(tmp, units=20, train=120, test=10, generate=5, warmup=10, threads=threads, progress=False)
    # the team of threads for one long series, which a reservoir this small never calls for
    layer = TimeReservoir(1, 20, connectivity=0.5, seed=0)
    out = np.empty((1, 3, 20))
    kernels.reservoir.map_pages(out[0].reshape(-1))
    kernels.reservoir.reservoir_run_team(layer.csr, (np.zeros((1, 3, 1)), layer.Win, layer.bias, np.empty((1, 0, 20))),
                                         np.float64(layer.leak), np.zeros((1, 20)), out, 0,
                                         kernels.reservoir.unit_cuts(layer.csr[0], 2))


JOBS = {"train-lm, eval-lm, generate": _language_models, "train-word2vec": _word2vec, "count": _count,
        "reading --corpus text": _text, "train-seq2seq": _seq2seq, "train-esn": _esn}


def warm_up(report=print):
    """Compile every command's kernels (see the module docstring); ``report(line)`` is called
    once per command with the seconds it took. Returns the total seconds."""
    from fastseq._threads import available_cores

    cores = available_cores()
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fastseq-warm-up-") as tmp, open(os.devnull, "w") as quiet:
        for name, job in JOBS.items():
            start = time.perf_counter()
            with contextlib.redirect_stdout(quiet), _kernels_for_every_size():   # the jobs' own reports
                job(os.path.join(tmp, "serial"), 1)
                if cores > 1:
                    with _parallel_builds():
                        job(os.path.join(tmp, "parallel"), cores)
            report(f"{name}: {time.perf_counter() - start:.1f} s")
    return time.perf_counter() - total
