"""The ``fastseq`` command.

``fastseq train-lm`` trains the book's ``Rnnlm`` or ``BetterRnnlm`` on Penn Treebank with the
book's recipe and prints the test perplexity; Ctrl-C writes a checkpoint and exits with status
130, and ``--resume`` continues from it (see ``fastseq.lm``). ``fastseq eval-lm`` and
``fastseq generate`` use a trained run.
``fastseq train-seq2seq`` trains the book's seq2seq models on its toy sets;
``fastseq train-word2vec`` trains CBOW or skip-gram vectors (Hogwild, see ``fastseq.word2vec``);
``fastseq count`` turns a corpus into count-based word vectors (co-occurrence, PPMI, SVD),
saves them and scores them on WordSim-353 and the analogy questions;
``fastseq train-esn`` fits an echo state network to the Mackey-Glass series.
Every training command writes one run folder (``--out``; see ``fastseq.runs``) and takes
``--force`` to start over there; ``train-lm``, ``train-word2vec`` and ``train-seq2seq`` take
``--resume DIR``. The command line only parses and dispatches: the work, the thread policy
and the run folder belong to the library functions it calls.
Exit status: 0 done, 1 a one-line error (bad option, unusable run folder, missing data, a
diverged run), 2 a usage error from the parser, 130 interrupted by Ctrl-C (what the run saved
is named in the message).
"""
import argparse
import math
import os
import sys

import numpy as np


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def _positive_float(text):
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be finite and > 0, got {value}")
    return value


def _ratio(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _checkpoint_args(parser, recipes):
    parser.add_argument("--checkpoint", required=True,
                        help="a train-lm run folder, or a parameter file (.npz, or the book's .pkl) with --model")
    parser.add_argument("--model", choices=recipes, help="the recipe of a parameter file (its model sizes; default: the run folder's)")
    _threads_arg(parser)


def _threads_arg(parser, text=None):
    from fastseq._threads import available_cores

    parser.add_argument("--threads", type=_positive_int, default=available_cores(), help=text)


def _run_args(parser, default_out, resumable=True):
    """The run-folder options every training command shares."""
    parser.add_argument("--out", metavar="DIR", help=f"run folder (default: {default_out})")
    parser.add_argument("--force", action="store_true", help="start over in a folder that already holds a run "
                                                              "(its previous run's files are deleted first)")
    if resumable:
        parser.add_argument("--resume", metavar="DIR", help="continue the interrupted (or finished) run in DIR; "
                                                            "options that differ from its saved ones are refused, "
                                                            "except --epochs where noted and --threads")


def _dask_arg(parser, what):
    """--dask [ADDRESS]: ``what`` a command does on a Dask cluster, one --corpus file a shard."""
    parser.add_argument("--dask", nargs="?", const="local", metavar="ADDRESS",
                        help=f"{what}, one --corpus file a shard: a scheduler's address (tcp://host:8786), "
                             "or none for a local cluster of 2 workers (needs fastseq[dask])")


def _corpus_args(parser, line_ends="ignore"):
    """--corpus and how its text files are read (``fastseq.corpus``)."""
    parser.add_argument("--corpus", nargs="+", default=["ptb"], metavar="PATH",
                        help="'ptb' (the PTB train split), or UTF-8 text files and folders (plain, .gz, .bz2, .xz), "
                             "read in chunks and cached in ~/.cache/fastseq/corpus")
    parser.add_argument("--tokenize", choices=["book", "whitespace"], default="book",
                        help="book: lower-cased, '.' split off, split on white space; whitespace: words as they are")
    parser.add_argument("--line-ends", choices=["ignore", "eos"], default=line_ends,
                        help="eos: a word <eos> at every line end (the PTB convention)")
    parser.add_argument("--min-count", type=_positive_int, default=1, help="drop words seen fewer times (to <unk>)")
    parser.add_argument("--max-vocab", type=_positive_int, dest="max_vocab_size",
                        help="keep only the most frequent words, <unk> included (default: all)")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default, also for options without a help text. An option whose
    default is None says in its own help text what applies when it is not given."""

    def _format_action(self, action):
        if not action.help and action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


_RECIPE = "(default: the recipe's)"


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
                                    "= better cut to 6 epochs, the 6th at lr / 4 (about an hour on 2 cores); "
                                    "fast-1h = better at 400 units and dropout 0.3, 12 epochs, the 10th and 11th each "
                                    "at lr / 4 (the lowest test perplexity measured in an hour on 2 cores). All: SGD "
                                    "lr 20, clip 0.25, batch 20, 35 steps. Options override the recipe.")
    lm.add_argument("--model", choices=sorted(RECIPES), default="rnnlm", help="the recipe")
    lm.add_argument("--epochs", type=_positive_int, help=_RECIPE)
    lm.add_argument("--lr", type=_positive_float, help=_RECIPE)
    lm.add_argument("--batch-size", type=_positive_int, help=_RECIPE)
    lm.add_argument("--time-size", type=_positive_int, help=_RECIPE)
    lm.add_argument("--wordvec", type=_positive_int, help=_RECIPE)
    lm.add_argument("--hidden", type=_positive_int, help=_RECIPE)
    lm.add_argument("--dropout", type=_ratio, help="dropout ratio (better recipes only) " + _RECIPE)
    lm.add_argument("--max-grad", type=_positive_float, help=_RECIPE)
    lm.add_argument("--seed", type=int, help=_RECIPE)
    lm.add_argument("--anneal-epochs", type=_positive_int, nargs="+", metavar="EPOCH",
                    help="epochs (counted from 1) that start with lr / 4, besides the validation rule")
    lm.add_argument("--lr-schedule", choices=["step", "cosine", "linear"],
                    help="step: lr changes only by the rules above; cosine, linear: lr also decays at every "
                         "iteration, towards 0 at the last epoch's end " + _RECIPE)
    lm.add_argument("--variational-dropout", action="store_const", const=True,
                    help="one dropout mask per sequence, reused at every time step (better recipes only)")
    lm.add_argument("--sampled-softmax", type=_positive_int, metavar="K",
                    help="train through a sampled softmax over each target and K drawn words (better recipes "
                         "only; evaluation keeps the full softmax; default: the full softmax)")
    lm.add_argument("--train-tokens", type=_positive_int, help="train on the first N tokens only (quick runs; default: all)")
    _corpus_args(lm, line_ends="eos")
    lm.add_argument("--valid", nargs="+", metavar="PATH", help="validation text (with --test; default: held out)")
    lm.add_argument("--test", nargs="+", metavar="PATH", help="test text (with --valid; default: held out)")
    lm.add_argument("--held-out", type=_ratio, default=0.1,
                    help="without --valid/--test: this share of the corpus's end, half validation, half test")
    _threads_arg(lm, "BLAS threads (the elementwise kernels run on one thread meanwhile)")
    _run_args(lm, "runs/<model>")

    ev = sub.add_parser("eval-lm", help="test perplexity of a trained language model")
    _checkpoint_args(ev, sorted(RECIPES))
    gen = sub.add_parser("generate", help="sample text from a trained language model")
    _checkpoint_args(gen, sorted(RECIPES))
    gen.add_argument("--start", default="you", help="first word (must be in the model's vocabulary)")
    gen.add_argument("--length", type=_positive_int, default=100, help="number of words, the start word included")
    gen.add_argument("--temperature", type=_positive_float, default=1.0)
    gen.add_argument("--top-k", type=_positive_int, help="sample from the k likeliest words only (default: all)")
    gen.add_argument("--seed", type=int, help="(default: a fresh random seed)")

    s2s = sub.add_parser("train-seq2seq", help="the book's seq2seq models on its toy sets (addition, date)",
                         description="Defaults follow the book: wordvec 16, batch 128, Adam, clip 5; hidden 128 and "
                                     "25 epochs for addition, 256 and 10 epochs for date.")
    s2s.add_argument("--data", choices=["addition", "date"], default="addition")
    s2s.add_argument("--model", choices=["plain", "peeky", "attention"], default="peeky")
    s2s.add_argument("--reverse", action="store_true", help="feed the questions reversed")
    s2s.add_argument("--epochs", type=_positive_int, help="(default 25 for addition, 10 for date; may grow on "
                                                          "--resume)")
    s2s.add_argument("--batch-size", type=_positive_int, default=128)
    s2s.add_argument("--wordvec", type=_positive_int, default=16)
    s2s.add_argument("--hidden", type=_positive_int, help="(default 128 for addition, 256 for date)")
    s2s.add_argument("--lr", type=_positive_float, default=0.001)
    s2s.add_argument("--max-grad", type=_positive_float, default=5.0)
    s2s.add_argument("--seed", type=int, default=1984)
    _threads_arg(s2s, "BLAS threads (the elementwise kernels run on one thread meanwhile)")
    s2s.add_argument("--train-examples", type=_positive_int, help="train on the first N questions only (default: all)")
    _run_args(s2s, "runs/seq2seq-<data>-<model>")

    w2v = sub.add_parser("train-word2vec", help="word2vec (CBOW or skip-gram, negative sampling), Hogwild")
    _corpus_args(w2v)
    w2v.add_argument("--model", choices=["cbow", "skipgram"], default="cbow")
    w2v.add_argument("--dim", type=_positive_int, default=100)
    w2v.add_argument("--window", type=_positive_int, default=5)
    w2v.add_argument("--negative", type=_positive_int, default=5)
    w2v.add_argument("--epochs", type=_positive_int, default=10)
    w2v.add_argument("--lr", type=_positive_float, help="starting learning rate (default 0.05 CBOW, 0.025 skip-gram)")
    w2v.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold (0: off)")
    w2v.add_argument("--seed", type=int, default=1)
    w2v.add_argument("--shared-negatives", action=argparse.BooleanOptionalAction,
                     help="skip-gram: a window's context words share one draw of negatives (faster; the default "
                          "for skip-gram); --no-shared-negatives: the classic draw per context word")
    _dask_arg(w2v, "read the corpus on a Dask cluster (training stays here)")
    _threads_arg(w2v, "kernel threads (with more than one, Hogwild updates make runs differ slightly)")
    _run_args(w2v, "runs/word2vec")

    cnt = sub.add_parser("count", help="count-based word vectors: co-occurrence, PPMI, SVD")
    _corpus_args(cnt)
    cnt.add_argument("--window", type=_positive_int, default=2)
    cnt.add_argument("--dim", type=_positive_int, default=100)
    cnt.add_argument("--alpha", type=_positive_float, default=1.0, help="context smoothing exponent (0.75: Levy et al.)")
    cnt.add_argument("--shift", type=_positive_float, default=1.0, help="shifted PPMI: subtract log2(shift)")
    cnt.add_argument("--harmonic", action="store_true", help="weight a context at distance d by 1/d")
    cnt.add_argument("--seed", type=int, default=0)
    _dask_arg(cnt, "count on a Dask cluster")
    _threads_arg(cnt, "kernel and BLAS threads (the stages run one after the other)")
    _run_args(cnt, "runs/count", resumable=False)

    esn = sub.add_parser("train-esn", help="an echo state network (sparse reservoir, ridge readout) on a time series",
                         description="Fits the readout teacher-forced on the first --train steps, then prints the "
                                     "one-step NRMSE over the next --test steps and the closed-loop NRMSE over "
                                     "--generate steps, each output fed back as the next input.")
    esn.add_argument("--data", choices=["mackey-glass"], default="mackey-glass", help="the series (tau = 17)")
    esn.add_argument("--units", type=_positive_int, default=500, help="reservoir size H")
    esn.add_argument("--connectivity", type=_positive_float, default=0.1,
                     help="share of units each unit receives input from, in (0, 1]")
    esn.add_argument("--spectral-radius", type=_positive_float, default=1.25)
    esn.add_argument("--leak", type=_positive_float, default=0.3, help="leak rate, in (0, 1]")
    esn.add_argument("--input-scaling", type=_positive_float, default=1.0)
    esn.add_argument("--ridge", type=float, default=1e-7, help="ridge regularisation of the readout (>= 0)")
    esn.add_argument("--warmup", type=int, default=100, help="initial states left out of the fit")
    esn.add_argument("--train", type=_positive_int, default=2000, help="steps to fit on")
    esn.add_argument("--test", type=_positive_int, default=500, help="steps of one-step prediction")
    esn.add_argument("--generate", type=_positive_int, default=100, help="steps of closed-loop prediction")
    esn.add_argument("--seed", type=int, default=0)
    _threads_arg(esn, "kernel threads (results do not depend on them)")
    _run_args(esn, "runs/esn", resumable=False)

    sub.add_parser("warm-up", help="compile every command's kernels into numba's cache (once, after installing)",
                   description="Runs each command on a few hundred synthetic tokens in a temporary folder, so "
                               "that later runs start without compiling. Needs no data.")
    return parser


def _given(argv):
    """The destinations of the options written on the command line (not left at a default)."""
    parser = _parser()
    parsers = [parser]
    while parsers:
        p = parsers.pop()
        for action in p._actions:
            action.default = argparse.SUPPRESS
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return set(vars(parser.parse_args(argv)))


def _folder(args, default):
    """The run folder of a command: --resume DIR, else --out, else ``default``."""
    from fastseq.runs import RunError

    if getattr(args, "resume", None):
        if args.out is not None and os.path.abspath(args.out) != os.path.abspath(args.resume):
            raise RunError(f"--out {args.out} conflicts with --resume {args.resume}: a resumed run stays in its folder")
        if args.force:
            raise RunError("--force and --resume exclude each other")
        return args.resume
    return args.out if args.out is not None else default


def _options(args, given, names, command):
    """``names`` (config key → args attribute) as the run should get them: on --resume, an
    option not given on the command line takes the run's saved value."""
    from fastseq.runs import RunFolder

    saved = RunFolder(args.resume, command).peek_config() if getattr(args, "resume", None) else {}
    return {key: getattr(args, dest) if dest in given or key not in saved else saved[key]
            for key, dest in names.items()}


def _lm_source(args, folder):
    """train-lm's data: "ptb", or the --corpus options as a dict (on --resume, the saved ones
    where none is given)."""
    from fastseq import lm
    from fastseq.datasets.text import READING_FLAGS

    flags = {"valid": "--valid", "test": "--test", "held_out": "--held-out", **READING_FLAGS}
    keys = ("corpus", *flags)
    if args.resume and not any(k in args.given for k in keys):
        return lm.load_source(folder)
    if args.corpus == ["ptb"]:
        given = [k for k in flags if k in args.given]
        if given:
            raise ValueError(f"{flags[given[0]]} goes with a text --corpus, not ptb")
        return "ptb"
    return {k: getattr(args, k) for k in keys}


def train_lm(args):
    """Train a recipe (or resume a run), evaluate on the test split; returns the test perplexity."""
    import dataclasses
    import time

    from fastseq import lm
    from fastseq.runs import read_log

    keys = ("epochs", "lr", "batch_size", "time_size", "wordvec", "hidden", "dropout", "max_grad", "seed",
            "train_tokens", "anneal_epochs", "lr_schedule", "variational_dropout", "sampled_softmax")
    folder = _folder(args, os.path.join("runs", args.model))
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    if args.resume:
        recipe = lm.load_recipe(folder)
        if "model" in args.given:
            overrides["model"] = lm.RECIPES[args.model].model
    else:
        recipe = lm.RECIPES[args.model]
        for key in ("dropout", "variational_dropout", "sampled_softmax"):
            if key in overrides and recipe.model != "better":
                raise ValueError(f"--{key.replace('_', '-')} applies to the better recipes only")
    recipe = dataclasses.replace(recipe, **overrides)
    source = _lm_source(args, folder)
    data, words = lm.corpus_data(source)
    print(f"model {recipe.model}, {recipe.epochs} epochs, lr {recipe.lr}, run folder {folder}")
    start = time.time()
    ppl = lm.train(recipe, folder, data, len(words), resume=bool(args.resume), force=args.force,
                   threads=args.threads, source=source, words=None if source == "ptb" else words)
    total = read_log(folder)[-1].get("train_seconds")
    whole = "" if total is None else f"training time {total:.1f} s over the whole run; "
    print(f"{whole}this session {time.time() - start:.1f} s with evaluation")
    _announce(folder)
    print(f"test perplexity: {ppl:.2f}")
    return ppl


def _lm_words(args):
    """(data, words) of the run or parameter file that eval-lm and generate read."""
    from fastseq import lm

    if os.path.isdir(args.checkpoint):
        return lm.run_data(args.checkpoint)
    return lm.corpus_data("ptb")


def eval_lm(args):
    """Print and return the test perplexity of a trained model (on its run's test split)."""
    from fastseq import lm
    from fastseq.util import eval_perplexity

    (_, _, corpus_test), words = _lm_words(args)
    model = lm.load_run_model(args.checkpoint, len(words), args.model)
    ppl = eval_perplexity(model, corpus_test)
    print(f"test perplexity: {ppl:.2f}")
    return ppl


def generate(args):
    """Print and return text sampled from a trained model."""
    from fastseq import lm

    _, words = _lm_words(args)
    word_to_id = {w: i for i, w in enumerate(words)}
    if args.start not in word_to_id:
        raise ValueError(f"--start: {args.start!r} is not in the model's vocabulary")
    model = lm.load_run_model(args.checkpoint, len(word_to_id), args.model, generator=True)
    if args.seed is not None:
        np.random.seed(args.seed)
    skip = [word_to_id[w] for w in ("N", "<unk>", "$") if w in word_to_id]
    ids = model.generate(word_to_id[args.start], skip, args.length, temperature=args.temperature, top_k=args.top_k)
    end = "\n" if "." in word_to_id else ".\n"          # PTB has no '.': a line end closes the sentence
    text = " ".join(words[i] for i in ids).replace(" <eos> ", end).replace(" <eos>", end)
    print(text)
    return text


def _announce(folder):
    """Print the run folder and every file the run wrote there."""
    from fastseq.runs import RUN_FILES

    names = [name for name in RUN_FILES if os.path.isfile(os.path.join(folder, name))]
    print(f"run folder {folder}: {', '.join(names)}")


def _evaluate(kv):
    """Print the vectors' WordSim-353 and analogy scores when the evaluation sets are found."""
    from fastseq.datasets._files import DataNotFoundError

    try:
        sim, ana = kv.evaluate_similarity(), kv.evaluate_analogies()
    except DataNotFoundError:
        print("evaluation sets not found (set FASTSEQ_DATA): evaluation skipped")
    except ValueError as exc:   # too few evaluation words in this vocabulary
        print(f"evaluation skipped: {exc}")
    else:
        print(f"WordSim-353 Spearman {sim['spearman']:.3f} over {sim['pairs']} pairs; analogy accuracy "
              f"{ana['accuracy']:.4f} ({ana['correct']}/{ana['total']} questions in the vocabulary)")


def train_word2vec(args):
    """Train word2vec on a corpus into a run folder, evaluate the vectors; returns the KeyedVectors."""
    from fastseq.datasets.text import READING_DEFAULTS
    from fastseq.runs import read_log
    from fastseq.word2vec import train_run

    if args.sample < 0:
        raise ValueError(f"--sample must be ≥ 0, got {args.sample}")
    folder = _folder(args, os.path.join("runs", "word2vec"))
    names = {k: k for k in ("corpus", *READING_DEFAULTS, "model", "dim", "window", "negative", "epochs", "lr",
                            "sample", "seed", "shared_negatives")}
    options = _options(args, args.given, names, "train-word2vec")
    if options["shared_negatives"] and options["model"] != "skipgram":
        raise ValueError("--shared-negatives needs --model skipgram (CBOW already draws one set of negatives "
                         "per window)")
    if options["corpus"] == ["ptb"]:
        options["corpus"] = "ptb"
    kv = train_run(folder, **options, resume=bool(args.resume), force=args.force, threads=args.threads,
                   dask=args.dask)
    for e in read_log(folder):
        print(f"epoch {e['epoch']}: {e['words']:,} words (after subsampling) in {e['seconds']:.2f} s, "
              f"{e['words_per_s']:,.0f} words/s, loss {e['loss']:.4f}")
    _announce(folder)
    _evaluate(kv)
    return kv


def train_seq2seq(args):
    """Train a seq2seq model on a toy set; returns the per-epoch records."""
    from fastseq.seq2seq_train import train_seq2seq as train

    folder = _folder(args, os.path.join("runs", f"seq2seq-{args.data}-{args.model}"))
    names = {"data": "data", "model": "model", "reverse": "reverse", "epochs": "epochs", "batch_size": "batch_size",
             "wordvec": "wordvec", "hidden": "hidden", "max_grad": "max_grad", "lr": "lr", "seed": "seed",
             "train_limit": "train_examples"}
    o = _options(args, args.given, names, "train-seq2seq")
    date = o["data"] == "date"
    o["epochs"] = o["epochs"] or (10 if date else 25)
    o["hidden"] = o["hidden"] or (256 if date else 128)
    records = train(**o, out=folder, resume=bool(args.resume), force=args.force, threads=args.threads)
    _announce(folder)
    return records


def count(args):
    """Corpus → vectors, into a run folder; returns the KeyedVectors."""
    from fastseq.count import count_run
    from fastseq.datasets.text import READING_DEFAULTS
    from fastseq.runs import read_log

    if not 0 < args.alpha <= 1:
        raise ValueError(f"--alpha must be in (0, 1], got {args.alpha}")
    if args.shift < 1:
        raise ValueError(f"--shift must be >= 1, got {args.shift}")
    folder = _folder(args, os.path.join("runs", "count"))
    corpus = "ptb" if args.corpus == ["ptb"] else args.corpus
    reading = {k: getattr(args, k) for k in READING_DEFAULTS}
    kv = count_run(folder, corpus, window=args.window, dim=args.dim, alpha=args.alpha, shift=args.shift,
                   harmonic=args.harmonic, seed=args.seed, force=args.force, threads=args.threads, dask=args.dask,
                   **reading)
    st = {r["stage"]: r for r in read_log(folder)}
    print(f"{st['load']['tokens']:,} tokens, {st['load']['words']:,} words: load {st['load']['seconds']:.2f} s, "
          f"co-occurrence {st['co-occurrence']['seconds']:.2f} s ({st['co-occurrence']['pairs']:,} pairs), "
          f"PPMI {st['ppmi']['seconds']:.2f} s ({st['ppmi']['positive']:,} positive), SVD {st['svd']['seconds']:.2f} s")
    _announce(folder)
    _evaluate(kv)
    return kv


def train_esn(args):
    """Fit and score an echo state network into a run folder; returns its scores."""
    from fastseq.esn_train import train_esn as train

    folder = _folder(args, os.path.join("runs", "esn"))
    scores = train(folder, data=args.data, units=args.units, connectivity=args.connectivity,
                   spectral_radius=args.spectral_radius, leak=args.leak, input_scaling=args.input_scaling,
                   ridge=args.ridge, warmup=args.warmup, train=args.train, test=args.test, generate=args.generate,
                   seed=args.seed, force=args.force, threads=args.threads)
    print(f"one-step NRMSE {scores['one_step_nrmse']:.3e} over {args.test} steps; closed-loop NRMSE "
          f"{scores['closed_loop_nrmse']:.3e} over {args.generate} steps")
    _announce(folder)
    return scores


def warm_up(args):
    """Compile every command's kernels; prints the seconds per command."""
    from fastseq.warmup import warm_up as compile_all

    total = compile_all(report=lambda line: print(line, flush=True))
    print(f"warm-up done in {total:.1f} s: numba's cache now holds every command's kernels")


COMMANDS = {"train-lm": train_lm, "eval-lm": eval_lm, "generate": generate, "train-seq2seq": train_seq2seq,
            "train-word2vec": train_word2vec, "count": count, "train-esn": train_esn, "warm-up": warm_up}


def main(argv=None):
    """Entry point of the ``fastseq`` console script."""
    from fastseq.datasets._files import DataNotFoundError

    from fastseq import _threads

    args = _parser().parse_args(argv)
    args.given = _given(argv)
    try:
        if args.command in ("eval-lm", "generate"):
            with _threads.policy(1, 1, products=args.threads):
                COMMANDS[args.command](args)
        else:
            COMMANDS[args.command](args)      # each applies its own thread policy
    except (DataNotFoundError, FloatingPointError, ImportError, OSError, ValueError, IndexError) as exc:
        print(f"fastseq: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print(f"\nfastseq: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
