"""The ``fastseq`` command.

``fastseq train-lm`` trains the book's ``Rnnlm`` on Penn Treebank with the book's recipe
(4 epochs, SGD lr 20, gradient clipping 0.25, batch 20, 35 steps) and prints the test
perplexity; Ctrl-C saves the parameters reached so far and exits with status 130.
``fastseq count`` turns a corpus into count-based word vectors (co-occurrence, PPMI, SVD),
saves them and scores them on WordSim-353 and the analogy questions.
User mistakes end with a one-line error and a non-zero exit.
"""
import argparse
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


def _parser():
    parser = argparse.ArgumentParser(prog="fastseq", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lm = sub.add_parser("train-lm", help="train a language model on PTB and report test perplexity")
    lm.add_argument("--model", choices=["rnnlm"], default="rnnlm")
    lm.add_argument("--epochs", type=_positive_int, default=4)
    lm.add_argument("--lr", type=_positive_float, default=20.0)
    lm.add_argument("--batch-size", type=_positive_int, default=20)
    lm.add_argument("--time-size", type=_positive_int, default=35)
    lm.add_argument("--wordvec", type=_positive_int, default=100)
    lm.add_argument("--hidden", type=_positive_int, default=100)
    lm.add_argument("--max-grad", type=_positive_float, default=0.25)
    lm.add_argument("--seed", type=int, default=1984)
    lm.add_argument("--threads", type=_positive_int, default=os.cpu_count() or 1,
                    help="BLAS threads (the elementwise kernels run on one thread meanwhile)")
    lm.add_argument("--train-tokens", type=_positive_int, default=None,
                    help="train on the first N tokens only (quick runs)")
    lm.add_argument("--out", default="runs/rnnlm", help="folder for the saved parameters")

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
    """Train, evaluate on the test split, save; returns the test perplexity."""
    from fastseq.datasets import ptb
    from fastseq.models import Rnnlm
    from fastseq.optimizers import SGD
    from fastseq.trainer import RnnlmTrainer
    from fastseq.util import eval_perplexity

    corpus, word_to_id, _ = ptb.load_data("train")
    corpus_test, _, _ = ptb.load_data("test")
    if args.train_tokens is not None:
        corpus = corpus[:args.train_tokens]
    np.random.seed(args.seed)
    model = Rnnlm(len(word_to_id), args.wordvec, args.hidden)
    trainer = RnnlmTrainer(model, SGD(args.lr))
    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, "Rnnlm.npz")
    start = time.time()
    try:
        trainer.fit(corpus[:-1], corpus[1:], max_epoch=args.epochs, batch_size=args.batch_size,
                    time_size=args.time_size, max_grad=args.max_grad)
    except KeyboardInterrupt:
        model.save_params(checkpoint)
        print(f"\ninterrupted: parameters saved to {checkpoint}", file=sys.stderr)
        raise SystemExit(130) from None
    train_seconds = time.time() - start
    model.save_params(checkpoint)
    model.reset_state()
    ppl = eval_perplexity(model, corpus_test)
    print(f"training time: {train_seconds:.1f} s; parameters saved to {checkpoint}")
    print(f"test perplexity: {ppl:.2f}")
    return ppl


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


def count(args):
    """Corpus → vectors, saved to ``args.out``; returns the KeyedVectors."""
    from fastseq import count as cb
    from fastseq.datasets._files import DataNotFoundError
    from fastseq.vectors import KeyedVectors

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
    kv = KeyedVectors(U.astype(np.float32), id_to_word)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    (kv.save_word2vec_format if args.out.endswith(".txt") else kv.save)(args.out)
    print(f"vectors saved to {args.out}")
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


COMMANDS = {"train-lm": train_lm, "count": count}


def main(argv=None):
    """Entry point of the ``fastseq`` console script."""
    from fastseq.datasets._files import DataNotFoundError

    args = _parser().parse_args(argv)
    numba_threads = numba.get_num_threads()
    try:
        with threadpool_limits(limits=args.threads):
            # train-lm: BLAS threaded, elementwise kernels serial (their pools would fight);
            # count: the counting kernels' own prange, then BLAS for the SVD, one after the other.
            numba.set_num_threads(1 if args.command == "train-lm" else min(args.threads, numba.config.NUMBA_NUM_THREADS))
            COMMANDS[args.command](args)
    except (DataNotFoundError, FloatingPointError, OSError, ValueError) as exc:
        print(f"fastseq: error: {exc}", file=sys.stderr)
        return 1
    finally:
        numba.set_num_threads(numba_threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
