"""Validation perplexity against training time for a language-model recipe on PTB.

    python bench/lm_time_to_quality.py --out DIR [--recipe better-1h] [--set lr=10 ...]
                                       [--minutes 15] [--every 400] [--valid-tokens N]
    python bench/lm_time_to_quality.py --plot curves.png DIR1 DIR2 ...

The first form trains ``--recipe`` (a name of ``fastseq.lm.RECIPES``, with fields changed by
``--set name=value``) in the run folder DIR. Every ``--every`` iterations it stops as Ctrl-C
would (the checkpoint is written, and the next stretch resumes it exactly), and the validation
perplexity of the current weights is taken outside the clock. The time axis is the run's own
count of training seconds (kept in its checkpoint), so neither the evaluations nor the restarts
are in it. It stops at the first point past ``--minutes`` of training, or when the recipe's
epochs are done. Each point is appended to ``DIR/curve.jsonl``: training seconds, iterations,
epoch, learning rate and validation perplexity; a rerun with the same DIR continues it.
``--valid-tokens`` evaluates on the validation split's first N tokens only (all by default).

The second form draws the curves of several such folders on one PNG (log perplexity against
minutes). PTB must be reachable (``FASTSEQ_DATA``).
"""
import argparse
import dataclasses
import json
import os
import sys

import numpy as np


def _parse_setting(text, recipe):
    name, sep, value = text.partition("=")
    fields = {f.name: f for f in dataclasses.fields(recipe)}
    if not sep or name not in fields or name == "model":
        raise SystemExit(f"--set: expected name=value with name one of {sorted(set(fields) - {'model'})}, got {text!r}")
    current = getattr(recipe, name)
    if isinstance(current, bool):
        return name, value.lower() in ("1", "true", "yes")
    if isinstance(current, tuple):
        return name, tuple(int(v) for v in value.split(",") if v)
    if current is None or isinstance(current, int):
        return name, int(value)
    return name, type(current)(value)


def _checkpoint_progress(folder):
    """The ``_Progress`` fields saved in the run's checkpoint."""
    with np.load(os.path.join(folder, "checkpoint.npz")) as saved:
        return json.loads(str(saved["meta"]))["progress"]


def _valid_perplexity(folder, recipe, vocab_size, valid):
    """Validation perplexity of the checkpoint's current weights (not best.npz)."""
    import contextlib
    import io

    from fastseq.lm import build_model
    from fastseq.util import eval_perplexity

    model = build_model(recipe, vocab_size)
    model.load_params(os.path.join(folder, "checkpoint.npz"))
    model.reset_state()
    with contextlib.redirect_stdout(io.StringIO()):     # the book's header line
        return eval_perplexity(model, valid)


def run_curve(args):
    from fastseq import lm

    if args.recipe not in lm.RECIPES:
        raise SystemExit(f"--recipe must be one of {sorted(lm.RECIPES)}, got {args.recipe!r}")
    recipe = lm.RECIPES[args.recipe]
    recipe = dataclasses.replace(recipe, **dict(_parse_setting(s, recipe) for s in args.set))
    data, words = lm.corpus_data("ptb")
    vocab_size = len(words)
    valid = data[1] if args.valid_tokens is None else data[1][:args.valid_tokens]
    curve = os.path.join(args.out, "curve.jsonl")
    resume = os.path.exists(os.path.join(args.out, "checkpoint.npz"))
    while True:
        result = lm.train(recipe, args.out, data, vocab_size, resume=resume, force=not resume,
                          stop_after=args.every, progress_bar=False)
        resume = True
        progress = _checkpoint_progress(args.out)
        seconds = progress["train_seconds"] + progress["epoch_seconds"]
        if result is not None:                   # every epoch done: the clock stopped at the last one
            seconds = progress["train_seconds"]
        point = {"seconds": round(seconds, 2), "epoch": progress["epoch"], "iteration": progress["iteration"],
                 "lr": progress["lr"], "val_ppl": round(_valid_perplexity(args.out, recipe, vocab_size, valid), 3)}
        with open(curve, "a", encoding="utf-8") as f:
            f.write(json.dumps(point) + "\n")
        print(json.dumps(point), flush=True)
        if result is not None or seconds >= 60 * args.minutes:
            return 0


def plot_curves(args):
    from fastseq.runs import save_curve

    series = {}
    for folder in args.folders:
        with open(os.path.join(folder, "curve.jsonl"), encoding="utf-8") as f:
            points = [json.loads(line) for line in f if line.strip()]
        series[os.path.basename(os.path.normpath(folder))] = (
            np.array([p["seconds"] / 60 for p in points]), np.array([p["val_ppl"] for p in points]))
    if save_curve(args.plot, series, "training minutes", "validation perplexity", log_scale=True) is None:
        raise SystemExit("--plot needs matplotlib")
    print(f"wrote {args.plot}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="the run folder of the curve to train (first form)")
    parser.add_argument("--recipe", default="better-1h")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--every", type=int, default=400, help="iterations between evaluations")
    parser.add_argument("--valid-tokens", type=int, default=None)
    parser.add_argument("--plot", help="write the curves of FOLDERS to this PNG (second form)")
    parser.add_argument("folders", nargs="*")
    args = parser.parse_args(argv)
    if args.plot:
        return plot_curves(args)
    if not args.out:
        parser.error("--out DIR (a run folder) or --plot PNG DIR...")
    if args.every < 1 or args.minutes <= 0:
        parser.error("--every must be >= 1 and --minutes > 0")
    return run_curve(args)


if __name__ == "__main__":
    sys.exit(main())
