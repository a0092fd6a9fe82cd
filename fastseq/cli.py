"""The ``fastseq`` command.

``fastseq train-lm`` trains the book's ``Rnnlm`` or ``BetterRnnlm`` on Penn Treebank with the
book's recipe and prints the test perplexity; Ctrl-C writes a checkpoint and exits with status
130, and ``--resume`` continues from it (see ``fastseq.lm``). ``fastseq eval-lm`` and
``fastseq generate`` use a trained run.
``fastseq train-seq2seq`` trains the book's seq2seq models on its toy sets;
``fastseq train-word2vec`` trains CBOW or skip-gram vectors (Hogwild, see ``fastseq.word2vec``);
``fastseq count`` turns a corpus into count-based word vectors (co-occurrence, PPMI, SVD),
saves them and scores them on WordSim-353 and the analogy questions.
User mistakes end with a one-line error and a non-zero exit.
"""
import argparse
import json
import os
import sys
import time

import numba
import numpy as np
from threadpoolctl import threadpool_limits


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _ratio(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _checkpoint_args(parser, recipes):
    parser.add_argument("--checkpoint", required=True,
                        help="a train-lm run folder, or a parameter file (.npz, or the book's .pkl) with --model")
    parser.add_argument("--model", choices=recipes, help="the recipe of a parameter file (its model sizes)")
    parser.add_argument("--threads", type=_positive_int, default=os.cpu_count() or 1)


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default, also for options without a help text."""

    def _format_action(self, action):
        if not action.help and action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            action.help = "(default: %(default)s)"
        return super()._format_action(action)


def _parser():
    from fastseq import __version__
    from fastseq.lm import RECIPES

    parser = argparse.ArgumentParser(prog="fastseq", description=__doc__.splitlines()[0], formatter_class=_Help)
    parser.add_argument("--version", action="version", version=f"fastseq {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_parser = sub.add_parser
    sub.add_parser = lambda *a, **k: _add_parser(*a, formatter_class=_Help, **k)
    lm = sub.add_parser("train-lm", help="train a language model on PTB and report test perplexity",
                        description="Recipes: rnnlm = the book's Rnnlm (wordvec/hidden 100, 4 epochs); better = "
                                    "BetterRnnlm (650, two LSTMs, dropout 0.5, tied weights, 40 epochs, validation "
                                    "each epoch, best parameters kept, lr / 4 when validation gets worse); better-1h "
                                    "= better cut to 6 epochs, the 6th at lr / 4 (about an hour on 2 cores). All: SGD "
                                    "lr 20, clip 0.25, batch 20, 35 steps. Options override the recipe.")
    lm.add_argument("--model", choices=sorted(RECIPES), default="rnnlm", help="the recipe")
    lm.add_argument("--epochs", type=_positive_int)
    lm.add_argument("--lr", type=_positive_float)
    lm.add_argument("--batch-size", type=_positive_int)
    lm.add_argument("--time-size", type=_positive_int)
    lm.add_argument("--wordvec", type=_positive_int)
    lm.add_argument("--hidden", type=_positive_int)
    lm.add_argument("--dropout", type=_ratio, help="dropout ratio (better recipes only)")
    lm.add_argument("--max-grad", type=_positive_float)
    lm.add_argument("--seed", type=int)
    lm.add_argument("--anneal-epochs", type=_positive_int, nargs="+", metavar="EPOCH",
                    help="epochs (counted from 1) that start with lr / 4, besides the validation rule")
    lm.add_argument("--train-tokens", type=_positive_int, help="train on the first N tokens only (quick runs)")
    lm.add_argument("--threads", type=_positive_int, default=os.cpu_count() or 1,
                    help="BLAS threads (the elementwise kernels run on one thread meanwhile)")
    lm.add_argument("--out", help="run folder (default runs/<model>)")
    lm.add_argument("--resume", metavar="DIR", help="continue the interrupted run in DIR (its recipe; --epochs may extend it)")
    lm.add_argument("--force", action="store_true", help="start over in a folder that already holds a run")

    ev = sub.add_parser("eval-lm", help="test perplexity of a trained language model")
    _checkpoint_args(ev, sorted(RECIPES))
    gen = sub.add_parser("generate", help="sample text from a trained language model")
    _checkpoint_args(gen, sorted(RECIPES))
    gen.add_argument("--start", default="you", help="first word (must be in the PTB vocabulary)")
    gen.add_argument("--length", type=_positive_int, default=100, help="number of words, the start word included")
    gen.add_argument("--temperature", type=_positive_float, default=1.0)
    gen.add_argument("--top-k", type=_positive_int)
    gen.add_argument("--seed", type=int)

    s2s = sub.add_parser("train-seq2seq", help="the book's seq2seq models on its toy sets (addition, date)",
                         description="Defaults follow the book: wordvec 16, batch 128, Adam, clip 5; hidden 128 and "
                                     "25 epochs for addition, 256 and 10 epochs for date.")
    s2s.add_argument("--data", choices=["addition", "date"], default="addition")
    s2s.add_argument("--model", choices=["plain", "peeky", "attention"], default="peeky")
    s2s.add_argument("--reverse", action="store_true", help="feed the questions reversed")
    s2s.add_argument("--epochs", type=_positive_int)
    s2s.add_argument("--batch-size", type=_positive_int, default=128)
    s2s.add_argument("--wordvec", type=_positive_int, default=16)
    s2s.add_argument("--hidden", type=_positive_int)
    s2s.add_argument("--lr", type=_positive_float, default=0.001)
    s2s.add_argument("--max-grad", type=_positive_float, default=5.0)
    s2s.add_argument("--seed", type=int, default=1984)
    s2s.add_argument("--threads", type=_positive_int, default=os.cpu_count() or 1)
    s2s.add_argument("--train-examples", type=_positive_int, help="train on the first N questions only")
    s2s.add_argument("--out", help="run folder (default runs/seq2seq-<data>-<model>)")

    w2v = sub.add_parser("train-word2vec", help="word2vec (CBOW or skip-gram, negative sampling), Hogwild")
    w2v.add_argument("--corpus", default="ptb",
                     help="'ptb' (PTB train split) or a UTF-8 text file (lower-cased, split on spaces, '.' split off)")
    w2v.add_argument("--model", choices=["cbow", "skipgram"], default="cbow")
    w2v.add_argument("--dim", type=_positive_int, default=100)
    w2v.add_argument("--window", type=_positive_int, default=5)
    w2v.add_argument("--negative", type=_positive_int, default=5)
    w2v.add_argument("--epochs", type=_positive_int, default=10)
    w2v.add_argument("--lr", type=_positive_float, help="starting learning rate (default 0.05 CBOW, 0.025 skip-gram)")
    w2v.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold (0: off)")
    w2v.add_argument("--seed", type=int, default=1)
    w2v.add_argument("--threads", type=_positive_int, default=os.cpu_count() or 1)
    w2v.add_argument("--out", default="runs/word2vec/vectors.npz",
                     help="where to save the vectors (.npz; a .txt name writes the word2vec text format)")

    cnt = sub.add_parser("count", help="count-based word vectors: co-occurrence, PPMI, SVD")
    cnt.add_argument("--corpus", default="ptb",
                     help="'ptb' (PTB train split) or a UTF-8 text file (lower-cased, split on spaces, '.' split off)")
    cnt.add_argument("--window", type=_positive_int, default=2)
    cnt.add_argument("--dim", type=_positive_int, default=100)
    cnt.add_argument("--alpha", type=_positive_float, default=1.0, help="context smoothing exponent (0.75: Levy et al.)")
    cnt.add_argument("--shift", type=_positive_float, default=1.0, help="shifted PPMI: subtract log2(shift)")
    cnt.add_argument("--harmonic", action="store_true", help="weight a context at distance d by 1/d")
    cnt.add_argument("--seed", type=int, default=0)
    cnt.add_argument("--threads", type=_positive_int, default=os.cpu_count() or 1)
    cnt.add_argument("--out", default="runs/count/vectors.npz",
                     help="where to save the vectors (.npz; a .txt name writes the word2vec text format)")
    return parser


def train_lm(args):
    """Train a recipe (or resume a run), evaluate on the test split; returns the test perplexity."""
    import dataclasses

    from fastseq import lm
    from fastseq.datasets import ptb

    train_ids, word_to_id, _ = ptb.load_data("train")
    data = (train_ids, ptb.load_data("val")[0], ptb.load_data("test")[0])
    vocab_size = len(word_to_id)
    if args.resume:
        folder = args.resume
        lm.load_recipe(folder)                      # a clear error if DIR is not a run folder
        if args.epochs:
            _extend_epochs(folder, args.epochs)
        recipe = lm.load_recipe(folder)
    else:
        recipe = lm.RECIPES[args.model]
        overrides = {k: getattr(args, k) for k in ("epochs", "lr", "batch_size", "time_size", "wordvec", "hidden",
                                                    "dropout", "max_grad", "seed", "train_tokens", "anneal_epochs")
                     if getattr(args, k) is not None}
        if "dropout" in overrides and recipe.model != "better":
            raise ValueError("--dropout applies to the better recipes only")
        recipe = dataclasses.replace(recipe, **overrides)
        folder = args.out or os.path.join("runs", args.model)
        if os.path.exists(os.path.join(folder, "checkpoint.npz")) and not args.force:
            raise ValueError(f"{folder} already holds a run: continue it with --resume {folder}, start over with "
                             "--force, or choose another --out")
    print(f"model {recipe.model}, {recipe.epochs} epochs, lr {recipe.lr}, run folder {folder}")
    start = time.time()
    ppl = lm.train(recipe, folder, data, vocab_size, resume=bool(args.resume))
    print(f"training and evaluation time: {time.time() - start:.1f} s; run saved in {folder}")
    print(f"test perplexity: {ppl:.2f}")
    return ppl


def _extend_epochs(folder, epochs):
    path = os.path.join(folder, "config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    config["epochs"] = epochs
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)


def eval_lm(args):
    """Print and return the test perplexity of a trained model."""
    from fastseq import lm
    from fastseq.datasets import ptb
    from fastseq.util import eval_perplexity

    corpus_test, word_to_id, _ = ptb.load_data("test")
    model = lm.load_run_model(args.checkpoint, len(word_to_id), args.model)
    ppl = eval_perplexity(model, corpus_test)
    print(f"test perplexity: {ppl:.2f}")
    return ppl


def generate(args):
    """Print and return text sampled from a trained model."""
    from fastseq import lm
    from fastseq.datasets import ptb

    _, word_to_id, id_to_word = ptb.load_data("train")
    if args.start not in word_to_id:
        raise ValueError(f"--start: {args.start!r} is not in the PTB vocabulary")
    model = lm.load_run_model(args.checkpoint, len(word_to_id), args.model, generator=True)
    if args.seed is not None:
        np.random.seed(args.seed)
    skip = [word_to_id[w] for w in ("N", "<unk>", "$") if w in word_to_id]
    ids = model.generate(word_to_id[args.start], skip, args.length, temperature=args.temperature, top_k=args.top_k)
    text = " ".join(id_to_word[i] for i in ids).replace(" <eos>", ".\n")
    print(text)
    return text


def _load_corpus(source):
    from fastseq.datasets import ptb

    if source == "ptb":
        corpus, _, id_to_word = ptb.load_data("train")
        return corpus, id_to_word
    with open(source, encoding="utf-8") as f:
        words = f.read().lower().replace(".", " .").split()
    if not words:
        raise ValueError(f"{source} holds no words")
    word_to_id = {}
    corpus = np.array([word_to_id.setdefault(w, len(word_to_id)) for w in words], dtype=np.int32)
    return corpus, {i: w for w, i in word_to_id.items()}


def _save_and_evaluate(vectors, id_to_word, out):
    """Save KeyedVectors to ``out`` (.npz, or the word2vec text format for .txt) and print their
    WordSim-353 and analogy scores when the evaluation sets are found."""
    from fastseq.datasets._files import DataNotFoundError
    from fastseq.vectors import KeyedVectors

    kv = KeyedVectors(vectors.astype(np.float32), id_to_word)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    (kv.save_word2vec_format if out.endswith(".txt") else kv.save)(out)
    print(f"vectors saved to {out}")
    try:
        sim, ana = kv.evaluate_similarity(), kv.evaluate_analogies()
    except DataNotFoundError:
        print("evaluation sets not found (set FASTSEQ_DATA): evaluation skipped")
    except ValueError as exc:   # too few evaluation words in this vocabulary
        print(f"evaluation skipped: {exc}")
    else:
        print(f"WordSim-353 Spearman {sim['spearman']:.3f} over {sim['pairs']} pairs; analogy accuracy "
              f"{ana['accuracy']:.4f} ({ana['correct']}/{ana['total']} questions in the vocabulary)")
    return kv


def train_word2vec(args):
    """Train word2vec on a corpus, save and evaluate the vectors; returns the KeyedVectors."""
    from fastseq.word2vec import train_word2vec as train

    if args.sample < 0:
        raise ValueError(f"--sample must be ≥ 0, got {args.sample}")
    corpus, id_to_word = _load_corpus(args.corpus)
    result = train(corpus, len(id_to_word), model=args.model, dim=args.dim, window=args.window,
                   negative=args.negative, epochs=args.epochs, lr=args.lr, sample=args.sample, seed=args.seed)
    for e in result.epochs:
        print(f"epoch {e['epoch']}: {e['words']:,} words (after subsampling) in {e['seconds']:.2f} s, "
              f"{e['words_per_s']:,.0f} words/s, loss {e['loss']:.4f}")
    kv = _save_and_evaluate(result.W_in, id_to_word, args.out)
    if result.interrupted:
        raise KeyboardInterrupt(f"interrupted after {len(result.epochs)} full epochs; the vectors reached were saved")
    return kv


def train_seq2seq(args):
    """Train a seq2seq model on a toy set; returns the per-epoch records."""
    from fastseq.seq2seq_train import train_seq2seq as train

    date = args.data == "date"
    return train(args.data, args.model, reverse=args.reverse, epochs=args.epochs or (10 if date else 25),
                 batch_size=args.batch_size, wordvec=args.wordvec, hidden=args.hidden or (256 if date else 128),
                 max_grad=args.max_grad, lr=args.lr, seed=args.seed, train_limit=args.train_examples,
                 out=args.out or os.path.join("runs", f"seq2seq-{args.data}-{args.model}"))


def count(args):
    """Corpus → vectors, saved to ``args.out``; returns the KeyedVectors."""
    from fastseq import count as cb

    if not 0 < args.alpha <= 1:
        raise ValueError(f"--alpha must be in (0, 1], got {args.alpha}")
    if args.shift < 1:
        raise ValueError(f"--shift must be >= 1, got {args.shift}")
    t0 = time.perf_counter()
    corpus, id_to_word = _load_corpus(args.corpus)
    V = len(id_to_word)
    if not args.dim < V:
        raise ValueError(f"--dim must be below the vocabulary size {V}, got {args.dim}")
    t1 = time.perf_counter()
    C = cb.co_occurrence(corpus, V, args.window, harmonic=args.harmonic)
    t2 = time.perf_counter()
    M = cb.ppmi_sparse(C, alpha=args.alpha, shift=args.shift, dtype=np.float64)
    t3 = time.perf_counter()
    U, _, _ = cb.truncated_svd(M, args.dim, seed=args.seed)
    t4 = time.perf_counter()
    print(f"{corpus.size:,} tokens, {V:,} words: load {t1 - t0:.2f} s, co-occurrence {t2 - t1:.2f} s "
          f"({C.nnz:,} pairs), PPMI {t3 - t2:.2f} s ({M.nnz:,} positive), SVD {t4 - t3:.2f} s")
    return _save_and_evaluate(U, id_to_word, args.out)


COMMANDS = {"train-lm": train_lm, "eval-lm": eval_lm, "generate": generate, "train-seq2seq": train_seq2seq,
            "train-word2vec": train_word2vec, "count": count}


def main(argv=None):
    """Entry point of the ``fastseq`` console script."""
    from fastseq.datasets._files import DataNotFoundError

    args = _parser().parse_args(argv)
    numba_threads = numba.get_num_threads()
    try:
        with threadpool_limits(limits=args.threads):
            # language models: BLAS threaded, elementwise kernels serial (their pools would fight);
            # count, train-word2vec: their kernels' own prange (and BLAS for the SVD, one after the other).
            parallel = args.command in ("count", "train-word2vec")
            numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS) if parallel else 1)
            COMMANDS[args.command](args)
    except (DataNotFoundError, FloatingPointError, OSError, ValueError, IndexError) as exc:
        print(f"fastseq: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print(f"\nfastseq: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    finally:
        numba.set_num_threads(numba_threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
