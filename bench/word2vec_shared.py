"""Skip-gram with shared negatives against the classic skip-gram and gensim, and CBOW against
gensim, on PTB: speed and quality.

    python bench/word2vec_shared.py [--seeds 3] [--epochs 10] [--threads 2] [--no-cbow]

Each seed trains skip-gram (window 5, dim 100, 5 negatives, sample 1e-3, PTB's train split)
twice, the classic way and with one draw of negatives per window (``shared_negatives=True``),
then CBOW, and scores each on WordSim-353 (Spearman), on SimLex-999 (Spearman; the copy in
gensim's test data, so only when gensim is installed) and on the analogy questions. Training is
timed end to end: reading PTB's text and the vocabulary included, the kernels compiled beforehand. gensim
(an anchor only, skipped when it is not installed) trains the same settings from the same text
in its fastest mode, ``corpus_file``, with as many workers; it reads each line as a sentence
(no ``<eos>`` words, no window across lines), the one difference in the work. The runs
alternate, seed by seed; the table gives each one's median time and mean scores, and the
ratios of the medians.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np


def _simlex():
    """gensim's copy of SimLex-999 (its test data), or None without gensim."""
    try:
        from gensim.test.utils import datapath
    except ImportError:
        return None
    return datapath("simlex999.txt")


def _fastseq(seed, epochs, model, shared):
    from fastseq.datasets import ptb
    from fastseq.vectors import KeyedVectors
    from fastseq.word2vec import train_word2vec

    start = time.perf_counter()
    ids, word_to_id, id_to_word = ptb.load_data("train")
    r = train_word2vec(ids, len(word_to_id), model=model, epochs=epochs, seed=seed, progress=False,
                       shared_negatives=shared)
    seconds = time.perf_counter() - start
    kv = KeyedVectors(r.W_in, [id_to_word[i] for i in range(len(id_to_word))])
    simlex = _simlex()
    return (seconds, kv.evaluate_similarity()["spearman"], kv.evaluate_analogies()["accuracy"],
            kv.evaluate_similarity(simlex)["spearman"] if simlex else float("nan"))


def _gensim(seed, epochs, threads, text, sg):
    from gensim.models import Word2Vec

    start = time.perf_counter()
    Word2Vec(corpus_file=text, vector_size=100, window=5, negative=5, sample=1e-3, sg=sg, min_count=1,
             workers=threads, epochs=epochs, seed=seed)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-cbow", action="store_true", help="skip-gram rows only")
    opts = parser.parse_args()
    import fastseq
    from fastseq.datasets._files import locate
    from fastseq.datasets.ptb import SHA256
    from fastseq.word2vec import train_word2vec

    try:
        import gensim  # noqa: F401
        text = str(locate("ptb", "ptb.train.txt", SHA256["train"])[0])
    except ImportError:
        text = None
        print("gensim is not installed: its anchor row is skipped")
    # row → (the gensim row it is compared with, how to run it)
    sg, cbow = "gensim skip-gram (corpus_file)", "gensim CBOW (corpus_file)"
    runs = {"skip-gram": (sg, lambda seed: _fastseq(seed, opts.epochs, "skipgram", False)),
            "skip-gram, shared negatives": (sg, lambda seed: _fastseq(seed, opts.epochs, "skipgram", True)),
            sg: (None, lambda seed: (_gensim(seed, opts.epochs, opts.threads, text, 1),)),
            "CBOW": (cbow, lambda seed: _fastseq(seed, opts.epochs, "cbow", False)),
            cbow: (None, lambda seed: (_gensim(seed, opts.epochs, opts.threads, text, 0),))}
    runs = {k: v for k, v in runs.items() if (text is not None or not k.startswith("gensim"))
            and not (opts.no_cbow and "CBOW" in k)}
    rows = {k: [] for k in runs}
    with fastseq.threads(opts.threads):
        for model, shared in (("skipgram", False), ("skipgram", True), ("cbow", False)):   # compiled outside the clock
            train_word2vec(np.arange(50) % 7, model=model, epochs=1, progress=False, shared_negatives=shared)
        for seed in range(1, opts.seeds + 1):
            for name, (_, run) in runs.items():
                rows[name].append(run(seed))
            print(json.dumps({"seed": seed, **{k: v[-1] for k, v in rows.items()}}), flush=True)
    medians = {k: statistics.median(r[0] for r in v) for k, v in rows.items() if v}
    print(f"\nPTB, {opts.epochs} epochs, {opts.threads} threads, {opts.seeds} seeds "
          f"(numba {fastseq.get_num_threads()}, pid {os.getpid()})")
    print(f"{'run':34s} {'median s':>9s} {'WordSim-353':>12s} {'analogy':>8s} {'SimLex-999':>11s} "
          f"{'gensim / it':>12s}")
    for name, runs_ in rows.items():
        sim, ana, simlex = (f"{np.mean([r[k] for r in runs_]):.4f}" if len(runs_[0]) > 1 else "-" for k in (1, 2, 3))
        anchor = runs[name][0]
        ratio = f"{medians[anchor] / medians[name]:.2f}x" if anchor in medians else "-"
        print(f"{name:34s} {medians[name]:9.2f} {sim:>12s} {ana:>8s} {simlex:>11s} {ratio:>12s}")
    classic, shared = medians["skip-gram"], medians["skip-gram, shared negatives"]
    print(f"shared negatives: {classic / shared:.2f}x the classic skip-gram's speed")


if __name__ == "__main__":
    main()
