"""The ``fastseq`` command.

``fastseq train-lm`` trains the book's ``Rnnlm`` on Penn Treebank with the book's recipe
(4 epochs, SGD lr 20, gradient clipping 0.25, batch 20, 35 steps) and prints the test
perplexity. User mistakes end with a one-line error and a non-zero exit; Ctrl-C saves the
parameters reached so far and exits with status 130.
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


def main(argv=None):
    """Entry point of the ``fastseq`` console script."""
    from fastseq.datasets._files import DataNotFoundError

    args = _parser().parse_args(argv)
    numba_threads = numba.get_num_threads()
    try:
        with threadpool_limits(limits=args.threads):
            numba.set_num_threads(1)
            train_lm(args)
    except (DataNotFoundError, FloatingPointError) as exc:
        print(f"fastseq: error: {exc}", file=sys.stderr)
        return 1
    finally:
        numba.set_num_threads(numba_threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
